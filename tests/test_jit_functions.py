"""Function units (issue 14): functions compiled whole, recursion natively, exits from any depth.

Each program runs under live CPython and Tauraro on every JIT backend at thresholds 1, 2, 7 and the
default; stdout and the final error line must agree. Exits at depth (an i64 overflow, a type change,
an exception, the recursion limit) leave every native frame: the interpreter runs the outermost
native call again from its start (compiled functions have no effects), so it raises, overflows into
big ints or changes types exactly where CPython does.
"""
from __future__ import annotations

import functools
import io
import re
import subprocess
import sys

import pytest
from backend_matrix import ALL_BACKENDS, JIT_THRESHOLDS, require_backend
from test_jit_deopt import cpython_result

import tauraro
from tauraro.frontend import to_python
from tauraro.jit.layout import MAX_CALL_DEPTH
from tauraro.vm import RECURSION_LIMIT

JIT_BACKENDS = [b for b in ALL_BACKENDS if b != "interp"]

PROGRAMS = {
    "fib": """
def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)
print(fib(24), [fib(k) for k in range(12)])
""",
    "fib_float_and_bool": """
def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)
print(fib(18.0), fib(True), fib(17))
def even(n):
    return n == 0 or (n > 1 and even(n - 2))
print([even(k) for k in range(30)])
""",
    "ackermann_small": """
def ack(m, n):
    if m == 0:
        return n + 1
    if n == 0:
        return ack(m - 1, 1)
    return ack(m - 1, ack(m, n - 1))
print([ack(2, k) for k in range(20)], ack(3, 4))
""",
    "mutual_recursion": """
def is_even(n):
    return True if n == 0 else is_odd(n - 1)
def is_odd(n):
    return False if n == 0 else is_even(n - 1)
print([is_even(k) for k in range(40)], is_odd(301))
""",
    "recursion_at_the_limit": """
def depth(n):
    if n == 0:
        return 0
    return depth(n - 1) + 1
for k in range(5):
    print(depth(100))
for n in (996, 997, 998, 999, 1000, 1500):
    try:
        print(n, depth(n))
    except RecursionError as e:
        print(n, e)
def inner():
    return depth(997)
try:
    print(inner())
except RecursionError as e:
    print("inner", e)
""",
    "defaults_and_keywords": """
def scale(x, k=3, *, add=0):
    return x * k + add
def power(b, e=2):
    return 1 if e == 0 else b * power(b, e - 1)
t = 0
for i in range(300):
    t += scale(i) + scale(i, 2) + scale(i, add=1) + power(i % 7) + power(2, i % 20)
print(t)
""",
    "argument_types_change": """
def f(a, b):
    return a * b + a
out = []
for i in range(60):
    out.append(f(i, 2))
    out.append(f(i * 0.5, 2))
    out.append(f(i % 2 == 0, True))
    out.append(f("s", 2) if i % 20 == 0 else 0)
out.append(f(2 ** 70, 3))
print(out[-12:], sum(x for x in out if type(x) in (int, float)))
""",
    "overflow_at_depth": """
def grow(n, x):
    if n == 0:
        return x * x
    return grow(n - 1, x + 1) + 1
for d in (1, 2, 50):
    for k in range(30):
        grow(d, k)
    print(d, grow(d, 3037000400 - d), grow(d, 2 ** 40))
def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)
def fibl(n, a, b):
    return a if n == 0 else fibl(n - 1, b, a + b)
print(fib(20), fibl(92, 0, 1), fibl(100, 0, 1), fibl(300, 0, 1))
""",
    "type_change_at_depth": """
def walk(n, x):
    if n == 0:
        return x / 2
    if n == 2 and x > 100:
        return walk(n - 1, x * 0.5) + 0.25
    return walk(n - 1, x + 1) * 2
for d in (1, 2, 50):
    for k in range(40):
        walk(d, k)
    print(d, walk(d, 7), walk(d, 1000))
""",
    "exception_caught_three_frames_up": """
def down(n, z):
    if n == 0:
        return 10 // z
    return down(n - 1, z) + 1
def guard(n, z):
    try:
        return down(n, z)
    except ZeroDivisionError as e:
        return "caught " + str(e)
for d in (1, 2, 3, 50):
    for k in range(30):
        guard(d, k + 1)
    print(d, guard(d, 2), guard(d, 0))
def three(z):
    try:
        return helper1(z)
    except ZeroDivisionError:
        return "three frames up"
def helper1(z):
    return helper2(z) + 1
def helper2(z):
    return down(3, z) + 1
print([three(k % 3) for k in range(12)])
""",
    "uncaught_at_depth": """
def down(n, z):
    if n == 0:
        return 10 % z
    return down(n - 1, z) + 1
for k in range(50):
    down(5, k + 1)
print(down(7, 3))
print(down(9, 0))
""",
    "functions_with_loops": """
def gcd(a, b):
    while b:
        a, b = b, a % b
    return a
def total(n):
    s = 0
    for i in range(1, n):
        s += i * i % 7
    return s
t = 0
for i in range(1, 60):
    for j in range(1, 60):
        t += gcd(i, j)
print(t, total(1000), [total(k) for k in range(5)])
""",
    "globals_read_and_rebound": """
K = 3
def f(x):
    return x * K + OFFSET
OFFSET = 1
a = [f(i) for i in range(50)]
K = 4
b = [f(i) for i in range(50)]
OFFSET = 0.5
c = [f(i) for i in range(50)]
def g(x):
    global K
    K = x
    return x
print(sum(a), sum(b), sum(c), [g(i) for i in range(20)][-1], K)
""",
}

