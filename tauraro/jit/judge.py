"""Judging a hot loop before compiling it: the checks that need neither the translator nor a backend.

jit/hot.py runs them when a loop first gets hot, before the driver exists, so a loop they reject
never imports the driver, the translator or a backend (~25 ms, and 0.1 s for a backend, that a
program which rejects its hot loops cheaply does not pay); the driver runs the same checks for the
loops that get hot after it exists. Each weighs, in the ledger's unit (interpreted instructions,
jit/policy.py), what an entry of compiled code would save against what it costs.
"""
from __future__ import annotations

import math
from typing import Any, Callable

from ..bytecode import DEFS_ON_FALLTHROUGH, GENERIC_OF, CodeObject, Instr, LoopInfo, successors
from ..settings import DEFAULT_JIT_THRESHOLD
from .policy import COPY_COST, ENTRY_COST, SLOT_COST, Ledger
from .reasons import AbortReason, GiveUp, Unsupported, bytecode_what
from .region import RANGE_ITERATOR, LoopRegion, extract_region, range_length

# A range loop found too short to pay for an entry at this many hot moments in a row is not
# compiled; before that it is judged again `threshold` back-edges later (a range can grow: the
# inner loop of a triangular loop nest).
SHORT_TRIES = 4
# ...judged so only once it has run this many back-edges: a lower --jit-threshold asks to compile
# loops early (the test suites and the fuzzer stress compiled code with thresholds 1 to 10), and
# the entry ledger then gives up a loop whose entries do not pay.
SHORT_EVIDENCE = DEFAULT_JIT_THRESHOLD


# Generic opcodes the translator never compiles (they end their path with an `unsupported` exit
# whatever the types): tests/test_jit_policy.py checks each has no Translator.op_ method. A method
# call compiles only as a math function (`math.sqrt(x)`), see `never_compiled`.
NEVER_COMPILED = frozenset({
    "CallFunctionKw", "BuildList", "BuildTuple", "BuildSet", "BuildDict", "BuildSlice", "BuildString",
    "FormatValue", "ListAppend", "SetAdd", "MapAdd", "SubscrDelete", "StoreAttr", "DeleteAttr",
    "MakeFunction", "MakeClass", "ImportModule", "Raise", "RaiseAssert", "UnpackSequence", "DeleteFast",
    "DeleteGlobal", "LoadName", "StoreName", "MakeCell", "LoadDeref", "StoreDeref", "YieldValue", "YieldFrom",
    "CallFunctionEx", "SetupWith", "WithExit", "ListExtend", "SetUpdate", "DictUpdate", "DictMerge",
    "ListToTuple", "UnpackEx", "DeleteDeref", "DeleteName", "MatchPattern", "GetAIter", "GetANext",
})


def never_compiled(code: CodeObject, ins: Instr) -> bool:
    """Whether compiled code never runs this instruction, whatever the values (see NEVER_COMPILED)."""
    generic = GENERIC_OF.get(ins.op, ins.op)
    if generic == "CallMethod":
        name, _npos, kwnames = code.consts[ins.c]
        return bool(kwnames) or not callable(getattr(math, name, None))
    return generic in NEVER_COMPILED


class Judged:
    """What the checks know of one loop: its region and ledger, and how often it was found short."""

    __slots__ = ("region", "ledger", "short_tries", "longest", "seen")

    def __init__(self, code: CodeObject, loop_id: int) -> None:
        self.region: LoopRegion = extract_region(code, code.loops[loop_id])
        self.ledger = Ledger(self.region.min_iteration())
        self.short_tries = 0
        self.longest = 0  # the longest range seen while it was found short
        self.seen = 0  # back-edges counted at the hot moments so far

    def entry_cost(self) -> float:
        """What an entry costs at least: the call, and every slot written and read back once."""
        return ENTRY_COST + SLOT_COST * len(self.region.slots)

    def exceptions_outweigh(self, threshold: int, caught: int) -> str | None:
        """The abort detail when the `caught` exceptions the loop caught in its last `threshold`
        back-edges make compiling it a loss (each one leaves compiled code, raising and catching
        are interpreted, so an entry runs only the iterations between two), else None."""
        between = threshold / caught
        if between * self.ledger.per_iteration >= self.entry_cost():
            return None
        return (f"it raised and caught an exception every {between:.1f} iterations while interpreted; each "
                f"one leaves compiled code, and so few iterations between them do not pay for entering it")

    def blocked(self) -> str | None:
        """The abort detail when every path from the header back to it runs an instruction compiled
        code never runs (the translator would find no iteration either), else None. Names the
        first such instruction in bytecode order, as the translator does."""
        region, code = self.region, self.region.code
        seen, stack, first = {region.header}, [region.header], None
        while stack:
            pc = stack.pop()
            ins = code.instrs[pc]
            if never_compiled(code, ins):
                first = pc if first is None else min(first, pc)
                continue
            if ins.op == "JumpBack" and ins.a == region.header:
                return None
            for s in successors(ins, pc):
                if region.contains(s) and s not in seen:
                    seen.add(s)
                    stack.append(s)
        if first is None:
            return None  # every path leaves the loop: the translator says so
        ins = code.instrs[first]
        return f"line {ins.line}: the loop " + Unsupported.BYTECODE.explain(what=bytecode_what(code, ins))

    def range_length(self, R: list) -> int | None:
        """How many values the range of a `for` loop over a range has (None for other loops)."""
        ins = self.region.code.instrs[self.region.header]
        if ins.op not in DEFS_ON_FALLTHROUGH or type(R[ins.b]) is not RANGE_ITERATOR:
            return None
        return range_length(R[ins.b])

    def copies_outweigh(self, values: Callable[[], list[Any]], R: list) -> tuple[int, int] | None:
        """(elements, iterations) when copying the lists the loop indexes into compiled code costs
        more than a whole run of its range saves (a short loop over a big list), else None. A
        `while` loop's length is not known at entry: the ledger judges it."""
        if not self.region.indexes_lists:
            return None
        total = self.range_length(R)
        if total is None:
            return None
        elements = sum({id(v): len(v) for v in values() if type(v) is list}.values())
        if ENTRY_COST + COPY_COST * elements <= total * self.ledger.per_iteration:
            return None
        return elements, total

    def too_short(self, R: list, threshold: int) -> str | None:
        """At a hot moment (`threshold` more back-edges): the abort detail when this innermost range
        loop was found, SHORT_TRIES times in a row, to run a range whose every iteration together
        saves less than entering compiled code costs; None when it may pay (or may yet: it is
        judged again at its next hot moment, see `short_tries`). Loops with an inner loop do more
        per iteration than the ledger counts."""
        self.seen += threshold
        total = self.range_length(R)
        if total is None or self.seen < SHORT_EVIDENCE or self.has_inner_loop():
            return None
        cost = self.entry_cost()
        if total * self.ledger.per_iteration >= cost:
            self.short_tries = 0
            return None
        self.short_tries += 1
        self.longest = max(self.longest, total)
        if self.short_tries < SHORT_TRIES:
            return None
        return (f"its range had at most {self.longest} values each time it started; so few iterations save "
                f"less than entering compiled code costs (about {cost:.0f} interpreted instructions)")

    def has_inner_loop(self) -> bool:
        header, pop = self.region.header, self.region.end
        return any(header < info.header and info.pop < pop for info in self.region.code.loops)


