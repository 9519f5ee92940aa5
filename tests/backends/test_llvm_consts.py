"""LLVM backend: ops with constant operands (the lowering folds and specialises them) match the IR interpreter."""
from __future__ import annotations

import itertools

import pytest

pytest.importorskip("llvmlite", reason="the LLVM backend needs llvmlite")

from tauraro.backends.conformance import SAMPLES, Case, check_backend  # noqa: E402
from tauraro.jit.ir import OPS, Flag, IRBuilder, LoopFunction  # noqa: E402
from tauraro.jit.reasons import ExitReason  # noqa: E402
from tauraro.jit.semantics import SEMANTICS  # noqa: E402

# Constants that hit the special cases: zero, +-1, powers of two, INT_MIN, non-powers, NaN, -0.0.
I64_CONSTS = (0, 1, -1, 2, 3, 8, -2, -8, 7, 63, 64, 2**62, -(2**63), 2**63 - 1)
F64_CONSTS = (0.0, -0.0, 1.0, -1.0, 0.5, 3.0, -2.5, float("inf"), float("-inf"), float("nan"))
CONSTS = {"i64": I64_CONSTS, "f64": F64_CONSTS, "bool": (False, True)}

BINARY = [name for name, d in OPS.items() if name in SEMANTICS and len(d.operands) == 2 and not name.startswith("const")]


def const_case(opcode: str, position: int, value: object) -> Case:
    """`opcode` with operand `position` a constant and the other loaded from slot 0."""
    d = OPS[opcode]
    other = d.operands[1 - position]
    fn = LoopFunction(f"{opcode}_c{position}", "consts:1", 2, {0: "x", 1: "r"}, entry_pc=0)
    b = IRBuilder(fn)
    b.set_block(b.new_block("entry"))
    snap = b.snapshot(0, {}, ExitReason.GUARD_TYPE, 1)
    b.guard_tag(0, other, snap)
    x = b.load(0, other)
    k = b.const(d.operands[position], value)
    args = (k, x) if position == 0 else (x, k)
    fail = b.snapshot(1, {0: x}, (d.exits or (ExitReason.UNSUPPORTED,))[0], 1)
    r = b.op(opcode, *args, snapshot=fail if Flag.DEOPT in d.flags else None)
    b.exit(b.snapshot(2, {1: r}, ExitReason.LOOP_EXIT, 1))
    return Case(fn.name, fn, [(v, 0) for v in SAMPLES[other]])


def all_const_case(opcode: str, x: object, y: object) -> Case:
    d = OPS[opcode]
    fn = LoopFunction(f"{opcode}_cc", "consts:1", 1, {0: "r"}, entry_pc=0)
    b = IRBuilder(fn)
    b.set_block(b.new_block("entry"))
    fail = b.snapshot(1, {}, (d.exits or (ExitReason.UNSUPPORTED,))[0], 1)
    r = b.op(opcode, b.const(d.operands[0], x), b.const(d.operands[1], y),
             snapshot=fail if Flag.DEOPT in d.flags else None)
    b.exit(b.snapshot(2, {0: r}, ExitReason.LOOP_EXIT, 1))
    return Case(fn.name, fn, [(0,)])


@pytest.fixture(scope="module")
def backend():
    from tauraro.backends.base import get_backend

    return get_backend("llvm")


@pytest.mark.parametrize("opcode", BINARY)
def test_one_constant_operand(backend, opcode):
    problems = []
    for position in (0, 1):
        for value in CONSTS[str(OPS[opcode].operands[position])]:
            problems += check_backend(backend, const_case(opcode, position, value))
    assert not problems, "\n".join(problems[:10])


@pytest.mark.parametrize("opcode", BINARY)
def test_all_constant_operands(backend, opcode):
    ta, tb = (str(t) for t in OPS[opcode].operands)
    problems = []
    for x, y in itertools.product(CONSTS[ta][:8], CONSTS[tb][:8]):
        problems += check_backend(backend, all_const_case(opcode, x, y))
    assert not problems, "\n".join(problems[:10])


UNARY = [name for name, d in OPS.items() if name in SEMANTICS and len(d.operands) == 1 and not name.startswith("guard")]


@pytest.mark.parametrize("opcode", UNARY)
def test_unary_constant_operand(backend, opcode):
    d = OPS[opcode]
    problems = []
    names = ["sin", "log", "exp"] if opcode == "callf.f64" else [None]
    for fname, value in itertools.product(names, CONSTS[str(d.operands[0])]):
        fn = LoopFunction(f"{opcode}_c", "consts:1", 1, {0: "r"}, entry_pc=0)
        b = IRBuilder(fn)
        b.set_block(b.new_block("entry"))
        fail = b.snapshot(1, {}, (d.exits or (ExitReason.UNSUPPORTED,))[0], 1)
        attrs = {"fn": fname} if fname else {}
        r = b.op(opcode, b.const(d.operands[0], value), snapshot=fail if Flag.DEOPT in d.flags else None, **attrs)
        b.exit(b.snapshot(2, {0: r}, ExitReason.LOOP_EXIT, 1))
        problems += check_backend(backend, Case(fn.name, fn, [(0,)]))
    assert not problems, "\n".join(problems[:10])
