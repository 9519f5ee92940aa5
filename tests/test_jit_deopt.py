"""Deopt stress on every JIT backend: type changes, i64 overflow, zero divisors, exits from nested loops.

Each program runs under live CPython (in-process, after alias mapping) and under Tauraro; stdout and
the final error line must agree, and the JIT must really have compiled the loop and taken exits.
"""
from __future__ import annotations

import contextlib
import io

import pytest
from backend_matrix import ALL_BACKENDS, require_backend

import tauraro
from tauraro.frontend import to_python

JIT_BACKENDS = [b for b in ALL_BACKENDS if b != "interp"]

PROGRAMS = {
    "type_change_int_float_str": """
def f(n):
    x = 0
    out = []
    for i in range(n):
        if i == 40:
            x = x + 0.5
        if i == 80:
            out.append(x)
            x = "s"
        if i >= 80:
            x = x + "t"
        else:
            x = x + 1
    return x, out
r = f(100)
print(len(r[0]), r[1])
""",
    "overflow_counter_and_accumulator": """
acc = 9223372036854775000
i = 0
while i < 2000:
    acc += 7
    i += 1
print(acc, acc > 2**63)
neg = -9223372036854775000
for k in range(2000):
    neg -= 3
print(neg)
p = 3
for k in range(100):
    p = p * 3
print(p % 1000003)
""",
    "zero_division_in_hot_loop": """
def g(n):
    total = 0
    d = 50
    for i in range(n):
        total += 1000 // d
        d -= 1
    return total
try:
    print(g(200))
except ZeroDivisionError as e:
    print("caught:", e)
x = 1.0
try:
    for i in range(100):
        x = x / (10 - i)
except ZeroDivisionError as e:
    print("float caught:", e, x)
""",
    "break_and_return_from_nested_loops": """
def find(n):
    for a in range(1, n):
        for b in range(a, n):
            c2 = a * a + b * b
            c = 1
            while c * c < c2:
                c += 1
            if c * c == c2 and a + b + c == 120:
                return a * b * c
    return -1
print(find(60))
count = 0
for i in range(1, 300):
    j = 0
    while True:
        j += 1
        if j * i > 500:
            break
        count += j
print(count)
""",
    "module_globals_written_by_loop": """
total = 0
hits = 0
flag = False
k = 0
while k < 5000:
    if k % 3 == 0:
        hits += 1
        flag = not flag
    total += k * k % 17
    k += 1
print(total, hits, flag, k)
""",
    "floats_inf_nan_and_mixed_compare": """
import math
x = 1.0
steps = 0
while not math.isinf(x):
    x = x * 1.5
    steps += 1
print(steps, x)
y = x - x
print(math.isnan(y), y != y)
big = 2**53 + 1
n = 0
for i in range(100):
    if big > float(i):
        n += 1
print(n, big == 9007199254740993.0)
""",
    "negative_floor_division_and_shifts": """
s = 0
for i in range(-300, 300):
    s += i // 7 + i % 7 + (i * 13) % -5 + (-i) // -3
    s ^= (i << 3) >> 2
print(s)
t = 0.0
for i in range(1, 200):
    t += (i * -1.5) // 4.0 + (i * 2.25) % -3.5
print(t)
""",
    "host_constants_restored_at_exits": """
def f(n):
    out = []
    t = 0
    for i in range(1, n):
        t += i
        if i % 97 == 0:
            out.append(("fizz" if i % 3 == 0 else "") + ("buzz" if i % 5 == 0 else "") or str(i))
    return t, out
print(f(1000))
""",
    "uncaught_error_inside_compiled_loop": """
def h(n):
    s = 0
    for i in range(n):
        s += 10 % (n - i - 1)
    return s
print("start")
print(h(500))
""",
}


def cpython_result(source: str) -> tuple[str, str | None]:
    out = io.StringIO()
    error = None
    with contextlib.redirect_stdout(out):
        try:
            exec(compile(to_python(source), "<prog>", "exec"), {"__name__": "__main__"})
        except Exception as e:  # noqa: BLE001 - the oracle's own error line
            error = f"{type(e).__name__}: {e}"
    return out.getvalue(), error


@pytest.mark.parametrize("threshold", [1, 3])
@pytest.mark.parametrize("backend", JIT_BACKENDS)
@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_deopt_matches_cpython(name: str, backend: str, threshold: int) -> None:
    require_backend(backend)
    source = PROGRAMS[name]
    expected_out, expected_error = cpython_result(source)
    out = io.StringIO()
    error = None
    stats = None
    try:
        result = tauraro.run(source, backend=backend, jit_threshold=threshold, stdout=out)
        stats = result.stats
    except tauraro.TauraroRuntimeError as e:
        error = e.final_line()
    assert out.getvalue() == expected_out
    assert error == expected_error
    if stats is not None:
        assert stats.loops_compiled >= 1, "the JIT never compiled a loop"
        assert stats.exits_taken >= 1


@pytest.mark.parametrize("backend", JIT_BACKENDS)
def test_numeric_loops_run_natively(backend: str) -> None:
    """A JIT that never fires, or always bails out at once, fails this test."""
    require_backend(backend)
    source = "s = 0\nfor i in range(200000):\n    s = (s + i * i) % 1000003\nprint(s)\n"
    out = io.StringIO()
    result = tauraro.run(source, backend=backend, jit_threshold=10, stdout=out)
    assert out.getvalue() == cpython_result(source)[0]
    assert result.stats.loops_compiled == 1
    assert result.stats.native_entries <= 3
    assert not result.stats.aborts
