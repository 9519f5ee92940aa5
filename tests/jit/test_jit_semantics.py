"""IR interpreter semantics of every op and guard against CPython itself (no backend needed)."""
from __future__ import annotations

import math
import operator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jit_helpers import EXITED, run_op

from tauraro.backends.conformance import F64_SAMPLES, I64_SAMPLES
from tauraro.jit.ir import IMPLEMENTED_OPS, LIBM2_FUNCTIONS, LIBM_FUNCTIONS, OPS
from tauraro.jit.layout import I64_MAX, I64_MIN, float_to_bits
from tauraro.jit.semantics import FRAME_OPS, MEMORY_SEMANTICS, SEMANTICS, libm_exits

i64s = st.integers(I64_MIN, I64_MAX)
small = st.integers(-(2**20), 2**20)
f64s = st.floats(allow_nan=True, allow_infinity=True)
INT_PAIRS = [(a, b) for a in I64_SAMPLES for b in I64_SAMPLES]
FLOAT_PAIRS = [(a, b) for a in F64_SAMPLES for b in F64_SAMPLES]


def python_int(f, *args):
    """What the interpreter must produce for an i64 op: Python's result, or EXITED if Python raises or it leaves i64."""
    try:
        r = f(*args)
    except (ZeroDivisionError, ValueError, OverflowError):
        return EXITED
    if isinstance(r, int) and not isinstance(r, bool) and not I64_MIN <= r <= I64_MAX:
        return EXITED
    return r


def same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or float_to_bits(a) == float_to_bits(b)
    return type(a) is type(b) and a == b if a is not EXITED else b is EXITED


INT_BINARY = {
    "add.i64": operator.add, "sub.i64": operator.sub, "mul.i64": operator.mul,
    "floordiv.i64": operator.floordiv, "mod.i64": operator.mod,
    "and.i64": operator.and_, "or.i64": operator.or_, "xor.i64": operator.xor,
    "min.i64": min, "max.i64": max,
    "lt.i64": operator.lt, "le.i64": operator.le, "gt.i64": operator.gt,
    "ge.i64": operator.ge, "eq.i64": operator.eq, "ne.i64": operator.ne,
}


def shift_left(a, n):
    if n >= 64 and a != 0 and n >= 0:
        return 2**64  # too big to fit; avoids building a huge int
    return a << n


def true_div(a, b):
    if b != 0 and (abs(a) > 2**53 or abs(b) > 2**53):
        raise OverflowError("outside the exact fast path: the op exits")
    return a / b


INT_BINARY_SPECIAL = {"lshift.i64": shift_left, "rshift.i64": operator.rshift, "truediv.i64": true_div}


@pytest.mark.parametrize("opcode", sorted({**INT_BINARY, **INT_BINARY_SPECIAL}))
def test_int_binary_edges(opcode):
    f = INT_BINARY.get(opcode) or INT_BINARY_SPECIAL[opcode]
    for a, b in INT_PAIRS:
        assert same(python_int(f, a, b), run_op(opcode, a, b)), (opcode, a, b)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(INT_BINARY)), st.one_of(i64s, small), st.one_of(i64s, small))
def test_int_binary_random(opcode, a, b):
    assert same(python_int(INT_BINARY[opcode], a, b), run_op(opcode, a, b))


@settings(max_examples=200, deadline=None)
@given(st.one_of(i64s, small), st.integers(-3, 70))
def test_shifts_random(a, n):
    assert same(python_int(shift_left, a, n), run_op("lshift.i64", a, n))
    assert same(python_int(operator.rshift, a, n), run_op("rshift.i64", a, n))


@settings(max_examples=200, deadline=None)
@given(st.integers(-(2**53), 2**53), st.integers(-(2**53), 2**53))
def test_truediv_exact_region_matches_python(a, b):
    assert same(python_int(operator.truediv, a, b), run_op("truediv.i64", a, b))


def test_overflow_exactly_at_the_i64_bounds():
    assert run_op("add.i64", I64_MAX - 1, 1) == I64_MAX
    assert run_op("add.i64", I64_MAX, 1) is EXITED
    assert run_op("sub.i64", I64_MIN + 1, 1) == I64_MIN
    assert run_op("sub.i64", I64_MIN, 1) is EXITED
    assert run_op("mul.i64", -(2**62), 2) == I64_MIN
    assert run_op("mul.i64", 2**62, 2) is EXITED
    assert run_op("neg.i64", I64_MIN) is EXITED and run_op("neg.i64", I64_MIN + 1) == I64_MAX
    assert run_op("abs.i64", I64_MIN) is EXITED
    assert run_op("floordiv.i64", I64_MIN, -1) is EXITED
    assert run_op("mod.i64", I64_MIN, -1) == 0
    assert run_op("lshift.i64", 1, 62) == 2**62 and run_op("lshift.i64", 1, 63) is EXITED
    assert run_op("lshift.i64", -1, 63) == I64_MIN and run_op("lshift.i64", 0, 1000) == 0
    assert run_op("rshift.i64", -5, 1000) == -1 and run_op("rshift.i64", 5, -1) is EXITED


