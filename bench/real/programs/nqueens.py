"""N-queens three ways: permutations filtered by a set test, a generator backtracker, and bitmasks.

The three solvers must agree on every board size; the generator solver yields solutions lazily
(`yield from` through the recursion), and the first solution of each size is drawn as a board.
Symmetry classes of the solutions are counted with rotations and reflections.
Usage: nqueens.py [MAXN]
"""
from __future__ import annotations

import itertools
import sys
from functools import reduce
from typing import Iterator, List, Sequence, Tuple

DEFAULT_SIZE = 11  # largest board solved by all three solvers
Solution = Tuple[int, ...]


def by_permutations(n: int) -> Iterator[Solution]:
    """Every permutation is a placement with one queen per row and column; keep those with free diagonals."""
    cols = range(n)
    for perm in itertools.permutations(cols):
        if n == len({perm[i] + i for i in cols}) == len({perm[i] - i for i in cols}):
            yield perm


def by_backtracking(n: int) -> Iterator[Solution]:
    def extend(placed: List[int], used_cols: set, diag1: set, diag2: set) -> Iterator[Solution]:
        row = len(placed)
        if row == n:
            yield tuple(placed)
            return
        for col in range(n):
            if col in used_cols or row + col in diag1 or row - col in diag2:
                continue
            placed.append(col)
            used_cols.add(col)
            diag1.add(row + col)
            diag2.add(row - col)
            yield from extend(placed, used_cols, diag1, diag2)
            placed.pop()
            used_cols.discard(col)
            diag1.discard(row + col)
            diag2.discard(row - col)

    yield from extend([], set(), set(), set())


def count_bitmask(n: int) -> Tuple[int, int]:
    """(solutions, search nodes) with the columns and both diagonals as bitmasks."""
    full = (1 << n) - 1
    nodes = 0

    def solve(cols: int, left: int, right: int) -> int:
        nonlocal nodes
        nodes += 1
        if cols == full:
            return 1
        total = 0
        free = full & ~(cols | left | right)
        while free:
            bit = free & -free
            free ^= bit
            total += solve(cols | bit, ((left | bit) << 1) & full, (right | bit) >> 1)
        return total

    return solve(0, 0, 0), nodes


def transforms(sol: Sequence[int]) -> Iterator[Solution]:
    """The eight images of a solution under the symmetries of the square."""
    n = len(sol)
    current = tuple(sol)
    for _ in range(4):
        yield current
        yield tuple(reversed(current))
        rotated = [0] * n
        for row, col in enumerate(current):
            rotated[col] = n - 1 - row
        current = tuple(rotated)


def canonical(sol: Solution) -> Solution:
    return min(transforms(sol))


def draw(sol: Solution) -> List[str]:
    n = len(sol)
    return ["".join("Q" if sol[r] == c else "." for c in range(n)) for r in range(n)]


def checksum_of(solutions: List[Solution]) -> int:
    def fold(acc: int, sol: Solution) -> int:
        return (acc * 17 + sum((i + 1) * c for i, c in enumerate(sol))) % 1_000_003

    return reduce(fold, solutions, 0)


def main(max_n: int) -> None:
    grand = 0
    for n in range(4, max_n + 1):
        backtracked = list(by_backtracking(n))
        bits, nodes = count_bitmask(n)
        if n <= 8:
            permuted = list(by_permutations(n))
            if sorted(permuted) != sorted(backtracked):
                raise AssertionError(f"permutation and backtracking solvers disagree for n={n}")
        if bits != len(backtracked):
            raise AssertionError(f"bitmask count {bits} != {len(backtracked)} for n={n}")
        classes = {canonical(s) for s in backtracked}
        print(f"n={n}: {len(backtracked)} solutions, {len(classes)} up to symmetry, {nodes} bitmask nodes")
        if n == 6:
            print("\n".join("  " + row for row in draw(backtracked[0])))
        grand = (grand * 31 + checksum_of(backtracked) + len(classes)) % 1_000_000_007
    # A couple of larger boards counted with bitmasks only.
    extra = [count_bitmask(n)[0] for n in range(max_n + 1, max_n + 2)]
    print(f"bitmask counts beyond: {extra}")
    print(f"checksum {grand + sum(extra)}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SIZE)
