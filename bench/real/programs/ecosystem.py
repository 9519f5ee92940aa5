"""A predator-prey ecosystem on a toroidal grid, written with dataclasses, enums and properties.

Grass regrows on cells, rabbits graze and breed, foxes hunt rabbits; every creature is a
dataclass with defaults, default factories, __post_init__ validation, ordering for the turn
order, and dataclasses.replace for offspring. Per-tick census records are dataclasses turned
into dicts with asdict for the report.
Usage: ecosystem.py [TICKS]
"""
from __future__ import annotations

import random
import sys
from dataclasses import asdict, dataclass, field, replace
from enum import Enum
from typing import ClassVar, Dict, Iterator, List, Optional, Tuple

DEFAULT_SIZE = 90  # simulated ticks
WIDTH, HEIGHT = 40, 30


class Move(Enum):
    NORTH = (0, -1)
    SOUTH = (0, 1)
    EAST = (1, 0)
    WEST = (-1, 0)
    STAY = (0, 0)

    @property
    def dx(self) -> int:
        return self.value[0]

    @property
    def dy(self) -> int:
        return self.value[1]


@dataclass(frozen=True, order=True)
class Pos:
    x: int
    y: int

    def step(self, move: Move) -> Pos:
        return Pos((self.x + move.dx) % WIDTH, (self.y + move.dy) % HEIGHT)

    def neighbours(self) -> Iterator[Pos]:
        for m in Move:
            if m is not Move.STAY:
                yield self.step(m)


@dataclass
class Genome:
    speed: int = 1
    appetite: float = 1.0
    fertility: float = 0.5

    def mutate(self, rng: random.Random) -> Genome:
        return replace(self,
                       appetite=round(min(2.0, max(0.5, self.appetite + rng.uniform(-0.1, 0.1))), 3),
                       fertility=round(min(0.9, max(0.1, self.fertility + rng.uniform(-0.05, 0.05))), 3))


_ids = iter(range(1, 10**9))


@dataclass(order=True)
class Creature:
    initiative: float
    ident: int = field(default_factory=lambda: next(_ids), compare=True)
    pos: Pos = field(default=Pos(0, 0), compare=False)
    energy: float = field(default=10.0, compare=False)
    age: int = field(default=0, compare=False)
    genome: Genome = field(default_factory=Genome, compare=False)
    alive: bool = field(default=True, compare=False)

    max_age: ClassVar[int] = 50
    birth_energy: ClassVar[float] = 20.0
    hunger: ClassVar[float] = 0.5
    kind: ClassVar[str] = "creature"

    def __post_init__(self) -> None:
        if self.energy < 0:
            raise ValueError(f"{self.kind} born with negative energy")

    @property
    def can_breed(self) -> bool:
        return self.energy >= self.birth_energy and self.age > 2

    def metabolise(self) -> None:
        self.age += 1
        self.energy -= self.hunger * self.genome.appetite
        if self.energy <= 0 or self.age > self.max_age:
            self.alive = False


@dataclass(order=True)
class Rabbit(Creature):
    max_age: ClassVar[int] = 30
    birth_energy: ClassVar[float] = 12.0
    kind: ClassVar[str] = "rabbit"


@dataclass(order=True)
class Fox(Creature):
    genome: Genome = field(default_factory=lambda: Genome(fertility=0.15), compare=False)
    max_age: ClassVar[int] = 40
    birth_energy: ClassVar[float] = 30.0
    hunger: ClassVar[float] = 1.5
    kind: ClassVar[str] = "fox"


@dataclass
class Census:
    tick: int
    rabbits: int
    foxes: int
    grass: int
    mean_fertility: float


