"""Liveness (bytecode.Liveness, bit sets per block) against a straightforward per-pc set fixpoint.

The reference below is the textbook formulation with Python sets, one per pc, iterated to a fixpoint
over the whole code object: slow and quadratic in memory, but easy to check by eye. Both must agree
on every pc of every code object of the corpus programs and on the loop shapes below.
"""
from __future__ import annotations

import tracemalloc

import pytest
from corpus import discover_programs

from tauraro.bytecode import DEFS_ON_FALLTHROUGH, CodeObject, Liveness, register_effects, successors
from tauraro.compiler import compile_source
from tauraro.errors import TauraroError


def reference_liveness(code: CodeObject) -> list[frozenset[int]]:
    """live_in[pc] = uses | (live_out - defs) on normal edges; an op in a try range also has an
    edge to its handler on which it kills nothing (it may raise before writing) but the VM sets
    the exception register; ForIter's target is written only when it falls through, so the
    exhausted edge keeps the target's old value live."""
    n = len(code.instrs)
    live_in: list[set[int]] = [set() for _ in range(n)]

    def at(pc: int) -> set[int]:
        return live_in[pc] if pc < n else set()

    changed = True
    while changed:
        changed = False
        for pc in range(n - 1, -1, -1):
            ins = code.instrs[pc]
            uses, defs = register_effects(ins, code)
            handler = code.handler_for(pc)
            if ins.op in DEFS_ON_FALLTHROUGH:
                new = (at(pc + 1) - set(defs)) | at(ins.c)
            else:
                new = set()
                for s in successors(ins, pc):
                    new |= at(s)
                new -= set(defs)
            if handler is not None:
                new |= at(handler.handler) - {handler.reg}
            new |= set(uses)
            if new != live_in[pc]:
                live_in[pc] = new
                changed = True
    return [frozenset(s) for s in live_in]


def code_objects(code: CodeObject) -> list[CodeObject]:
    out = [code]
    for child in code.children():
        out += code_objects(child)
    return out


def compiled(source: str) -> list[CodeObject]:
    return code_objects(compile_source(source, "<test>"))


def assert_same(code: CodeObject) -> None:
    want = reference_liveness(code)
    got = Liveness(code)
    for pc in range(len(code.instrs)):
        assert got.live(pc) == want[pc], f"{code.qualname} pc {pc} ({code.instrs[pc]}): {got.live(pc)} != {want[pc]}"


def corpus_sources() -> list:
    return [pytest.param(p, id=p.name) for p in discover_programs()]


@pytest.mark.parametrize("program", corpus_sources())
def test_liveness_matches_reference_on_corpus(program) -> None:
    try:
        codes = compiled(program.path.read_text(encoding="utf-8"))
    except TauraroError:
        pytest.skip("rejected before running (syntax-error/unsupported program)")
    for code in codes:
        assert_same(code)


LOOP_SHAPES = {
    "for_var_after_loop": "def f(n):\n    for i in range(n):\n        pass\n    return i\n",
    "for_else_break": ("def f(n):\n    for i in range(n):\n        if i == 3:\n            break\n"
                       "    else:\n        i = -1\n    return i\n"),
    "nested": ("def f(n):\n    for a in range(n):\n        for b in range(a):\n            pass\n"
               "    return a, b\n"),
    "in_try": ("def f(n):\n    try:\n        for i in range(n):\n            x = 1 // (i - 3)\n"
               "    except ZeroDivisionError:\n        return i\n    return -1\n"),
    "while_counter": "def f(n):\n    k = 0\n    while k < n:\n        k += 1\n    return k\n",
}


@pytest.mark.parametrize("name", sorted(LOOP_SHAPES))
def test_liveness_matches_reference_on_loop_shapes(name: str) -> None:
    for code in compiled(LOOP_SHAPES[name]):
        assert_same(code)


def test_for_target_is_live_at_the_header_when_read_after_the_loop() -> None:
    code = compiled(LOOP_SHAPES["for_var_after_loop"])[1]
    loop = code.loops[0]
    target = code.instrs[loop.header].a
    assert Liveness(code).is_live(loop.header, target)


def test_liveness_memory_is_linear_in_code_size() -> None:
    """A 4,000-element list literal beside a loop: per-pc sets would be 8,000 pcs x 4,000 registers."""
    items = ", ".join(str(i) for i in range(4000))
    code = compiled(f"def f(m):\n    data = [{items}]\n    s = 0\n    for i in range(m):\n"
                    f"        s += i\n    return s + len(data)\n")[1]
    tracemalloc.start()
    try:
        live = Liveness(code)
        live.bits(code.loops[0].header)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1024 * 1024, f"liveness of a 4,000-element literal used {peak} bytes"