# Programs whose function must run natively: compiled, called natively, never blacklisted.
NATIVE = ("fib", "ackermann_small", "functions_with_loops")


@functools.cache
def cpython_subprocess(source: str) -> tuple[str, str | None]:
    """CPython's output and last error line from a fresh interpreter: the recursion limit is then
    CPython's own (Tauraro raises the host's limit in-process, which an exec oracle would inherit)."""
    r = subprocess.run([sys.executable, "-c", to_python(source)], capture_output=True, text=True, timeout=120)
    lines = r.stderr.strip().splitlines()
    return r.stdout, (lines[-1] if r.returncode else None)


def run(source: str, backend: str, threshold: int | None, tier: int | None = None) -> tuple[str, str | None, object]:
    out = io.StringIO()
    error = stats = None
    try:
        stats = tauraro.run(source, backend=backend, jit_threshold=threshold, stdout=out, tier=tier).stats
    except tauraro.TauraroRuntimeError as e:
        error = e.final_line()
    return out.getvalue(), error, stats


@pytest.mark.parametrize("threshold", JIT_THRESHOLDS)
@pytest.mark.parametrize("backend", JIT_BACKENDS)
@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_functions_match_cpython(name: str, backend: str, threshold: int | None) -> None:
    require_backend(backend)
    source = PROGRAMS[name]
    out, error, stats = run(source, backend, threshold)
    expected = cpython_subprocess(source) if "recursion" in name else cpython_result(source)
    assert (out, error) == expected
    if name in NATIVE and threshold is not None:
        assert stats.functions_compiled >= 1 and stats.function_calls >= 1, stats
        assert stats.function_exits == 0, stats


def test_call_depth_limit_is_the_vms():
    assert MAX_CALL_DEPTH == RECURSION_LIMIT


@pytest.mark.parametrize("tier", [0, 1])
@pytest.mark.parametrize("backend", JIT_BACKENDS)
def test_fib_runs_natively_in_one_call(backend: str, tier: int) -> None:
    """fib(22) from the module after fib got hot: one native call does all 57,313 calls, whether the
    callers are VM code (tier 0) or baseline host functions (tier 1, whose fib is a host function)."""
    require_backend(backend)
    source = PROGRAMS["fib"].replace("print(fib(24), [fib(k) for k in range(12)])",
                                     "w = [fib(k) for k in range(12)]\nprint(fib(22))")
    out, error, stats = run(source, backend, 10, tier)
    assert (out, error) == cpython_result(source)
    assert stats.functions_compiled == 1 and stats.function_exits == 0
    assert stats.function_calls <= 12


OBJECT_ARGUMENTS = """
t = 0
for i in range(5000):  # compiled first: the driver exists when Box.get's counter is made
    t += i
class Box:
    def __init__(self, v):
        self.v = v
    def get(self, k):
        return self.v + k
b = Box(3)
print(t, sum(b.get(i) for i in range(200)), sum(Box(i).v for i in range(200)))
"""


def test_functions_called_with_objects_are_given_up_cheaply(tmp_path) -> None:
    """A method of an object is no unit (units take ints, floats, bools): after a few hot moments its
    counter goes, with a plain reason, and the program's output is CPython's. (Tier 1: there the host
    calls methods straight into the baseline prologue, which asks the unit counter; the VM's method
    calls at tier 0 never ask it.)"""
    tier = 1
    require_backend("cranelift")
    prog = tmp_path / "box.py"
    prog.write_text(OBJECT_ARGUMENTS, encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "tauraro", "run", "--backend", "cranelift", "--jit-threshold", "10",
                        "--tier", str(tier), "--jit-log", str(prog)], capture_output=True, text=True, timeout=120)
    assert (r.stdout, r.returncode) == (cpython_subprocess(OBJECT_ARGUMENTS)[0], 0), r.stderr
    assert re.search(r"abort function get \S+: arguments: it is called with Box arguments", r.stderr), r.stderr
    assert "blacklist function get" not in r.stderr
