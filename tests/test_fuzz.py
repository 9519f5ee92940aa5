"""Differential fuzzing: generated programs and mutated sources on every backend against CPython.

Generated programs (tests/fuzz/gen.py, seeded) run under CPython in-process and on every backend at
JIT thresholds 1 and 2 (every 8th also at the default threshold); any difference in stdout or final
error line, a crash or a JIT-internal abort fails with the program and a command that reproduces
it. Long campaigns: `python -m tests.fuzz --count N --seed S` (tests/fuzz/README.md).
"""
from __future__ import annotations

import functools
import os
import random
import re
import subprocess
import sys
import time

import pytest
from backend_matrix import ALL_BACKENDS, backend_status, require_backend
from corpus import REPO_ROOT, discover_programs
from fuzz.gen import generate
from fuzz.mutate import SYNTAX_MESSAGE_RE, front_end_problem, mutate, run_problem
from fuzz.reduce import reduce_program
from fuzz.runner import Outcome, check, configs_for, run_cpython, run_tauraro

JIT_BACKENDS = [b for b in ALL_BACKENDS if b != "interp"]
DEOPT_PROGRAMS = [p for p in discover_programs() if p.name.startswith("deopt_")]

# Programs per backend in the suite (each at thresholds 1 and 2); campaigns run many more.
PROGRAM_COUNT = int(os.environ.get("TAURARO_FUZZ_COUNT", "200"))
CHUNK = 25
SEED_BASE = 7_000_000
MUTANT_COUNT = int(os.environ.get("TAURARO_FUZZ_MUTANTS", "600"))
MUTANT_CHUNK = 150

# Known, reported bugs outside the JIT that mutated sources can reach: a problem containing one of these
# markers is not counted (each names its minimal program in tests/fuzz/found/). Remove when fixed.
KNOWN_ISSUES: dict[str, str] = {}


def _known(problem: str) -> bool:
    return any(marker in problem for marker in KNOWN_ISSUES)


@functools.cache
def _expected(seed: int) -> Outcome:
    return run_cpython(generate(seed))


def _chunks(total: int, size: int) -> list[range]:
    return [range(SEED_BASE + k, SEED_BASE + min(k + size, total)) for k in range(0, total, size)]


@pytest.mark.parametrize("seeds", _chunks(PROGRAM_COUNT, CHUNK), ids=lambda r: f"seeds{r.start}-{r.stop - 1}")
@pytest.mark.parametrize("backend", ALL_BACKENDS)
def test_generated_programs(backend: str, seeds: range) -> None:
    require_backend(backend)
    reports = []
    for seed in seeds:
        source = generate(seed)
        expected = _expected(seed)
        assert not expected.timeout, f"generator bug: seed {seed} does not terminate under CPython:\n{source}"
        _, failures = check(source, configs_for([backend], with_default=seed % 8 == 0), expected)
        for f in failures:
            t = "default" if f.threshold is None else f.threshold
            reports.append(f"seed {seed}: {f.kind} on --backend {f.backend} --jit-threshold {t}:\n{f.detail}\n"
                           f"reproduce: python -m tests.fuzz --count 1 --seed {seed} --backends {backend}\n"
                           f"--- program ---\n{source}")
    assert not reports, "\n\n".join(reports[:3])


def test_generator_is_deterministic_and_varied() -> None:
    a = [generate(s) for s in range(SEED_BASE, SEED_BASE + 20)]
    assert a == [generate(s) for s in range(SEED_BASE, SEED_BASE + 20)]
    assert len(set(a)) == len(a)
    text = "\n".join(generate(s) for s in range(SEED_BASE, SEED_BASE + 200))
    for feature in ["while ", "for ", "break", "continue", "return", "elif ", "try:", "except ", "//", "%",
                    "<<", ">>", "9223372036854775807", "[", "0.5", "str(", "def fn"]:
        assert feature in text, f"the generator never produces {feature!r}"


def test_generated_programs_are_quick_under_cpython() -> None:
    """Each program must finish in < 50 ms of CPython CPU time (process time: robust on loaded machines)."""
    slow = []
    for seed in range(SEED_BASE, SEED_BASE + 100):
        source = generate(seed)
        t0 = time.process_time()
        outcome = run_cpython(source)
        cpu = time.process_time() - t0
        if outcome.timeout or cpu > 0.05:
            slow.append(f"seed {seed}: {cpu * 1000:.0f} ms CPU")
    assert len(slow) <= 2, slow  # a stray hiccup, not a slow generator


