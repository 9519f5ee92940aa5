"""wasmtime side of the cranelift backend: the process's one Engine/Store, its Memory, compile/install and lean calls.

Choices, each measured on this machine (x86-64, wasmtime 50; min of repeated runs):

* One Engine per process (`runtime()`): Cranelift at opt level "speed" and the wide-arithmetic
  proposal for an exact one-instruction overflow test of i64 multiply. The program's linear memory
  is a wasm **shared memory** (threads proposal; no thread is ever started), which never moves
  (so the cached ``data_ptr`` stays valid across growth and Cranelift emits no bounds checks) and,
  unlike a plain memory, is not owned by a Store: **each compiled loop gets its own Store**, and
  releasing the loop drops it, which frees the instance and, once no cache or other loop holds it,
  the module's machine code. With one shared Store (before) a released loop kept ~22 KB per loop
  until the process ended (wasmtime frees instances only with their store): 4,000 compiled and
  released loops grew RSS by 90 MB; now by 1 MB (bench/codemem.py). A Store costs ~5 us to create
  and drop, against 2-20 ms to compile a loop. Loads and stores to a shared memory compile to the
  same instructions as to a plain one (no atomics are used).
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
from importlib import metadata
from typing import Any

import wasmtime
from wasmtime import _bindings as B
from wasmtime import _ffi as ffi

from ...jit.ir import LIBM2_FUNCTIONS
from ...jit.layout import DEFAULT_SIZE, LinearMemory

PAGE = 65536
MAX_PAGES = 65536  # 4 GiB: a shared memory needs a maximum (address space reserved, not memory)
SPARE_MEMORIES = 2  # released memories kept for reuse (runs in one process are usually sequential)
TRAP_INTERRUPT = 10  # WASMTIME_TRAP_CODE_INTERRUPT: the epoch deadline was reached


class WasmLinearMemory(LinearMemory):
    """A LinearMemory over a wasm shared memory's bytes (the VM's frame windows live in wasm memory)."""

    wasm_memory: wasmtime.SharedMemory
    runtime: WasmRuntime


class SharedLinearMemory(wasmtime.SharedMemory):
    """wasmtime.SharedMemory whose import form is right (wasmtime-py 50 wraps the pointer twice)."""

    def _as_extern(self) -> Any:
        union = ffi.wasmtime_extern_union(sharedmemory=self.ptr())
        return ffi.wasmtime_extern_t(ffi.WASMTIME_EXTERN_SHAREDMEMORY, union)


class WasmRuntime:
    """The process-wide wasmtime state: the engine; a Store per compiled loop (`LoopStore`)."""

    def __init__(self, epoch: bool = False) -> None:
        config = wasmtime.Config()
        config.cranelift_opt_level = "speed"
        config.memory_may_move = False
        config.wasm_wide_arithmetic = True
        config.wasm_threads = True  # shared memory: one memory for every compiled loop's Store
        config.shared_memory = True
        config.epoch_interruption = epoch
        self.epoch = epoch
        self.engine = wasmtime.Engine(config)
        self.wasmtime_version = _wasmtime_version()
        # Everything that changes the machine code for the same WAT, for the module cache key.
        self.config_key = (f"wasmtime={self.wasmtime_version};arch={platform.machine()};opt=speed;"
                           f"may_move=0;wide=1;shared=1;epoch={int(epoch)}")
        self._keepalive: list[Any] = []
        self._spare_memories: list[WasmLinearMemory] = []
        self.host_kind = ""
        self.stores_created = 0

    # -- memory -------------------------------------------------------------------------------------
    def new_memory(self, size: int = DEFAULT_SIZE) -> WasmLinearMemory:
        if self._spare_memories:
            return self._spare_memories.pop()
        pages = max(1, -(-size // PAGE))
        mem = SharedLinearMemory(self.engine, wasmtime.MemoryType(wasmtime.Limits(pages, MAX_PAGES), shared=True))

        def current() -> tuple[int, int]:
            return ctypes.addressof(mem.data_ptr().contents), mem.data_len()

        def grow(extra: int) -> None:
            mem.grow(-(-extra // PAGE))

        base, length = current()
        lin = WasmLinearMemory.external(base, length, refresh=current, grow=grow)
        lin.wasm_memory = mem
        lin.runtime = self
        return lin

    def recycle_memory(self, memory: LinearMemory) -> None:
        """Keep a released memory (zeroed) for the next new_memory. A shared memory reserves its whole
        maximum (4 GiB) of address space; under qemu-user each reservation cost real memory that was
        never returned, and a test process running hundreds of programs went past 12 GB."""
        if isinstance(memory, WasmLinearMemory) and memory.runtime is self and len(self._spare_memories) < SPARE_MEMORIES:
            memory.reset()
            self._spare_memories.append(memory)

    def clear_spare_memories(self) -> None:
        """Drop the memories kept for reuse (the next new_memory reserves a fresh one)."""
        self._spare_memories.clear()

    # -- stores and modules ---------------------------------------------------------------------------
    def instantiate(self, module: wasmtime.Module, memory: WasmLinearMemory) -> LoopStore:
        """A new Store holding one instance of `module` over `memory` (dropped when the loop is released)."""
        return LoopStore(self, module, memory)

    def interrupt(self) -> None:
        """Thread-safe: make running compiled code trap at its next epoch check (epoch mode only)."""
        if self.epoch:
            self.engine.increment_epoch()

    def host_callback(self, name: str) -> Any:
        from .hostmath import libm_callbacks

        callbacks, kind = libm_callbacks()
        self.host_kind = kind
        return callbacks[name]


class LoopStore:
    """One compiled loop's Store: its instance, its host functions and the context pointer calls use."""

    def __init__(self, rt: WasmRuntime, module: wasmtime.Module, memory: WasmLinearMemory) -> None:
        self.store = wasmtime.Store(rt.engine)
        rt.stores_created += 1
        if rt.epoch:
            # An epoch-enabled store without a deadline traps at once (wasmtime issue 4342).
            self.store.set_epoch_deadline(1)
        self.ctx = ctypes.c_void_p(ctypes.cast(self.store._context(), ctypes.c_void_p).value)
        imports: list[Any] = []
        for imp in module.imports:
            if imp.module == "env" and imp.name == "memory":
                imports.append(memory.wasm_memory)
            elif imp.module == "libm" and imp.name is not None:
                imports.append(self._host_function(rt, imp.name))
            else:
                raise ValueError(f"unexpected import {imp.module}.{imp.name}")
        self.instance = wasmtime.Instance(self.store, module, imports)

    def _host_function(self, rt: WasmRuntime, name: str) -> wasmtime.Func:
        nargs = 2 if name in LIBM2_FUNCTIONS else 1
        ty = wasmtime.FuncType([wasmtime.ValType.f64()] * nargs, [wasmtime.ValType.f64()])
        callback = rt.host_callback(name)
        raw = B.wasmtime_func_t()
        B.wasmtime_func_new_unchecked(self.store._context(), ty.ptr(), callback, None, _NO_FINALIZER,
                                      ctypes.byref(raw))
        rt._keepalive.append((ty, callback))
        return wasmtime.Func._from_raw(raw)

    def export(self, name: str) -> wasmtime.Func:
        return self.instance.exports(self.store)[name]

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

    def __init__(self, loop_store: LoopStore, func: wasmtime.Func) -> None:
        self._keep = func  # owns the wasmtime_func_t struct the pointer below points into
        self.ctx = loop_store.ctx
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


