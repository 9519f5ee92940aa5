"""The JIT never keeps entering a loop it cannot run well: counters of --stats-json, not timings.

Each JIT-hostile loop shape must stop being entered after a bounded number of tries (the entry
ledger, tauraro/jit/policy.py) or not be compiled at all, on every JIT backend, and still print
what CPython prints. A numeric loop is the control: it runs natively and is never given up.
"""
from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys

import pytest
from backend_matrix import ALL_BACKENDS, require_backend
from corpus import REPO_ROOT

import tauraro
from tauraro.frontend import to_python
from tauraro.jit import policy

JIT_BACKENDS = [b for b in ALL_BACKENDS if b != "interp"]
# A loop whose entries never pay loses at least ENTRY_COST - (a few iterations' gain) per entry.
NEVER_PAYS_BOUND = 12

SHAPES = {
    # Not compiled at all: no iteration can complete natively.
    "none_list_filled_by_calls": ("""
def g(i):
    return (i, i * 2)
pts = [None] * 3000
for i in range(3000):
    pts[i] = g(i)
print(pts[-1])
""", "no_iteration"),
    "floats_into_a_none_list": ("""
out = [None] * 3000
for i in range(3000):
    out[i] = i * 0.5
print(out[-1])
""", "no_iteration"),
    "objects": ("""
class P:
    def __init__(self, x):
        self.x = x
ps = [P(i) for i in range(500)]
t = 0
for k in range(6):
    for i in range(500):
        t += ps[i].x
print(t)
""", "no_iteration"),
    "appends": ("""
out = []
for i in range(3000):
    out.append(i * 3)
print(len(out), out[-1])
""", "no_iteration"),
    # Not compiled: the exceptions counted while the loop warmed up would leave compiled code.
    "exceptions_every_few_iterations": ("""
t = 0
for i in range(3000):
    try:
        t += 100 // (i % 4)
    except ZeroDivisionError:
        t -= 1
print(t)
""", "exceptions"),
    # Compiled, then given up at run time.
    "type_changes_every_iteration": ("""
t = 0.0
for i in range(3000):
    if i % 3 == 0:
        v = 0.5
    else:
        v = i
    t += v
print(t)
""", "exit_storm"),
    "short_inner_loop_entered_often": ("""
def work(n):
    log = []
    s = 0
    for k in range(n):
        log.append(k)
        for j in range(2):
            s += j * k
    return s, len(log)
print(work(3000))
""", "short"),
    "big_list_copied_per_entry": ("""
def scale(data, m):
    seen = []
    for k in range(m):
        seen.append(k)
        for j in range(4):
            data[j] = data[j] * 1.5 + k
    return data[0], len(seen)
print(scale([float(i) for i in range(20000)], 400))
""", "list_copies"),
    "list_that_stops_being_mirrorable": ("""
def total(xs):
    t = 0.0
    for i in range(len(xs)):
        t += xs[i]
    return t
data = [float(i) for i in range(300)]
print(total(data))
data[5] = None
for k in range(100):
    try:
        total(data)
    except TypeError as e:
        last = str(e)
print(last)
""", "entry_failed"),
}


def cpython_output(source: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(to_python(source), "<prog>", "exec"), {"__name__": "__main__"})
    return out.getvalue()


def run(source: str, backend: str, threshold: int = 10) -> dict:
    out = io.StringIO()
    result = tauraro.run(source, backend=backend, jit_threshold=threshold, stdout=out)
    assert out.getvalue() == cpython_output(source)
    return result.stats.to_json()


@pytest.mark.parametrize("backend", JIT_BACKENDS)
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_hostile_loop_is_given_up_within_a_bounded_number_of_tries(shape: str, backend: str) -> None:
    require_backend(backend)
    source, reason = SHAPES[shape]
    stats = run(source, backend)
    given_up = [b["reason"] for b in stats["blacklists"]]
    if reason in ("no_iteration", "exceptions"):
        assert [a["reason"] for a in stats["aborts"]] and all(a["reason"] == reason for a in stats["aborts"])
        assert stats["loops_compiled"] == 0 and stats["loop_entries"] == 0
        return
    assert reason in given_up, f"expected a '{reason}' verdict, got {stats['blacklists']} ({stats['loops']})"
    for loop in stats["loops"]:
        assert loop["entries"] + loop["failed_entries"] <= NEVER_PAYS_BOUND, loop
    # Once given up, the loop runs interpreted: no entry after the verdict.
    assert stats["loop_entries"] == stats["native_entries"] + stats["failed_entries"]


@pytest.mark.parametrize("backend", JIT_BACKENDS)
def test_numeric_loop_is_kept(backend: str) -> None:
    require_backend(backend)
    stats = run("s = 0\nfor i in range(20000):\n    s = (s + i * i) % 1000003\nprint(s)\n", backend)
    assert stats["blacklisted"] == 0 and not stats["aborts"]
    assert stats["native_entries"] <= 2 and stats["native_iterations"] >= 19000


