"""When entering a loop's compiled code pays: a per-loop ledger of interpreter time saved minus time spent.

The rule the JIT keeps: with the JIT on, no program runs more than 10% slower than on the plain
interpreter. Compiled code is cheap to run but not to enter: the driver computes the entry types,
writes the frame window, copies lists in and out, calls the code and applies the exit, all in
Python. So every entry attempt is charged what it cost and credited what it saved, in one unit:
**interpreted bytecode instructions**.

* A native iteration saves the instructions the interpreter would have run for it: at least the
  shortest path through the loop body (region.LoopRegion.min_iteration), a deliberate
  underestimate (a longer path or an inner loop saves more), so doubt favours the interpreter.
* An entry costs ENTRY_COST, plus SLOT_COST per slot written and read back, plus COPY_COST per
  list element copied in or written back.
* An attempt that runs no compiled code (no compiled version for the entry types, a list that
  cannot be mirrored) costs ENTRY_COST plus the elements it scanned: it is all loss.

A loop starts with CREDIT_START and keeps at most CREDIT_CAP. When the credit drops below zero the
driver gives the loop back to the interpreter for good (blacklists it), so a loop whose entries
never pay is entered at most about CREDIT_START / ENTRY_COST times, and one that stops paying
after a good start at most about (CREDIT_START + CREDIT_CAP) / ENTRY_COST more times: bounded,
whatever the loop does (LuaJIT bounds trace aborts per bytecode with penalties the same way; PyPy
bounds retraces with `retrace_limit`). The verdict names what dominated the losses.

Constants measured on x86-64 (Python 3.11, llvmlite 0.50, wasmtime 50) by `python -m bench.hostile
--calibrate` (in one process, min of 5 runs; the machine was shared with other jobs, which slows
everything alike but leaves the ratios below): an interpreted instruction took 0.345 us; an entry
that runs one iteration costs 88 instructions on llvm, 103 on cranelift, 184 on the IR interpreter;
each slot the loop keeps adds 11-17 instructions (written at entry, read back at the exit: two slot
charges); copying a list of ints or floats in and writing it back costs 1.7-2.0 instructions per
element, a mixed list 7.6 (cell by cell).
"""
from __future__ import annotations

from collections import Counter
from typing import Any

from ..record import field, record
from .reasons import ExitReason, GiveUp

ENTRY_COST = 100.0  # instructions: one entry (signature, call, exit), llvm and cranelift, see above
SLOT_COST = 7.0  # instructions per slot written at entry or read back at the exit
COPY_COST = 1.0  # instructions per list element copied in, and again per element written back
CREDIT_START = 4 * ENTRY_COST  # a loop that never pays is given up after ~4 useless entries
CREDIT_CAP = 64 * ENTRY_COST  # ...and one that stops paying within ~64 more
# Exits that end the loop the way the program does: a loop that leaves through them after few
# iterations is short, not failing.
NORMAL_EXITS = frozenset({ExitReason.LOOP_EXIT, ExitReason.BREAK, ExitReason.RETURN})


@record  # not a dataclass: jit/judge.py uses ledgers before the driver (and dataclasses) is imported
class Ledger:
    """One loop's account: credit in interpreted instructions and what it was spent on."""

    per_iteration: int  # instructions a native iteration saves at least
    credit: float = CREDIT_START
    entries: int = 0  # calls into compiled code
    failed: int = 0  # attempts that ran no compiled code
    failure: str = ""  # why the last failed attempt failed (for the verdict)
    iterations: int = 0  # back-edges taken in compiled code
    copied: int = 0  # list elements copied in or written back
    copy_cost: float = 0.0
    entry_cost: float = 0.0
    exits: Counter = field(default_factory=Counter)  # (reason, line) -> exits taken

    def entered(self, iterations: int, slots: int, copied: int, reason: ExitReason, line: int) -> bool:
        """Account one call into compiled code; False when the loop no longer pays."""
        self.entries += 1
        self.iterations += iterations
        self.copied += copied
        self.exits[(reason, line)] += 1
        copy = COPY_COST * copied
        cost = ENTRY_COST + SLOT_COST * slots
        self.copy_cost += copy
        self.entry_cost += cost
        return self._charge(iterations * self.per_iteration - cost - copy)

    def failed_attempt(self, scanned: int, why: str) -> bool:
        """Account an attempt that ran no compiled code; False when the loop no longer pays."""
        self.failed += 1
        self.failure = why
        self.copy_cost += COPY_COST * scanned
        self.entry_cost += ENTRY_COST
        return self._charge(-ENTRY_COST - COPY_COST * scanned)

    def _charge(self, amount: float) -> bool:
        self.credit = min(CREDIT_CAP, self.credit + amount)
        return self.credit >= 0

    def verdict(self) -> tuple[GiveUp, dict[str, Any]]:
        """Why the loop does not pay: the reason and the fields of its explanation."""
        average = self.iterations / max(1, self.entries)
        if self.failed * 2 >= self.entries + self.failed:
            return GiveUp.ENTRY_FAILED, {"count": self.failed, "detail": self.failure}
        if self.copy_cost > self.entry_cost:
            return GiveUp.LIST_COPIES, {"elements": self.copied, "iterations": self.iterations}
        (reason, line), _count = self.exits.most_common(1)[0]
        if reason in NORMAL_EXITS:
            return GiveUp.SHORT, {"average": average, "entries": self.entries, "entry_cost": int(ENTRY_COST)}
        return GiveUp.EXIT_STORM, {"line": line, "average": average, "exit": reason.explain()}

    def summary(self) -> dict[str, Any]:
        return {"entries": self.entries, "failed_entries": self.failed, "native_iterations": self.iterations,
                "list_elements_copied": self.copied, "credit": round(self.credit, 1)}
