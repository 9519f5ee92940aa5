"""A sudoku generator and solver: bitmask candidates, constraint propagation, and backtracking search.

A solved grid is built from a base pattern shuffled by seeded row, column, band and digit
permutations; clues are removed one at a time in random order as long as the puzzle keeps a
unique solution (checked by a solver that counts up to two solutions). The solver keeps
candidates as 9-bit masks per cell, assigns naked singles and hidden singles until nothing
changes, then branches on the cell with the fewest candidates.
Usage: sudoku.py [PUZZLES]
"""
from __future__ import annotations

import random
import sys
from typing import Dict, Iterator, List, Optional, Tuple

DEFAULT_SIZE = 14  # puzzles generated and solved
ALL = 0x1FF
ROWS = [[r * 9 + c for c in range(9)] for r in range(9)]
COLS = [[r * 9 + c for r in range(9)] for c in range(9)]
BOXES = [[(br * 3 + r) * 9 + bc * 3 + c for r in range(3) for c in range(3)] for br in range(3) for bc in range(3)]
UNITS = ROWS + COLS + BOXES
PEERS: List[Tuple[int, ...]] = [
    tuple(sorted({p for unit in UNITS if cell in unit for p in unit} - {cell})) for cell in range(81)
]
BIT = {1 << d: d + 1 for d in range(9)}


def popcount(x: int) -> int:
    return bin(x).count("1")


class Contradiction(Exception):
    pass


class Grid:
    __slots__ = ("cand",)

    def __init__(self, cand: Optional[List[int]] = None) -> None:
        self.cand = cand if cand is not None else [ALL] * 81

    @classmethod
    def from_values(cls, values: List[int]) -> Grid:
        g = cls()
        for i, v in enumerate(values):
            if v:
                g.assign(i, 1 << (v - 1))
        return g

    def copy(self) -> Grid:
        return Grid(self.cand[:])

    def assign(self, cell: int, bit: int) -> None:
        """Fix `cell` to `bit` and remove it from every peer, propagating singles."""
        work = [(cell, bit)]
        cand = self.cand
        while work:
            c, b = work.pop()
            if not cand[c] & b:
                raise Contradiction
            cand[c] = b
            for p in PEERS[c]:
                if cand[p] & b:
                    cand[p] &= ~b
                    left = cand[p]
                    if not left:
                        raise Contradiction
                    if left & (left - 1) == 0:
                        work.append((p, left))

    def hidden_singles(self) -> bool:
        """Assign digits that fit in only one cell of a unit; True if anything changed."""
        changed = False
        for unit in UNITS:
            for d in range(9):
                b = 1 << d
                places = [c for c in unit if self.cand[c] & b]
                if not places:
                    raise Contradiction
                if len(places) == 1 and self.cand[places[0]] != b:
                    self.assign(places[0], b)
                    changed = True
        return changed

    def solved(self) -> bool:
        return all(c & (c - 1) == 0 for c in self.cand)

    def values(self) -> List[int]:
        return [BIT.get(c, 0) for c in self.cand]

    def __str__(self) -> str:
        return render(self.values())


def render(values: List[int]) -> str:
    lines = []
    for r in range(9):
        row = "".join(str(v) if v else "." for v in values[r * 9:r * 9 + 9])
        lines.append(" ".join((row[0:3], row[3:6], row[6:9])))
    return "\n".join(lines)


class Solver:
    def __init__(self) -> None:
        self.nodes = 0

    def solutions(self, grid: Grid) -> Iterator[Grid]:
        self.nodes += 1
        try:
            while grid.hidden_singles():
                pass
        except Contradiction:
            return
        if grid.solved():
            yield grid
            return
        cell = min((i for i in range(81) if grid.cand[i] & (grid.cand[i] - 1)),
                   key=lambda i: (popcount(grid.cand[i]), i))
        options = grid.cand[cell]
        while options:
            bit = options & -options
            options ^= bit
            child = grid.copy()
            try:
                child.assign(cell, bit)
            except Contradiction:
                continue
            yield from self.solutions(child)

    def count(self, values: List[int], limit: int = 2) -> int:
        try:
            grid = Grid.from_values(values)
        except Contradiction:
            return 0
        n = 0
        for _ in self.solutions(grid):
            n += 1
            if n >= limit:
                break
        return n


def solved_grid(rng: random.Random) -> List[int]:
    def pattern(r: int, c: int) -> int:
        return (3 * (r % 3) + r // 3 + c) % 9

    def shuffled_axis() -> List[int]:
        bands = rng.sample(range(3), 3)
        return [b * 3 + x for b in bands for x in rng.sample(range(3), 3)]

    rows, cols = shuffled_axis(), shuffled_axis()
    digits = rng.sample(range(1, 10), 9)
    return [digits[pattern(r, c)] for r in rows for c in cols]


def make_puzzle(rng: random.Random, solver: Solver, min_clues: int) -> Tuple[List[int], List[int]]:
    solution = solved_grid(rng)
    puzzle = solution[:]
    cells = list(range(81))
    rng.shuffle(cells)
    for cell in cells:
        if sum(1 for v in puzzle if v) <= min_clues:
            break
        keep = puzzle[cell]
        puzzle[cell] = 0
        if solver.count(puzzle) != 1:
            puzzle[cell] = keep
    return puzzle, solution


def main(puzzles: int) -> None:
    rng = random.Random(9)
    solver = Solver()
    checksum = 0
    stats: Dict[int, int] = {}
    for k in range(puzzles):
        puzzle, solution = make_puzzle(rng, solver, min_clues=22)
        clues = sum(1 for v in puzzle if v)
        stats[clues] = stats.get(clues, 0) + 1
        found = next(solver.solutions(Grid.from_values(puzzle)))
        if found.values() != solution:
            raise AssertionError(f"puzzle {k} solved wrongly")
        if k == 0:
            print(render(puzzle))
            print("solution:")
            print(found)
        for i, v in enumerate(puzzle):
            checksum = (checksum * 11 + v * (i + 1)) % 1_000_000_007
    print(f"{puzzles} puzzles, clue counts {sorted(stats.items())}, {solver.nodes} search nodes")
    print(f"checksum {checksum}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SIZE)
