"""The compiled-code budget: over it, the least recently entered loops are evicted and recompile when hot again.

Counters of --stats-json (evictions, live compiled loops, bytes kept), never timings or RSS.
"""
from __future__ import annotations

import io
import subprocess
import sys

import pytest
from backend_matrix import ALL_BACKENDS, require_backend
from corpus import REPO_ROOT

import tauraro
from tauraro.errors import TauraroError
from tauraro.jit.budget import DEFAULT_BUDGET, code_budget, parse_bytes

JIT_BACKENDS = [b for b in ALL_BACKENDS if b != "interp"]
FUNCTIONS = 12


def program() -> str:
    """Twelve functions with a hot loop each, called in two rounds: the first round's loops are
    evicted by the later ones (a small budget) and compile again in the second round."""
    parts = [f"def f{k}(n):\n    s = {k}\n    for i in range(n):\n        s += i * {k + 1}\n    return s\n\n\n"
             for k in range(FUNCTIONS)]
    parts.append("t = 0\nfor r in range(2):\n")
    parts += [f"    t += f{k}(40)\n" for k in range(FUNCTIONS)]
    parts.append("print(t)\n")
    return "".join(parts)


def expected() -> str:
    out = io.StringIO()
    sys_stdout, sys.stdout = sys.stdout, out
    try:
        exec(program(), {"__name__": "__main__"})
    finally:
        sys.stdout = sys_stdout
    return out.getvalue()


def run(backend: str, budget: int | None) -> dict:
    out = io.StringIO()
    result = tauraro.run(program(), backend=backend, jit_threshold=5, stdout=out, use_cache=False,
                         jit_code_budget=budget)
    assert out.getvalue() == expected()
    return result.stats.to_json()


@pytest.mark.parametrize("backend", JIT_BACKENDS)
def test_small_budget_evicts_least_recently_used_and_recompiles(backend: str) -> None:
    require_backend(backend)
    roomy = run(backend, None)
    assert roomy["evictions"] == 0 and roomy["live_compiled_loops"] == roomy["loops_compiled"] == FUNCTIONS
    per_loop = roomy["code_bytes"] // FUNCTIONS
    budget = 3 * per_loop + per_loop // 2  # room for three loops
    tight = run(backend, budget)
    assert tight["evictions"] >= FUNCTIONS  # every first-round loop is evicted, and more in round two
    assert tight["live_compiled_loops"] <= 3
    assert tight["code_bytes"] <= budget and tight["peak_code_bytes"] <= budget + per_loop
    assert tight["loops_compiled"] > FUNCTIONS  # evicted loops compiled again when hot again
    recompiled = [loop for loop in tight["loops"] if loop["compiles"] >= 2]
    assert recompiled and all(loop["evicted"] >= 1 for loop in recompiled)


def test_budget_option_parsing(monkeypatch) -> None:
    assert parse_bytes("64M") == 64 << 20 and parse_bytes("512k") == 512 << 10 and parse_bytes("3000") == 3000
    assert parse_bytes("1GiB") == 1 << 30
    for bad in ("", "lots", "-5M", "M"):
        with pytest.raises(ValueError):
            parse_bytes(bad)
    monkeypatch.delenv("TAURARO_JIT_CODE_BUDGET", raising=False)
    assert code_budget() == DEFAULT_BUDGET
    monkeypatch.setenv("TAURARO_JIT_CODE_BUDGET", "2M")
    assert code_budget() == 2 << 20 and code_budget("1M") == 1 << 20
    monkeypatch.setenv("TAURARO_JIT_CODE_BUDGET", "nope")
    with pytest.raises(TauraroError, match="TAURARO_JIT_CODE_BUDGET"):
        code_budget()


def test_cli_rejects_a_bad_budget_in_one_line(tmp_path) -> None:
    prog = tmp_path / "p.tr"
    prog.write_text("print(1)\n", encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "tauraro", "run", "--jit-code-budget", "lots", str(prog)],
                         capture_output=True, text=True, cwd=REPO_ROOT, check=False)
    assert out.returncode == 2 and "--jit-code-budget" in out.stderr and len(out.stderr.strip().splitlines()) == 1
