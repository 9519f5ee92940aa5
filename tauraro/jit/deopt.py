"""The deopt record (Snapshot) and the exit contract every backend implements.

Exit contract, for leaving a LoopFunction through snapshot N (N = its index in fn.snapshots,
reached by a failing guard, a set interrupt flag at `poll`, or an `exit !N` terminator):

1. For every (slot, v) in snapshot N's ``slots``: write the slot's tag word with the tag of v's
   IR type (i64 -> INT, f64 -> FLOAT, bool -> BOOL) and its payload word with v's value
   (two's-complement i64, the double's bits, or 0/1). Slots not listed are left untouched:
   compiled code never writes a slot anywhere else.
2. Write N to header +0 and the number of back-edges taken during this call to header +16.
3. Return N.

A guard that fails exits *before* its own result exists, so a snapshot never names the
result of the op that uses it. The VM then rebuilds its registers from the window (unlisted
slots still hold what the VM wrote before the call) and resumes at ``resume_pc``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .ir import Const, Value
from .reasons import ExitReason

__all__ = ["Snapshot", "ExitReason", "snapshot_values"]


@dataclass
class Snapshot:
    """VM state to materialise on an exit: where to resume and what each changed slot holds.

    resume_pc: bytecode pc at which the interpreter continues.
    slots: slot -> SSA value (live at every op using this snapshot) or typed Const.
    reason: why this exit exists (stats, logs and dumps group exits by it).
    line: source line of the operation that exits (for messages and dumps).
    extras: opaque data the translator/VM attaches for rebuilding its frame (not IR: ignored by
        passes, the text form and backends; copied when a pass derives a snapshot from another).
    """

    resume_pc: int
    slots: dict[int, Value | Const] = field(default_factory=dict)
    reason: ExitReason = ExitReason.UNSUPPORTED
    line: int = 0
    extras: Any = field(default=None, compare=False, repr=False)

    def values(self) -> list[Value]:
        """The SSA values this snapshot reads (constants excluded)."""
        return [v for v in self.slots.values() if isinstance(v, Value)]


def snapshot_values(snap: Snapshot) -> list[Value]:
    """Same as ``snap.values()`` (kept as a function for map())."""
    return snap.values()
