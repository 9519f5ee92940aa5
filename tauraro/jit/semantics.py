"""Exact Python semantics of every computing IR op on Python values: the single reference for the
IR interpreter and constant folding.

Each entry of ``SEMANTICS`` maps an op name to ``f(attrs, *operands)`` returning the result (a
Python int/float/bool), ``None`` for ops without a result, or ``FAIL`` when the op exits through
its snapshot. Ops that touch the frame (load.*, guard.tag, poll) or control flow (jump, br, exit)
are not here: they need a frame and are handled by the interpreter itself.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from .ir import IMPLEMENTED_OPS, LIBM2_FUNCTIONS, LIBM_FUNCTIONS
from .layout import CELL_SIZE, I64_MAX, I64_MIN, LIST_DIRTY, LIST_ITEMS, LIST_LEN, TWO_53, Tag

# Floats are exact at these bounds: int(x) fits i64 iff F_I64_MIN <= x < F_I64_LIMIT.
F_I64_MIN = -9223372036854775808.0
F_I64_LIMIT = 9223372036854775808.0


class _Fail:
    """The sentinel a guarded op returns when it exits instead of producing a value."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "FAIL"


FAIL: Any = _Fail()

Semantics = Callable[..., Any]


def wrap64(x: int) -> int:
    """x reduced to a signed 64-bit integer (two's complement wrap-around)."""
    x &= 0xFFFFFFFFFFFFFFFF
    return x - (1 << 64) if x > I64_MAX else x


def fit64(x: int) -> Any:
    """x if it fits in i64, else FAIL."""
    return x if I64_MIN <= x <= I64_MAX else FAIL


