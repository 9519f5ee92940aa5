"""Conformance: every corpus program, on every backend and JIT threshold, behaves like CPython.

CPython runs `tauraro.frontend.to_python(source)` live (see corpus.CPythonOracle); nothing
expected is stored in the repository. Tauraro runs in-process through `tauraro.run`, and a
few programs also through the real CLI in a subprocess.
"""
from __future__ import annotations

import pytest
from backend_matrix import ALL_BACKENDS, require_backend, thresholds
from corpus import (
    SYNTAX_MESSAGE_RE,
    Outcome,
    Program,
    check_oracle,
    describe_difference,
    discover_programs,
    run_cli,
    run_tauraro,
)

PROGRAMS = discover_programs()
BY_NAME = {p.name: p for p in PROGRAMS}


def _threshold_id(t: int | None) -> str:
    return "default" if t is None else f"t{t}"


def _cases():
    """Every program on every backend and threshold with the default tiers (VM + baseline, + native
    loops on a JIT backend), and with tier 0 (everything in the VM) on interp and at threshold 1."""
    for backend in ALL_BACKENDS:
        for t in thresholds(backend):
            for tier in (None, 0) if t in (None, 1) else (None,):
                for p in PROGRAMS:
                    # Thresholds 1 and default are the essential runs; 2 and 7 add the
                    # "compiled after a few iterations" cases, which matter for loop-heavy programs.
                    slow = backend != "interp" and (t in (2, 7) or tier == 0) and p.loop_heavy
                    tier_id = "" if tier is None else f"-tier{tier}"
                    yield pytest.param(p, backend, t, tier, id=f"{backend}{tier_id}-{_threshold_id(t)}-{p.name}",
                                       marks=[pytest.mark.slow] if slow else [])


def check_like_cpython(program: Program, where: str, actual: Outcome, expected: Outcome) -> None:
    problem = describe_difference(program, where, actual, expected)
    if problem:
        pytest.fail(problem, pytrace=False)


def check_syntax_error(program: Program, where: str, actual: Outcome, expected: Outcome,
                       filename: str | None = None) -> None:
    """Exit status 2, one line `FILE:LINE:COL: error: MSG`, LINE being CPython's SyntaxError line."""
    filename = filename or program.relpath
    message = actual.stderr.strip()
    assert actual.status == 2, f"{program.relpath} [{where}]: exit status {actual.status}, want 2: {message!r}"
    assert "\n" not in message, f"{program.relpath} [{where}]: message is not one line:\n{message}"
    m = SYNTAX_MESSAGE_RE.match(message)
    assert m, f"{program.relpath} [{where}]: not 'FILE:LINE:COL: error: MSG': {message!r}"
    assert m.group("file") == filename, f"{program.relpath} [{where}]: names file {m.group('file')!r}"
    assert int(m.group("line")) == expected.syntax_line, (
        f"{program.relpath} [{where}]: error on line {m.group('line')}, CPython says line "
        f"{expected.syntax_line} ({expected.last_line}): {message!r}")
    assert actual.stdout == "", f"{program.relpath} [{where}]: printed before rejecting: {actual.stdout!r}"


def check_unsupported(program: Program, where: str, actual: Outcome, filename: str | None = None) -> None:
    """Exit status 2, one line `FILE:LINE:COL: error: ... is not supported`, nothing run."""
    filename = filename or program.relpath
    message = actual.stderr.strip()
    assert actual.status == 2, f"{program.relpath} [{where}]: exit status {actual.status}, want 2: {message!r}"
    assert "\n" not in message, f"{program.relpath} [{where}]: message is not one line:\n{message}"
    m = SYNTAX_MESSAGE_RE.match(message)
    assert m and m.group("file") == filename, f"{program.relpath} [{where}]: bad message {message!r}"
    assert "is not supported" in m.group("msg"), f"{program.relpath} [{where}]: {message!r}"
    assert actual.stdout == "", f"{program.relpath} [{where}]: ran code before rejecting: {actual.stdout!r}"


@pytest.mark.parametrize(("program", "backend", "jit_threshold", "tier"), list(_cases()))
def test_program(program: Program, backend: str, jit_threshold: int | None, tier: int | None, oracle) -> None:
    require_backend(backend)
    where = f"backend={backend} jit_threshold={jit_threshold} tier={tier}"
    actual = run_tauraro(program, backend, jit_threshold, tier=tier)
    if program.expect == "unsupported":
        check_unsupported(program, where, actual)
        return
    expected = oracle(program)
    check_oracle(program, expected)
    if program.expect == "syntax-error":
        check_syntax_error(program, where, actual, expected)
    else:
        check_like_cpython(program, where, actual, expected)


# A handful of programs through the real command line: exit statuses, stderr, file names.
CLI_PROGRAMS = [
    "arith_basic",
    "hausa_basic",
    "loop_overflow_add",
    "err_zero_div_loop",
    "err_user_exception",
    "err_hausa_raise",
    "syntax_hausa_missing_colon",
    "syntax_bad_indent",
    "syntax_hausa_elif_without_if",
    "lang_yield",
    "stdlib_import_os",
]


@pytest.mark.slow
@pytest.mark.parametrize("name", CLI_PROGRAMS, ids=[f"interp-{n}" for n in CLI_PROGRAMS])
def test_cli(name: str, oracle) -> None:
    program = BY_NAME[name]
    backend = "interp"
    require_backend(backend)
    where = f"cli --backend {backend}"
    actual = run_cli(program, "--backend", backend)
    if program.expect == "unsupported":
        check_unsupported(program, where, actual)
        return
    expected = oracle(program)
    check_oracle(program, expected)
    if program.expect == "syntax-error":
        check_syntax_error(program, where, actual, expected)
        return
    check_like_cpython(program, where, actual, expected)
    if program.expect == "error":
        assert actual.stderr.startswith("Traceback (most recent call last):"), (
            f"{program.relpath} [{where}]: stderr is not a traceback:\n{actual.stderr}")
    else:
        assert actual.stderr == "", f"{program.relpath} [{where}]: unexpected stderr:\n{actual.stderr}"


@pytest.mark.slow
def test_cli_missing_file(tmp_path) -> None:
    """A usage error (no such file) exits with status 2 and a one-line message."""
    program = Program(tmp_path / "does_not_exist.tr")
    actual = run_cli(program, "--backend", "interp")
    assert actual.status == 2, actual
    assert actual.stderr.strip() and "\n" not in actual.stderr.strip(), actual.stderr
