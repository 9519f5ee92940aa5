"""The corpus itself, checked against CPython only (no Tauraro VM needed).

Each program must behave as its `# expect:` line says, deterministically, and the corpus as a
whole must cover what the conformance suite promises (loop-heavy programs, Hausa keywords,
failing programs of each kind).
"""
from __future__ import annotations

import pytest
from corpus import check_oracle, discover_programs

from tauraro.errors import TauraroSyntaxError
from tauraro.frontend import parse

PROGRAMS = discover_programs()


@pytest.mark.parametrize("program", PROGRAMS, ids=[p.name for p in PROGRAMS])
def test_program_matches_its_expectation(program, oracle) -> None:
    try:
        parse(program.source, program.relpath)
        rejection = None
    except TauraroSyntaxError as e:
        rejection = str(e)
    if program.expect == "unsupported":
        assert rejection and "is not supported" in rejection, f"{program.relpath}: front end gave {rejection!r}"
        return
    if program.expect == "syntax-error":
        assert rejection and "is not supported" not in rejection, f"{program.relpath}: {rejection!r}"
    else:
        assert rejection is None, f"{program.relpath}: front end rejects it: {rejection}"
    check_oracle(program, oracle(program))


@pytest.mark.parametrize("program", [p for p in PROGRAMS if p.expect in ("ok", "error")],
                         ids=lambda p: p.name)
def test_program_is_deterministic(program, oracle) -> None:
    """Same output under another hash seed (no set-of-str order, no id(), no timing)."""
    seeded = oracle(program, hash_seed="0")
    other = oracle(program, hash_seed="12345")
    assert (other.stdout, other.status, other.last_line) == (seeded.stdout, seeded.status, seeded.last_line), (
        f"{program.relpath} depends on the hash seed")


def test_corpus_mix() -> None:
    by_kind: dict[str, list[str]] = {}
    for p in PROGRAMS:
        by_kind.setdefault(p.expect, []).append(p.name)
    heavy = [p for p in PROGRAMS if p.loop_heavy and p.expect == "ok"]
    hausa = [p for p in PROGRAMS if p.uses_aliases]
    assert len(PROGRAMS) >= 95
    assert len(heavy) >= 35
    assert len(hausa) >= 10
    assert len(by_kind.get("error", [])) >= 6
    assert len(by_kind.get("syntax-error", [])) >= 3
    assert len({p.name for p in PROGRAMS}) == len(PROGRAMS)
