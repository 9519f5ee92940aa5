"""Host libm functions for callf.f64: wasmtime unchecked callbacks that call the platform libm CPython's math uses.

Exactness: CPython's math.sin etc. call the C library's function and raise per math_1's rule;
compiled code must return the same bits, so it calls the same C function (never a wasm or
Cranelift approximation) and applies the rule itself after the call (lower.py).

Speed: a wasmtime unchecked callback written in Python costs ~0.7-1 us a call (ctypes enters the
interpreter). When llvmlite is installed (it is a dependency of the llvm backend) each callback is
instead a 5-instruction native shim compiled once per process, which wasmtime calls directly:
load the argument from the wasmtime_val_raw buffer, call libm, store the result, return NULL.
``TAURARO_WASM_LIBM=python`` forces the Python callbacks (tests compare both).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
from typing import Any

from wasmtime import _bindings as B

from ...jit.ir import LIBM2_FUNCTIONS, LIBM_FUNCTIONS

Callback = Any  # B.wasmtime_func_unchecked_callback_t
_cache: tuple[dict[str, Callback], str] | None = None
_keep: list[Any] = []


def libm_callbacks() -> tuple[dict[str, Callback], str]:
    """name -> unchecked callback for every LIBM_FUNCTIONS and LIBM2_FUNCTIONS entry, and which kind ("native" or "python")."""
    global _cache
    if _cache is None:
        callbacks = None
        if os.environ.get("TAURARO_WASM_LIBM", "") != "python":
            callbacks = _native_callbacks()
        _cache = (callbacks, "native") if callbacks else (_python_callbacks(), "python")
    return _cache


def _libm() -> ctypes.CDLL:
    name = ctypes.util.find_library("m")
    # Same library object CPython's math module links against (dlopen returns the loaded one).
    return ctypes.CDLL(name) if name else ctypes.CDLL(None)


def _python_callbacks() -> dict[str, Callback]:
    libm = _libm()
    out: dict[str, Callback] = {}
    for name in LIBM_FUNCTIONS:
        cfunc = getattr(libm, name)
        cfunc.restype = ctypes.c_double
        cfunc.argtypes = [ctypes.c_double]

        def callback(env: Any, caller: Any, args: Any, nargs: int, f: Any = cfunc) -> int:
            args[0].f64 = f(args[0].f64)
            return 0

        out[name] = B.wasmtime_func_unchecked_callback_t(callback)
    for name in LIBM2_FUNCTIONS:
        cfunc = getattr(libm, name)
        cfunc.restype = ctypes.c_double
        cfunc.argtypes = [ctypes.c_double, ctypes.c_double]

        def callback2(env: Any, caller: Any, args: Any, nargs: int, f: Any = cfunc) -> int:
            args[0].f64 = f(args[0].f64, args[1].f64)
            return 0

        out[name] = B.wasmtime_func_unchecked_callback_t(callback2)
    _keep.append(out)
    return out


_SHIM = """
declare double @{fn}(double)
define i64 @tauraro_wasm_{fn}(ptr %env, ptr %caller, ptr %args, i64 %n) {{
  %x = load double, ptr %args, align 8
  %r = call double @{fn}(double %x) #0
  store double %r, ptr %args, align 8
  ret i64 0
}}
"""
# Two-argument functions: wasmtime_val_raw is 16 bytes, so the second argument is at +16.
_SHIM2 = """
declare double @{fn}(double, double)
define i64 @tauraro_wasm_{fn}(ptr %env, ptr %caller, ptr %args, i64 %n) {{
  %x = load double, ptr %args, align 8
  %p = getelementptr i8, ptr %args, i64 16
  %y = load double, ptr %p, align 8
  %r = call double @{fn}(double %x, double %y) #0
  store double %r, ptr %args, align 8
  ret i64 0
}}
"""


def _native_callbacks() -> dict[str, Callback] | None:
    try:
        import llvmlite.binding as llvm
    except ImportError:
        return None
    try:
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        _libm()  # make sure libm is loaded so the JIT's symbol lookup finds the same functions
        # `nobuiltin`: LLVM must emit a real call to the C function, never fold or replace it.
        text = ("".join(_SHIM.format(fn=name) for name in LIBM_FUNCTIONS)
                + "".join(_SHIM2.format(fn=name) for name in LIBM2_FUNCTIONS) + "attributes #0 = { nobuiltin }\n")
        mod = llvm.parse_assembly(text)
        mod.verify()
        target = llvm.Target.from_default_triple().create_target_machine(opt=2)
        engine = llvm.create_mcjit_compiler(mod, target)
        engine.finalize_object()
        out = {}
        for name in (*LIBM_FUNCTIONS, *LIBM2_FUNCTIONS):
            addr = engine.get_function_address(f"tauraro_wasm_{name}")
            if not addr:
                return None
            out[name] = B.wasmtime_func_unchecked_callback_t(addr)
        # The engine owns the code; it and its target machine live as long as the process.
        _keep.append((engine, target, mod))
        return out
    except Exception:  # noqa: BLE001 - no native shims: fall back to Python callbacks
        return None