@pytest.mark.parametrize("opcode,f", [("neg.i64", operator.neg), ("abs.i64", abs), ("invert.i64", operator.invert)])
def test_int_unary(opcode, f):
    for a in I64_SAMPLES:
        assert same(python_int(f, a), run_op(opcode, a))


def wrap(x: int) -> int:
    return (x + 2**63) % 2**64 - 2**63


@pytest.mark.parametrize("opcode,f", [("wadd.i64", operator.add), ("wsub.i64", operator.sub), ("wmul.i64", operator.mul)])
def test_wrapping_ops(opcode, f):
    for a, b in INT_PAIRS:
        assert run_op(opcode, a, b) == wrap(f(a, b))


def python_float(f, *args):
    try:
        return f(*args)
    except (ZeroDivisionError, ValueError, OverflowError):
        return EXITED


FLOAT_BINARY = {
    "add.f64": operator.add, "sub.f64": operator.sub, "mul.f64": operator.mul,
    "div.f64": operator.truediv, "floordiv.f64": operator.floordiv, "mod.f64": operator.mod,
    "min.f64": min, "max.f64": max,
    "lt.f64": operator.lt, "le.f64": operator.le, "gt.f64": operator.gt,
    "ge.f64": operator.ge, "eq.f64": operator.eq, "ne.f64": operator.ne,
}


@pytest.mark.parametrize("opcode", sorted(FLOAT_BINARY))
def test_float_binary_edges(opcode):
    for a, b in FLOAT_PAIRS:
        assert same(python_float(FLOAT_BINARY[opcode], a, b), run_op(opcode, a, b)), (opcode, a, b)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(FLOAT_BINARY)), f64s, f64s)
def test_float_binary_random(opcode, a, b):
    assert same(python_float(FLOAT_BINARY[opcode], a, b), run_op(opcode, a, b))


FLOAT_UNARY = {
    "neg.f64": operator.neg, "abs.f64": abs, "sqrt.f64": math.sqrt,
    "floor.f64": math.floor, "ceil.f64": math.ceil, "int.f64": int, "bool.f64": bool,
}


@pytest.mark.parametrize("opcode", sorted(FLOAT_UNARY))
def test_float_unary(opcode):
    for a in F64_SAMPLES + (-1e-300, 2.0**63 - 1024, -(2.0**63) - 2048, 123456.75, -0.5):
        want = python_int(FLOAT_UNARY[opcode], a)
        assert same(want, run_op(opcode, a)), (opcode, a)


def test_sqrt_of_negative_zero_is_negative_zero():
    assert math.copysign(1.0, run_op("sqrt.f64", -0.0)) == -1.0
    assert math.isnan(run_op("sqrt.f64", math.nan))
    assert run_op("sqrt.f64", -1e-300) is EXITED


@pytest.mark.parametrize("name", LIBM_FUNCTIONS)
def test_libm_calls_match_math(name):
    for a in F64_SAMPLES + (-1e-300, 0.75, -0.75, 2.0, 1e22, -1e22):
        assert same(python_float(getattr(math, name), a), run_op("callf.f64", a, fn=name)), (name, a)


@pytest.mark.parametrize("name", LIBM_FUNCTIONS)
def test_documented_libm_exit_rule_matches_python(name):
    """Backends call libm and exit by math_1's rule; it must agree with when Python raises."""
    import ctypes
    import ctypes.util

    libm = ctypes.CDLL(ctypes.util.find_library("m"))
    cfunc = getattr(libm, name)
    cfunc.restype, cfunc.argtypes = ctypes.c_double, [ctypes.c_double]
    for a in F64_SAMPLES + (-1e-300, 0.75, -0.75, 2.0, 1e22, -1e22, 1e308):
        raised = python_float(getattr(math, name), a) is EXITED
        r = cfunc(a)
        assert libm_exits(a, r) == raised, (name, a, r)
        if not raised:
            assert same(r, getattr(math, name)(a)), (name, a)


def test_int_to_float_is_correctly_rounded():
    for a in I64_SAMPLES + (2**53 + 1, 2**53 + 3, 2**63 - 513, 2**63 - 512, -(2**63) + 1, 2**54 + 2):
        assert same(float(a), run_op("float.i64", a)), a


@settings(max_examples=300, deadline=None)
@given(i64s)
def test_int_to_float_random(a):
    assert same(float(a), run_op("float.i64", a))


def test_bool_ops():
    for a in (False, True):
        assert run_op("not.bool", a) is (not a)
        assert run_op("int.bool", a) == int(a)
        for b in (False, True):
            assert run_op("and.bool", a, b) is (a and b)
            assert run_op("or.bool", a, b) is (a or b)
            assert run_op("eq.bool", a, b) is (a == b)
            assert run_op("ne.bool", a, b) is (a != b)
            for ty, x, y in (("i64", 3, -4), ("f64", 0.5, -0.0)):
                assert same(run_op(f"select.{ty}", a, x, y), x if a else y)
            assert run_op("select.bool", a, b, not b) is (b if a else not b)
    for a in I64_SAMPLES:
        assert run_op("bool.i64", a) is bool(a)


