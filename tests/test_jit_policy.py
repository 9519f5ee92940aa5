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
    assert stats["blacklists"][0]["reason"] == "short" and stats["blacklists"][0]["explanation"]
    assert {"loop", "entries", "failed_entries", "native_iterations", "compiles", "blacklisted"} <= set(stats["loops"][0])
