"""The WebAssembly backend ("cranelift", the default): IR -> WAT (lower.py) -> Cranelift via wasmtime (engine.py)."""
from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import wasmtime

from ...errors import InternalJitError
from ...jit.ir import LoopFunction, Snapshot
from ...jit.irtext import print_function
from ...jit.layout import DEFAULT_SIZE, HDR_EXIT, HDR_ITERATIONS, LinearMemory
from ...jit.reasons import ExitReason
from ..base import HOST_TARGET, Backend, BackendCompileError, CompiledLoop, canonical_target
from .cache import ModuleCache, default_cache_dir
from .engine import (
    CALL_UNCHECKED,
    TRAP_INTERRUPT,
    Entry,
    LoopStore,
    WasmLinearMemory,
    runtime,
    take_error,
    take_trap,
)
from .lower import lower

__all__ = ["WasmBackend", "WasmCompiledLoop", "BackendCompileError"]

# The module cache key covers the lowering code itself: a change to it never reuses old modules.
_SOURCE_KEY = ModuleCache.key(*(p.read_text(encoding="utf-8") for p in sorted(Path(__file__).parent.glob("*.py"))))
STORE_BYTES = 9600  # RSS of one Store with one instance (2,000 kept vs dropped, wasmtime 50)


class WasmCompiledLoop(CompiledLoop):
    """One instantiated module; `run` is the lean ctypes call (see engine.Entry)."""

    def __init__(self, backend: WasmBackend, fn: LoopFunction, memory: WasmLinearMemory, module: wasmtime.Module,
                 loop_store: LoopStore, wat: str | None, cache_hit: bool, compile_seconds: float,
                 interrupt_exit: int | None, code_bytes: int) -> None:
        super().__init__(backend, fn, memory)
        self.module = module
        self.loop_store = loop_store
        self.entry = Entry(loop_store, loop_store.export("run"))
        self.wat = wat
        self.cache_hit = cache_hit
        self.compile_seconds = compile_seconds
        self.interrupt_exit = interrupt_exit  # the exit an epoch trap returns (epoch mode only)
        self.code_bytes = code_bytes  # size of the compiled module image (what Module.serialize gives)
        self.run = _lean_run(self.entry, self._failed)  # type: ignore[method-assign]

    def run(self, frame_offset: int) -> int:  # replaced per instance by _lean_run's closure
        e = self.entry
        e.frame.value = frame_offset
        err = CALL_UNCHECKED(e.ctx, e.func, e.buf_ptr, e.one, e.trap_ptr)
        if err or e.trap.value:
            return self._failed(frame_offset, err)
        return e.result.value

    def _failed(self, frame: int, err: int | None) -> int:
        if err:
            message = take_error(err)
        else:
            code, message = take_trap(self.entry)
            if code == TRAP_INTERRUPT and self.interrupt_exit is not None:
                # Epoch deadline: nothing was written (exits write last), so resume at the loop entry.
                self.loop_store.reset_deadline()
                q = self.memory.words
                q[(frame + HDR_EXIT) >> 3] = self.interrupt_exit
                q[(frame + HDR_ITERATIONS) >> 3] = 0
                return self.interrupt_exit
        # Compiled code wrote nothing (it writes only at exits), so memory is as the VM left it.
        lines = [line.strip() for line in message.splitlines() if line.strip()]
        summary = next((line for line in lines if "wasm trap" in line), lines[0] if lines else "unknown error")
        raise InternalJitError(f"compiled loop {self.fn.name} ({self.fn.location}) trapped: {summary}")

    def release(self) -> None:
        # Dropping the loop's own Store frees its instance (wasmtime frees instances only with their
        # store) and, once nothing else holds the module, the machine code (engine.py docstring).
        self.run = self._released  # type: ignore[method-assign] # first: never call into a dropped store
        self.entry = None  # type: ignore[assignment]
        self.loop_store = None  # type: ignore[assignment]
        self.module = None  # type: ignore[assignment]
        super().release()

    def _released(self, frame_offset: int) -> int:
        raise RuntimeError(f"compiled loop {self.fn.name} was released")

    def dump(self, kind: str, target: str | None = None) -> str:
        if target is not None and canonical_target(target) != HOST_TARGET:
            raise ValueError(f"the cranelift backend emits code for {HOST_TARGET} only, not {target}")
        if kind == "wat":
            if self.wat is None:
                self.wat = lower(self.fn).wat  # cache hits skip lowering; it is deterministic
            return self.wat
        if kind == "asm" and self.module is not None:
            return _disassemble(self.module)
        return super().dump(kind)


