"""Constant folding and exact algebraic simplification; never folds an op whose guard would fire.

Rules (all exact for every input, NaN and -0.0 included):
* an op whose operands are all constants is evaluated with tauraro.jit.semantics; if the
  result is FAIL the op is kept unchanged (the guard still exits at run time);
* guard.true/guard.false on a constant that passes are deleted; `br` on a constant becomes `jump`;
* i64 identities only: x+0, 0+x, x-0, x*1, 1*x, x<<0, x>>0 -> x; x*0 -> 0; select on a constant;
  not(not x) -> x. No float identities (x*1.0 may change a NaN's payload, x+0.0 turns -0.0 into 0.0);
* strength reduction by a constant power of two 2**k (exact for Python's floor semantics, negative
  x included): mod.i64 x, 2**k -> and.i64 x, 2**k-1; floordiv.i64 x, 2**k -> rshift.i64 x, k. The
  shift keeps the division's snapshot (a guard op needs one) but cannot exit: k >= 0. The
  lowerings then see an ordinary constant mask or shift and need no divisor tricks of their own;
* a block parameter whose incoming arguments are all one value v (or itself) is replaced by v.
"""
from __future__ import annotations

from typing import Any

from ..analysis import predecessors, replace_uses, reverse_postorder
from ..ir import CONST_OP_FOR, CONST_OPS, CSE_OPS, Block, LoopFunction, Op, Target, Value, const_of, make_op
from ..semantics import FAIL, SEMANTICS

_ZERO_IDENTITY = {"add.i64", "wadd.i64", "sub.i64", "wsub.i64", "lshift.i64", "rshift.i64"}
_COMMUTATIVE_ZERO = {"add.i64", "wadd.i64"}
_ONE_IDENTITY = {"mul.i64", "wmul.i64"}


def run(fn: LoopFunction) -> LoopFunction:
    """Fold constants in place; returns fn."""
    mapping: dict[Value, Value] = {}
    for blk in reverse_postorder(fn):
        _fold_block(fn, blk, mapping)
    replace_uses(fn, mapping)
    _remove_trivial_params(fn)
    return fn


def _const_of(v: Value, mapping: dict[Value, Value]) -> Any:
    """const_of(v) after the replacements this pass has made so far."""
    while v in mapping:
        v = mapping[v]
    return const_of(v)


def _fold_block(fn: LoopFunction, blk: Block, mapping: dict[Value, Value]) -> None:
    kept: list[Op] = []
    for op in blk.ops:
        op.args = [_resolve(a, mapping) for a in op.args]
        if op.opcode == "br":
            _fold_branch(op, mapping)
        elif op.opcode in CSE_OPS and op.opcode not in CONST_OPS and op.opcode in SEMANTICS:
            if not _fold_op(op, mapping):
                continue  # deleted
            _reduce_strength(fn, op, mapping, kept)
        kept.append(op)
    blk.ops = kept


def _resolve(v: Value, mapping: dict[Value, Value]) -> Value:
    while v in mapping:
        v = mapping[v]
    return v


def _fold_op(op: Op, mapping: dict[Value, Value]) -> bool:
    """Fold or simplify `op`; returns False when the op is to be deleted."""
    consts = [_const_of(a, mapping) for a in op.args]
    if op.args and all(c is not None for c in consts):
        value = SEMANTICS[op.opcode](op.attrs, *consts)
        if value is FAIL:
            return True
        if op.result is None:
            return False  # a guard that always passes
        _make_const(op, value)
        return True
    replacement = _identity(op, consts)
    if isinstance(replacement, Value):
        mapping[op.result] = replacement  # type: ignore[index]
        return False
    if replacement is not None:
        _make_const(op, replacement)
    return True


def _identity(op: Op, consts: list[Any]) -> Value | int | None:
    """The value or constant `op` reduces to by an exact identity, else None."""
    name, args = op.opcode, op.args
    if name in _ZERO_IDENTITY and consts[1] == 0:
        return args[0]
    if name in _COMMUTATIVE_ZERO and consts[0] == 0:
        return args[1]
    if name in _ONE_IDENTITY:
        if consts[1] == 1:
            return args[0]
        if consts[0] == 1:
            return args[1]
        if 0 in (consts[0], consts[1]):
            return 0
    if name.startswith("select.") and consts[0] is not None:
        return args[1] if consts[0] else args[2]
    if name == "not.bool" and args[0].op is not None and args[0].op.opcode == "not.bool":
        return args[0].op.args[0]
    return None


def _reduce_strength(fn: LoopFunction, op: Op, mapping: dict[Value, Value], kept: list[Op]) -> None:
    """Rewrite a division or modulo by a constant power of two (module docstring); a new constant
    operand is appended to `kept` just before `op`."""
    if op.opcode not in _POWER_OF_TWO_REWRITES:
        return
    c = _const_of(op.args[1], mapping)
    if c is None or c <= 0 or c & (c - 1):
        return
    opcode, operand, keeps_snapshot = _POWER_OF_TWO_REWRITES[op.opcode](c)
    const = make_op(fn, "const.i64", (), {"value": operand}, None, (), "mask" if opcode == "and.i64" else "shift")
    const.block = op.block
    kept.append(const)
    op.opcode = opcode
    op.args = [op.args[0], const.result]  # type: ignore[list-item]
    if not keeps_snapshot:
        op.snapshot = None


# opcode -> (divisor 2**k -> (new opcode, its constant operand, whether it keeps a snapshot))
_POWER_OF_TWO_REWRITES = {
    "mod.i64": lambda c: ("and.i64", c - 1, False),
    "floordiv.i64": lambda c: ("rshift.i64", c.bit_length() - 1, True),
}


def _make_const(op: Op, value: Any) -> None:
    assert op.result is not None
    op.opcode = CONST_OP_FOR[op.result.type]
    op.args = []
    op.attrs = {"value": value}
    op.snapshot = None


def _fold_branch(op: Op, mapping: dict[Value, Value]) -> None:
    cond = _const_of(op.args[0], mapping)
    if cond is None:
        return
    taken: Target = op.targets[0] if cond else op.targets[1]
    op.opcode = "jump"
    op.args = []
    op.targets = [taken]


def _remove_trivial_params(fn: LoopFunction) -> None:
    """Replace parameters whose every incoming argument is one value (or the parameter itself)."""
    changed = True
    while changed:
        changed = False
        preds = predecessors(fn)
        for blk in fn.blocks:
            if blk is fn.entry or not preds.get(blk):
                continue
            sources = {id(p): p for p in preds[blk]}.values()
            edges = [t for p in sources for t in p.terminator.targets if t.block is blk]  # type: ignore[union-attr]
            for k in reversed(range(len(blk.params))):
                param = blk.params[k]
                incoming = {id(t.args[k]): t.args[k] for t in edges if t.args[k] is not param}
                if len(incoming) != 1:
                    continue
                (value,) = incoming.values()
                del blk.params[k]
                for t in edges:
                    del t.args[k]
                replace_uses(fn, {param: value})
                changed = True
