"""An incremental constraint solver with strengths, after the DeltaBlue algorithm (written here).

Variables are linked by constraints (equality, scale-and-offset, stay, edit) with strengths. Adding
or removing a constraint re-plans incrementally: stronger constraints override weaker ones, and an
execution plan propagates new input values. Chain and projection scenarios check the results.
Usage: constraints.py [SCALE]
"""
from __future__ import annotations

import sys
from enum import IntEnum
from typing import List, Optional

DEFAULT_SIZE = 120  # scenario repetitions


class Strength(IntEnum):
    """Lower value = stronger: `a < b` means a is stronger, max(a, b) is the weaker one."""

    REQUIRED = 0
    STRONG_PREFERRED = 1
    PREFERRED = 2
    STRONG_DEFAULT = 3
    NORMAL = 4
    WEAK_DEFAULT = 5
    WEAKEST = 6


class Direction(IntEnum):
    NONE = 0
    FORWARD = 1
    BACKWARD = 2


class Variable:
    def __init__(self, name: str, value: int = 0) -> None:
        self.name = name
        self.value = value
        self.constraints: List[Constraint] = []
        self.determined_by: Optional[Constraint] = None
        self.mark = 0
        self.walk_strength = Strength.WEAKEST
        self.stay = True

    def attach(self, c: Constraint) -> None:
        self.constraints.append(c)

    def detach(self, c: Constraint) -> None:
        self.constraints.remove(c)
        if self.determined_by is c:
            self.determined_by = None

    def __repr__(self) -> str:
        return f"{self.name}={self.value}"


class Constraint:
    def __init__(self, strength: Strength) -> None:
        self.strength = strength

    # Concrete constraints provide add_to_graph, remove_from_graph, choose_method, is_satisfied,
    # mark_inputs, inputs_known, output, recalculate, execute and mark_unsatisfied.

    def is_input(self) -> bool:
        return False

    def install(self) -> Constraint:
        self.add_to_graph()
        PLANNER.incremental_add(self)
        return self

    def satisfy(self, mark: int) -> Optional[Constraint]:
        """Try to satisfy self; return the constraint it overrides, if any."""
        self.choose_method(mark)
        if not self.is_satisfied():
            if self.strength == Strength.REQUIRED:
                raise RuntimeError("could not satisfy a required constraint")
            return None
        self.mark_inputs(mark)
        out = self.output()
        overridden = out.determined_by
        if overridden is not None:
            overridden.mark_unsatisfied()
        out.determined_by = self
        if not PLANNER.propagate_from(self, mark):
            raise RuntimeError("cycle encountered")
        out.mark = mark
        return overridden

    def destroy(self) -> None:
        if self.is_satisfied():
            PLANNER.incremental_remove(self)
        else:
            self.remove_from_graph()


class UnaryConstraint(Constraint):
    def __init__(self, var: Variable, strength: Strength) -> None:
        super().__init__(strength)
        self.var = var
        self.satisfied = False
        self.install()

    def add_to_graph(self) -> None:
        self.var.attach(self)
        self.satisfied = False

    def remove_from_graph(self) -> None:
        self.var.detach(self)
        self.satisfied = False

    def choose_method(self, mark: int) -> None:
        self.satisfied = self.var.mark != mark and self.strength < self.var.walk_strength

    def is_satisfied(self) -> bool:
        return self.satisfied

    def mark_inputs(self, mark: int) -> None:
        pass  # no inputs

    def inputs_known(self, mark: int) -> bool:
        return True

    def output(self) -> Variable:
        return self.var

    def recalculate(self) -> None:
        self.var.walk_strength = self.strength
        self.var.stay = not self.is_input()
        if self.var.stay:
            self.execute()

    def execute(self) -> None:
        pass  # stay and edit constraints do not compute anything

    def mark_unsatisfied(self) -> None:
        self.satisfied = False


class StayConstraint(UnaryConstraint):
    """The variable keeps its value unless something stronger changes it."""


class EditConstraint(UnaryConstraint):
    """The variable is an input: the user sets its value."""

    def is_input(self) -> bool:
        return True


