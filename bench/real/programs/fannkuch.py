"""Fannkuch-redux: the maximum number of pancake flips over all permutations, and a signed checksum.

Permutations are produced two ways, as a generator in the counting order of the classic benchmark
and with Heap's algorithm; for small sizes the two are checked to produce the same set and the
same maximum. The flips themselves work on list slices, as idiomatic Python would.
Usage: fannkuch.py [N]
"""
from __future__ import annotations

import itertools
import sys
from collections import Counter
from typing import Iterator, List, Tuple

DEFAULT_SIZE = 9  # permutation length


def counting_order(n: int) -> Iterator[List[int]]:
    """All permutations of range(n), each a fresh list, in the rotate-and-count order."""
    perm = list(range(n))
    count = [0] * n
    r = n
    while True:
        while r != 1:
            count[r - 1] = r
            r -= 1
        yield perm[:]
        while True:
            if r == n:
                return
            first = perm[0]
            perm[:r] = perm[1:r + 1]
            perm[r] = first
            count[r] -= 1
            if count[r] > 0:
                break
            r += 1


def heaps_order(n: int) -> Iterator[Tuple[int, ...]]:
    """Heap's algorithm, iterative: each permutation differs from the last by one swap."""
    a = list(range(n))
    c = [0] * n
    yield tuple(a)
    i = 0
    while i < n:
        if c[i] < i:
            j = 0 if i % 2 == 0 else c[i]
            a[j], a[i] = a[i], a[j]
            yield tuple(a)
            c[i] += 1
            i = 0
        else:
            c[i] = 0
            i += 1


def flips(perm: List[int]) -> int:
    """Reverse the first perm[0]+1 elements until 0 comes first; count the reversals."""
    p = perm[:]
    count = 0
    first = p[0]
    while first:
        p[:first + 1] = p[first::-1]
        count += 1
        first = p[0]
    return count


def fannkuch(n: int) -> Tuple[int, int, Counter]:
    max_flips = 0
    checksum = 0
    histogram: Counter = Counter()
    for index, perm in enumerate(counting_order(n)):
        f = flips(perm)
        histogram[f] += 1
        if f > max_flips:
            max_flips = f
        checksum += -f if index % 2 else f
    return max_flips, checksum, histogram


def cross_check(n: int) -> None:
    a = {tuple(p) for p in counting_order(n)}
    b = set(heaps_order(n))
    c = set(itertools.permutations(range(n)))
    if not a == b == c:
        raise AssertionError(f"permutation generators disagree for n={n}")
    best_a = max(flips(list(p)) for p in a)
    best_b = max(map(flips, map(list, heaps_order(n))))
    if best_a != best_b:
        raise AssertionError(f"maximum flips disagree for n={n}: {best_a} != {best_b}")


def main(n: int) -> None:
    for small in range(1, min(n, 7) + 1):
        cross_check(small)
    total = 0
    for size in (max(1, n - 2), n):
        max_flips, checksum, histogram = fannkuch(size)
        common = ", ".join(f"{k}:{v}" for k, v in sorted(histogram.most_common(3)))
        print(f"Pfannkuchen({size}) = {max_flips}; checksum {checksum}; most common flip counts {common}")
        total = total * 1000 + checksum + max_flips
    print(f"checksum {total}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SIZE)
