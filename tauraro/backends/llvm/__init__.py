"""The LLVM backend ("llvm"): loops compiled to native x86-64/AArch64 code through llvmlite."""
from __future__ import annotations

import os
from typing import Any, ClassVar

from ...jit.ir import LoopFunction
from ...jit.layout import LinearMemory
from ..base import HOST_TARGET, TARGET_TRIPLES, Backend, BackendCompileError, CompiledLoop, canonical_target
from .engine import DEFAULT_CODEGEN_OPT, DEFAULT_IR_OPT, FIXED_BASE_PROTO, Build, get_engine


def _env_int(name: str, default: int) -> int:
    text = os.environ.get(name, "")
    try:
        return max(0, min(3, int(text))) if text else default
    except ValueError:
        return default


class LLVMBackend(Backend):
    """Compiles LoopFunctions with LLVM into the current process.

    Options (``configure(options)`` or the environment): ``llvm_codegen_opt`` /
    TAURARO_LLVM_CODEGEN_OPT (0-3, default 2) is the code generator's level; ``llvm_ir_opt`` /
    TAURARO_LLVM_IR_OPT (0-3, default 0) runs LLVM's default IR pipeline first (see engine.py
    for why it is off by default).
    """

    name: ClassVar[str] = "llvm"
    native: ClassVar[bool] = True
    polls_interrupt_flag: ClassVar[bool] = True
    dump_kinds: ClassVar[frozenset[str]] = frozenset({"ir", "llvm", "asm"})
    targets: ClassVar[frozenset[str]] = frozenset(TARGET_TRIPLES)
    target_dumps: ClassVar[frozenset[str]] = frozenset({"llvm", "asm"})

    def __init__(self) -> None:
        self.codegen_opt = _env_int("TAURARO_LLVM_CODEGEN_OPT", DEFAULT_CODEGEN_OPT)
        self.ir_opt = _env_int("TAURARO_LLVM_IR_OPT", DEFAULT_IR_OPT)

    def configure(self, options: dict[str, Any]) -> None:
        """Pick up `llvm_codegen_opt` and `llvm_ir_opt` from the run options, when given."""
        if options.get("llvm_codegen_opt") is not None:
            self.codegen_opt = max(0, min(3, int(options["llvm_codegen_opt"])))
        if options.get("llvm_ir_opt") is not None:
            self.ir_opt = max(0, min(3, int(options["llvm_ir_opt"])))

    def compile(self, fn: LoopFunction, memory: LinearMemory) -> CompiledLoop:
        engine = get_engine()
        build = engine.build(fn, ir_opt=self.ir_opt, codegen_opt=self.codegen_opt, base_cell=memory.base_cell_address)
        address, handle = engine.load(build)
        return LLVMCompiledLoop(self, fn, memory, build, address, handle)


def _released(*_args: Any) -> int:
    raise RuntimeError("compiled loop was released")


class LLVMCompiledLoop(CompiledLoop):
    """Native code for one loop. `run(frame_offset)` calls it through a cached ctypes pointer."""

    def __init__(self, backend: LLVMBackend, fn: LoopFunction, memory: LinearMemory, build: Build,
                 address: int, handle: Any) -> None:
        super().__init__(backend, fn, memory)
        self.symbol = build.symbol
        self.address = address
        self.compile_seconds = dict(build.seconds)
        self.ir_opt = backend.ir_opt
        self.codegen_opt = backend.codegen_opt
        self._handle = handle
        if build.base_cell is None:
            raise BackendCompileError(f"{fn.name}: code that takes the base as an argument is not for this process")
        self.base_cell = build.base_cell
        self.code_bytes = handle.size  # machine code kept while the loop lives (the code budget)
        self._cfunc = FIXED_BASE_PROTO(address)
        self.run = self._cfunc  # type: ignore[method-assign] # the ctypes call itself: no Python frame

    def run(self, frame_offset: int) -> int:  # replaced per instance by the ctypes function itself
        """Execute on the window at `frame_offset`; returns the exit number."""
        return self._cfunc(frame_offset)

    def release(self) -> None:
        if self._handle is not None:
            self.run = _released  # type: ignore[method-assign] # before unmapping: never call freed code
            self._cfunc = None
            self._handle.free()
            self._handle = None
        super().release()

    def dump(self, kind: str, target: str | None = None) -> str:
        """"ir", "llvm" (LLVM IR before and after optimisation) or "asm" (host, or target="aarch64")."""
        if kind == "ir":
            return str(self.fn)
        engine = get_engine()
        triple = _triple_for(target)
        base = self.base_cell if triple is None else None
        if kind == "llvm":
            before = engine.build(self.fn, symbol=self.symbol, ir_opt=0, emit=False, triple=triple, base_cell=base)
            after = engine.build(self.fn, symbol=self.symbol, ir_opt=self.ir_opt, emit=False, triple=triple, base_cell=base)
            opt = f"IR pipeline -O{self.ir_opt}" if self.ir_opt else "no IR pipeline; codegen optimises"
            return (f"; ---- LLVM IR before optimisation\n{before.text}\n"
                    f"; ---- LLVM IR after optimisation ({opt}, codegen -O{self.codegen_opt})\n{after.module}")
        if kind == "asm":
            b = engine.build(self.fn, symbol=self.symbol, ir_opt=self.ir_opt, emit=False, triple=triple, base_cell=base)
            return engine.assembly(b.module, triple, self.codegen_opt)
        return super().dump(kind)


def _triple_for(target: str | None) -> str | None:
    """The LLVM triple of a --target name; None for this machine (its CPU and features)."""
    if target is None:
        return None
    name = canonical_target(target)
    if name == HOST_TARGET:
        return None
    if name not in TARGET_TRIPLES:
        raise ValueError(f"the llvm backend emits no code for {target!r} (valid: {', '.join(sorted(TARGET_TRIPLES))})")
    return TARGET_TRIPLES[name]


__all__ = ["LLVMBackend", "LLVMCompiledLoop", "BackendCompileError"]
