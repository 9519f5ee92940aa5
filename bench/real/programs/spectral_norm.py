"""Spectral norm of the infinite matrix A[i][j] = 1/((i+j)(i+j+1)/2 + i + 1), truncated to n x n.

Power iteration with the matrix-free operator A^T A. The operator is a small class whose
products are written with generator expressions, zip and sum; a closure-based variant with a
memoised entry function (functools.lru_cache) computes the same iteration and must agree to the
last bit, as must a plain nested-loop version on a small size.
Usage: spectral_norm.py [N]
"""
from __future__ import annotations

import math
import sys
from functools import lru_cache
from typing import Callable, List

DEFAULT_SIZE = 240  # matrix size
Vector = List[float]


def entry(i: int, j: int) -> float:
    ij = i + j
    return 1.0 / (ij * (ij + 1) // 2 + i + 1)


class Operator:
    """The n x n truncation of A, applied without storing it."""

    def __init__(self, n: int) -> None:
        self.n = n

    def times(self, u: Vector) -> Vector:
        n = self.n
        return [sum(entry(i, j) * uj for j, uj in zip(range(n), u)) for i in range(n)]

    def times_transposed(self, u: Vector) -> Vector:
        n = self.n
        return [sum(entry(j, i) * uj for j, uj in zip(range(n), u)) for i in range(n)]

    def normal(self, u: Vector) -> Vector:
        return self.times_transposed(self.times(u))


def make_memo_operator(n: int) -> Callable[[Vector], Vector]:
    """The same A^T A product, built from closures over a cached entry function."""

    @lru_cache(maxsize=None)
    def a(i: int, j: int) -> float:
        return entry(i, j)

    def mul(u: Vector, transposed: bool) -> Vector:
        out = []
        for i in range(n):
            total = 0.0
            for j in range(n):
                total += (a(j, i) if transposed else a(i, j)) * u[j]
            out.append(total)
        return out

    def normal(u: Vector) -> Vector:
        return mul(mul(u, False), True)

    normal.cache_info = a.cache_info  # type: ignore[attr-defined]
    return normal


def loops_normal(n: int, u: Vector) -> Vector:
    v = [0.0] * n
    for i in range(n):
        for j in range(n):
            v[i] += entry(i, j) * u[j]
    w = [0.0] * n
    for i in range(n):
        for j in range(n):
            w[i] += entry(j, i) * v[j]
    return w


def dot(a: Vector, b: Vector) -> float:
    return sum(x * y for x, y in zip(a, b))


def power_iteration(normal: Callable[[Vector], Vector], n: int, steps: int) -> float:
    u = [1.0] * n
    v = u
    for _ in range(steps):
        v = normal(u)
        u = normal(v)
    return math.sqrt(dot(u, v) / dot(v, v))


def main(n: int) -> None:
    small = min(n, 12)
    a = power_iteration(Operator(small).normal, small, 4)
    b = power_iteration(lambda u: loops_normal(small, u), small, 4)
    if not math.isclose(a, b, rel_tol=1e-12):
        raise AssertionError(f"generator and loop versions disagree: {a!r} != {b!r}")
    result = power_iteration(Operator(n).normal, n, 10)
    memo = make_memo_operator(n)
    again = power_iteration(memo, n, 10)
    if not math.isclose(result, again, rel_tol=1e-12):
        raise AssertionError(f"memoised version disagrees: {result!r} != {again!r}")
    info = memo.cache_info()  # type: ignore[attr-defined]
    print(f"n={n}: spectral norm {result:.9f}")
    print(f"memo: {info.hits} hits, {info.misses} misses, {info.currsize} entries")
    print(f"checksum {result!r}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SIZE)