def test_guards():
    from tauraro.backends.conformance import _guard_case
    from tauraro.backends.ir.interp import IRInterpreter
    from tauraro.jit.layout import LinearMemory

    for opcode, passes_on in (("guard.true", True), ("guard.false", False)):
        case = _guard_case(opcode)
        mem = LinearMemory(4096)
        frame = mem.alloc_frame(case.fn.nslots)
        interp = IRInterpreter(case.fn, mem)
        for cond in (False, True):
            mem.write_value(frame, 0, cond)
            mem.write_value(frame, 1, 5)
            n = interp.run(frame)
            assert case.fn.snapshots[n].reason.value == ("loop_exit" if cond == passes_on else "guard_value")
            assert mem.exit_number(frame) == n
        mem.write_value(frame, 0, 1)  # an int where a bool is expected: the entry tag guard exits
        assert case.fn.snapshots[interp.run(frame)].reason.value == "guard_type"


def test_every_implemented_op_has_semantics_or_is_a_frame_op():
    assert set(SEMANTICS) | set(MEMORY_SEMANTICS) | FRAME_OPS == IMPLEMENTED_OPS
    assert all(OPS[name].doc for name in OPS)


def doc_float_rem(a: float, b: float) -> float:
    """docs/jit.md's transcription of CPython's float_rem."""
    mod = math.fmod(a, b)
    if mod:
        if (b < 0) != (mod < 0):
            mod += b
    else:
        mod = math.copysign(0.0, b)
    return mod


def doc_float_floordiv(a: float, b: float) -> float:
    """docs/jit.md's transcription of CPython's float_floor_div (_float_div_mod)."""
    mod = math.fmod(a, b)
    div = (a - mod) / b
    if mod:
        if (b < 0) != (mod < 0):
            mod += b
            div -= 1.0
    if div:
        floordiv = math.floor(div) if math.isfinite(div) else div
        floordiv = float(floordiv)
        if div - floordiv > 0.5:
            floordiv += 1.0
    else:
        floordiv = math.copysign(0.0, a / b)
    return floordiv


def _check_doc_algorithms(a, b):
    if b == 0.0 or math.isnan(a) or math.isinf(a):
        return  # b == 0 exits; math.fmod raises for an infinite a where C's fmod returns NaN
    assert same(a % b, doc_float_rem(a, b)), (a, b)
    assert same(a // b, doc_float_floordiv(a, b)), (a, b)


def test_documented_float_algorithms_match_python_on_edges():
    for a, b in FLOAT_PAIRS:
        _check_doc_algorithms(a, b)


@settings(max_examples=500, deadline=None)
@given(f64s, f64s)
def test_documented_float_algorithms_match_python_random(a, b):
    _check_doc_algorithms(a, b)


@pytest.mark.parametrize("name", LIBM2_FUNCTIONS)
def test_two_argument_libm_calls_match_math(name):
    """callf2.f64 gives math.<name>'s bits where arguments and result are finite, else exits; on
    finite arguments CPython's math.atan2/pow/fmod return exactly the C function's result."""
    import ctypes
    import ctypes.util

    cfunc = getattr(ctypes.CDLL(ctypes.util.find_library("m")), name)
    cfunc.restype, cfunc.argtypes = ctypes.c_double, [ctypes.c_double, ctypes.c_double]
    for a, b in FLOAT_PAIRS + [(-8.0, 1 / 3), (0.0, -1.0), (-0.0, 3.0), (10.0, 400.0), (1e-300, 0.0)]:
        got = run_op("callf2.f64", a, b, fn=name)
        finite = math.isfinite(a) and math.isfinite(b)
        want = python_float(getattr(math, name), a, b) if finite else EXITED
        if want is not EXITED and not math.isfinite(want):
            want = EXITED
        assert same(want, got), (name, a, b, got)
        if want is not EXITED:
            assert same(cfunc(a, b), want), (name, a, b)


def test_float_power_is_pow_where_finite():
    """`x ** y` on floats compiles to callf2.f64 pow: the same bits as float.__pow__, or an exit."""
    for a, b in FLOAT_PAIRS + [(-2.0, 3.0), (-2.0, 0.5), (0.0, -1.0), (-0.0, 3.0), (1.5, 2000.0)]:
        got = run_op("callf2.f64", a, b, fn="pow")
        try:
            want = a ** b
        except (ZeroDivisionError, OverflowError):
            want = EXITED
        if not isinstance(want, float) or not (math.isfinite(a) and math.isfinite(b) and math.isfinite(want)):
            want = EXITED
        assert same(want, got), (a, b, got)


def test_round_and_copysign():
    for a in F64_SAMPLES + (2.5, -2.5, 0.5, -0.5, 1.5, 9.2e18, -9.3e18, 4503599627370497.0):
        want = EXITED if not math.isfinite(a) or not I64_MIN <= round(a) <= I64_MAX else round(a)
        assert same(want, run_op("round.f64", a)), a
        for b in (0.0, -0.0, 1.0, -math.inf, math.nan, -math.nan):
            assert float_to_bits(run_op("copysign.f64", a, b)) == float_to_bits(math.copysign(a, b)) or math.isnan(a)
