"""Modules, builtins, sys.argv and exit statuses: what the corpus programs cannot show alone."""
from __future__ import annotations

import builtins
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

import tauraro
from tauraro.cli import split_program_args
from tauraro.runtime import FRAME_BUILTINS, MODULE_ATTRIBUTES
from tauraro.vm import VM

REPO_ROOT = Path(__file__).resolve().parent.parent


def run(source: str, filename: str = "<string>") -> str:
    out = io.StringIO()
    tauraro.run(source, backend="interp", filename=filename, stdout=out)
    return out.getvalue()


def cli(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = dict(os.environ, **(env or {}))
    full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), full_env.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, "-m", "tauraro", *args], cwd=cwd or REPO_ROOT, env=full_env,
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


def test_every_host_builtin_is_exposed() -> None:
    """dir(builtins) minus the builtins module's own attributes; the frame-aware ones are Tauraro's."""
    vm = VM()
    expected = set(dir(builtins)) - MODULE_ATTRIBUTES
    assert expected <= set(vm.builtins), sorted(expected - set(vm.builtins))
    for name in expected - FRAME_BUILTINS - {"__debug__"}:
        assert vm.builtins[name] is getattr(builtins, name), name
    for name in FRAME_BUILTINS:
        assert vm.builtins[name] is not getattr(builtins, name), name


def test_exec_and_eval_map_aliases() -> None:
    out = run('exec("idan gaskiyane:\\n    x = 2")\nprint(eval("x idan babu shine babu akasi 0"))\n')
    assert out == "2\n"


def test_tauraro_path_is_searched_after_the_main_files_directory(tmp_path: Path, monkeypatch) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "extra.tr").write_text("aiki hello():\n    maido 'from TAURARO_PATH'\n", encoding="utf-8")
    (tmp_path / "app").mkdir()
    main = tmp_path / "app" / "main.tr"
    monkeypatch.setenv("TAURARO_PATH", os.pathsep.join(["", str(lib)]))
    assert run("import extra\nprint(extra.hello(), extra.__name__)\n", str(main)) == "from TAURARO_PATH extra\n"
    (tmp_path / "app" / "extra.py").write_text("def hello():\n    return 'next to main'\n", encoding="utf-8")
    assert run("import extra\nprint(extra.hello())\n", str(main)) == "next to main\n"


def test_a_tr_module_comes_before_a_py_one_and_before_the_standard_library(tmp_path: Path) -> None:
    (tmp_path / "twin.py").write_text("WHO = 'py'\n", encoding="utf-8")
    (tmp_path / "twin.tr").write_text("WHO = 'tr'\n", encoding="utf-8")
    (tmp_path / "string.tr").write_text("WHO = 'user string'\n", encoding="utf-8")
    out = run("import twin, string, sys\nprint(twin.WHO, string.WHO, sys.__name__)\n", str(tmp_path / "m.tr"))
    assert out == "tr user string sys\n"


def test_in_process_runs_do_not_share_user_modules(tmp_path: Path) -> None:
    (tmp_path / "counter.tr").write_text("n = 0\n", encoding="utf-8")
    src = "import counter\ncounter.n += 1\nprint(counter.n)\n"
    assert run(src, str(tmp_path / "a.tr")) == "1\n"
    main = sys.modules["__main__"]
    assert run(src, str(tmp_path / "a.tr")) == "1\n"
    assert "counter" not in sys.modules and sys.modules["__main__"] is main


def test_a_syntax_error_in_a_module_is_a_catchable_syntax_error(tmp_path: Path) -> None:
    (tmp_path / "bad.tr").write_text("x = (\n", encoding="utf-8")
    out = run("try:\n    import bad\nexcept SyntaxError as e:\n    print(type(e).__name__, e.lineno)\n",
              str(tmp_path / "m.tr"))
    assert out == "SyntaxError 1\n"


@pytest.mark.parametrize(("argv", "ours", "program"), [
    (["p.tr", "a", "b"], ["p.tr"], ["a", "b"]),
    (["--backend", "interp", "p.tr", "-x", "1"], ["--backend", "interp", "p.tr"], ["-x", "1"]),
    (["p.tr", "a", "--backend", "interp"], ["p.tr", "--backend", "interp"], ["a"]),
    (["p.tr", "--", "--backend", "x"], ["p.tr"], ["--backend", "x"]),
    (["-", "arg"], ["-"], ["arg"]),
])
def test_program_arguments_are_split_from_tauraros(argv: list[str], ours: list[str], program: list[str]) -> None:
    assert split_program_args(argv) == (ours, program)


@pytest.mark.slow
def test_cli_sys_argv_and_exit_statuses(tmp_path: Path) -> None:
    prog = tmp_path / "prog.tr"
    prog.write_text("import sys\nprint(sys.argv[1:])\nidan sys.argv[1] == 'msg':\n    sys.exit('bye')\n"
                    "sys.exit(int(sys.argv[1]))\n", encoding="utf-8")
    r = cli("run", str(prog), "3", "--backend", "interp", "--", "--stats")
    assert (r.returncode, r.stdout, r.stderr) == (3, "['3', '--stats']\n", "")
    r = cli(str(prog), "msg")
    assert (r.returncode, r.stdout, r.stderr) == (1, "['msg']\n", "bye\n")
    r = cli("-c", "import sys; print(sys.argv); raise SystemExit", "x")
    assert (r.returncode, r.stdout, r.stderr) == (0, "['-c', 'x']\n", "")
