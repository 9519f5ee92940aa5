"""Differential fuzzing: generated programs and mutated sources on every backend against CPython."""
from __future__ import annotations

import pytest
from backends import ALL_BACKENDS, require_backend
from corpus import discover_programs
from fuzz.runner import run_tauraro

JIT_BACKENDS = [b for b in ALL_BACKENDS if b != "interp"]
DEOPT_PROGRAMS = [p for p in discover_programs() if p.name.startswith("deopt_")]


@pytest.mark.parametrize("backend", JIT_BACKENDS)
def test_deopt_programs_have_no_jit_errors(backend: str) -> None:
    """The JIT never gives up on a deopt_ program because of its own bug (verifier or backend errors)."""
    require_backend(backend)
    errors = []
    for program in DEOPT_PROGRAMS:
        outcome = run_tauraro(program.source, backend, 1)
        errors += [f"{program.name}: {line}" for line in outcome.jit_errors]
    assert not errors, "\n".join(errors)
