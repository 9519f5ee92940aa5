"""The conformance corpus (tests/programs/*.tr), the CPython oracle, and ways to run Tauraro on it.

A program's first line may be an expectation comment:

    # expect: error          an uncaught runtime exception (exit status 1)
    # expect: syntax-error   rejected as a syntax error (exit status 2; CPython rejects it too)
    # expect: unsupported    rejected before running: "... is not supported" (exit status 2)
    # expect: exit           sys.exit()/SystemExit with a non-zero status: stderr compared whole

Without one the program must run to completion (exit status 0). The expected behaviour is
never stored: it is whatever CPython does when it runs `tauraro.frontend.to_python(source)`.

A multi-file program is a folder tests/programs/NAME/ with `main.tr` and its modules (.tr, .py, packages);
CPython runs a copy of the folder where every .tr is mapped to a .py. A line `# argv: A B` near the top
of a main file gives the program's command-line arguments (sys.argv[1:]). When a program ends in an
uncaught exception, its whole stderr (the traceback with every frame and source line, chained
exceptions) is compared with CPython's, file names mapped (the program's folder dropped, .tr -> .py)
and the caret lines CPython 3.11 adds under source lines left out (Tauraro does not print them).
"""
from __future__ import annotations

import contextlib
import dataclasses
import difflib
import functools
import hashlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent
PROGRAMS_DIR = TESTS_DIR / "programs"

EXPECTATIONS = ("ok", "error", "syntax-error", "unsupported", "exit")
_EXPECT_RE = re.compile(r"#\s*expect:\s*(\S+)\s*$")
# The one-line message of a TauraroSyntaxError: FILE:LINE:COL: error: MESSAGE
SYNTAX_MESSAGE_RE = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): error: (?P<msg>.+)$")
# An exception's last traceback line: "ValueError: msg", "KeyError: 'k'", "AssertionError"
EXCEPTION_LINE_RE = re.compile(r"^[A-Za-z_][\w.]*(: .*)?$")
_FILE_LINE_RE = re.compile(r'^\s*File "(?P<file>[^"]*)", line (?P<line>\d+)')
_ARGV_RE = re.compile(r"^#\s*argv:(.*)$", re.M)
_CARET_RE = re.compile(r"^\s*[~^]+\s*$")

# Seconds one program may run (CPython or Tauraro) before the test gives up on it.
PROGRAM_TIMEOUT = float(os.environ.get("TAURARO_TEST_TIMEOUT", "120"))


