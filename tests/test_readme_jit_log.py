"""README "Which loops compile": every example still prints exactly the --jit-log lines shown (times aside)."""
from __future__ import annotations

import re
import subprocess
import sys

import pytest
from backend_matrix import require_backend
from corpus import REPO_ROOT

EXAMPLE_RE = re.compile(r"<!-- jit-log example: (?P<name>\S+) -->\n```python\n(?P<source>.*?)```\n```text\n"
                        r"(?P<log>.*?)```", re.S)
TIME_RE = re.compile(r"in \d+(\.\d+)? ms")


def examples() -> list:
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    found = [pytest.param(m["name"], m["source"], m["log"], id=m["name"]) for m in EXAMPLE_RE.finditer(text)]
    assert len(found) >= 5, "the README lost its --jit-log examples"
    return found


def normalise(lines: str) -> list[str]:
    return [TIME_RE.sub("in … ms", line) for line in lines.splitlines() if line.startswith("[jit] ")]


@pytest.mark.parametrize(("name", "source", "log"), examples())
def test_readme_jit_log_example(tmp_path, name: str, source: str, log: str) -> None:
    require_backend("cranelift")
    (tmp_path / name).write_text(source, encoding="utf-8")
    env_cmd = [sys.executable, "-m", "tauraro", "run", "--jit-log", "--no-cache", name]
    out = subprocess.run(env_cmd, capture_output=True, text=True, cwd=tmp_path, check=False,
                         env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert normalise(out.stderr) == normalise(log)
