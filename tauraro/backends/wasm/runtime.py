"""wasmtime side of the cranelift backend: the process's one Engine/Store, its Memory, compile/install and lean calls.

Choices, each measured on this machine (x86-64, wasmtime 50; min of repeated runs):

* One Engine per process (`runtime()`) and one Store at a time: Cranelift at opt level "speed",
  memories that never move (``memory_may_move=False`` inside the default 4 GiB reservation, so the
  cached ``data_ptr`` stays valid across growth and Cranelift emits no bounds checks), and the
  wide-arithmetic proposal for an exact one-instruction overflow test of i64 multiply. A store
  frees memories and instances only when dropped and each memory reserves ~4 GiB of address space,
  so when nothing in the store is alive any more (all memories garbage, all loops released) the
  next ``make_memory`` starts a fresh store (a process running 300 programs stayed at 4.4 GB of
  virtual memory instead of growing 4.26 GB per program).
* Interrupts: compiled code polls the header interrupt flag at back-edges (the ``poll`` op: one
  load and a test), which the driver's watcher thread sets on SIGINT. Epoch interruption is off by
  default: Cranelift then checks the epoch at every loop header with a call on its slow path, which
  forces the values live across the loop into callee-saved registers and spills the rest. On the
  tight counting loop: no check 0.89 ns/iteration, flag poll 0.98, epoch 1.10, both 1.52.
  ``TAURARO_WASM_EPOCH=1`` turns epochs on as well: `interrupt()` then bumps the epoch and a loop
  trapped mid-way returns an extra INTERRUPT exit (appended to fn.snapshots, no slots, resume at
  fn.entry_pc). That is consistent because compiled code writes memory only at exits (the slots a
  snapshot lists and the header): a trap anywhere else leaves the window exactly as the VM wrote it
  at entry. Loops that store into lists (list.set.*) are the exception: they cannot be replayed,
  so epoch mode refuses to compile them (NotImplementedError: the driver interprets them).
* Calls into compiled code skip wasmtime-py's generic layers (Func.__call__ 13-40 us): a ctypes
  function pointer for ``wasmtime_func_call_unchecked`` without argtypes conversion (the generated
  binding with argtypes costs ~1.5 us), prebuilt c_void_p arguments (store context, func, one
  wasmtime_val_raw buffer, trap slot), the frame offset in and the exit number out through the same
  buffer: 0.38 us per entry of a loop that exits at once.
* callf.f64 imports libm from the host: a native shim (hostmath.py) when llvmlite is present
  (a sin loop: 12 ns/iteration), else a ctypes callback into the same libm (500 ns/iteration).
"""
from __future__ import annotations

import ctypes
import os
import platform
import threading
import weakref
from importlib import metadata
from typing import Any

import wasmtime
from wasmtime import _bindings as B

from ...jit.layout import DEFAULT_SIZE, LinearMemory

PAGE = 65536
TRAP_INTERRUPT = 10  # WASMTIME_TRAP_CODE_INTERRUPT: the epoch deadline was reached


class WasmLinearMemory(LinearMemory):
    """A LinearMemory over a wasmtime Memory's bytes (the VM's frame windows live in wasm memory)."""

    wasm_memory: wasmtime.Memory
    runtime: WasmRuntime


