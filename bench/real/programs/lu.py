"""Dense linear algebra with lists of lists: LU decomposition with partial pivoting, solve, inverse.

A small Matrix class (operator overloading, classmethods, __getitem__ with tuples, __matmul__)
factors seeded random matrices as P A = L U, solves systems, computes determinants and inverses,
and checks the residuals. The same algorithm runs on fractions.Fraction entries for a small
matrix, where the result must be exact and agree with a cofactor expansion.
Usage: lu.py [MATRIX_SIZE]
"""
from __future__ import annotations

import copy
import random
import sys
from fractions import Fraction
from itertools import permutations
from typing import Generic, List, Sequence, Tuple, TypeVar, Union

DEFAULT_SIZE = 140  # matrix dimension
Number = Union[float, Fraction]
T = TypeVar("T", float, Fraction)


class SingularMatrix(ArithmeticError):
    pass


class Matrix(Generic[T]):
    def __init__(self, rows: Sequence[Sequence[T]]) -> None:
        self.rows: List[List[T]] = [list(r) for r in rows]
        self.n = len(self.rows)
        self.m = len(self.rows[0]) if self.rows else 0
        if any(len(r) != self.m for r in self.rows):
            raise ValueError("ragged matrix")

    @classmethod
    def identity(cls, n: int, one: T = 1.0) -> Matrix[T]:  # type: ignore[assignment]
        zero = one - one
        return cls([[one if i == j else zero for j in range(n)] for i in range(n)])

    @classmethod
    def random(cls, n: int, rng: random.Random) -> Matrix[float]:
        return cls([[rng.uniform(-1, 1) + (n if i == j and rng.random() < 0.3 else 0) for j in range(n)]
                    for i in range(n)])

    def __getitem__(self, ij: Tuple[int, int]) -> T:
        i, j = ij
        return self.rows[i][j]

    def __matmul__(self, other: Matrix[T]) -> Matrix[T]:
        cols = list(zip(*other.rows))
        return Matrix([[sum(a * b for a, b in zip(row, col)) for col in cols] for row in self.rows])

    def __sub__(self, other: Matrix[T]) -> Matrix[T]:
        return Matrix([[a - b for a, b in zip(r1, r2)] for r1, r2 in zip(self.rows, other.rows)])

    def apply(self, v: Sequence[T]) -> List[T]:
        return [sum(a * b for a, b in zip(row, v)) for row in self.rows]

    def transpose(self) -> Matrix[T]:
        return Matrix([list(col) for col in zip(*self.rows)])

    def max_abs(self) -> float:
        return max(abs(x) for row in self.rows for x in row)

    def __repr__(self) -> str:
        return f"Matrix({self.n}x{self.m})"


class LU(Generic[T]):
    """P A = L U with L unit lower triangular, stored together in one matrix."""

    def __init__(self, a: Matrix[T]) -> None:
        if a.n != a.m:
            raise ValueError("LU needs a square matrix")
        n = a.n
        lu = copy.deepcopy(a.rows)
        perm = list(range(n))
        sign = 1
        for k in range(n):
            pivot = max(range(k, n), key=lambda i: abs(lu[i][k]))
            if lu[pivot][k] == 0:
                raise SingularMatrix(f"singular at column {k}")
            if pivot != k:
                lu[k], lu[pivot] = lu[pivot], lu[k]
                perm[k], perm[pivot] = perm[pivot], perm[k]
                sign = -sign
            pivot_row = lu[k]
            inv = 1 / pivot_row[k] if isinstance(pivot_row[k], float) else Fraction(1) / pivot_row[k]
            for i in range(k + 1, n):
                row = lu[i]
                factor = row[k] * inv
                row[k] = factor
                if factor:
                    for j in range(k + 1, n):
                        row[j] -= factor * pivot_row[j]
        self.lu, self.perm, self.sign, self.n = lu, perm, sign, n

    def determinant(self) -> T:
        det = self.sign * self.lu[0][0] / self.lu[0][0]  # 1 of the right type
        for i in range(self.n):
            det *= self.lu[i][i]
        return det

    def solve(self, b: Sequence[T]) -> List[T]:
        n, lu = self.n, self.lu
        y = [b[p] for p in self.perm]
        for i in range(n):
            row = lu[i]
            y[i] -= sum(row[j] * y[j] for j in range(i)) if i else 0 * y[i]
        for i in range(n - 1, -1, -1):
            row = lu[i]
            y[i] = (y[i] - sum(row[j] * y[j] for j in range(i + 1, n))) / row[i]
        return y

    def inverse(self) -> Matrix[T]:
        one = self.lu[0][0] / self.lu[0][0]
        zero = one - one
        cols = [self.solve([one if i == j else zero for i in range(self.n)]) for j in range(self.n)]
        return Matrix(cols).transpose()


def cofactor_determinant(rows: List[List[Fraction]]) -> Fraction:
    """Leibniz formula: the sum over permutations (fine for tiny matrices)."""
    n = len(rows)
    total = Fraction(0)
    for perm in permutations(range(n)):
        inversions = sum(1 for i in range(n) for j in range(i + 1, n) if perm[i] > perm[j])
        term = Fraction(-1 if inversions % 2 else 1)
        for i in range(n):
            term *= rows[i][perm[i]]
        total += term
    return total


def main(n: int) -> None:
    rng = random.Random(1234)
    checksum = 0.0
    for trial in range(3):
        size = max(2, n - 10 * trial)
        a: Matrix[float] = Matrix.random(size, rng)
        lu = LU(a)
        b = [rng.uniform(-10, 10) for _ in range(size)]
        x = lu.solve(b)
        residual = max(abs(r - s) for r, s in zip(a.apply(x), b))
        inv = lu.inverse()
        err = (a @ inv - Matrix.identity(size)).max_abs()
        det = lu.determinant()
        print(f"n={size}: |det|^(1/n) = {abs(det) ** (1 / size):.6f}, residual < 1e-9: {residual < 1e-9}, "
              f"|A A^-1 - I| < 1e-9: {err < 1e-9}")
        checksum += sum(x) + sum(inv[i, i] for i in range(size))
    exact = Matrix([[Fraction(rng.randrange(-9, 10), rng.randrange(1, 5)) for _ in range(6)] for _ in range(6)])
    lu_exact: LU[Fraction] = LU(exact)
    det = lu_exact.determinant()
    if det != cofactor_determinant(exact.rows):
        raise AssertionError("exact LU determinant disagrees with the Leibniz formula")
    ident = exact @ lu_exact.inverse()
    if ident.rows != Matrix.identity(6, Fraction(1)).rows:
        raise AssertionError("exact inverse is not exact")
    print(f"exact 6x6 determinant: {det}")
    try:
        LU(Matrix([[1.0, 2.0], [2.0, 4.0]]))
    except SingularMatrix as e:
        print(f"singular: {e}")
    print(f"checksum {checksum:.6f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SIZE)