def test_ledger_bounds() -> None:
    """The policy's arithmetic: a loop that never pays is given up after a few entries; one that
    paid is given up within CREDIT_CAP of losses; copies are charged per element."""
    ledger = policy.Ledger(per_iteration=5)
    entries = 0
    while ledger.entered(iterations=0, slots=2, copied=0, reason=policy.ExitReason.GUARD_TYPE, line=3):
        entries += 1
    assert entries < policy.CREDIT_START / policy.ENTRY_COST
    assert ledger.verdict()[0] is policy.GiveUp.EXIT_STORM
    rich = policy.Ledger(per_iteration=5)
    assert rich.entered(iterations=10**6, slots=2, copied=0, reason=policy.ExitReason.LOOP_EXIT, line=3)
    assert rich.credit == policy.CREDIT_CAP
    losses = 0
    while rich.entered(iterations=1, slots=2, copied=0, reason=policy.ExitReason.LOOP_EXIT, line=3):
        losses += 1
    assert losses <= (policy.CREDIT_CAP + policy.CREDIT_START) / (policy.ENTRY_COST - 5)
    assert rich.verdict()[0] is policy.GiveUp.SHORT
    copier = policy.Ledger(per_iteration=5)
    assert not copier.entered(iterations=10, slots=2, copied=100_000, reason=policy.ExitReason.LOOP_EXIT, line=3)
    assert copier.verdict()[0] is policy.GiveUp.LIST_COPIES


def test_stats_json_has_the_entry_and_budget_counters(tmp_path) -> None:
    require_backend("cranelift")
    prog = tmp_path / "p.tr"
    prog.write_text(SHAPES["short_inner_loop_entered_often"][0], encoding="utf-8")
    out = tmp_path / "s.json"
    subprocess.run([sys.executable, "-m", "tauraro", "run", "--backend", "cranelift", "--jit-threshold", "10",
                    "--stats-json", str(out), str(prog)], check=True, cwd=REPO_ROOT, capture_output=True)
    stats = json.loads(out.read_text(encoding="utf-8"))
    for key in ("loop_entries", "native_entries", "failed_entries", "native_iterations", "list_copies",
                "list_elements_copied", "list_elements_written_back", "blacklisted", "blacklists", "evictions",
                "live_compiled_loops", "code_bytes", "peak_code_bytes", "loops"):
        assert key in stats, key
    short = [b for b in stats["blacklists"] if b["reason"] == "short"]  # the outer loop is not_compiled
    assert short and short[0]["explanation"] and all(b["explanation"] for b in stats["blacklists"])
    assert {"loop", "entries", "failed_entries", "native_iterations", "compiles", "blacklisted"} <= set(stats["loops"][0])


SHORT_RANGE_NESTED = """
def work(n):
    log = []
    s = 0
    for k in range(n):
        log.append(k)
        for j in range(3):
            s += j * k
    return s, len(log)
print(work(3000))
"""


@pytest.mark.parametrize("backend", JIT_BACKENDS)
def test_short_range_loop_is_not_compiled_at_the_default_threshold(backend: str) -> None:
    """At the default threshold a range loop too short for any entry to pay is judged from its
    range (jit/judge.py) and never compiled, so no backend is loaded for it."""
    require_backend(backend)
    stats = run(SHORT_RANGE_NESTED, backend, threshold=None)
    assert "short_range" in [a["reason"] for a in stats["aborts"]], stats["aborts"]
    assert stats["loops_compiled"] == 0 and stats["loop_entries"] == 0
    assert "backend_load" not in stats["compile_seconds_by_phase"]
    inner = [loop for loop in stats["loops"] if loop["loop"].endswith(":7")]
    assert inner and inner[0]["blacklisted"] == "not_compiled" and inner[0]["compiles"] == 0


def test_short_range_verdict_waits_for_evidence() -> None:
    """Below the default threshold short loops compile (the suites stress compiled code that way)
    and the entry ledger judges them; a range that grows (a triangular nest) compiles."""
    require_backend("cranelift")
    stats = run(SHORT_RANGE_NESTED, "cranelift", threshold=10)
    assert "short_range" not in [a["reason"] for a in stats["aborts"]] and stats["loops_compiled"] >= 1
    triangle = "s = 0\nfor i in range(400):\n    for j in range(i):\n        s += j\nprint(s)\n"
    stats = run(triangle, "cranelift", threshold=None)
    assert stats["loops_compiled"] >= 1 and stats["native_iterations"] > 50_000, stats["loops"]


