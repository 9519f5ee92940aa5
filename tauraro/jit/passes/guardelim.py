"""Guard elimination: redundant tag/value guards, and i64 overflow guards a range analysis proves safe.

Walks the dominator tree carrying facts that hold in the current block:
* `guard.tag sN T` seen on the way down: a repeated one is deleted (slots do not change while
  compiled code runs, so the tag cannot change either);
* boolean facts from `br c` (in a successor whose only incoming edge is that branch) and from
  guard.true/guard.false; a guard whose condition is already known to hold is deleted;
* interval facts for i64 values from the comparisons behind those conditions (x < y gives
  hi(x) <= hi(y) - 1, ...), plus structural intervals (constants, `and` with a non-negative
  value, `% c`, `>> c`, min/max, abs, add/sub/mul of bounded values).
`add.i64`/`sub.i64`/`mul.i64` whose operand intervals prove the exact result fits in i64 become
`wadd`/`wsub`/`wmul` (no guard). Example: in a loop body entered through `br (lt.i64 %i, %n)`,
hi(%i) <= I64_MAX - 1 whatever %n is, so `add.i64 %i, 1` cannot overflow.
"""
from __future__ import annotations

from collections.abc import Callable

from ..analysis import Dominators, predecessors
from ..ir import Block, LoopFunction, Op, Value
from ..semantics import I64_MAX, I64_MIN

Interval = tuple[int, int]
FULL: Interval = (I64_MIN, I64_MAX)
_MAX_DEPTH = 12
_UNGUARDED = {"add.i64": "wadd.i64", "sub.i64": "wsub.i64", "mul.i64": "wmul.i64"}
# (relation of x to y when the comparison is true, relation when it is false)
_RELATIONS = {"lt": ("<", ">="), "le": ("<=", ">"), "gt": (">", "<="), "ge": (">=", "<"), "eq": ("==", "!="), "ne": ("!=", "==")}


class Facts:
    """What is known at a program point; copied on the way down the dominator tree."""

    def __init__(self) -> None:
        self.tags: set[tuple[int, object]] = set()
        self.conds: dict[Value, bool] = {}
        self.ranges: dict[Value, Interval] = {}
        self.cache: dict[Value, Interval] = {}  # interval() results; cleared when ranges change

    def copy(self) -> Facts:
        new = Facts()
        new.tags = set(self.tags)
        new.conds = dict(self.conds)
        new.ranges = dict(self.ranges)
        return new


def run(fn: LoopFunction) -> LoopFunction:
    """Remove provably redundant guards in place; returns fn."""
    doms = Dominators(fn)
    if not doms.order:
        return fn
    tree = doms.children()
    preds = predecessors(fn)
    stack: list[tuple[Block, Facts]] = [(doms.order[0], Facts())]
    while stack:
        blk, facts = stack.pop()
        _enter(blk, preds, facts)
        _visit(blk, facts)
        for child in tree[blk]:
            stack.append((child, facts.copy()))
    return fn


def _enter(blk: Block, preds: dict[Block, list[Block]], facts: Facts) -> None:
    """Add the branch condition when `blk` is reached by exactly one edge of a `br`."""
    incoming = preds.get(blk, [])
    if len(incoming) != 1:
        return
    term = incoming[0].terminator
    if term is None or term.opcode != "br" or term.targets[0].block is term.targets[1].block:
        return
    learn(term.args[0], term.targets[0].block is blk, facts)


def _visit(blk: Block, facts: Facts) -> None:
    kept = []
    for op in blk.ops:
        if not _redundant(op, facts):
            kept.append(op)
    blk.ops = kept


def _redundant(op: Op, facts: Facts) -> bool:
    name = op.opcode
    if name == "guard.tag":
        key = (op.attrs["slot"], op.attrs["type"])
        if key in facts.tags:
            return True
        facts.tags.add(key)
    elif name in ("guard.true", "guard.false"):
        want = name == "guard.true"
        if facts.conds.get(op.args[0]) is want:
            return True
        learn(op.args[0], want, facts)
    elif name in _UNGUARDED and _fits(op, facts):
        op.opcode = _UNGUARDED[name]
        op.snapshot = None
    return False


def learn(cond: Value, truth: bool, facts: Facts) -> None:
    """Record that `cond` is `truth`, and what that implies for the values it compares."""
    facts.conds[cond] = truth
    facts.cache.clear()
    op = cond.op
    if op is None:
        return
    if op.opcode == "not.bool":
        learn(op.args[0], not truth, facts)
    elif (op.opcode == "and.bool" and truth) or (op.opcode == "or.bool" and not truth):
        learn(op.args[0], truth, facts)
        learn(op.args[1], truth, facts)
    elif op.opcode.endswith(".i64") and op.opcode.split(".")[0] in _RELATIONS:
        relation = _RELATIONS[op.opcode.split(".")[0]][0 if truth else 1]
        _constrain(op.args[0], relation, op.args[1], facts)


