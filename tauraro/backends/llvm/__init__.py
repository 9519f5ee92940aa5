"""The LLVM backend ("llvm"): loops compiled to native x86-64/AArch64 code through llvmlite."""
from __future__ import annotations

import os
from typing import Any, ClassVar

from ...jit.ir import LoopFunction
from ...jit.layout import LinearMemory
from ..base import TARGET_TRIPLES, Backend, CompiledLoop


class BackendCompileError(RuntimeError):
    """LLVM could not compile or load a loop; the driver falls back to the interpreter for it."""


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
    TAURARO_LLVM_IR_OPT (0-3, default 0) runs LLVM's default IR pipeline first (see runtime.py
    for why it is off by default).
    """

    name: ClassVar[str] = "llvm"
    native: ClassVar[bool] = True
    polls_interrupt_flag: ClassVar[bool] = True
    dump_kinds: ClassVar[frozenset[str]] = frozenset({"ir", "llvm", "asm"})
    targets: ClassVar[frozenset[str]] = frozenset(TARGET_TRIPLES)
    target_dumps: ClassVar[frozenset[str]] = frozenset({"llvm", "asm"})

    def __init__(self) -> None:
        from .runtime import DEFAULT_CODEGEN_OPT, DEFAULT_IR_OPT

        self.codegen_opt = _env_int("TAURARO_LLVM_CODEGEN_OPT", DEFAULT_CODEGEN_OPT)
        self.ir_opt = _env_int("TAURARO_LLVM_IR_OPT", DEFAULT_IR_OPT)

    def configure(self, options: dict[str, Any]) -> None:
        """Pick up `llvm_codegen_opt` and `llvm_ir_opt` from the run options, when given."""
        if options.get("llvm_codegen_opt") is not None:
            self.codegen_opt = max(0, min(3, int(options["llvm_codegen_opt"])))
        if options.get("llvm_ir_opt") is not None:
            self.ir_opt = max(0, min(3, int(options["llvm_ir_opt"])))

    def compile(self, fn: LoopFunction, memory: LinearMemory) -> CompiledLoop:
        from .runtime import compile_loop

        return compile_loop(self, fn, memory)


__all__ = ["LLVMBackend", "BackendCompileError"]