class World:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.grass: Dict[Pos, int] = {Pos(x, y): self.rng.randrange(4) for x in range(WIDTH) for y in range(HEIGHT)}
        self.creatures: List[Creature] = []
        self.occupied: Dict[Pos, List[Creature]] = {}
        self.births = self.deaths = self.meals = 0
        for _ in range(160):
            self.spawn(Rabbit(self.rng.random(), pos=self.random_pos(), energy=8.0))
        for _ in range(16):
            self.spawn(Fox(self.rng.random(), pos=self.random_pos(), energy=25.0))

    def random_pos(self) -> Pos:
        return Pos(self.rng.randrange(WIDTH), self.rng.randrange(HEIGHT))

    def spawn(self, c: Creature) -> None:
        self.creatures.append(c)
        self.occupied.setdefault(c.pos, []).append(c)

    def move(self, c: Creature, to: Pos) -> None:
        self.occupied[c.pos].remove(c)
        c.pos = to
        self.occupied.setdefault(to, []).append(c)

    def rabbits_at(self, p: Pos) -> List[Creature]:
        return [c for c in self.occupied.get(p, ()) if isinstance(c, Rabbit) and c.alive]

    def choose_move(self, c: Creature) -> Pos:
        options = list(c.pos.neighbours()) + [c.pos]
        if isinstance(c, Fox):
            prey = [p for p in options if self.rabbits_at(p)]
            if prey:
                return min(prey)
        else:
            best = max(self.grass[p] for p in options)
            options = [p for p in options if self.grass[p] == best]
        return self.rng.choice(options)

    def act(self, c: Creature) -> Optional[Creature]:
        self.move(c, self.choose_move(c))
        if isinstance(c, Rabbit):
            eaten = min(self.grass[c.pos], 2)
            self.grass[c.pos] -= eaten
            c.energy += 2.5 * eaten
        else:
            victims = self.rabbits_at(c.pos)
            if victims:
                victim = min(victims)
                victim.alive = False
                c.energy += 0.6 * victim.energy + 4
                self.meals += 1
        c.metabolise()
        if c.alive and c.can_breed and self.rng.random() < c.genome.fertility:
            c.energy /= 2
            child = replace(c, initiative=self.rng.random(), ident=next(_ids), energy=c.energy, age=0,
                            genome=c.genome.mutate(self.rng))
            return child
        return None

    def tick(self) -> None:
        newborn = []
        for c in sorted(self.creatures, key=lambda c: (c.initiative, c.ident)):
            if c.alive:
                child = self.act(c)
                if child is not None:
                    newborn.append(child)
        for c in self.creatures:
            if not c.alive:
                self.occupied[c.pos].remove(c)
                self.deaths += 1
        self.creatures = [c for c in self.creatures if c.alive]
        for child in newborn:
            self.spawn(child)
            self.births += 1
        for _ in range(3):  # a few rabbits migrate in from outside every tick
            self.spawn(Rabbit(self.rng.random(), pos=self.random_pos(), energy=8.0))
        for p in self.grass:
            if self.grass[p] < 5 and self.rng.random() < 0.3:
                self.grass[p] += 1

    def census(self, tick: int) -> Census:
        rabbits = [c for c in self.creatures if isinstance(c, Rabbit)]
        foxes = [c for c in self.creatures if isinstance(c, Fox)]
        fert = sum(c.genome.fertility for c in self.creatures) / max(1, len(self.creatures))
        return Census(tick, len(rabbits), len(foxes), sum(self.grass.values()), round(fert, 4))


def run(ticks: int, seed: int) -> Tuple[List[Census], World]:
    world = World(seed)
    history = []
    for t in range(ticks):
        world.tick()
        history.append(world.census(t))
        if not world.creatures:
            break
    return history, world


def main(ticks: int) -> None:
    history, world = run(ticks, seed=99)
    for record in history[:: max(1, len(history) // 6)]:
        print(asdict(record))
    peak = max(history, key=lambda c: (c.rabbits, c.tick))
    print(f"peak rabbits {peak.rabbits} at tick {peak.tick}; births {world.births}, deaths {world.deaths}, "
          f"meals {world.meals}")
    checksum = 0
    for rec in history:
        for value in asdict(rec).values():
            checksum = (checksum * 37 + int(value * 10_000)) % 1_000_000_007
    print(f"checksum {checksum}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SIZE)
