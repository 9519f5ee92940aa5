"""Math functions and numeric builtins in compiled loops, however they are spelt (issue 14).

`math.sin(x)` after `import math`, `import math as m`, `from math import sin`, module-level aliases
(`sin = math.sin`), two-argument libm functions, `**` on floats, `round`, `min`/`max` of several
values: each program runs under live CPython and Tauraro on every JIT backend at thresholds 1, 2, 7
and the default; stdout and the final error line must agree, and the hot loops must run natively.
"""
from __future__ import annotations

import pytest
from backend_matrix import ALL_BACKENDS, JIT_THRESHOLDS, require_backend
from test_jit_deopt import cpython_result
from test_jit_functions import run

JIT_BACKENDS = [b for b in ALL_BACKENDS if b != "interp"]

PROGRAMS = {
    "integrate_sin_exp": """
import math
def f(n):
    h = 1.0 / n
    s = 0.0
    for i in range(n):
        x = i * h
        s += math.sin(x) * math.exp(-x) * h
    return s
print(f(30000))
""",
    "aliases_and_from_import": """
import math as m
from math import cos, atan2 as at2, pow
tan = m.tan
t = 0.0
for i in range(5000):
    x = (i % 300) * 0.013 - 2.0
    t += cos(x) + at2(x, -1.5) + pow(1.5, x) + tan(x * 0.5) + m.hypot(3.0, 4.0) * 0.0
print(t)
""",
    "float_power_and_round": """
t = 0
u = 0.0
for i in range(4000):
    x = (i % 97) * 0.25 - 12.0
    t += round(x) + round(i * 0.5) + round(i)
    u += x ** 2 + 1.5 ** x + abs(x) ** 0.5 + i ** 0.5 + x ** 3.0
print(t, u)
""",
    "min_max_many": """
s = 0
f = 0.0
for i in range(3000):
    s += min(i, 7, 3000 - i) + max(i % 5, 2, i % 11)
    f += min(i * 0.5, 100.0, 7.25) + max(-0.0, i * -1.0, 0.0)
print(s, f)
""",
    "log_domain_error_mid_loop": """
import math
def f(n):
    s = 0.0
    x = 10.5
    for i in range(n):
        s += math.log(x)
        x -= 0.25
    return s
print(f(40))
print(f(100))
""",
    "sqrt_domain_error_uncaught": """
from math import sqrt
s = 0.0
for i in range(200, -5, -1):
    s += sqrt(i)
print(s)
""",
    "pow_complex_mid_loop": """
vals = []
for i in range(60):
    x = 30.0 - i
    vals.append(x ** 0.5 if i < 50 else 0)
    y = x ** 0.5
print(vals[-12:], y)
""",
    "exp_overflow": """
import math
s = 0.0
for i in range(800):
    s += math.exp(i * 1.0) * 1e-300
print(s)
""",
    "fmod_and_copysign": """
import math
s = 0.0
for i in range(1, 3000):
    x = i * 0.7 - 1000.0
    s += math.fmod(x, 3.25) + math.copysign(i, x) + math.copysign(1.0, -0.0) + math.trunc(x)
    s += math.isfinite(x / i) + math.isinf(x) + math.isnan(x)
print(s)
try:
    math.fmod(1.0, 0.0)
except ValueError as e:
    print(e)
""",
    "round_overflow": """
s = 0
x = 1.0
for i in range(70):
    s += round(x)
    x *= 2.0
print(s)
print(round(x * 1e308))
""",
    "shadowed_math_name": """
import math
def fake_sin(x):
    return 2.0 * x
real_sin = math.sin
s = 0.0
for i in range(100):
    s += math.sin(i * 0.01)
math.sin = fake_sin
try:
    for i in range(100):
        s += math.sin(i * 0.01)
finally:
    math.sin = real_sin
sin = fake_sin
for i in range(100):
    s += sin(i * 0.01)
print(s)
""",
}

# The hot loops of these programs must run natively: compiled, never blacklisted, few exits.
NATIVE = ("integrate_sin_exp", "float_power_and_round", "min_max_many", "fmod_and_copysign")


@pytest.mark.parametrize("threshold", JIT_THRESHOLDS)
@pytest.mark.parametrize("backend", JIT_BACKENDS)
@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_math_matches_cpython(name: str, backend: str, threshold: int | None) -> None:
    require_backend(backend)
    source = PROGRAMS[name]
    out, error, stats = run(source, backend, threshold)
    assert (out, error) == cpython_result(source)
    if name in NATIVE and threshold is not None:
        assert stats.loops_compiled + stats.functions_compiled >= 1, stats
        assert not stats.aborts and not stats.blacklists, stats
        assert stats.exits_taken + stats.function_exits <= 3, stats
