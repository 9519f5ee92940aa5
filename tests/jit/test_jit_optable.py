"""The op table: derived property sets, builder checks, and the generated docs table being current."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tauraro.jit import ir
from tauraro.jit.ir import (
    CSE_OPS,
    DEOPT_OPS,
    EFFECT_OPS,
    GUARD_OPS,
    I64,
    OPS,
    PURE_OPS,
    RESERVED_OPS,
    TERMINATOR_OPS,
    IRBuilder,
    IRError,
    LoopFunction,
)
from tauraro.jit.reasons import ExitReason

DOC = Path(__file__).resolve().parents[2] / "docs" / "jit.md"


def test_flags_are_consistent():
    assert not PURE_OPS & GUARD_OPS and not PURE_OPS & EFFECT_OPS
    assert GUARD_OPS <= DEOPT_OPS and "exit" in DEOPT_OPS
    assert TERMINATOR_OPS == {"jump", "br", "exit", "ret.i64", "ret.f64", "ret.bool"}
    assert "poll" in GUARD_OPS & EFFECT_OPS and "poll" not in CSE_OPS
    assert not CSE_OPS & RESERVED_OPS
    for d in OPS.values():
        assert d.doc and d.name.split(".")[0]
        assert (ir.Flag.DEOPT in d.flags) == bool(d.exits) or d.name in RESERVED_OPS, d.name


def test_docs_op_table_is_current():
    text = DOC.read_text()
    assert ir.replace_table_section(text) == text, "run: python -m tauraro.jit.ir --write docs/jit.md"


def test_markdown_command_prints_every_op():
    out = subprocess.run([sys.executable, "-m", "tauraro.jit.ir", "--markdown"], capture_output=True, text=True, check=True).stdout
    for name in OPS:
        assert f"| `{name}` |" in out


def _builder():
    fn = LoopFunction("f", "t.tr:1", 2)
    b = IRBuilder(fn)
    b.set_block(b.new_block("entry"))
    return fn, b


@pytest.mark.parametrize("call,message", [
    (lambda b, s: b.op("add.i64", b.const(I64, 1)), "add.i64 takes 2 operands, got 1"),
    (lambda b, s: b.op("add.i64", b.const(I64, 1), b.const(I64, 2)), "add.i64 needs a snapshot index"),
    (lambda b, s: b.op("lt.i64", b.const(I64, 1), b.const(I64, 2), snapshot=s), "lt.i64 takes no snapshot"),
    (lambda b, s: b.op("neg.f64", b.const(I64, 1)), "neg.f64 operand 0 %0 is i64, expected f64"),
    (lambda b, s: b.op("frob"), "unknown op 'frob'"),
    (lambda b, s: b.op("load.i64", slot=2), "load.i64: slot 2 not in 0..1"),
    (lambda b, s: b.op("const.i64", value=True), "bad i64 constant True"),
    (lambda b, s: b.op("const.f64", value=1), "bad f64 constant 1"),
    (lambda b, s: b.op("neg.i64", 5, snapshot=s), "not a Value"),
    (lambda b, s: (b.exit(s), b.exit(s)), "block entry already ends with exit"),
    (lambda b, s: b.jump(b.new_block("h", [I64]), []), "jump to h passes 0 args for 1 params"),
])
def test_builder_rejects_bad_ops_at_once(call, message):
    fn, b = _builder()
    sid = b.snapshot(0, {}, ExitReason.LOOP_EXIT, 1)
    with pytest.raises(IRError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        call(b, sid)


def test_value_names_are_unique_and_hinted():
    fn, b = _builder()
    x = b.load(0, I64, hint="x")
    y = b.load(1, I64, hint="x")
    assert (x.name, y.name) == ("x", "x.1")