@dataclasses.dataclass(frozen=True)
class Program:
    path: Path

    @property
    def name(self) -> str:
        return self.path.parent.name if self.multi_file else self.path.stem

    @property
    def multi_file(self) -> bool:
        """A main.tr in its own folder of tests/programs, with the modules it imports."""
        return self.path.name == "main.tr" and self.path.parent.parent == PROGRAMS_DIR

    @functools.cached_property
    def argv(self) -> list[str]:
        if not self.path.exists():  # the CLI's missing-file test
            return []
        m = _ARGV_RE.search("\n".join(self.source.split("\n", 3)[:3]))
        return m.group(1).split() if m else []

    def files(self) -> dict[str, str]:
        """Every source file of the program (relative path -> text): the folder of a multi-file one."""
        if not self.multi_file:
            return {self.path.name: self.source}
        root = self.path.parent
        return {p.relative_to(root).as_posix(): p.read_text(encoding="utf-8")
                for p in sorted(root.rglob("*")) if p.is_file() and p.suffix in (".tr", ".py")}

    @property
    def relpath(self) -> str:
        """The path the programs are run under, e.g. 'tests/programs/loop_sieve.tr'."""
        try:
            return self.path.relative_to(REPO_ROOT).as_posix()
        except ValueError:
            return self.path.as_posix()

    @functools.cached_property
    def source(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @functools.cached_property
    def expect(self) -> str:
        first = self.source.split("\n", 1)[0]
        m = _EXPECT_RE.match(first)
        if not m:
            return "ok"
        if m.group(1) not in EXPECTATIONS:
            raise ValueError(f"{self.relpath}: unknown expectation {m.group(1)!r}; use one of {EXPECTATIONS}")
        return m.group(1)

    @property
    def loop_heavy(self) -> bool:
        """Programs written to spend their time in loops (what the JIT compiles)."""
        return self.name.startswith("loop_") or "loop_heavy" in self.name

    @property
    def uses_aliases(self) -> bool:
        from tauraro.frontend import to_python

        return to_python(self.source) != self.source


def discover_programs() -> list[Program]:
    return [Program(p) for p in sorted([*PROGRAMS_DIR.glob("*.tr"), *PROGRAMS_DIR.glob("*/main.tr")])]


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What running a program did: stdout, exit status, the last stderr line and all of stderr."""

    stdout: str
    status: int
    last_line: str = ""
    stderr: str = ""
    syntax_line: int | None = None  # CPython only: the line its SyntaxError names

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Outcome:
        return cls(**json.loads(text))


def _last_line(text: str) -> str:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def _hash_env(seed: str) -> dict[str, str]:
    env = dict(os.environ, PYTHONHASHSEED=seed, PYTHONIOENCODING="utf-8")
    for var in ("PYTHONSTARTUP", "PYTHONINSPECT", "PYTHONBREAKPOINT"):
        env.pop(var, None)
    return env


class CPythonOracle:
    """Runs the mapped program with CPython in a subprocess; caches results per source.

    Results live in memory and under `cache_dir` (a per-session temporary directory that
    pytest-xdist workers share), keyed by a hash of the mapped source, the file name, the
    hash seed and the Python version, so each program runs once per test session.
    """

    def __init__(self, cache_dir: Path) -> None:
        self.cache_dir = cache_dir
        self._memo: dict[str, Outcome] = {}

    def __call__(self, program: Program, hash_seed: str = "0") -> Outcome:
        from tauraro.frontend import to_python

        if program.multi_file:  # CPython imports .py files: every .tr of the folder becomes one
            files = {(n[:-3] + ".py" if n.endswith(".tr") else n): to_python(t) for n, t in program.files().items()}
            main = "main.py"
        else:
            files = {program.path.name: to_python(program.source)}
            main = program.path.name
        key = hashlib.sha256(
            "\0".join([*(f"{n}\0{t}" for n, t in sorted(files.items())), main, *program.argv, hash_seed,
                       sys.version]).encode("utf-8")
        ).hexdigest()[:32]
        if key in self._memo:
            return self._memo[key]
        entry = self.cache_dir / key
        result_file = entry / "result.json"
        if result_file.exists():
            outcome = Outcome.from_json(result_file.read_text(encoding="utf-8"))
        else:
            outcome = self._run(entry, main, files, program.argv, hash_seed)
            tmp = entry / f"result.{os.getpid()}.{threading.get_ident()}.tmp"
            tmp.write_text(outcome.to_json(), encoding="utf-8")
            os.replace(tmp, result_file)
        self._memo[key] = outcome
        return outcome

    @staticmethod
    def _run(entry: Path, filename: str, files: dict[str, str], argv: list[str], hash_seed: str) -> Outcome:
        root = entry / "program"
        # The script is named like the program so CPython's tracebacks name it.
        for name, text in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text, encoding="utf-8")
        entry = root
        proc = subprocess.run(
            [sys.executable, filename, *argv],
            cwd=entry,
            env=_hash_env(hash_seed),
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=PROGRAM_TIMEOUT,
            stdin=subprocess.DEVNULL,
        )
        syntax_line = None
        last = normalise_stderr(_last_line(proc.stderr), root)
        if last.startswith(("SyntaxError", "IndentationError", "TabError")):
            file_lines = [m for m in map(_FILE_LINE_RE.match, proc.stderr.splitlines()) if m]
            if file_lines:
                syntax_line = int(file_lines[-1].group("line"))
        return Outcome(proc.stdout, proc.returncode, last, normalise_stderr(proc.stderr, root), syntax_line)


class ProgramTimeout(BaseException):
    """Raised (from SIGALRM) into a Tauraro run that takes too long.

    A BaseException, so a VM that turns Python exceptions into Tauraro ones does not swallow it.
    """


@contextlib.contextmanager
def time_limit(seconds: float):
    usable = (
        seconds > 0
        and hasattr(signal, "SIGALRM")
        and threading.current_thread() is threading.main_thread()
    )
    if not usable:
        yield
        return

    def on_alarm(signum, frame):
        raise ProgramTimeout(f"did not finish within {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_tauraro(program: Program, backend: str, jit_threshold: int | None,
                timeout: float = PROGRAM_TIMEOUT, tier: int | None = None) -> Outcome:
    """Run a program in-process through tauraro.run and describe it as the CLI would."""
    import tauraro
    from tauraro.errors import system_exit_status

    out = io.StringIO()
    saved_argv = sys.argv
    sys.argv = [program.relpath, *program.argv]
    try:
        with time_limit(timeout):
            tauraro.run(program.source, backend=backend,
                        filename=str(program.path) if program.multi_file else program.relpath,
                        jit_threshold=jit_threshold, stdout=out, tier=tier)
    except tauraro.TauraroRuntimeError as e:
        folder = program.path.parent
        return Outcome(out.getvalue(), 1, normalise_stderr(e.final_line(), folder), normalise_stderr(e.format(), folder))
    except tauraro.TauraroError as e:  # syntax errors, unsupported constructs, usage errors
        return Outcome(out.getvalue(), getattr(e, "exit_status", 2), str(e), str(e))
    except SystemExit as e:
        status, message = system_exit_status(e)
        return Outcome(out.getvalue(), status, message or "", message + "\n" if message else "")
    finally:
        sys.argv = saved_argv
    return Outcome(out.getvalue(), 0)


def normalise_stderr(text: str, folder: Path) -> str:
    """A traceback with the program's folder dropped from file names (CPython runs a copy elsewhere),
    .tr names as .py, and without the caret lines CPython 3.11 prints under source lines."""
    for prefix in sorted({str(folder) + os.sep, os.path.relpath(folder, REPO_ROOT) + os.sep,
                          str(folder.resolve()) + os.sep}, key=len, reverse=True):
        text = text.replace(prefix, "")
    text = re.sub(r"\b(\w+)\.tr\b", r"\1.py", text)
    return "".join(ln for ln in text.splitlines(True) if not _CARET_RE.match(ln))


def run_cli(program: Program, *args: str, timeout: float = PROGRAM_TIMEOUT) -> Outcome:
    """Run `python -m tauraro run FILE ARGS...` from the repository root."""
    env = _hash_env("0")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH", "")]))
    proc = subprocess.run(
        [sys.executable, "-m", "tauraro", "run", program.relpath, *args, *(["--", *program.argv] if program.argv else [])],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    if "Traceback (most recent call last):" not in proc.stderr:  # a one-line error names the file as given
        return Outcome(proc.stdout, proc.returncode, _last_line(proc.stderr), proc.stderr)
    folder = program.path.parent
    return Outcome(proc.stdout, proc.returncode, normalise_stderr(_last_line(proc.stderr), folder),
                   normalise_stderr(proc.stderr, folder))


def describe_difference(program: Program, where: str, actual: Outcome, expected: Outcome) -> str | None:
    """None if `actual` (Tauraro) behaves like `expected` (CPython); otherwise a readable report."""
    problems = []
    if actual.status != expected.status:
        problems.append(f"exit status: tauraro {actual.status}, CPython {expected.status}")
    if expected.status != 0 and actual.last_line != expected.last_line:
        problems.append(f"last stderr line:\n  tauraro: {actual.last_line!r}\n  CPython: {expected.last_line!r}")
    elif expected.status == 0 and actual.status != 0:
        problems.append(f"tauraro failed with: {actual.last_line!r}")
    elif program.expect == "exit" and actual.stderr != expected.stderr:
        problems.append(f"stderr: tauraro {actual.stderr!r}, CPython {expected.stderr!r}")
    elif compares_traceback(program, expected) and actual.stderr.rstrip("\n") != expected.stderr.rstrip("\n"):
        problems.append("the traceback differs:\n" + stdout_diff(actual.stderr, expected.stderr))
    if actual.stdout != expected.stdout:
        problems.append("stdout differs:\n" + stdout_diff(actual.stdout, expected.stdout))
    if not problems:
        return None
    report = [f"{program.relpath} [{where}] does not behave like CPython:"] + problems
    if actual.status != 0 and actual.stderr and actual.stderr != actual.last_line:
        report.append("tauraro's stderr:\n" + _indent(_tail(actual.stderr, 25)))
    return "\n".join(report)


def compares_traceback(program: Program, expected: Outcome) -> bool:
    """Whole tracebacks are compared for programs ending in an uncaught exception, except where the frames
    cannot match: a program using aliases (CPython quotes the mapped source lines) or a RecursionError
    (CPython's own builtins add frames Tauraro does not model)."""
    return (expected.status == 1 and bool(EXCEPTION_LINE_RE.match(expected.last_line))
            and not program.uses_aliases and not expected.last_line.startswith("RecursionError"))


def stdout_diff(actual: str, expected: str, limit: int = 40) -> str:
    diff = list(difflib.unified_diff(expected.splitlines(), actual.splitlines(),
                                     "CPython", "tauraro", lineterm="", n=2))
    if not diff:  # only trailing-newline or line-ending differences
        return f"  tauraro: {actual[-200:]!r}\n  CPython: {expected[-200:]!r}"
    if len(diff) > limit:
        diff = diff[:limit] + [f"... ({len(diff) - limit} more diff lines)"]
    return _indent("\n".join(diff))


def _tail(text: str, n: int) -> str:
    """The last n lines, runs of identical lines collapsed (deep-recursion tracebacks)."""
    lines: list[str] = []
    repeats = 0
    for ln in text.splitlines():
        if lines and ln == lines[-1]:
            repeats += 1
            continue
        if repeats:
            lines.append(f"  [previous line repeated {repeats} more times]")
            repeats = 0
        lines.append(ln)
    if repeats:
        lines.append(f"  [previous line repeated {repeats} more times]")
    return "\n".join(lines[-n:])


def _indent(text: str) -> str:
    return "\n".join("    " + ln for ln in text.splitlines())


def check_oracle(program: Program, expected: Outcome) -> None:
    """The corpus itself: CPython must behave as the program's `# expect:` line says."""
    if program.expect == "ok":
        assert expected.status == 0, f"corpus bug: CPython fails {program.relpath}:\n{expected.stderr}"
    elif program.expect == "exit":
        assert expected.status != 0 and "Traceback" not in expected.stderr, (
            f"corpus bug: {program.relpath} should exit through SystemExit; CPython: status {expected.status}")
    elif program.expect == "error":
        assert expected.status == 1 and EXCEPTION_LINE_RE.match(expected.last_line), (
            f"corpus bug: {program.relpath} should raise an uncaught exception; CPython: "
            f"status {expected.status}, {expected.last_line!r}")
        assert "Did you mean" not in expected.last_line, (
            f"corpus bug: {program.relpath}: CPython adds a suggestion: {expected.last_line!r}")
    elif program.expect == "syntax-error":
        assert expected.syntax_line is not None, (
            f"corpus bug: CPython does not reject {program.relpath} with a SyntaxError:\n{expected.stderr}")