def test_loop_rejected_by_the_cheap_checks_never_imports_the_driver(tmp_path) -> None:
    """A program whose hot loops the checks of jit/judge.py reject pays neither the driver's import
    nor a backend's; the stats say what the driver would have said."""
    require_backend("cranelift")
    prog = tmp_path / "p.tr"
    # The outer loop catches an exception every 4 iterations; its inner loop runs 3 iterations.
    prog.write_text("s = 0\nfor k in range(30000):\n    try:\n        s += 100 // (k % 4)\n"
                    "    except ZeroDivisionError:\n        s -= 1\n    for j in range(3):\n        s += j\nprint(s)\n",
                    encoding="utf-8")
    script = ("import io, sys, json, tauraro\n"
              f"r = tauraro.run(open({str(prog)!r}).read(), backend='cranelift', stdout=io.StringIO())\n"
              "print(json.dumps([sorted(m for m in sys.modules if m.startswith('tauraro.jit')), r.stats.to_json()]))\n")
    out = subprocess.run([sys.executable, "-c", script], check=True, cwd=REPO_ROOT, capture_output=True, text=True)
    modules, stats = json.loads(out.stdout)
    assert "tauraro.jit.driver" not in modules and "tauraro.jit.translate" not in modules, modules
    assert sorted(a["reason"] for a in stats["aborts"]) == ["exceptions", "short_range"], stats["aborts"]
    assert stats["blacklisted"] == 2 and all(b["reason"] == "not_compiled" for b in stats["blacklists"])
    assert len(stats["loops"]) == 2 and all(loop["blacklisted"] == "not_compiled" for loop in stats["loops"])


@pytest.mark.parametrize("driver_first", [False, True])
def test_caught_exceptions_stop_being_reported_once_the_loop_is_given_up(monkeypatch, driver_first: bool) -> None:
    """Exceptions caught in a loop are counted to judge it; once every loop around the handler is
    given up the VM stops reporting them (each report cost about a microsecond)."""
    require_backend("cranelift")
    from tauraro.jit.driver import JitDriver
    from tauraro.jit.hot import HotCounter

    reports = []
    for cls in (HotCounter, JitDriver):
        original = cls.caught
        monkeypatch.setattr(cls, "caught", lambda self, *a, _o=original: reports.append(1) or _o(self, *a))
    warm = "w = 0\nfor i in range(100):\n    w += i\n" if driver_first else ""  # compiled: the driver exists
    source = warm + SHAPES["exceptions_every_few_iterations"][0]
    stats = run(source, "cranelift")
    assert [a["reason"] for a in stats["aborts"]] == ["exceptions"]
    assert stats["loops_compiled"] == (1 if driver_first else 0)
    assert len(reports) <= 10, len(reports)  # 750 exceptions caught; the loop is judged after 10 back-edges


def test_never_compiled_opcodes_have_no_translation() -> None:
    """jit/judge.py rejects a loop from its bytecode when every path runs an instruction of
    NEVER_COMPILED: none of them may have a translation (op_ method), quickened forms included."""
    from tauraro.bytecode import GENERIC_OF, OPCODES
    from tauraro.jit import judge
    from tauraro.jit.translate import Translator

    assert judge.NEVER_COMPILED <= set(OPCODES)
    translated = [op for op in OPCODES if GENERIC_OF.get(op, op) in judge.NEVER_COMPILED
                  and hasattr(Translator, "op_" + op)]
    assert not translated, f"remove from judge.NEVER_COMPILED (the translator compiles them now): {translated}"


def test_bytecode_verdict_agrees_with_the_translator(monkeypatch) -> None:
    """Over the conformance programs and bench/hostile, every loop the bytecode check rejects is one
    the translator finds no iteration in (run with the check only observing)."""
    from corpus import PROGRAMS_DIR

    from tauraro.jit import judge
    from tauraro.stats import JitStats

    verdicts: dict[str, str] = {}
    original = judge.Judged.blocked

    def observe(self: judge.Judged) -> None:
        detail = original(self)
        if detail is not None:
            verdicts[judge.location(self.region.code, self.region.loop.loop_id)] = detail
        return None

    monkeypatch.setattr(judge.Judged, "blocked", observe)
    files = sorted(PROGRAMS_DIR.glob("*.tr")) + sorted((REPO_ROOT / "bench" / "hostile" / "programs").glob("*.tr"))
    checked = 0
    for path in files:
        source = path.read_text(encoding="utf-8")
        if "input(" in source:
            continue
        verdicts.clear()
        stats = JitStats()
        try:
            with contextlib.redirect_stderr(io.StringIO()):
                tauraro.run(source, backend="ir", filename=path.name, jit_threshold=1, stdout=io.StringIO(),
                            stats=stats)
        except (tauraro.TauraroError, tauraro.TauraroRuntimeError, SystemExit):
            pass  # the error programs: their loops were judged all the same
        translated = {a["loop"]: a for a in stats.aborts}
        compiled = {loop["loop"] for loop in stats.loops if loop["compiles"]}
        for where, detail in verdicts.items():
            assert where not in compiled, f"{where}: judged '{detail}' but it compiled"
            if where in translated and translated[where]["reason"] != "exceptions":
                assert translated[where]["reason"] == "no_iteration", (where, detail, translated[where])
                checked += 1
    assert checked >= 20, checked
