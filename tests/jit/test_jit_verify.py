"""Verifier: each kind of malformed IR is rejected with a message naming the block, the op and the operands."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jit_helpers import random_function

from tauraro.jit.ir import F64, Op, Target, Value
from tauraro.jit.irtext import parse_function
from tauraro.jit.verify import VerifyError, verify

BASE = """\
loop f "t.tr:1" pc=0 slots=2 ; s0=i s1=n
block entry:
  guard.tag s0 i64 !0
  %i0 = load.i64 s0
  %n = load.i64 s1
  jump header(%i0)
block header(%i: i64):
  %c = lt.i64 %i, %n
  br %c, body, done
block body:
  %one = const.i64 1
  %i2 = add.i64 %i, %one !1
  poll !2
  jump header(%i2)
block done:
  exit !3
snapshot 0 pc=0 reason=guard_type line=1:
snapshot 1 pc=3 reason=overflow line=2: s0=%i
snapshot 2 pc=0 reason=interrupt line=1: s0=%i2
snapshot 3 pc=9 reason=loop_exit line=3: s0=%i
"""


def broken(mutate):
    fn = parse_function(BASE)
    verify(fn)
    mutate(fn, {v.name: v for blk in fn.blocks for v in blk.params + [op.result for op in blk.ops if op.result]})
    return fn


def op_named(fn, result_name):
    return next(op for op in fn.ops() if op.result is not None and op.result.name == result_name)


def set_args(name, *args):
    def mutate(fn, vals):
        op_named(fn, name).args = [vals[a] if isinstance(a, str) else a for a in args]
    return mutate


def body_op(index):
    return lambda fn: fn.block("body").ops[index]


CASES = [
    ("operand type", set_args("c", "i", Value(F64, "q")),
     "block header: `%c = lt.i64 %i, %q`: operand 1 %q is f64, expected i64"),
    ("use not dominated", lambda fn, v: fn.block("done").insert(0, _neg(fn, v["i2"])),
     "block done: `%bad = neg.i64 %i2 !1`: uses %i2 which does not dominate it (defined in block body)"),
    ("snapshot value defined later", lambda fn, v: fn.snapshots[1].slots.__setitem__(1, v["i2"]),
     "block body: `%i2 = add.i64 %i, %one !1`: snapshot !1 s1=%i2 does not dominate the op (defined in block body)"),
    ("missing terminator", lambda fn, v: fn.block("done").ops.clear(), "block done: block does not end with a terminator"),
    ("terminator in the middle", lambda fn, v: fn.block("body").ops.insert(0, fn.block("done").ops[0]),
     "block body: `exit !3`: terminator in the middle of the block"),
    ("jump arity", lambda fn, v: fn.block("body").ops[-1].targets[0].args.append(v["one"]),
     "block body: `jump header(%i2, %one)`: passes 2 args to header which has 1 params"),
    ("jump arg type", lambda fn, v: fn.block("body").ops[-1].targets.__setitem__(0, Target(fn.block("header"), [v["c"]])),
     "block body: `jump header(%c)`: arg %c to header is bool, param %i is i64"),
    ("guard without snapshot", lambda fn, v: setattr(body_op(2)(fn), "snapshot", None), "block body: `poll`: can exit but has no snapshot"),
    ("snapshot out of range", lambda fn, v: setattr(body_op(2)(fn), "snapshot", 9),
     "block body: `poll !9`: snapshot !9 does not exist (4 snapshots)"),
    ("pure op with snapshot", lambda fn, v: setattr(op_named(fn, "c"), "snapshot", 0),
     "block header: `%c = lt.i64 %i, %n !0`: cannot exit but has a snapshot"),
    ("entry params", lambda fn, v: fn.entry.params.append(Value(F64, "p")), "block entry: the entry block cannot have parameters"),
    ("result type", lambda fn, v: setattr(op_named(fn, "c").result, "type", F64),
     "block header: `%c = lt.i64 %i, %n`: result is f64, expected bool"),
    ("snapshot slot range", lambda fn, v: fn.snapshots[3].slots.__setitem__(7, v["i"]), "snapshot 3: slot 7 not in 0..1"),
    ("undefined snapshot value", lambda fn, v: fn.snapshots[3].slots.__setitem__(1, Value(F64, "ghost")),
     "snapshot 3: s1=%ghost is not defined in the function"),
    ("bad slot attribute", lambda fn, v: op_named(fn, "n").attrs.__setitem__("slot", 4), "block entry: `%n = load.i64 s4`: slot 4 not in 0..1"),
]


def _neg(fn, value):
    op = Op("neg.i64", [value], snapshot=1)
    op.result = Value(value.type, "bad", op=op)
    return op


@pytest.mark.parametrize("label,mutate,message", CASES, ids=[c[0] for c in CASES])
def test_verifier_reports(label, mutate, message):
    fn = broken(mutate)
    with pytest.raises(VerifyError) as info:
        verify(fn)
    assert message in info.value.errors, info.value.errors


def test_error_text_names_the_function():
    fn = broken(set_args("c", "i", Value(F64, "q")))
    with pytest.raises(VerifyError, match=r"IR of f \(t\.tr:1\) is invalid"):
        verify(fn)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**32))
def test_random_functions_verify(seed):
    verify(random_function(seed))
