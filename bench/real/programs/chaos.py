"""The chaos game: iterated function systems (fern, Sierpinski carpet, a spiral) drawn into grids.

Each system is a list of weighted affine maps (frozen dataclasses); a point jumps by a map chosen
at random with the map weights (bisect over cumulative weights), and every visited point lands in
a bytearray raster. The rasters are summarised by coverage, a box-counting dimension estimate,
a coarse ASCII picture and a checksum.
Usage: chaos.py [POINTS_IN_THOUSANDS]
"""
from __future__ import annotations

import bisect
import itertools
import math
import random
import sys
from dataclasses import dataclass
from typing import Iterator, List, Sequence, Tuple

DEFAULT_SIZE = 250  # thousands of points per system
Point = Tuple[float, float]


@dataclass(frozen=True)
class Affine:
    a: float
    b: float
    c: float
    d: float
    e: float
    f: float
    weight: float = 1.0

    def __call__(self, p: Point) -> Point:
        x, y = p
        return (self.a * x + self.b * y + self.e, self.c * x + self.d * y + self.f)

    @classmethod
    def scaled(cls, s: float, tx: float, ty: float, weight: float = 1.0) -> Affine:
        return cls(s, 0.0, 0.0, s, tx, ty, weight)

    @classmethod
    def rotation(cls, s: float, angle: float, tx: float, ty: float, weight: float = 1.0) -> Affine:
        co, si = math.cos(angle) * s, math.sin(angle) * s
        return cls(co, -si, si, co, tx, ty, weight)


class System:
    def __init__(self, name: str, maps: Sequence[Affine]) -> None:
        self.name = name
        self.maps = list(maps)
        total = sum(m.weight for m in maps)
        self.cumulative = list(itertools.accumulate(m.weight / total for m in maps))

    def pick(self, rng: random.Random) -> Affine:
        i = bisect.bisect_left(self.cumulative, rng.random())
        return self.maps[min(i, len(self.maps) - 1)]

    def orbit(self, rng: random.Random, count: int, skip: int = 20) -> Iterator[Point]:
        p: Point = (0.0, 0.0)
        for step in range(count + skip):
            p = self.pick(rng)(p)
            if step >= skip:
                yield p


class Raster:
    def __init__(self, width: int, height: int, bounds: Tuple[float, float, float, float]) -> None:
        self.width, self.height = width, height
        self.x0, self.y0, x1, y1 = bounds
        self.sx = (width - 1) / (x1 - self.x0)
        self.sy = (height - 1) / (y1 - self.y0)
        self.pixels = bytearray(width * height)
        self.outside = 0

    def plot(self, p: Point) -> None:
        i = int((p[0] - self.x0) * self.sx)
        j = int((p[1] - self.y0) * self.sy)
        if 0 <= i < self.width and 0 <= j < self.height:
            k = j * self.width + i
            if self.pixels[k] < 255:
                self.pixels[k] += 1
        else:
            self.outside += 1

    def coverage(self) -> int:
        return sum(1 for v in self.pixels if v)

    def boxes(self, size: int) -> int:
        """How many size x size boxes contain a lit pixel."""
        lit = set()
        w = self.width
        for k, v in enumerate(self.pixels):
            if v:
                lit.add(((k % w) // size, (k // w) // size))
        return len(lit)

    def dimension(self) -> float:
        sizes = [2, 4, 8, 16]
        xs = [math.log(1 / s) for s in sizes]
        ys = [math.log(max(1, self.boxes(s))) for s in sizes]
        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
        num = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
        den = sum((x - mx) ** 2 for x in xs)
        return num / den

    def ascii(self, cols: int = 40, rows: int = 16) -> List[str]:
        out = []
        for r in range(rows - 1, -1, -1):
            line = []
            for c in range(cols):
                i0, j0 = c * self.width // cols, r * self.height // rows
                block = (self.pixels[j * self.width + i]
                         for j in range(j0, j0 + self.height // rows) for i in range(i0, i0 + self.width // cols))
                line.append("#" if any(block) else " ")
            out.append("".join(line).rstrip())
        return out


def systems() -> List[Tuple[System, Tuple[float, float, float, float]]]:
    fern = System("fern", [
        Affine(0.0, 0.0, 0.0, 0.16, 0.0, 0.0, 0.01),
        Affine(0.85, 0.04, -0.04, 0.85, 0.0, 1.6, 0.85),
        Affine(0.2, -0.26, 0.23, 0.22, 0.0, 1.6, 0.07),
        Affine(-0.15, 0.28, 0.26, 0.24, 0.0, 0.44, 0.07),
    ])
    carpet = System("carpet", [Affine.scaled(1 / 3, i / 3, j / 3)
                               for i in range(3) for j in range(3) if (i, j) != (1, 1)])
    spiral = System("spiral", [
        Affine.rotation(0.92, 0.3, 0.05, 0.0, 0.9),
        Affine.scaled(0.25, 0.6, 0.6, 0.1),
    ])
    return [(fern, (-2.5, 0.0, 2.8, 10.0)), (carpet, (0.0, 0.0, 1.0, 1.0)), (spiral, (-1.0, -1.0, 1.5, 1.5))]


def main(thousands: int) -> None:
    rng = random.Random(20240601)
    checksum = 0
    for system, bounds in systems():
        raster = Raster(160, 160, bounds)
        for p in system.orbit(rng, thousands * 1000):
            raster.plot(p)
        dim = raster.dimension()
        print(f"{system.name}: {len(system.maps)} maps, {raster.coverage()} pixels lit, "
              f"{raster.outside} outside, box dimension {dim:.3f}")
        if system.name == "fern":
            print("\n".join(raster.ascii()))
        for k, v in enumerate(raster.pixels):
            if v:
                checksum = (checksum + (k + 1) * v) % 4_294_967_291
    print(f"checksum {checksum}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SIZE)
