"""The "ir" backend: runs loops on the reference IR interpreter (backend 0); every other backend must match it."""
from __future__ import annotations

from ...jit.ir import LoopFunction
from ...jit.layout import LinearMemory
from ..base import Backend, CompiledLoop
from .interp import IRInterpreter


class IRCompiledLoop(CompiledLoop):
    """A LoopFunction prepared for the IR interpreter."""

    def __init__(self, backend: Backend, fn: LoopFunction, memory: LinearMemory) -> None:
        super().__init__(backend, fn, memory)
        self._interp: IRInterpreter | None = IRInterpreter(fn, memory)

    def run(self, frame_offset: int) -> int:
        if self._interp is None:
            raise RuntimeError(f"compiled loop {self.fn.name} was released")
        return self._interp.run(frame_offset)

    def release(self) -> None:
        self._interp = None
        super().release()


class IRBackend(Backend):
    """Interprets the IR: slow, exact, always available."""

    name = "ir"
    native = False
    polls_interrupt_flag = True
    dump_kinds = frozenset({"ir"})

    def compile(self, fn: LoopFunction, memory: LinearMemory) -> CompiledLoop:
        return IRCompiledLoop(self, fn, memory)