class BinaryConstraint(Constraint):
    def __init__(self, v1: Variable, v2: Variable, strength: Strength, install: bool = True) -> None:
        super().__init__(strength)
        self.v1 = v1
        self.v2 = v2
        self.direction = Direction.NONE
        if install:
            self.install()

    def variables(self) -> tuple[Variable, ...]:
        return (self.v1, self.v2)

    def add_to_graph(self) -> None:
        for v in self.variables():
            v.attach(self)
        self.direction = Direction.NONE

    def remove_from_graph(self) -> None:
        for v in self.variables():
            v.detach(self)
        self.direction = Direction.NONE

    def choose_method(self, mark: int) -> None:
        v1, v2, s = self.v1, self.v2, self.strength
        if v1.mark == mark:
            ok = v2.mark != mark and s < v2.walk_strength
            self.direction = Direction.FORWARD if ok else Direction.NONE
        elif v2.mark == mark:
            ok = v1.mark != mark and s < v1.walk_strength
            self.direction = Direction.BACKWARD if ok else Direction.NONE
        elif v2.walk_strength < v1.walk_strength:
            self.direction = Direction.BACKWARD if s < v1.walk_strength else Direction.NONE
        else:
            self.direction = Direction.FORWARD if s < v2.walk_strength else Direction.BACKWARD

    def is_satisfied(self) -> bool:
        return self.direction != Direction.NONE

    def input(self) -> Variable:
        return self.v1 if self.direction == Direction.FORWARD else self.v2

    def output(self) -> Variable:
        return self.v2 if self.direction == Direction.FORWARD else self.v1

    def mark_inputs(self, mark: int) -> None:
        self.input().mark = mark

    def inputs_known(self, mark: int) -> bool:
        i = self.input()
        return i.mark == mark or i.stay or i.determined_by is None

    def inputs_stay(self) -> bool:
        return self.input().stay

    def recalculate(self) -> None:
        out = self.output()
        out.walk_strength = max(self.strength, self.input().walk_strength)
        out.stay = self.inputs_stay()
        if out.stay:
            self.execute()

    def mark_unsatisfied(self) -> None:
        self.direction = Direction.NONE


class EqualityConstraint(BinaryConstraint):
    def execute(self) -> None:
        self.output().value = self.input().value


class ScaleConstraint(BinaryConstraint):
    """dest = src * scale + offset, solvable in both directions."""

    def __init__(self, src: Variable, scale: Variable, offset: Variable, dest: Variable,
                 strength: Strength) -> None:
        super().__init__(src, dest, strength, install=False)
        self.scale = scale
        self.offset = offset
        self.install()

    def variables(self) -> tuple[Variable, ...]:
        return (self.v1, self.v2, self.scale, self.offset)

    def mark_inputs(self, mark: int) -> None:
        super().mark_inputs(mark)
        self.scale.mark = self.offset.mark = mark

    def execute(self) -> None:
        if self.direction == Direction.FORWARD:
            self.v2.value = self.v1.value * self.scale.value + self.offset.value
        else:
            self.v1.value = (self.v2.value - self.offset.value) // self.scale.value

    def inputs_stay(self) -> bool:
        return super().inputs_stay() and self.scale.stay and self.offset.stay


