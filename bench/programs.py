"""The benchmark programs: sizes, expected checksums, sources and checksum comparison."""
from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
KERNEL_DIR = BENCH_DIR / "kernels"  # Tauraro sources (also plain Python for CPython and PyPy)
C_DIR = BENCH_DIR / "c"
LUA_DIR = BENCH_DIR / "lua"

# The one line of every Tauraro source that the harness rewrites to set the size.
SIZE_LINE = re.compile(r"^N = \d+  # size$", re.MULTILINE)

PHI = (1 + 5 ** 0.5) / 2


@dataclass(frozen=True)
class Program:
    """One benchmark: a Tauraro/Python source, a C source and a Lua source computing one checksum."""

    name: str
    title: str
    full: int
    quick: int
    loop: str  # where the hot loop is: "module" (globals) or "function" (locals)
    cost: Callable[[int], float]  # relative amount of work at size n (to extrapolate run times)
    expected: dict[int, str] = field(default_factory=dict)  # size -> checksum printed by CPython
    headline: bool = False

    @property
    def tauraro_path(self) -> Path:
        return KERNEL_DIR / f"{self.name}.tr"

    @property
    def c_path(self) -> Path:
        return C_DIR / f"{self.name}.c"

    @property
    def lua_path(self) -> Path:
        return LUA_DIR / f"{self.name}.lua"

    def size(self, quick: bool) -> int:
        return self.quick if quick else self.full

    def source(self, n: int) -> str:
        """The Tauraro/Python program text with its size line set to `N = n`."""
        text = self.tauraro_path.read_text(encoding="utf-8")
        new, count = SIZE_LINE.subn(f"N = {n}  # size", text)
        if count != 1:
            raise ValueError(f"{self.tauraro_path} must have exactly one line 'N = <int>  # size'")
        return new


def _linear(n: int) -> float:
    return float(n)


def _n_log_n(n: int) -> float:
    return n * (0.5 * math.log2(max(n, 2)) + 5)


PROGRAMS: list[Program] = [
    Program("fib", "Fibonacci(N), recursive", 35, 25, "function", lambda n: PHI ** n,
            {35: "9227465", 25: "75025"}, headline=True),
    Program("sum1m", "sum of N integers (16-bit LCG terms)", 1_000_000, 100_000, "module", _linear,
            {1_000_000: "32763245408", 100_000: "3273637872"}, headline=True),
    Program("intsum", "integer sum, total += (i ^ total) & 0xFFFF", 200_000_000, 500_000, "function",
            _linear, {200_000_000: "13106999016959", 500_000: "32766516959"}),
    Program("fibiter", "iterative Fibonacci mod 1e9+7", 50_000_000, 300_000, "function", _linear,
            {50_000_000: "364822946", 300_000: "283241216"}),
    Program("fma", "float multiply-accumulate chain", 100_000_000, 500_000, "function", _linear,
            {100_000_000: "24711242.72956568", 500_000: "488938.26602624677"}),
    Program("xorshift", "xorshift32 with 32-bit masks", 100_000_000, 200_000, "module", _linear,
            {100_000_000: "255932795916638", 200_000: "147526868473799"}),
    Program("newton", "Newton square roots of 1..N", 5_000_000, 30_000, "function", _n_log_n,
            {5_000_000: "7453561042.825071", 30_000: "3464188.0100324894"}),
    Program("mandelbrot", "Mandelbrot N x N, 100 iterations", 1400, 80, "module", lambda n: float(n * n),
            {1400: "70193556", 80: "230032"}),
    Program("sieve", "sieve of Eratosthenes up to N", 50_000_000, 300_000, "function", _linear,
            {50_000_000: "72619548630277", 300_000: "3709507114"}),
    Program("nbody", "n-body, 5 bodies, N steps", 3_000_000, 10_000, "function", _linear,
            {3_000_000: "-0.16901908230788734", 10_000: "-0.16901644126443155"}),
    Program("collatz", "Collatz step counts for 1..N-1", 1_000_000, 5_000, "module", _n_log_n,
            {1_000_000: "131434272", 5000: "387940"}),
    Program("matmul", "N x N float matrix multiply", 600, 50, "function", lambda n: float(n ** 3),
            {600: "-19169933.416703157", 50: "-10897.306000000019"}),
    # Calls and math functions (issue 14): a function called from a double loop, libm in a loop, recursion.
    Program("gcdloop", "sum of gcd(i, j) for 1 <= i, j < N (a call per pair)", 3000, 200, "function",
            lambda n: n * n * math.log2(max(n, 2)), {3000: "45951296", 200: "137448"}),
    Program("mathint", "integral of sin(x) exp(-0.1 x), N math.sin/math.exp calls", 10_000_000, 100_000,
            "function", _linear, {10_000_000: "1.3155353312010787", 100_000: "1.3155452367693716"}),
    Program("ackermann", "Ackermann ack(2, i % 200) + ack(3, i % 6), N times", 4000, 20, "function",
            _linear, {4000: "1131784", 20: "1916"}),
]

BY_NAME: dict[str, Program] = {p.name: p for p in PROGRAMS}


def select(names: list[str] | None) -> list[Program]:
    """The programs named (in suite order), or all of them; unknown names raise ValueError."""
    if not names:
        return list(PROGRAMS)
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        raise ValueError(f"unknown program(s): {', '.join(unknown)} (known: {', '.join(BY_NAME)})")
    wanted = set(names)
    return [p for p in PROGRAMS if p.name in wanted]


def parse_checksum(stdout: str) -> str | None:
    """The checksum a program printed: its last non-empty output line."""
    lines = [line.strip() for line in stdout.splitlines() if line.strip()]
    return lines[-1] if lines else None


def _number(text: str) -> int | float | None:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return None


def checksums_equal(got: str | None, want: str | None) -> bool:
    """Equal as numbers (ints exactly; floats by value, so '%.17g' and repr agree), else as text."""
    if got is None or want is None:
        return False
    a, b = _number(got), _number(want)
    if a is None or b is None:
        return got == want
    if isinstance(a, int) and isinstance(b, int):
        return a == b
    return float(a) == float(b)