def _constrain(x: Value, relation: str, y: Value, facts: Facts) -> None:
    if relation in (">", ">="):
        x, y, relation = y, x, relation.replace(">", "<")
    (xl, xh), (yl, yh) = interval(x, facts), interval(y, facts)
    if relation == "<":
        facts.ranges[x] = (xl, min(xh, yh - 1))
        facts.ranges[y] = (max(yl, xl + 1), yh)
    elif relation == "<=":
        facts.ranges[x] = (xl, min(xh, yh))
        facts.ranges[y] = (max(yl, xl), yh)
    elif relation == "==":
        both = (max(xl, yl), min(xh, yh))
        facts.ranges[x] = facts.ranges[y] = both
    facts.cache.clear()


def _fits(op: Op, facts: Facts) -> bool:
    lo, hi = _arith(op.opcode.split(".")[0], interval(op.args[0], facts), interval(op.args[1], facts))
    return I64_MIN <= lo and hi <= I64_MAX


def _arith(kind: str, a: Interval, b: Interval) -> Interval:
    """Exact bounds of a OP b over unbounded integers."""
    if kind in ("add", "wadd"):
        return a[0] + b[0], a[1] + b[1]
    if kind in ("sub", "wsub"):
        return a[0] - b[1], a[1] - b[0]
    corners = [x * y for x in a for y in b]
    return min(corners), max(corners)


def interval(v: Value, facts: Facts, depth: int = 0) -> Interval:
    """Bounds of i64 value `v` at this point: structural bounds intersected with learned facts."""
    cached = facts.cache.get(v)
    if cached is not None:
        return cached
    lo, hi = _structural(v, facts, depth)
    if v in facts.ranges:
        flo, fhi = facts.ranges[v]
        lo, hi = max(lo, flo), min(hi, fhi)
    if depth == 0 or lo != I64_MIN or hi != I64_MAX:
        facts.cache[v] = (lo, hi)
    return lo, hi


def _structural(v: Value, facts: Facts, depth: int) -> Interval:
    op = v.op
    if op is None or depth > _MAX_DEPTH:
        return FULL
    rule = _RULES.get(op.opcode)
    if rule is None:
        return FULL
    lo, hi = rule(op, lambda a: interval(a, facts, depth + 1))
    return max(lo, I64_MIN), min(hi, I64_MAX)


def _const(op: Op, _: Callable[[Value], Interval]) -> Interval:
    return op.attrs["value"], op.attrs["value"]


def _and(op: Op, rng: Callable[[Value], Interval]) -> Interval:
    nonneg = [r for r in map(rng, op.args) if r[0] >= 0]
    return (0, min(r[1] for r in nonneg)) if nonneg else FULL


def _mod(op: Op, rng: Callable[[Value], Interval]) -> Interval:
    lo, hi = rng(op.args[1])
    if lo > 0:
        return 0, hi - 1
    if hi < 0:
        return lo + 1, 0
    return FULL


def _rshift(op: Op, rng: Callable[[Value], Interval]) -> Interval:
    (lo, hi), (nlo, nhi) = rng(op.args[0]), rng(op.args[1])
    if nlo < 0:
        return FULL
    shifts = (min(nlo, 63), min(nhi, 63))
    values = [x >> s for x in (lo, hi) for s in shifts]
    return min(values), max(values)


def _checked(kind: str) -> Callable[[Op, Callable[[Value], Interval]], Interval]:
    # A guarded op's result is its exact value (else it exited); a wrapping op only if it cannot wrap.
    def rule(op: Op, rng: Callable[[Value], Interval]) -> Interval:
        lo, hi = _arith(kind, rng(op.args[0]), rng(op.args[1]))
        if op.opcode.startswith("w") and not (I64_MIN <= lo and hi <= I64_MAX):
            return FULL
        return lo, hi

    return rule


_RULES: dict[str, Callable[[Op, Callable[[Value], Interval]], Interval]] = {
    "const.i64": _const,
    "int.bool": lambda op, rng: (0, 1),
    "abs.i64": lambda op, rng: (0, I64_MAX),
    "and.i64": _and,
    "mod.i64": _mod,
    "rshift.i64": _rshift,
    "min.i64": lambda op, rng: (min(rng(a)[0] for a in op.args), min(rng(a)[1] for a in op.args)),
    "max.i64": lambda op, rng: (max(rng(a)[0] for a in op.args), max(rng(a)[1] for a in op.args)),
    "add.i64": _checked("add"),
    "sub.i64": _checked("sub"),
    "mul.i64": _checked("mul"),
    "wadd.i64": _checked("add"),
    "wsub.i64": _checked("sub"),
    "wmul.i64": _checked("mul"),
}
