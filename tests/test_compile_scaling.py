"""Compile time stays linear in the source: counted work (Python lines executed), never timed.

Each shape of bench/compile.py is compiled at three sizes under sys.settrace; the number of Python lines
the front end and compiler execute must grow linearly with the source. A quadratic step anywhere in
Python code (a linear search in the constant pool, a list-membership test per name, re-scanning a list of
pending ranges per function) makes the count grow about 4x and fails the test.
"""
from __future__ import annotations

import sys

import pytest
from corpus import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT))
from bench.compile import SHAPES  # noqa: E402
from tauraro.compiler import compile_source  # noqa: E402

# shape -> n: the source is compiled at n, 2n and 4n; small enough to trace in about a second in all.
SIZES = {"list": 800, "lines": 300, "functions": 80, "nesting": 1, "hausa": 300, "mixed": 15_000}


def lines_executed(source: str) -> int:
    count = 0

    def tracer(frame, event, arg):
        nonlocal count
        count += 1
        return tracer

    sys.settrace(tracer)
    try:
        compile_source(source, "scaling.tr")
    finally:
        sys.settrace(None)
    return count


@pytest.mark.parametrize("shape", sorted(SIZES))
def test_doubling_the_source_at_most_doubles_the_work(shape: str) -> None:
    """The extra work from 2n to 4n is at most about twice the extra work from n to 2n (linear: 2x,
    quadratic: 4x); differences cancel the fixed start-up work, which would hide a slow growth."""
    make = SHAPES[shape][0]
    n = SIZES[shape]
    lines_executed(make(n))  # warm the caches (alias table, regular expressions, dispatch tables)
    w1, w2, w4 = (lines_executed(make(k * n)) for k in (1, 2, 4))
    assert w4 - w2 <= 2.3 * (w2 - w1), f"{shape}: {w1}, {w2}, {w4} traced lines at n, 2n, 4n (n={n})"


@pytest.mark.parametrize("expr", [
    "((1, 2), (True, 2), (1.0, 2), (0.0,), (-0.0,), 0.0, -0.0, 1, True, 1.0, (1, (True,)), (1, (1,)))",
    "(1j, 0j, -0.0, 0.0, (0j,), (0.0,), (False,), (0,), 'a', b'a', ())",
])
def test_equal_constants_of_different_types_or_signs_stay_apart(expr: str) -> None:
    """The constant pool is keyed by value *and* type, recursively, like CPython's: (1,), (True,) and
    (1.0,) are equal tuples but print differently; so do 0.0 and -0.0."""
    import io

    import tauraro

    out = io.StringIO()
    tauraro.run(f"print({expr})\n", backend="interp", stdout=out)
    assert out.getvalue() == repr(eval(expr)) + "\n"
