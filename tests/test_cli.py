"""The command line: --stats-json whatever the outcome, source decoding like CPython (BOM, coding
declarations, bad bytes), the REPL (history, Ctrl-C, Ctrl-D), and the README against the code."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from backend_matrix import require_backend
from corpus import REPO_ROOT, SYNTAX_MESSAGE_RE


def tauraro_cli(*args: str, cwd: Path | None = None, stdin: str | None = None,
                env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full_env = dict(os.environ if env is None else env, PYTHONPATH=str(REPO_ROOT))
    return subprocess.run([sys.executable, "-m", "tauraro", *args], capture_output=True, text=True,
                          errors="replace", timeout=120, cwd=cwd, input=stdin, env=full_env)


# --- --stats-json whatever the outcome -------------------------------------------------------------
STATS_CASES = [
    ("ok", "print(1)\n", 0, None),
    ("error", "print(1)\nx = 1 // 0\n", 1, "ZeroDivisionError: integer division or modulo by zero"),
    ("syntax-error", "print(1\n", 2, "prog.tr:1:6: error: '(' was never closed"),
    ("syntax-error", "async def f(y):\n    return [x async for x in y]\n", 2,
     "prog.tr:2:25: error: an asynchronous comprehension is not supported"),
]


@pytest.mark.parametrize(("outcome", "source", "status", "error"), STATS_CASES,
                         ids=["ok", "error", "syntax-error", "unsupported"])
def test_stats_json_is_written_with_the_outcome(tmp_path: Path, outcome: str, source: str, status: int,
                                                error: str | None) -> None:
    (tmp_path / "prog.tr").write_text(source, encoding="utf-8")
    r = tauraro_cli("run", "prog.tr", "--backend", "interp", "--stats-json", "s.json", cwd=tmp_path)
    assert r.returncode == status, r.stderr
    stats = json.loads((tmp_path / "s.json").read_text(encoding="utf-8"))
    assert (stats["outcome"], stats["exit_status"], stats["error"]) == (outcome, status, error)
    assert stats["backend"] == "interp" and stats["total_seconds"] > 0


def test_stats_json_for_a_usage_error(tmp_path: Path) -> None:
    r = tauraro_cli("run", "missing.tr", "--backend", "interp", "--stats-json", "s.json", cwd=tmp_path)
    stats = json.loads((tmp_path / "s.json").read_text(encoding="utf-8"))
    assert r.returncode == 2 and (stats["outcome"], stats["exit_status"]) == ("usage-error", 2)
    assert "missing.tr" in stats["error"]


@pytest.mark.parametrize("backend", ["interp", "cranelift"])
def test_stats_json_after_ctrl_c(tmp_path: Path, backend: str) -> None:
    require_backend(backend)
    prog = tmp_path / "spin.tr"
    prog.write_text("print('go', flush=True)\ni = 0\nwhile True:\n    i = (i + 1) % 1000\n", encoding="utf-8")
    env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=str(REPO_ROOT))
    p = subprocess.Popen([sys.executable, "-m", "tauraro", "run", str(prog), "--backend", backend,
                          "--jit-threshold", "5", "--stats-json", str(tmp_path / "s.json")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert p.stdout.readline() == "go\n"
    time.sleep(0.5)
    p.send_signal(signal.SIGINT)
    try:
        p.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        pytest.fail("Ctrl-C did not stop the program")
    stats = json.loads((tmp_path / "s.json").read_text(encoding="utf-8"))
    assert p.returncode == 130 and (stats["outcome"], stats["exit_status"]) == ("interrupted", 130)


# --- decoding the source like CPython --------------------------------------------------------------
ENCODING_CASES = {
    "bom": b"\xef\xbb\xbfprint('bom ok')\n",
    "bom-and-utf8-declaration": b"\xef\xbb\xbf# -*- coding: utf-8 -*-\nprint('\xc3\xa9')\n",
    "latin1-declaration": b"# coding: latin-1\nprint('\xe9')\n",
    "declaration-on-line-2": b"#!/usr/bin/env tauraro\n# vim: set fileencoding=iso-8859-1 :\nprint('\xe9')\n",
    "declaration-on-line-3-ignored": b"x = 1\n# coding: latin-1\nprint('\xe9')\n",
    "non-utf8": b"print(1)\nx = '\xff'\n",
    "utf16-bom": b"\xff\xfep\x00r\x00",
    "crlf-and-bad-byte": b"print(1)\r\nx = '\xc3'\r\n",
    "declared-utf8-bad-byte": b"# coding: utf-8\nprint(1)\nx = '\xff'\n",
    "unknown-encoding": b"# -*- coding: nosuch -*-\nprint(1)\n",
    "bom-with-latin1": b"\xef\xbb\xbf# coding: latin-1\nprint(1)\n",
    "utf16-declaration": b"# coding: utf-16\nprint(1)\n",
    "nul-byte": b"print(1)\nx = 1\x00\n",
    "hausa-with-bom": b"\xef\xbb\xbfidan gaskiyane:\n    print('\xc6\x99arfi')\n",
}


def _cpython_line(stderr: str) -> int | None:
    m = re.search(r'File "[^"]*", line (\d+)', stderr) or re.search(r" on line (\d+)", stderr)
    return int(m.group(1)) if m else None


@pytest.mark.parametrize("name", sorted(ENCODING_CASES))
def test_source_is_decoded_like_cpython(tmp_path: Path, name: str) -> None:
    """A file CPython runs, Tauraro runs with the same output; one CPython rejects gets one line
    `FILE:LINE:COL: error: MESSAGE`, exit 2, with CPython's message and the line CPython names."""
    from tauraro.frontend import to_python

    data = ENCODING_CASES[name]
    (tmp_path / "prog.tr").write_bytes(data)
    try:  # CPython runs the program as the front end maps it (aliases), byte for byte otherwise
        mapped = to_python(data.decode("latin-1")).encode("latin-1")
    except UnicodeEncodeError:
        mapped = data
    (tmp_path / "prog.py").write_bytes(mapped)
    expected = subprocess.run([sys.executable, "prog.py"], capture_output=True, text=True, errors="replace",
                              cwd=tmp_path, timeout=60)
    actual = tauraro_cli("run", "prog.tr", "--backend", "interp", cwd=tmp_path)
    if expected.returncode == 0:
        assert (actual.returncode, actual.stdout, actual.stderr) == (0, expected.stdout, "")
        return
    message = actual.stderr.strip()
    assert actual.returncode == 2 and "\n" not in message, actual.stderr
    m = SYNTAX_MESSAGE_RE.match(message)
    assert m and m.group("file") == "prog.tr", message
    cpython_message = expected.stderr.strip().splitlines()[-1].removeprefix("SyntaxError: ")
    assert m.group("msg") == cpython_message.replace(str(tmp_path / "prog.py"), str(tmp_path / "prog.tr"))
    line = _cpython_line(expected.stderr)
    if line is not None:
        assert int(m.group("line")) == line, (message, expected.stderr)