class WasmRuntime:
    """The process-wide wasmtime state: engine, store, context pointer, host functions."""

    def __init__(self, epoch: bool = False) -> None:
        config = wasmtime.Config()
        config.cranelift_opt_level = "speed"
        config.memory_may_move = False
        config.wasm_wide_arithmetic = True
        config.epoch_interruption = epoch
        self.epoch = epoch
        self.engine = wasmtime.Engine(config)
        self.wasmtime_version = _wasmtime_version()
        # Everything that changes the machine code for the same WAT, for the module cache key.
        self.config_key = (f"wasmtime={self.wasmtime_version};arch={platform.machine()};opt=speed;"
                           f"may_move=0;wide=1;epoch={int(epoch)}")
        self._keepalive: list[Any] = []
        self.host_kind = ""
        self.stores_created = 0
        # What still uses the current store; see new_memory.
        self._memories: weakref.WeakSet[WasmLinearMemory] = weakref.WeakSet()
        self._loops: weakref.WeakSet[Any] = weakref.WeakSet()
        self._new_store()

    def _new_store(self) -> None:
        self.store = wasmtime.Store(self.engine)
        if self.epoch:
            # An epoch-enabled store without a deadline traps at once (wasmtime issue 4342).
            self.store.set_epoch_deadline(1)
        self.ctx = ctypes.c_void_p(ctypes.cast(self.store._context(), ctypes.c_void_p).value)
        self._host: dict[str, wasmtime.Func] = {}
        self.stores_created += 1
        self._store_used = False

    def track_loop(self, loop: Any) -> None:
        """Register a compiled loop instantiated in the current store (until it is released or dies)."""
        self._loops.add(loop)

    def untrack_loop(self, loop: Any) -> None:
        self._loops.discard(loop)

    # -- memory -------------------------------------------------------------------------------------
    def new_memory(self, size: int = DEFAULT_SIZE) -> WasmLinearMemory:
        # A store frees its memories and instances only when it is dropped, and each memory reserves
        # ~4 GiB of address space: a process that runs many programs (tests, an embedding) would run
        # out of address space or mappings. When nothing of the current store is alive any more
        # (every memory garbage, every loop released), start a fresh store; the engine and its
        # compiled modules stay.
        if self._store_used and not self._memories and not self._loops:
            self._new_store()
        self._store_used = True
        pages = max(1, -(-size // PAGE))
        mem = wasmtime.Memory(self.store, wasmtime.MemoryType(wasmtime.Limits(pages, None)))
        store = self.store

        def current() -> tuple[int, int]:
            return ctypes.addressof(mem.data_ptr(store).contents), mem.data_len(store)

        def grow(extra: int) -> None:
            mem.grow(store, -(-extra // PAGE))

        base, length = current()
        lin = WasmLinearMemory.external(base, length, refresh=current, grow=grow)
        lin.wasm_memory = mem
        lin.runtime = self
        self._memories.add(lin)
        return lin

    # -- host functions (libm for callf.f64) --------------------------------------------------------
    def host_function(self, name: str) -> wasmtime.Func:
        func = self._host.get(name)
        if func is None:
            from .hostmath import libm_callbacks

            callbacks, kind = libm_callbacks()
            self.host_kind = kind
            ty = wasmtime.FuncType([wasmtime.ValType.f64()], [wasmtime.ValType.f64()])
            raw = B.wasmtime_func_t()
            B.wasmtime_func_new_unchecked(self.store._context(), ty.ptr(), callbacks[name], None,
                                          _NO_FINALIZER, ctypes.byref(raw))
            self._keepalive.append((ty, callbacks[name]))
            func = self._host[name] = wasmtime.Func._from_raw(raw)
        return func

    # -- modules ------------------------------------------------------------------------------------
    def instantiate(self, module: wasmtime.Module, memory: WasmLinearMemory) -> wasmtime.Instance:
        imports: list[Any] = []
        for imp in module.imports:
            if imp.module == "env" and imp.name == "memory":
                imports.append(memory.wasm_memory)
            elif imp.module == "libm" and imp.name is not None:
                imports.append(self.host_function(imp.name))
            else:
                raise ValueError(f"unexpected import {imp.module}.{imp.name}")
        return wasmtime.Instance(self.store, module, imports)

    def interrupt(self) -> None:
        """Thread-safe: make running compiled code trap at its next epoch check (epoch mode only)."""
        if self.epoch:
            self.engine.increment_epoch()

    def reset_deadline(self) -> None:
        B.wasmtime_context_set_epoch_deadline(self.store._context(), 1)


_NO_FINALIZER = ctypes.CFUNCTYPE(None, ctypes.c_void_p)()  # a NULL function pointer

_runtime: WasmRuntime | None = None
_runtime_lock = threading.Lock()


def runtime() -> WasmRuntime:
    """The process's WasmRuntime, created on first use (epochs on if TAURARO_WASM_EPOCH=1)."""
    global _runtime
    if _runtime is None:
        with _runtime_lock:
            if _runtime is None:
                _runtime = WasmRuntime(epoch=os.environ.get("TAURARO_WASM_EPOCH", "") not in ("", "0"))
    return _runtime


def _wasmtime_version() -> str:
    try:
        return metadata.version("wasmtime")
    except metadata.PackageNotFoundError:
        return getattr(wasmtime, "__version__", "unknown")


# -- the lean call path ---------------------------------------------------------------------------------

# A second handle on wasmtime's library whose function pointer has no argtypes: ctypes then passes
# prebuilt c_void_p objects straight through (the generated binding with argtypes costs ~1.5 us).
_DLL = ctypes.CDLL(B.dll._name)
CALL_UNCHECKED = _DLL.wasmtime_func_call_unchecked
CALL_UNCHECKED.restype = ctypes.c_void_p
CALL_UNCHECKED.argtypes = None


class Entry:
    """One exported function, callable with a frame offset: the prebuilt arguments of the lean call."""

    __slots__ = ("ctx", "func", "buf", "buf_ptr", "trap", "trap_ptr", "frame", "result", "one", "_keep")

    def __init__(self, rt: WasmRuntime, func: wasmtime.Func) -> None:
        self._keep = func  # owns the wasmtime_func_t struct the pointer below points into
        self.ctx = rt.ctx
        self.func = ctypes.c_void_p(ctypes.addressof(func._func))
        self.buf = (B.wasmtime_val_raw * 1)()
        self.buf_ptr = ctypes.c_void_p(ctypes.addressof(self.buf))
        self.trap = ctypes.c_void_p()
        self.trap_ptr = ctypes.c_void_p(ctypes.addressof(self.trap))
        self.frame = ctypes.c_uint32.from_buffer(self.buf)
        self.result = ctypes.c_int32.from_buffer(self.buf)
        self.one = ctypes.c_size_t(1)


def take_trap(entry: Entry) -> tuple[int | None, str]:
    """Consume the trap a call left in `entry` (code or None, message) and clear the slot."""
    trap = ctypes.cast(entry.trap.value, ctypes.POINTER(B.wasm_trap_t))
    entry.trap.value = None
    code = B.wasmtime_trap_code_t()
    has_code = B.wasmtime_trap_code(trap, ctypes.byref(code))
    vec = B.wasm_byte_vec_t()
    B.wasm_trap_message(trap, ctypes.byref(vec))
    message = ctypes.string_at(vec.data, vec.size).decode("utf-8", "replace").rstrip("\0")
    B.wasm_byte_vec_delete(ctypes.byref(vec))
    B.wasm_trap_delete(trap)
    return (code.value if has_code else None), message


def take_error(ptr: int) -> str:
    """The message of a wasmtime_error_t a call returned (the error is freed)."""
    err = ctypes.cast(ptr, ctypes.POINTER(B.wasmtime_error_t))
    vec = B.wasm_name_t()
    B.wasmtime_error_message(err, ctypes.byref(vec))
    message = ctypes.string_at(vec.data, vec.size).decode("utf-8", "replace")
    B.wasm_byte_vec_delete(ctypes.byref(vec))
    B.wasmtime_error_delete(err)
    return message


def __getattr__(name: str) -> Any:
    # The backend registry names this module; the Backend subclass itself lives in the package
    # __init__ (which imports this module), so resolve it lazily to avoid an import cycle.
    if name == "WasmBackend":
        from . import WasmBackend

        return WasmBackend
    raise AttributeError(name)