def int_floordiv(a: int, b: int) -> Any:
    return FAIL if b == 0 else fit64(a // b)


def int_mod(a: int, b: int) -> Any:
    return FAIL if b == 0 else a % b


def int_truediv(a: int, b: int) -> Any:
    """CPython's long_true_divide fast path: both |a|, |b| <= 2**53 are exact doubles."""
    if b == 0 or abs(a) > TWO_53 or abs(b) > TWO_53:
        return FAIL
    return float(a) / float(b)


def int_lshift(a: int, n: int) -> Any:
    if n < 0:
        return FAIL
    if a == 0:
        return 0
    if n >= 64:
        return FAIL
    return fit64(a << n)


def int_rshift(a: int, n: int) -> Any:
    return FAIL if n < 0 else a >> min(n, 63)


def float_div(a: float, b: float) -> Any:
    return FAIL if b == 0.0 else a / b


def float_floordiv(a: float, b: float) -> Any:
    return FAIL if b == 0.0 else a // b


def float_mod(a: float, b: float) -> Any:
    return FAIL if b == 0.0 else a % b


def float_sqrt(a: float) -> Any:
    return FAIL if a < 0.0 else math.sqrt(a)


def libm_call(fn: str, a: float) -> Any:
    """math.<fn>(a), FAIL where CPython raises ValueError/OverflowError."""
    try:
        return getattr(math, fn)(a)
    except (ValueError, OverflowError):
        return FAIL


def libm_call2(fn: str, a: float, b: float) -> Any:
    """math.<fn>(a, b) where a, b and the result are finite, else FAIL (the VM then does what
    CPython does: its own special cases for infinities and NaNs, or the error)."""
    if not (math.isfinite(a) and math.isfinite(b)):
        return FAIL
    try:
        r = getattr(math, fn)(a, b)
    except (ValueError, OverflowError):
        return FAIL
    return r if math.isfinite(r) else FAIL


def float_round(a: float) -> Any:
    """round(a) for a float: ties to even, FAIL unless finite and in i64."""
    if not math.isfinite(a):
        return FAIL
    return fit64(round(a))


def libm_exits(x: float, r: float) -> bool:
    """CPython's math_1() rule: an error iff a NaN from a non-NaN or an infinity from a finite x.

    This is the rule backends implement after calling the libm function directly (docs/jit.md).
    """
    return (math.isnan(r) and not math.isnan(x)) or (math.isinf(r) and math.isfinite(x))


def float_to_int_round(f: Callable[[float], int], a: float) -> Any:
    if not math.isfinite(a):
        return FAIL
    return fit64(f(a))


def float_trunc(a: float) -> Any:
    if not (F_I64_MIN <= a < F_I64_LIMIT):
        return FAIL
    return int(a)


def py_min(a: Any, b: Any) -> Any:
    """Python's min(a, b): the first argument unless the second is strictly smaller."""
    return b if b < a else a


def py_max(a: Any, b: Any) -> Any:
    return b if b > a else a


def _binary(f: Callable[[Any, Any], Any]) -> Semantics:
    return lambda attrs, a, b: f(a, b)


def _unary(f: Callable[[Any], Any]) -> Semantics:
    return lambda attrs, a: f(a)


SEMANTICS: dict[str, Semantics] = {
    "const.i64": lambda attrs: attrs["value"],
    "const.f64": lambda attrs: attrs["value"],
    "const.bool": lambda attrs: attrs["value"],
    "add.i64": _binary(lambda a, b: fit64(a + b)),
    "sub.i64": _binary(lambda a, b: fit64(a - b)),
    "mul.i64": _binary(lambda a, b: fit64(a * b)),
    "wadd.i64": _binary(lambda a, b: wrap64(a + b)),
    "wsub.i64": _binary(lambda a, b: wrap64(a - b)),
    "wmul.i64": _binary(lambda a, b: wrap64(a * b)),
    "neg.i64": _unary(lambda a: fit64(-a)),
    "abs.i64": _unary(lambda a: fit64(abs(a))),
    "floordiv.i64": _binary(int_floordiv),
    "mod.i64": _binary(int_mod),
    "truediv.i64": _binary(int_truediv),
    "lshift.i64": _binary(int_lshift),
    "rshift.i64": _binary(int_rshift),
    "and.i64": _binary(lambda a, b: a & b),
    "or.i64": _binary(lambda a, b: a | b),
    "xor.i64": _binary(lambda a, b: a ^ b),
    "invert.i64": _unary(lambda a: ~a),
    "min.i64": _binary(py_min),
    "max.i64": _binary(py_max),
    "add.f64": _binary(lambda a, b: a + b),
    "sub.f64": _binary(lambda a, b: a - b),
    "mul.f64": _binary(lambda a, b: a * b),
    "div.f64": _binary(float_div),
    "floordiv.f64": _binary(float_floordiv),
    "mod.f64": _binary(float_mod),
    "neg.f64": _unary(lambda a: -a),
    "abs.f64": _unary(abs),
    "sqrt.f64": _unary(float_sqrt),
    "min.f64": _binary(py_min),
    "max.f64": _binary(py_max),
    "callf.f64": lambda attrs, a: libm_call(attrs["fn"], a),
    "callf2.f64": lambda attrs, a, b: libm_call2(attrs["fn"], a, b),
    "copysign.f64": _binary(math.copysign),
    "round.f64": _unary(float_round),
    "floor.f64": _unary(lambda a: float_to_int_round(math.floor, a)),
    "ceil.f64": _unary(lambda a: float_to_int_round(math.ceil, a)),
    "float.i64": _unary(float),
    "int.f64": _unary(float_trunc),
    "int.bool": _unary(int),
    "bool.i64": _unary(lambda a: a != 0),
    "bool.f64": _unary(lambda a: a != 0.0),
    "not.bool": _unary(lambda a: not a),
    "and.bool": _binary(lambda a, b: a and b),
    "or.bool": _binary(lambda a, b: a or b),
    "eq.bool": _binary(lambda a, b: a == b),
    "ne.bool": _binary(lambda a, b: a != b),
    "select.i64": lambda attrs, c, a, b: a if c else b,
    "select.f64": lambda attrs, c, a, b: a if c else b,
    "select.bool": lambda attrs, c, a, b: a if c else b,
    "guard.true": lambda attrs, c: None if c else FAIL,
    "guard.false": lambda attrs, c: FAIL if c else None,
}

_COMPARISONS = {
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
}
for _ty in ("i64", "f64"):
    for _cmp, _f in _COMPARISONS.items():
        SEMANTICS[f"{_cmp}.{_ty}"] = _binary(_f)


# -- list ops: they read and write linear memory, so they take the LinearMemory first ----------------
# A list object: the LIST_* offsets of layout.py; a cell is two words (tag, payload).
def _list_cell(mem: Any, p: int, i: int) -> Any:
    """Word index of cell i's tag (after Python's negative-index fix-up), or FAIL when out of range."""
    q = mem.words
    n = q[(p + LIST_LEN) >> 3]
    if i < 0:
        i += n
    if not 0 <= i < n:
        return FAIL
    return (q[(p + LIST_ITEMS) >> 3] >> 3) + (CELL_SIZE >> 3) * i


def _list_get(tag: int, read: Callable[[Any, int], Any]) -> Callable[..., Any]:
    def get(mem: Any, attrs: dict, p: int, i: int) -> Any:
        w = _list_cell(mem, p, i)
        if w is FAIL or mem.words[w] != tag:
            return FAIL
        return read(mem, w + 1)
    return get


def _list_set(tag: int, write: Callable[[Any, int, Any], None]) -> Callable[..., Any]:
    def put(mem: Any, attrs: dict, p: int, i: int, v: Any) -> Any:
        w = _list_cell(mem, p, i)
        if w is FAIL:
            return FAIL
        mem.words[w] = tag
        write(mem, w + 1, v)
        mem.words[(p + LIST_DIRTY) >> 3] = 1
        return None
    return put


def _write_q(mem: Any, w: int, v: Any) -> None:
    mem.words[w] = int(v)


def _write_d(mem: Any, w: int, v: Any) -> None:
    mem.doubles[w] = v


MEMORY_SEMANTICS: dict[str, Callable[..., Any]] = {
    "list.len": lambda mem, attrs, p: mem.words[(p + LIST_LEN) >> 3],
    "list.get.i64": _list_get(Tag.INT, lambda mem, w: mem.words[w]),
    "list.get.f64": _list_get(Tag.FLOAT, lambda mem, w: mem.doubles[w]),
    "list.get.bool": _list_get(Tag.BOOL, lambda mem, w: mem.words[w] != 0),
    "list.set.i64": _list_set(Tag.INT, _write_q),
    "list.set.f64": _list_set(Tag.FLOAT, _write_d),
    "list.set.bool": _list_set(Tag.BOOL, _write_q),
}

# Frame and control ops: executed by the interpreter, not by SEMANTICS.
FRAME_OPS = frozenset({"load.i64", "load.f64", "load.bool", "load.ptr", "guard.tag", "poll", "jump", "br",
                       "exit", "call.i64", "call.f64", "call.bool", "ret.i64", "ret.f64", "ret.bool"})

_ALL = set(SEMANTICS) | set(MEMORY_SEMANTICS) | FRAME_OPS
assert _ALL == IMPLEMENTED_OPS, set(IMPLEMENTED_OPS) ^ _ALL
assert set(LIBM_FUNCTIONS + LIBM2_FUNCTIONS) <= set(dir(math))
