"""Start-up (issue 13): the bytecode cache (hits, corrupt, truncated, stale, unwritable entries, --no-cache,
syntax errors, user modules) prints exactly what an uncached run and CPython print, and a run whose loops
stay cold imports neither the JIT nor the front end."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from backend_matrix import require_backend
from corpus import REPO_ROOT

from tauraro import codecache

PROGRAM = """\
import helper

def total(n):
    s = 0
    for i in range(n):
        s += helper.twice(i)
    return s

print(total(10), helper.NAME)
try:
    helper.fail(3)
except ZeroDivisionError as e:
    print("caught", e)
print(helper.fail(0))
"""
HELPER = """\
NAME = "helper"

def twice(x):
    return 2 * x

def fail(x):
    return x // (x - x)
"""


def run_cli(path: Path, *args: str, cache: Path, python: bool = False) -> tuple[int, str, str]:
    """(status, stdout, stderr) of `tauraro run` (or of CPython on the same file) with its own cache directory."""
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), TAURARO_CACHE_DIR=str(cache))
    cmd = [sys.executable, str(path)] if python else [sys.executable, "-m", "tauraro", "run", str(path), *args]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=path.parent, env=env)
    return r.returncode, r.stdout, r.stderr


def write_program(tmp_path: Path) -> Path:
    (tmp_path / "helper.py").write_text(HELPER, encoding="utf-8")
    prog = tmp_path / "prog.py"
    prog.write_text(PROGRAM, encoding="utf-8")
    return prog


def entries(cache: Path) -> list[Path]:
    return sorted((cache / "bytecode").glob("*.tbc"))


def test_a_cached_run_prints_what_cpython_and_an_uncached_run_print(tmp_path: Path) -> None:
    prog, cache = write_program(tmp_path), tmp_path / "cache"
    expected = run_cli(prog, cache=cache, python=True)
    assert expected[0] == 1 and "ZeroDivisionError" in expected[2]
    uncached = run_cli(prog, "--backend", "interp", "--no-cache", cache=cache)
    assert entries(cache) == []  # --no-cache writes nothing
    cold = run_cli(prog, "--backend", "interp", cache=cache)
    assert len(entries(cache)) == 2  # the program and its user module
    warm = run_cli(prog, "--backend", "interp", cache=cache)
    assert uncached == cold == warm
    assert warm[:2] == expected[:2] and warm[2].splitlines()[-1] == expected[2].splitlines()[-1]
    assert "    return x // (x - x)" in warm[2]  # the module's source line, quoted from a cached run


def plant(prog: Path, cache: Path, monkeypatch: pytest.MonkeyPatch, impostor: str) -> None:
    """Store, under prog's exact source, the code of another program: a run that prints the impostor's
    output took its code from the cache (and did not compile)."""
    from tauraro.compiler import compile_source

    monkeypatch.setenv("TAURARO_CACHE_DIR", str(cache))
    filename = str(prog)
    codecache.store(prog.read_text(encoding="utf-8"), filename, compile_source(impostor, filename))


def test_a_warm_run_takes_its_code_from_the_cache_and_no_cache_ignores_it(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    prog, cache = tmp_path / "p.tr", tmp_path / "cache"
    prog.write_text("print('real')\n", encoding="utf-8")
    plant(prog, cache, monkeypatch, "print('from the cache')\n")
    assert run_cli(prog, "--backend", "interp", cache=cache) == (0, "from the cache\n", "")
    assert run_cli(prog, "--backend", "interp", "--no-cache", cache=cache) == (0, "real\n", "")


def test_a_changed_source_is_compiled_again_and_its_entry_replaced(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    prog, cache = tmp_path / "p.tr", tmp_path / "cache"
    prog.write_text("print('old')\n", encoding="utf-8")
    plant(prog, cache, monkeypatch, "print('stale')\n")
    prog.write_text("print('new')\n", encoding="utf-8")
    assert run_cli(prog, "--backend", "interp", cache=cache) == (0, "new\n", "")
    assert len(entries(cache)) == 1  # one entry per file: replaced, not added
    assert codecache.load("print('new')\n", str(prog)) is not None


def test_an_entry_of_another_engine_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    prog, cache = tmp_path / "p.tr", tmp_path / "cache"
    prog.write_text("print('real')\n", encoding="utf-8")
    monkeypatch.setattr(codecache, "_engine", "another tauraro")
    plant(prog, cache, monkeypatch, "print('other engine')\n")
    assert run_cli(prog, "--backend", "interp", cache=cache) == (0, "real\n", "")


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "empty", "directory"])
def test_a_damaged_entry_is_ignored_and_rewritten(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  damage: str) -> None:
    prog, cache = tmp_path / "p.tr", tmp_path / "cache"
    prog.write_text("x = [i * i for i in range(5)]\nprint(x)\n", encoding="utf-8")
    expected = run_cli(prog, "--backend", "interp", "--no-cache", cache=cache)
    assert run_cli(prog, "--backend", "interp", cache=cache) == expected
    [entry] = entries(cache)
    data = entry.read_bytes()
    if damage == "truncate":
        entry.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        entry.write_bytes(data[:-10] + bytes([data[-10] ^ 0x40]) + data[-9:])
    elif damage == "garbage":
        entry.write_bytes(b"\x00\xff" * 100)
    elif damage == "empty":
        entry.write_bytes(b"")
    else:
        entry.unlink()
        entry.mkdir()  # cannot be read or replaced: the run still works, uncached
    assert run_cli(prog, "--backend", "interp", cache=cache) == expected
    if damage != "directory":
        monkeypatch.setenv("TAURARO_CACHE_DIR", str(cache))
        assert codecache.load(prog.read_text(encoding="utf-8"), str(prog)) is not None  # rewritten
    assert run_cli(prog, "--backend", "interp", cache=cache) == expected


def test_an_unwritable_cache_directory_is_not_an_error(tmp_path: Path) -> None:
    prog = tmp_path / "p.tr"
    prog.write_text("print(1 + 2)\n", encoding="utf-8")
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("", encoding="utf-8")
    assert run_cli(prog, "--backend", "interp", cache=blocker) == (0, "3\n", "")
    assert run_cli(prog, "--backend", "interp", cache=blocker) == (0, "3\n", "")


@pytest.mark.parametrize("source", ["print(1\n", "x = 1\ndef f(:\n", "maido 1\n"])
def test_syntax_errors_are_not_cached_and_reported_identically(tmp_path: Path, source: str) -> None:
    prog, cache = tmp_path / "p.tr", tmp_path / "cache"
    prog.write_text(source, encoding="utf-8")
    first = run_cli(prog, "--backend", "interp", cache=cache)
    assert first[0] == 2 and first[2].startswith(f"{prog}:")
    assert entries(cache) == []
    assert run_cli(prog, "--backend", "interp", cache=cache) == first
    assert run_cli(prog, "--backend", "interp", "--no-cache", cache=cache) == first


def test_in_process_runs_use_the_cache_only_for_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tauraro

    monkeypatch.setenv("TAURARO_CACHE_DIR", str(tmp_path / "cache"))
    assert tauraro.run("x = 41 + 1\n", "interp").globals["x"] == 42
    assert entries(tmp_path / "cache") == []  # "<string>" has no entry
    prog = tmp_path / "p.tr"
    prog.write_text("x = 6 * 7\n", encoding="utf-8")
    for _ in range(2):
        assert tauraro.run(prog.read_text(), "interp", filename=str(prog)).globals["x"] == 42
    assert len(entries(tmp_path / "cache")) == 1


HEAVY = ["tauraro.jit.driver", "tauraro.jit.translate", "tauraro.jit.ir", "tauraro.compiler", "tauraro.frontend",
         "dataclasses", "inspect", "pickle", "hashlib", "ast", "json", "platform", "linecache"]
PROBE = """
import json, sys
before = set(sys.modules)
from tauraro.cli import main
status = main(sys.argv[1:])
print(json.dumps({"status": status, "new": sorted(set(sys.modules) - before)}))
"""


def imported_by(tmp_path: Path, *args: str, source: str = "") -> tuple[int, set[str]]:
    prog = tmp_path / "p.tr"
    prog.write_text(source, encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), TAURARO_CACHE_DIR=str(tmp_path / "cache"))
    for _ in range(2):  # the second run is the warm one
        r = subprocess.run([sys.executable, "-c", PROBE, "run", str(prog), *args], capture_output=True, text=True,
                           timeout=120, env=env)
    result = json.loads(r.stdout.splitlines()[-1])
    return result["status"], set(result["new"])


@pytest.mark.parametrize("backend", ["interp", "cranelift", "llvm"])
def test_a_warm_run_with_cold_loops_imports_neither_the_jit_nor_the_front_end(tmp_path: Path, backend: str) -> None:
    require_backend(backend)
    status, new = imported_by(tmp_path, "--backend", backend, source="for i in range(10):\n    pass\n")
    assert status == 0 and sorted(new & set(HEAVY)) == []


def test_the_driver_is_imported_when_a_loop_gets_hot(tmp_path: Path) -> None:
    status, new = imported_by(tmp_path, "--backend", "ir", "--jit-threshold", "5",
                              source="t = 0\nfor i in range(100):\n    t += i\nprint(t)\n")
    assert status == 0 and "tauraro.jit.driver" in new


def test_jit_usage_errors_are_still_reported_before_the_program_runs(tmp_path: Path) -> None:
    prog = tmp_path / "p.tr"
    prog.write_text("print('ran')\n", encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), TAURARO_CACHE_DIR=str(tmp_path / "cache"),
               TAURARO_JIT_THRESHOLD="0")
    r = subprocess.run([sys.executable, "-m", "tauraro", "run", str(prog), "--backend", "ir"], capture_output=True,
                       text=True, timeout=120, env=env)
    assert (r.returncode, r.stdout) == (2, "") and "TAURARO_JIT_THRESHOLD must be at least 1" in r.stderr
    r = subprocess.run([sys.executable, "-m", "tauraro", "run", str(prog), "--backend", "ir"], capture_output=True,
                       text=True, timeout=120, env=dict(env, TAURARO_JIT_THRESHOLD="", TAURARO_JIT_CODE_BUDGET="x"))
    assert (r.returncode, r.stdout) == (2, "") and "TAURARO_JIT_CODE_BUDGET" in r.stderr


def test_exceptions_caught_before_the_driver_exists_count_against_compiling() -> None:
    """jit/hot.py hands the exceptions caught while the loop warmed up over to the driver: the first
    hot back-edge sees them, as if the driver had counted from the start."""
    import tauraro

    require_backend("ir")
    src = "t = 0\nfor i in range(200):\n    try:\n        t += 1 // (i - i)\n    except ZeroDivisionError:\n" \
          "        t += i\nprint(t)\n"
    stats = tauraro.run(src, "ir", jit_threshold=10).stats
    assert [a["reason"] for a in stats.aborts] == ["exceptions"] and stats.loops_compiled == 0


def test_the_startup_benchmark_runs(tmp_path: Path) -> None:
    from bench import startup

    best = startup.measure(1, ["interp"], {"tauraro": str(REPO_ROOT)})
    assert set(best) == {"python -c pass", "tauraro interp cold", "tauraro interp warm"}
    text = startup.table(best, ["interp"], {"tauraro": str(REPO_ROOT)}, 1, (0.0, 0.0))
    assert "`tauraro run empty.tr --backend interp`, warm cache" in text
