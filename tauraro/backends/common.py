"""What every lowering needs in the same way: reserved-op rejection, one name uniquifier, exit stores, payload words.

The op recipes themselves are per target (llvm/lower.py, wasm/lower.py); the exit contract is
tauraro.jit.deopt's, whose ``exit_stores`` lists what each exit writes.
"""
from __future__ import annotations

from collections.abc import Iterable

from ..jit.deopt import exit_stores, payload_word
from ..jit.ir import RESERVED_OPS, LoopFunction

__all__ = ["reject_reserved", "Namer", "exit_stores", "payload_word"]


def reject_reserved(fn: LoopFunction, backend: str) -> None:
    """Raise NotImplementedError naming the first reserved op in `fn` (ops the table declares but
    no backend implements yet, such as calls)."""
    for op in fn.ops():
        if op.opcode in RESERVED_OPS:
            raise NotImplementedError(f"IR op {op.opcode} is reserved and not implemented by the {backend} backend")


class Namer:
    """Unique names for one emitted function: `base`, else `base.1`, `base.2`, ... (the first free)."""

    def __init__(self, taken: Iterable[str] = ()) -> None:
        self.used: set[str] = set(taken)

    def __call__(self, base: str) -> str:
        name, k = base, 0
        while name in self.used:
            k += 1
            name = f"{base}.{k}"
        self.used.add(name)
        return name

    def __contains__(self, name: str) -> bool:
        return name in self.used

    def __len__(self) -> int:
        return len(self.used)