class Planner:
    def __init__(self) -> None:
        self.current_mark = 0

    def new_mark(self) -> int:
        self.current_mark += 1
        return self.current_mark

    def incremental_add(self, c: Constraint) -> None:
        mark = self.new_mark()
        overridden = c.satisfy(mark)
        while overridden is not None:
            overridden = overridden.satisfy(mark)

    def incremental_remove(self, c: Constraint) -> None:
        out = c.output()
        c.mark_unsatisfied()
        c.remove_from_graph()
        unsatisfied = self.remove_propagate_from(out)
        for strength in list(Strength)[:-1]:  # strongest first; WEAKEST never needs satisfying
            for u in unsatisfied:
                if u.strength == strength:
                    self.incremental_add(u)

    def propagate_from(self, c: Constraint, mark: int) -> bool:
        todo = [c]
        while todo:
            d = todo.pop()
            if d.output().mark == mark:
                self.incremental_remove(c)
                return False
            d.recalculate()
            todo.extend(self.consumers(d.output()))
        return True

    def remove_propagate_from(self, out: Variable) -> List[Constraint]:
        out.determined_by = None
        out.walk_strength = Strength.WEAKEST
        out.stay = True
        unsatisfied: List[Constraint] = []
        todo = [out]
        while todo:
            v = todo.pop()
            unsatisfied.extend(c for c in v.constraints if not c.is_satisfied())
            for nxt in self.consumers(v):
                nxt.recalculate()
                todo.append(nxt.output())
        return unsatisfied

    @staticmethod
    def consumers(v: Variable) -> List[Constraint]:
        return [c for c in v.constraints if c is not v.determined_by and c.is_satisfied()]

    def make_plan(self, sources: List[Constraint]) -> List[Constraint]:
        mark = self.new_mark()
        plan: List[Constraint] = []
        todo = list(sources)
        while todo:
            c = todo.pop(0)
            out = c.output()
            if out.mark != mark and c.inputs_known(mark):
                plan.append(c)
                out.mark = mark
                todo.extend(self.consumers(out))
        return plan

    def plan_for(self, constraints: List[Constraint]) -> List[Constraint]:
        return self.make_plan([c for c in constraints if c.is_input() and c.is_satisfied()])


PLANNER = Planner()


def run_plan(plan: List[Constraint]) -> None:
    for c in plan:
        c.execute()


def chain_test(n: int) -> int:
    """A chain of n equalities; editing the first variable must update the last."""
    global PLANNER
    PLANNER = Planner()
    variables = [Variable(f"v{i}") for i in range(n + 1)]
    for a, b in zip(variables, variables[1:]):
        EqualityConstraint(a, b, Strength.REQUIRED)
    first, last = variables[0], variables[-1]
    StayConstraint(last, Strength.STRONG_DEFAULT)
    edit = EditConstraint(first, Strength.PREFERRED)
    plan = PLANNER.plan_for([edit])
    total = 0
    for i in range(100):
        first.value = i
        run_plan(plan)
        if last.value != i:
            raise AssertionError(f"chain test failed: {last.value} != {i}")
        total += last.value
    edit.destroy()
    return total


def change(var: Variable, value: int) -> None:
    edit = EditConstraint(var, Strength.PREFERRED)
    plan = PLANNER.plan_for([edit])
    for _ in range(10):
        var.value = value
        run_plan(plan)
    edit.destroy()


def projection_test(n: int) -> int:
    """n scale constraints sharing one scale and offset; change both ends and the parameters."""
    global PLANNER
    PLANNER = Planner()
    scale, offset = Variable("scale", 10), Variable("offset", 1000)
    src = dst = Variable("none")
    dests = []
    for i in range(n):
        src, dst = Variable(f"src{i}", i), Variable(f"dst{i}", i)
        dests.append(dst)
        StayConstraint(src, Strength.NORMAL)
        ScaleConstraint(src, scale, offset, dst, Strength.REQUIRED)
    change(src, 17)
    if dst.value != 1170:
        raise AssertionError(f"projection 1 failed: {dst!r}")
    change(dst, 1050)
    if src.value != 5:
        raise AssertionError(f"projection 2 failed: {src!r}")
    change(scale, 5)
    checks = sum(d.value for d in dests)
    if any(d.value != i * 5 + 1000 for i, d in enumerate(dests[:-1])):
        raise AssertionError("projection 3 failed")
    change(offset, 2000)
    if any(d.value != i * 5 + 2000 for i, d in enumerate(dests[:-1])):
        raise AssertionError("projection 4 failed")
    return checks + sum(d.value for d in dests)


def main(size: int) -> None:
    checksum = 0
    for rep in range(size):
        n = 50 + rep % 7 * 10
        c = chain_test(n)
        p = projection_test(n)
        checksum = (checksum * 7 + c + p) % 1_000_000_007
        if rep == 0:
            print(f"chain({n}) = {c}, projection({n}) = {p}, marks used {PLANNER.current_mark}")
    print(f"repetitions={size}")
    print(f"checksum {checksum}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SIZE)
