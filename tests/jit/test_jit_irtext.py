"""IR text form: printer/parser round trip (golden example, random functions) and parse errors."""
from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jit_helpers import random_function

from tauraro.jit.ir import F64, I64, Const, IRBuilder, IRError, LoopFunction
from tauraro.jit.irtext import parse_function, print_function, round_trips, structure
from tauraro.jit.layout import bits_to_float, float_to_bits
from tauraro.jit.reasons import ExitReason

EXAMPLE = """\
loop loop7 "prog.tr:12" pc=7 slots=3 ; s0=i s1=n s2="total sum"
block entry:
  guard.tag s0 i64 !0
  %i.1 = load.i64 s0
  %n.1 = load.i64 s1
  %x = const.f64 -0.0
  %y = const.f64 nan:0x7ff8000000000001
  %z = callf.f64 sin %x !1
  %b = const.bool true
  jump header(%i.1, %z)
block header(%i: i64, %f: f64):
  %c = lt.i64 %i, %n.1
  br %c, body, done(%f)
block body:
  %i.2 = add.i64 %i, %i !1
  poll !2
  jump header(%i.2, %y)
block done(%r: f64):
  exit !3
snapshot 0 pc=7 reason=guard_type line=12:
snapshot 1 pc=9 reason=overflow line=13: s0=%i.1 s2=f64:-inf
snapshot 2 pc=7 reason=interrupt line=12: s0=%i.2 s1=bool:false s2=i64:-5
snapshot 3 pc=20 reason=loop_exit line=14: s0=%i s2=%r
"""


def test_example_round_trips_exactly():
    fn = parse_function(EXAMPLE)
    assert print_function(fn) == EXAMPLE
    assert round_trips(fn)
    assert fn.slot_names == {0: "i", 1: "n", 2: "total sum"}
    assert fn.entry_pc == 7 and fn.location == "prog.tr:12"


def test_floats_keep_their_bits():
    fn = parse_function(EXAMPLE)
    consts = {op.result.name: op.attrs["value"] for op in fn.ops() if op.opcode == "const.f64"}
    assert math.copysign(1.0, consts["x"]) == -1.0
    assert float_to_bits(consts["y"]) == 0x7FF8000000000001
    assert fn.snapshots[1].slots[2] == Const(F64, -math.inf)


def test_comments_and_blank_lines_are_ignored():
    text = EXAMPLE.replace("block body:\n", "\n; a comment\nblock body:  ; trailing\n")
    assert print_function(parse_function(text)) == EXAMPLE


def test_builder_output_round_trips():
    fn = LoopFunction("f", "x.tr:1", 2, {0: "a"})
    b = IRBuilder(fn)
    b.set_block(b.new_block())
    v = b.const(F64, bits_to_float(0xFFF8000000000000))
    w = b.op("neg.f64", v)
    b.exit(b.snapshot(3, {0: w, 1: Const(I64, -(2**63))}, ExitReason.RETURN, 2))
    assert round_trips(fn)


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2**32))
def test_random_functions_round_trip(seed):
    fn = random_function(seed)
    text = print_function(fn)
    again = parse_function(text)
    assert print_function(again) == text
    assert structure(again) == structure(fn)


@pytest.mark.parametrize("text,message", [
    ("", "empty IR text"),
    ("block entry:\n  exit !0\n", "line 1: expected 'loop NAME"),
    ('loop f "x" slots=1\n  exit !0\n', "line 2: op outside a block"),
    ('loop f "x" slots=1\nblock entry:\n  %a = frob.i64\n', "line 3: 'frob.i64' is not an op with a result"),
    ('loop f "x" slots=1\nblock entry:\n  %a = add.i64 %b, %b !0\n', "line 3: undefined value %b"),
    ('loop f "x" slots=1\nblock entry:\n  %a = const.i64 1\n  %a = const.i64 2\n', "line 4: value %a defined twice"),
    ('loop f "x" slots=1\nblock entry:\n  %a = load.i64 s5\n', "line 3: load.i64: slot 5 not in 0..0"),
    ('loop f "x" slots=1\nblock entry:\n  %a = const.i64 1\n  %b = add.i64 %a, %a\n', "add.i64 needs a snapshot"),
    ('loop f "x" slots=1\nblock entry:\n  %a = const.f64 1.0\n  %b = neg.i64 %a !0\n', "neg.i64 operand 0 %a is f64, expected i64"),
    ('loop f "x" slots=1\nblock entry:\n  jump nowhere\n', "line 3: unknown block 'nowhere'"),
    ('loop f "x" slots=1\nblock entry:\n  exit !0\nsnapshot 1 pc=0 reason=loop_exit line=1:\n', "expected 'snapshot 0"),
    ('loop f "x" slots=1\nblock entry:\n  exit !0\nsnapshot 0 pc=0 reason=bored line=1:\n', "unknown exit reason 'bored'"),
    ('loop f "x" slots=1\nblock entry:\n  %a = const.i64 99999999999999999999\n', "i64 constant 99999999999999999999 out of range"),
    ('loop f "x" slots=1\nblock entry:\n  %a = callf.f64 gamma %a !0\n', "unknown libm function 'gamma'"),
])
def test_parse_errors_name_the_line_and_problem(text, message):
    with pytest.raises(IRError) as info:
        parse_function(text)
    assert message in str(info.value)