def record_abort(stats: Any, log: Any, location: str, line: int, reason: AbortReason, text: str) -> None:
    """The stats and log record of a loop not compiled (JitDriver.abort's format)."""
    stats.aborts.append({"loop": location, "line": line, "reason": str(reason), "explanation": text})
    log(f"abort {location}: {reason}: {text}")


def record_blacklist(stats: Any, log: Any, location: str, reason: GiveUp, text: str) -> None:
    """The stats and log record of a loop given back to the interpreter (JitDriver.blacklist's format)."""
    stats.blacklisted += 1
    stats.blacklists.append({"loop": location, "reason": str(reason), "explanation": text})
    if reason is GiveUp.EXIT_STORM:
        stats.exit_storms += 1
    if reason is not GiveUp.NOT_COMPILED:  # the abort line said it
        log(f"blacklist {location}: {reason}: {text}")


def loop_summary(location: str, blacklisted: str | None, ledger: Ledger | None, compiles: int = 0,
                 live_variants: int = 0, evicted: int = 0) -> dict[str, Any]:
    """A hot loop's line in --stats-json `loops`."""
    out = {"loop": location, "compiles": compiles, "live_variants": live_variants, "evicted": evicted,
           "blacklisted": blacklisted}
    out.update((ledger or Ledger(0)).summary())
    return out


def quiet_handlers(code: CodeObject, given_up: set[int]) -> None:
    """Stop the VM reporting exceptions caught at handlers whose every enclosing loop has been given
    up for good (`given_up`: loop ids): the count judges loops not yet compiled, and each report
    costs about a microsecond (bench/hostile exceptions)."""
    rt = code.runtime
    for entry in code.except_table:
        around = [info.loop_id for info in code.loops if info.header <= entry.handler < info.pop]
        if around and given_up.issuperset(around):
            rt.quiet.add(entry.handler)


def plain_back_edges(code: CodeObject, loop_id: int) -> None:
    """Make the loop's back-edges plain jumps again (no counting: it was judged for good)."""
    handlers = code.runtime.handlers
    for pc, ins in enumerate(code.instrs):
        if ins.op == "JumpBack" and ins.b == loop_id:
            handlers[pc] = lambda R, t=ins.a: t


def location(code: CodeObject, loop_id: int) -> str:
    """A loop as stats and logs name it: file:line of its header."""
    return f"{code.filename}:{code.loops[loop_id].line}"


def enclosing(code: CodeObject, loop_id: int) -> list[LoopInfo]:
    """The loops of the same code object around this one."""
    inner = code.loops[loop_id]
    return [info for info in code.loops if info.header < inner.header and inner.pop < info.pop]


def not_compiled(stats: Any, log: Any, code: CodeObject, loop_id: int, reason: AbortReason, detail: str,
                 given_up: set[int]) -> None:
    """A loop the checks reject for good before the driver exists: recorded as the driver records
    an abort and its blacklisting, its back-edges made plain jumps, its handlers quiet."""
    where = location(code, loop_id)
    record_abort(stats, log, where, code.loops[loop_id].line, reason, reason.explain(detail=detail))
    record_blacklist(stats, log, where, GiveUp.NOT_COMPILED,
                     GiveUp.NOT_COMPILED.explain(detail=reason.explain(detail=detail)))
    plain_back_edges(code, loop_id)
    quiet_handlers(code, given_up)