# --- the REPL, driven through a pseudo-terminal ----------------------------------------------------
class PtySession:
    """A `python -m tauraro` REPL on a pseudo-terminal; every wait is bounded."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        import pty

        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: become the REPL
            os.execvpe(sys.executable, [sys.executable, "-m", "tauraro", *args], env)
        self.output = b""

    def expect(self, text: str, timeout: float = 30.0) -> str:
        """Read until `text` appears after what earlier expects consumed; returns the output up to it."""
        import select

        want = text.encode()
        deadline = time.monotonic() + timeout
        while want not in self.output:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {text!r} within {timeout:g} s; output: {self.output!r}")
            ready, _, _ = select.select([self.fd], [], [], min(left, 0.2))
            if ready:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:
                    chunk = b""
                if not chunk:
                    raise AssertionError(f"the REPL ended before {text!r}; output: {self.output!r}")
                self.output += chunk
        before, _, self.output = self.output.partition(want)
        return before.decode(errors="replace")

    def send(self, data: str) -> None:
        os.write(self.fd, data.encode())

    def interrupt_at_prompt(self, text: str) -> str:
        """Ctrl-C while the REPL waits at a prompt, then read until `text`.

        CPython's readline loop checks for signals only when select() is interrupted, so a SIGINT that
        lands between the prompt being drawn and select() being entered stays pending until the next
        one (python3's own REPL has the same window). Under load that window is real: if nothing comes
        back, press Ctrl-C again; pending signals coalesce, so the REPL still sees one interrupt.
        """
        time.sleep(0.2)
        self.send("\x03")
        try:
            return self.expect(text, timeout=10.0)
        except AssertionError:
            if self.output:
                raise
        self.send("\x03")
        return self.expect(text)

    def wait(self, timeout: float = 30.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:  # drain, so the child never blocks writing to a full terminal
                os.read(self.fd, 4096)
            except OSError:
                pass
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(status)
            time.sleep(0.05)
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        raise AssertionError("the REPL did not exit")


def _repl_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("XDG_DATA_HOME", "PYTHONSTARTUP")}
    env.update(HOME=str(tmp_path / "home"), TERM="xterm", PYTHONPATH=str(REPO_ROOT))
    env.update(extra)
    return env


pty_only = pytest.mark.skipif(not hasattr(os, "fork") or sys.platform == "win32", reason="needs a pty")


@pty_only
@pytest.mark.parametrize("backend", ["interp", "cranelift"])
def test_repl_ctrl_c_at_the_prompt_and_in_a_running_command_then_ctrl_d(tmp_path: Path, backend: str) -> None:
    require_backend(backend)
    s = PtySession(["--backend", backend, "--jit-threshold", "5"], _repl_env(tmp_path))
    s.expect(">>> ")
    s.send("1 + 2\n")
    assert s.expect(">>> ").splitlines()[-1] == "3"
    s.send("x = (1 +\n")
    s.expect("... ")
    # Ctrl-C at a continuation prompt: the partial block is dropped
    assert s.interrupt_at_prompt(">>> ").strip().endswith("KeyboardInterrupt")
    s.send("def spin():\n    print('spinning')\n    i = 0\n    while True:\n        i = (i + 1) % 7\n\n")
    s.expect(">>> ")
    s.send("spin()\n")
    s.expect("spinning")
    time.sleep(1.0)  # inside the loop (compiled, on cranelift)
    s.send("\x03")
    report = s.expect(">>> ")
    lines = [ln.strip().removeprefix("^C") for ln in report.splitlines() if ln.strip()]  # ^C: the echo
    assert lines[:2] == ["Traceback (most recent call last):", 'File "<stdin>", line 1, in <module>'], report
    assert re.fullmatch(r'File "<stdin>", line [45], in spin', lines[2]) and lines[3:] == ["KeyboardInterrupt"]
    s.send("print('still here')\n")
    assert "still here" in s.expect(">>> ")
    s.send("\x04")  # Ctrl-D
    assert s.wait() == 0


@pty_only
def test_repl_history_is_saved_and_recalled_with_the_arrow_keys(tmp_path: Path) -> None:
    pytest.importorskip("readline")
    env = _repl_env(tmp_path)
    s = PtySession(["--backend", "interp"], env)
    s.expect(">>> ")
    s.send("print(6 * 7)\n")
    s.expect(">>> ")
    s.send("\x04")
    assert s.wait() == 0
    history = tmp_path / "home" / ".local" / "share" / "tauraro" / "history"
    assert "print(6 * 7)" in history.read_text(encoding="utf-8").splitlines()
    s = PtySession(["--backend", "interp"], env)  # a new session: the up arrow brings the line back
    s.expect(">>> ")
    s.send("\x1b[A\n")
    assert "42" in s.expect(">>> ").splitlines()[-1]
    s.send("\x04")
    assert s.wait() == 0
    xdg = tmp_path / "data"
    s = PtySession(["--backend", "interp"], _repl_env(tmp_path, XDG_DATA_HOME=str(xdg)))
    s.expect(">>> ")
    s.send("print('xdg')\n")
    s.expect(">>> ")
    s.send("\x04")
    assert s.wait() == 0
    assert (xdg / "tauraro" / "history").read_text(encoding="utf-8").splitlines() == ["print('xdg')"]


@pty_only
def test_repl_works_without_readline_and_with_an_unwritable_home(tmp_path: Path) -> None:
    blocker = tmp_path / "no_readline"
    blocker.mkdir()
    (blocker / "readline.py").write_text("raise ImportError('no readline here')\n", encoding="utf-8")
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("", encoding="utf-8")
    for env in (_repl_env(tmp_path, PYTHONPATH=f"{blocker}{os.pathsep}{REPO_ROOT}"),
                _repl_env(tmp_path, HOME=str(not_a_dir / "home")),
                _repl_env(tmp_path, XDG_DATA_HOME=str(not_a_dir))):
        s = PtySession(["--backend", "interp"], env)
        s.expect(">>> ")
        s.send("print(2 ** 10)\n")
        out = s.expect(">>> ")
        s.send("\x04")
        assert s.wait() == 0 and "1024" in out and "Traceback" not in out + s.output.decode(errors="replace")


# --- the README against the code -------------------------------------------------------------------
README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")


def _readme_option_rows() -> dict[str, str]:
    """`--option` -> its row in the README's `tauraro run` options table."""
    section = README.split("### `tauraro run` options", 1)[1].split("\n\n", 2)[1]
    rows = {}
    for row in section.splitlines():
        for option in re.findall(r"`(--[\w-]+)", row.split("|")[1] if row.startswith("|") else ""):
            rows[option] = row
    return rows


def test_readme_lists_exactly_the_run_options() -> None:
    from tauraro.cli import build_parser

    run = build_parser()._subparsers._group_actions[0].choices["run"]
    options = {s for a in run._actions for s in a.option_strings if s.startswith("--") and s != "--help"}
    assert set(_readme_option_rows()) == options


def test_readme_defaults_are_the_code_defaults() -> None:
    from tauraro.settings import (
        DEFAULT_BACKEND,
        DEFAULT_JIT_THRESHOLD,
        ENV_BACKEND,
        ENV_CACHE_DIR,
        ENV_DATA_HOME,
        ENV_JIT_THRESHOLD,
        ENV_PATH,
    )

    rows = _readme_option_rows()
    assert f"default {DEFAULT_JIT_THRESHOLD};" in rows["--jit-threshold"] and ENV_JIT_THRESHOLD in rows["--jit-threshold"]
    assert f"default {DEFAULT_BACKEND};" in rows["--backend"] and ENV_BACKEND in rows["--backend"]
    for env in (ENV_BACKEND, ENV_JIT_THRESHOLD, ENV_CACHE_DIR, ENV_DATA_HOME, ENV_PATH):
        assert f"`{env}" in README or f"${env}" in README, env
    help_text = tauraro_cli("run", "--help").stdout
    assert f"default: {DEFAULT_JIT_THRESHOLD}; env {ENV_JIT_THRESHOLD}" in " ".join(help_text.split())
    top_help = tauraro_cli("--help").stdout
    assert "-c CODE" in top_help and ENV_CACHE_DIR in top_help


def test_readme_cache_and_history_locations_are_where_the_code_puts_them(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from tauraro.cli import history_path

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("TAURARO_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    assert "default `~/.cache/tauraro/wasm`" in README and "`$TAURARO_CACHE_DIR/wasm`" in README
    assert "`~/.local/share/tauraro/history`" in README and "`$XDG_DATA_HOME/tauraro/history`" in README
    assert history_path() == str(tmp_path / ".local/share/tauraro/history")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert history_path() == str(tmp_path / "xdg/tauraro/history")
    try:
        from tauraro.backends.wasm.cache import default_cache_dir
    except ImportError:  # wasmtime missing: the cranelift backend (and its cache) is unavailable
        return
    assert default_cache_dir() == tmp_path / ".cache/tauraro/wasm"
    monkeypatch.setenv("TAURARO_CACHE_DIR", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c/wasm"


def test_readme_python_versions_match_ci_and_packaging() -> None:
    workflow = (REPO_ROOT / "ci" / "github-actions.yml").read_text(encoding="utf-8")
    pyproject = (REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    versions = re.search(r"python:\s*\[([^\]]*)\]", workflow).group(1)
    assert [v.strip(" '\"") for v in versions.split(",")] == ["3.11", "3.12", "3.13"]
    assert 'requires-python = ">=3.11"' in pyproject
    assert "CPython 3.11 or newer; CI tests 3.11, 3.12 and 3.13" in README
    assert "CPython 3.11 is the oracle" in " ".join(README.split())
