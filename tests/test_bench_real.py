"""The real-programs benchmark set stays valid (every program runs on CPython, deterministically) and
its runner's comparison and report code work (on made-up results: no Tauraro run here)."""
from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench.engines import Engine, Outcome  # noqa: E402
from bench.real import report  # noqa: E402
from bench.real.__main__ import classify, compare  # noqa: E402
from bench.real.catalog import discover  # noqa: E402
from bench.report import Cell, put_section, write_results_md  # noqa: E402

PROGRAMS = discover()


def _run(args: list[str], cwd: Path, hash_seed: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONHASHSEED=hash_seed)
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("program", PROGRAMS, ids=[p.name for p in PROGRAMS])
def test_program_runs_and_is_deterministic(program, tmp_path) -> None:
    """Run at the test size twice: `prog.py SIZE`, and the sized copy the runner falls back to, under
    another hash seed. Both must succeed with the same output, ending in a checksum line."""
    by_arg = _run([str(program.path), str(program.test)], program.path.parent, "0")
    assert by_arg.returncode == 0, f"{program.name} fails on CPython:\n{by_arg.stderr}"
    copy = tmp_path / program.path.name
    copy.write_text(program.sized_source(program.test), encoding="utf-8")
    by_copy = _run([str(copy)], tmp_path, "12345")
    assert by_copy.returncode == 0, f"{program.name} (sized copy) fails on CPython:\n{by_copy.stderr}"
    assert by_copy.stdout == by_arg.stdout, (
        f"{program.name}: output depends on the hash seed (set of str order, id()...) or the size line "
        "does not set the size")
    assert by_arg.stdout.splitlines()[-1].startswith("checksum "), f"{program.name}: no final checksum line"
    assert by_arg.stderr == ""


def test_programs_are_shaped_like_the_set_promises() -> None:
    assert len(PROGRAMS) >= 20
    for p in PROGRAMS:
        assert 100 <= p.lines <= 400, f"{p.name}: {p.lines} lines"
        assert p.test <= p.quick <= p.default, f"{p.name}: sizes must grow test <= quick <= default"
        tree = ast.parse(p.source)
        assert ast.get_docstring(tree), f"{p.name}: the module docstring is the program's title"
        last = tree.body[-1]
        assert isinstance(last, ast.If) and "__main__" in ast.unparse(last.test), (
            f"{p.name}: must end with `if __name__ == '__main__': main(... sys.argv[1] ...)`")
        assert "sys.argv[1]" in ast.unparse(last), f"{p.name}: the size comes from sys.argv[1]"
    # What the set exists to exercise: each construct appears in at least one program.
    used = set().union(*(p.features[1] for p in PROGRAMS))
    for construct in ("classes", "inheritance", "closures", "generators", "yield from", "decorators", "with",
                      "*args/**kwargs", "async", "raise from", "class keywords", "f-strings", "nonlocal",
                      "walrus", "global", "keyword-only args", "class decorators"):
        assert construct in used, f"no program uses {construct}"


def _outcome(status: str, wall: float | None, stdout: str = "", message: str = "", code: int = 0) -> Outcome:
    return Outcome(status, wall=wall, stdout=stdout, returncode=code, message=message,
                   stats={"loops_compiled": 2, "functions_compiled": 1} if status == "ok" else None)


def test_compare_and_classify() -> None:
    ref = _outcome("ok", 1.0, "a\nchecksum 1\n")
    assert compare(_outcome("ok", 2.0, "a\nchecksum 1\n"), ref).status == "ok"
    wrong = compare(_outcome("ok", 2.0, "a\nchecksum 2\n"), ref)
    assert wrong.status == "different" and "line 2" in wrong.message
    short = compare(_outcome("ok", 2.0, "a\n"), ref)
    assert short.status == "different" and "1 lines, CPython 2" in short.message
    crash = compare(_outcome("error", 0.5, "a\n", "ValueError: x", 1), ref)
    assert crash.status == "error"
    rejected = classify(_outcome("error", 0.2, "", "prog.py:3:1: error: importing module 'sys' is not supported", 2))
    assert rejected.status == "rejected"
    assert classify(_outcome("error", 0.2, "", "tauraro: error: unrecognized arguments: 7", 2)).status == "error"
    assert report.cause("x/prog.py:3:1: error: importing module 'sys' is not supported") == (
        "importing module 'sys' is not supported")


def _fake_cells(programs) -> tuple[dict, dict]:
    labels = {"cpython": "CPython", "pypy": "PyPy", "interp": "tauraro-interp", "llvm": "tauraro-llvm"}
    cells = {}
    reject = "p.py:1:1: error: importing module 'sys' is not supported"
    plan = {  # engine -> (status, wall, note) per program
        "cpython": [("ok", 1.0, ""), ("ok", 2.0, "")],
        "pypy": [("ok", 0.5, ""), ("ok", 4.0, "")],
        "interp": [("rejected", None, reject), ("rejected", None, reject)],
        "llvm": [("ok", 3.0, ""), ("different", 1.0, "output differs from CPython's: line 2: ...")],
    }
    for engine, rows in plan.items():
        for p, (status, wall, note) in zip(programs, rows):
            c = Cell(p.name, engine, p.test, status=status, note=note)
            c.runs = [_outcome(status, wall, message=note)] * 3
            cells[(p.name, engine)] = c
    return labels, cells


def test_report_on_fake_results(tmp_path) -> None:
    programs = PROGRAMS[:2]
    labels, cells = _fake_cells(programs)
    assert report.ratio_to_reference(cells, programs[0].name, "pypy") == 0.5
    assert report.ratio_to_reference(cells, programs[1].name, "llvm") is None  # a wrong answer has no time
    engines = {n: Engine(n, lab, "python") for n, lab in labels.items()}
    from bench.report import machine_info

    meta = {"argv": ["--fake"], "quick": True, "repeat": 3, "timeout": 20.0, "machine": machine_info(engines),
            "size_note": ""}
    md, js = tmp_path / "results.md", tmp_path / "results.json"
    write_results_md(md, "# Kernel results\n\nkernel table\n")
    section = report.write_outputs(md, js, meta, programs, labels, cells)
    text = md.read_text(encoding="utf-8")
    assert text.startswith("# Kernel results") and section.strip() in text
    assert "QUICK RUN" in section
    assert "| 0.50× | rejected | 3.00× |" in section  # first program: PyPy, interp, llvm ratios
    assert "**DIFFERENT OUTPUT**" in section
    assert "1.00× (2/2)" in section  # PyPy: geometric mean of 0.5 and 2.0
    assert "3.00× (1/2)" in section  # llvm: the different output is left out
    assert "rejected: importing module 'sys' is not supported — 2 program(s)" in section
    data = json.loads(js.read_text(encoding="utf-8"))
    assert data["ratios_to_cpython"][programs[0].name]["llvm"] == 3.0
    # Re-running replaces the section and keeps the kernel part; the kernel harness keeps the section.
    report.write_outputs(md, js, dict(meta, quick=False), programs, labels, cells)
    write_results_md(md, "# Kernel results v2\n")
    text = md.read_text(encoding="utf-8")
    assert text.count("<!-- section:real-programs -->") == 1 and "QUICK RUN" not in text
    assert text.startswith("# Kernel results v2")


def test_put_section_appends_then_replaces(tmp_path) -> None:
    path = tmp_path / "r.md"
    put_section(path, "a", "first")
    put_section(path, "b", "second")
    put_section(path, "a", "third")
    text = path.read_text(encoding="utf-8")
    assert "first" not in text and text.index("third") < text.index("second")