class WasmBackend(Backend):
    """Compiles loops to WebAssembly and runs them with wasmtime (Cranelift)."""

    name = "cranelift"
    native = True
    polls_interrupt_flag = True
    dump_kinds = frozenset({"ir", "wat", "asm"})
    dump_tools = {"asm": "objdump"}  # disassembles the ELF image wasmtime serialises
    # This machine only: wasmtime-py's library is built without Cranelift's other targets (asking
    # its Config for one makes Engine() abort the process, measured with wasmtime 50).
    targets = frozenset({HOST_TARGET})
    target_dumps = frozenset({"asm"})

    def __init__(self, use_cache: bool = True, cache_dir: str | Path | None = None) -> None:
        self.use_cache = self._default_use_cache = use_cache
        self._cache_dir = cache_dir
        self.cache = ModuleCache(cache_dir)
        self.cache_hits = 0
        self.cache_misses = 0
        self.cache_hit_seconds = 0.0  # total time of compiles served from the cache
        self.compile_seconds = 0.0  # total time of compiles that ran Cranelift
        self.timings: dict[str, float] = {"lower": 0.0, "wat2wasm": 0.0, "cranelift": 0.0, "instantiate": 0.0,
                                          "cache_load": 0.0, "cache_store": 0.0}

    def configure(self, options: dict[str, Any]) -> None:
        """Per-run driver options: ``use_cache`` (the CLI's --no-cache sets it False; absent: the default)."""
        self.use_cache = bool(options.get("use_cache", self._default_use_cache))
        if self._cache_dir is None:
            self.cache.directory = default_cache_dir()  # $TAURARO_CACHE_DIR as it is for this run

    def make_memory(self, size: int = DEFAULT_SIZE) -> LinearMemory:
        return runtime().new_memory(size)

    def interrupt(self) -> None:
        """Called by the driver's interrupt watcher thread (the flag is set in every window too)."""
        runtime().interrupt()

    def compile(self, fn: LoopFunction, memory: LinearMemory) -> CompiledLoop:
        if not isinstance(memory, WasmLinearMemory):
            raise BackendCompileError("the cranelift backend runs on memory from its own make_memory()")
        rt = memory.runtime
        t0 = time.perf_counter()
        ir_text = print_function(fn)
        interrupt_exit = None
        if rt.epoch and any(op.opcode.startswith("list.set.") for op in fn.ops()):
            # An epoch trap resumes at the loop entry, which is only sound when the loop's one effect
            # is its exit stores; a loop that stored into a list cannot be replayed from its entry.
            raise NotImplementedError("list.set.* under TAURARO_WASM_EPOCH=1 (epoch interrupts replay the loop)")
        if rt.epoch and fn.entry_pc is not None:
            line = fn.snapshots[0].line if fn.snapshots else 0
            interrupt_exit = fn.add_snapshot(Snapshot(fn.entry_pc, {}, ExitReason.INTERRUPT, line))
        module = wat = None
        key = ModuleCache.key(ir_text, rt.config_key, _SOURCE_KEY) if self.use_cache else ""
        if self.use_cache:
            module = self.cache.load(rt.engine, key)
            self.timings["cache_load"] += time.perf_counter() - t0
        hit = module is not None
        if module is None:
            t1 = time.perf_counter()
            lowered = lower(fn)
            wat = lowered.wat
            t2 = time.perf_counter()
            try:
                binary = wasmtime.wat2wasm(wat)
                t3 = time.perf_counter()
                module = wasmtime.Module(rt.engine, binary)
            except wasmtime.WasmtimeError as e:
                raise BackendCompileError(f"{fn.name}: wasmtime rejected the module: {e}") from e
            t4 = time.perf_counter()
            self.timings["lower"] += t2 - t1
            self.timings["wat2wasm"] += t3 - t2
            self.timings["cranelift"] += t4 - t3
            if self.use_cache:
                self.cache.store(key, module)
                self.timings["cache_store"] += time.perf_counter() - t4
        t5 = time.perf_counter()
        loop_store = rt.instantiate(module, memory)
        t6 = time.perf_counter()
        self.timings["instantiate"] += t6 - t5
        elapsed = t6 - t0
        if hit:
            self.cache_hits += 1
            self.cache_hit_seconds += elapsed
        else:
            self.cache_misses += 1
            self.compile_seconds += elapsed
        # What the loop keeps: the module image (its serialized form is the compiled code and the
        # metadata wasmtime maps) plus its own Store and instance (9.6 KB measured per Store).
        code_bytes = len(module.serialize()) + STORE_BYTES
        return WasmCompiledLoop(self, fn, memory, module, loop_store, wat, hit, elapsed, interrupt_exit, code_bytes)


def _lean_run(e: Entry, failed: Any) -> Any:
    """The hot entry path as a closure over prebuilt ctypes objects (no attribute lookups per call)."""
    call, ctx, func, buf, one, trap_ptr = CALL_UNCHECKED, e.ctx, e.func, e.buf_ptr, e.one, e.trap_ptr
    frame, trap, result = e.frame, e.trap, e.result

    def run(frame_offset: int) -> int:
        frame.value = frame_offset
        err = call(ctx, func, buf, one, trap_ptr)
        if err or trap.value:
            return failed(frame_offset, err)
        return result.value

    return run


def _disassemble(module: wasmtime.Module) -> str:
    """objdump of the serialized module (an ELF object holding Cranelift's machine code)."""
    objdump = shutil.which(WasmBackend.dump_tools["asm"])
    if objdump is None:
        raise ValueError("objdump (binutils) is not on PATH")
    with tempfile.NamedTemporaryFile(suffix=".cwasm") as f:
        f.write(bytes(module.serialize()))
        f.flush()
        out = subprocess.run([objdump, "-d", "--no-show-raw-insn", f.name], capture_output=True,
                             text=True, check=False)
    text = out.stdout
    # Keep the compiled loop function (and the helpers it calls); drop wasmtime's trampolines.
    parts = [p for p in text.split("\n\n") if "::function[" in p.split("\n", 1)[0]]
    return "\n\n".join(parts) + "\n" if parts else text