@pytest.mark.parametrize("backend", JIT_BACKENDS)
def test_deopt_programs_have_no_jit_errors(backend: str) -> None:
    """The JIT never gives up on a deopt_ program because of its own bug (verifier or backend errors)."""
    require_backend(backend)
    errors = []
    for program in DEOPT_PROGRAMS:
        outcome = run_tauraro(program.source, backend, 1)
        errors += [f"{program.name}: {line}" for line in outcome.jit_errors]
    assert not errors, "\n".join(errors)


def test_reducer_shrinks_to_the_cause() -> None:
    """A failure that needs one statement and one constant reduces to (almost) just them."""
    source = "zz = 123456 // 7\nprint(zz)\n" + generate(SEED_BASE + 3)
    assert "17636" in run_cpython(source).stdout

    def predicate(text: str) -> bool:
        out = run_cpython(text, timeout=1.0)
        return not out.timeout and "17636" in out.stdout

    reduced = reduce_program(source, predicate, time_budget=60)
    assert predicate(reduced)
    assert len(reduced.strip().splitlines()) <= 2, reduced


# --- bad input -----------------------------------------------------------------------------------------
def _mutant_seeds() -> list[str]:
    return [p.source for p in discover_programs()] + [generate(s) for s in range(SEED_BASE, SEED_BASE + 30)]


@pytest.mark.parametrize("start", range(0, MUTANT_COUNT, MUTANT_CHUNK))
def test_front_end_never_crashes_on_mutants(start: int) -> None:
    """Mutated sources: a one-line syntax error or a run that matches CPython, never a Python traceback."""
    seeds = _mutant_seeds()
    rng = random.Random(start)
    problems = []
    for i in range(start, min(start + MUTANT_CHUNK, MUTANT_COUNT)):
        m = mutate(rng.choice(seeds), rng)
        problem = front_end_problem(m.source)
        if problem is None and i % 3 == 0:
            jit = i % 2 == 0 and backend_status("cranelift") is None
            problem = run_problem(m.source, "cranelift" if jit else "interp", 1 if jit else None)
        if problem and not _known(problem):
            problems.append(f"mutant {i} ({m.how}): {problem}\n--- source ---\n{m.source[:3000]}")
    assert not problems, "\n\n".join(problems[:3])


def test_front_end_mutants_through_the_cli(tmp_path) -> None:
    """A few mutants through `python -m tauraro run`: exit 2 with one line, or CPython's behaviour."""
    rng = random.Random(99)
    seeds = _mutant_seeds()
    files = []
    for i in range(8):
        m = mutate(rng.choice(seeds), rng)
        path = tmp_path / f"m{i}.tr"
        path.write_text(m.source, encoding="utf-8", errors="surrogatepass")
        files.append((path, m))
    raw = tmp_path / "bytes.tr"
    raw.write_bytes(b"print(1)\n\xff\xfe x = \x80\n")
    files.append((raw, None))
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), PYTHONWARNINGS="ignore")
    for path, m in files:
        proc = subprocess.run([sys.executable, "-m", "tauraro", "run", str(path), "--backend", "interp"],
                              capture_output=True, text=True, timeout=60, env=env, cwd=REPO_ROOT,
                              stdin=subprocess.DEVNULL, errors="replace")
        where = f"{path.name} ({m.how if m else 'invalid UTF-8'})"
        utf8 = m is not None and _encodes(m.source)
        assert proc.returncode in (0, 1, 2), f"{where}: exit status {proc.returncode}\n{proc.stderr}"
        assert not re.search(r'File ".*\.py"', proc.stderr), f"{where}: a Python traceback:\n{proc.stderr}"
        if proc.returncode == 2:
            message = proc.stderr.strip()
            assert "\n" not in message, f"{where}: not one line:\n{message}"
            assert SYNTAX_MESSAGE_RE.match(message) or not utf8, f"{where}: {message!r}"
        elif utf8 and "**" not in m.source:
            expected = run_cpython(m.source, timeout=5.0)
            if not expected.timeout and not _known(proc.stderr):
                last = (proc.stderr.strip().splitlines() or [None])[-1]
                assert (proc.stdout, last) == (expected.stdout, expected.error), where
        if not utf8:
            assert proc.returncode == 2 and "UTF-8" in proc.stderr, proc.stderr


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def test_campaign_cli(tmp_path) -> None:
    """`python -m tests.fuzz` runs, prints its summary and exits 0 when nothing differs."""
    proc = subprocess.run([sys.executable, "-m", "tests.fuzz", "--count", "4", "--seed", str(SEED_BASE),
                           "--jobs", "1", "--backends", "interp,ir", "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=300, cwd=REPO_ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "programs: 4 generated, 4 run" in proc.stdout, proc.stdout
    assert "no failures" in proc.stdout
