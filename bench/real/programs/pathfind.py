"""Shortest paths with heapq: Dijkstra and A* on a weighted grid maze, and Dijkstra on a road graph.

A maze is carved by a seeded randomized depth-first search (iterative, with an explicit stack),
then opened up with extra passages and given terrain costs. Dijkstra and A* (Manhattan
heuristic, admissible because every step costs at least 1) must find paths of equal cost; A*
should expand fewer nodes. A random road network between named towns is searched with
Dijkstra from every town, and the path is rebuilt from predecessor links.
Usage: pathfind.py [GRIDS]
"""
from __future__ import annotations

import heapq
import itertools
import random
import sys
from typing import Callable, Dict, Iterator, List, NamedTuple, Optional, Set, Tuple

DEFAULT_SIZE = 16  # mazes solved
INF = float("inf")


class Cell(NamedTuple):
    x: int
    y: int

    def __add__(self, other: Tuple[int, int]) -> Cell:  # type: ignore[override]
        return Cell(self.x + other[0], self.y + other[1])


STEPS = ((1, 0), (-1, 0), (0, 1), (0, -1))


class Maze:
    def __init__(self, width: int, height: int, rng: random.Random) -> None:
        self.width, self.height = width, height
        self.open: Set[Cell] = set()
        self.cost: Dict[Cell, int] = {}
        self._carve(rng)

    def inside(self, c: Cell) -> bool:
        return 0 <= c.x < self.width and 0 <= c.y < self.height

    def _carve(self, rng: random.Random) -> None:
        start = Cell(1, 1)
        self.open.add(start)
        stack = [start]
        while stack:
            here = stack[-1]
            choices = [(here + (2 * dx, 2 * dy), here + (dx, dy)) for dx, dy in STEPS]
            choices = [(far, mid) for far, mid in choices
                       if 0 < far.x < self.width - 1 and 0 < far.y < self.height - 1 and far not in self.open]
            if not choices:
                stack.pop()
                continue
            far, mid = rng.choice(choices)
            self.open.update((far, mid))
            stack.append(far)
        walls = [Cell(x, y) for x in range(1, self.width - 1) for y in range(1, self.height - 1)
                 if Cell(x, y) not in self.open]
        for wall in rng.sample(walls, len(walls) // 8):  # loops make shortest paths interesting
            self.open.add(wall)
        for c in sorted(self.open):
            self.cost[c] = rng.choice((1, 1, 1, 2, 3, 5))

    def neighbours(self, c: Cell) -> Iterator[Tuple[Cell, int]]:
        for step in STEPS:
            n = c + step
            if n in self.open:
                yield n, self.cost[n]


def dijkstra(start: Cell, goal: Cell, edges: Callable[[Cell], Iterator[Tuple[Cell, int]]],
             heuristic: Callable[[Cell], int] = lambda c: 0) -> Tuple[float, List[Cell], int]:
    """A* when given a heuristic, Dijkstra without one: (cost, path, nodes expanded)."""
    tie = itertools.count()
    frontier = [(heuristic(start), next(tie), start)]
    best: Dict[Cell, float] = {start: 0}
    came_from: Dict[Cell, Optional[Cell]] = {start: None}
    expanded = 0
    closed: Set[Cell] = set()
    while frontier:
        _, _, here = heapq.heappop(frontier)
        if here in closed:
            continue
        closed.add(here)
        expanded += 1
        if here == goal:
            path = [here]
            while came_from[path[-1]] is not None:
                path.append(came_from[path[-1]])  # type: ignore[arg-type]
            return best[here], path[::-1], expanded
        for nxt, step_cost in edges(here):
            cost = best[here] + step_cost
            if cost < best.get(nxt, INF):
                best[nxt] = cost
                came_from[nxt] = here
                heapq.heappush(frontier, (cost + heuristic(nxt), next(tie), nxt))
    return INF, [], expanded


def manhattan_to(goal: Cell) -> Callable[[Cell], int]:
    return lambda c: abs(c.x - goal.x) + abs(c.y - goal.y)


def road_network(rng: random.Random, towns: int) -> Dict[str, Dict[str, int]]:
    names = [f"T{i:02d}" for i in range(towns)]
    coords = {n: (rng.randrange(100), rng.randrange(100)) for n in names}
    roads: Dict[str, Dict[str, int]] = {n: {} for n in names}
    for a, b in zip(names, names[1:]):  # a chain keeps the graph connected
        roads[a][b] = roads[b][a] = 1
    for a, b in itertools.combinations(names, 2):
        (ax, ay), (bx, by) = coords[a], coords[b]
        dist = abs(ax - bx) + abs(ay - by)
        if dist < 25 or rng.random() < 0.02:
            roads[a][b] = roads[b][a] = dist + 1
    return roads


def all_pairs(roads: Dict[str, Dict[str, int]]) -> Dict[str, Dict[str, float]]:
    result = {}
    for source in roads:
        dist = {source: 0.0}
        heap = [(0.0, source)]
        while heap:
            d, town = heapq.heappop(heap)
            if d > dist[town]:
                continue
            for nxt, w in roads[town].items():
                nd = d + w
                if nd < dist.get(nxt, INF):
                    dist[nxt] = nd
                    heapq.heappush(heap, (nd, nxt))
        result[source] = dist
    return result


def main(grids: int) -> None:
    rng = random.Random(2718)
    checksum = 0
    for g in range(grids):
        maze = Maze(81, 61, rng)
        start, goal = Cell(1, 1), Cell(maze.width - 2, maze.height - 2)
        cost_d, path_d, exp_d = dijkstra(start, goal, maze.neighbours)
        cost_a, path_a, exp_a = dijkstra(start, goal, maze.neighbours, manhattan_to(goal))
        if cost_d != cost_a:
            raise AssertionError(f"A* found cost {cost_a}, Dijkstra {cost_d}")
        print(f"maze {g}: {len(maze.open)} open cells, cost {cost_d}, path {len(path_d)} cells, "
              f"expanded dijkstra {exp_d} / A* {exp_a}")
        checksum = (checksum * 1009 + int(cost_d) * 7 + exp_d + exp_a) % 1_000_000_007
    roads = road_network(rng, 30 + 10 * grids)
    table = all_pairs(roads)
    diameter = max(max(d.values()) for d in table.values())
    total = sum(sum(d.values()) for d in table.values())
    far_a, far_b = max(((a, b) for a in table for b in table[a]), key=lambda ab: (table[ab[0]][ab[1]], ab))
    print(f"roads: {sum(len(r) for r in roads.values()) // 2}, diameter {diameter} ({far_a} -> {far_b})")
    print(f"checksum {(checksum + int(total)) % 1_000_000_007}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SIZE)
