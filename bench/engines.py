"""The engines (Tauraro backends, CPython, PyPy, LuaJIT, C): discovery, versions, building and timed runs."""
from __future__ import annotations

import importlib.util
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .programs import BENCH_DIR, Program, parse_checksum

REPO_DIR = BENCH_DIR.parent
WORK_DIR = BENCH_DIR / "out"  # generated sources and stats files (git-ignored)
C_BIN_DIR = BENCH_DIR / "c" / "bin"  # built C programs (git-ignored)
CFLAGS = ["-O2", "-ffp-contract=off"]  # no fused multiply-add: same double arithmetic as Python

# Stats keys the Tauraro CLI writes with --stats-json (the first five always, the rest when known).
STAT_KEYS = ("backend", "loops_compiled", "functions_compiled", "compile_seconds", "exits_taken", "aborts")
OPTIONAL_STAT_KEYS = ("startup_seconds", "interp_seconds", "native_seconds", "total_seconds",
                      "compile_seconds_by_phase")


@dataclass
class Outcome:
    """One run of one program on one engine."""

    status: str  # "ok", "error", "timeout", "wrong" (checksum mismatch)
    wall: float | None = None  # seconds, end to end (process start to exit)
    cpu: float | None = None  # user + system seconds of the child
    checksum: str | None = None
    message: str = ""
    stats: dict | None = None  # the Tauraro --stats-json content
    stdout: str | None = None  # everything the run printed (compared whole by bench.real)
    returncode: int | None = None


@dataclass
class Invocation:
    argv: list[str]
    cwd: Path
    env: dict[str, str] | None = None
    stats_path: Path | None = None


@dataclass
class Engine:
    """How to run programs on one engine; `missing` says why it cannot run here (None: it can)."""

    name: str
    label: str
    kind: str  # "tauraro", "python", "lua", "c"
    exe: str | None = None
    backend: str | None = None
    missing: str | None = None
    version: str = ""
    build_errors: dict[str, str] = field(default_factory=dict)

    @property
    def is_tauraro(self) -> bool:
        return self.kind == "tauraro"

    def invocation(self, program: Program, size: int, source_file: Path,
                   jit_threshold: int | None = None, use_cache: bool = False) -> Invocation:
        """The command that runs `program` at `size` (source_file holds the sized Tauraro/Python text)."""
        if self.kind == "c":
            return Invocation([str(C_BIN_DIR / program.name), str(size)], BENCH_DIR)
        if self.kind == "lua":
            return Invocation([str(self.exe), str(program.lua_path), str(size)], BENCH_DIR)
        if self.kind == "python":
            return Invocation([str(self.exe), str(source_file)], source_file.parent)
        stats = WORK_DIR / "stats" / f"{program.name}.{self.name}.json"
        argv = [str(self.exe), "-m", "tauraro", "run", str(source_file), "--backend", str(self.backend),
                "--stats-json", str(stats)]
        if jit_threshold is not None:
            argv += ["--jit-threshold", str(jit_threshold)]
        if not use_cache:
            argv.append("--no-cache")  # every run compiles: the compile time is part of what is measured
        return Invocation(argv, REPO_DIR, tauraro_env(), stats)


def tauraro_env() -> dict[str, str]:
    """The environment for `python -m tauraro`: this repository first on PYTHONPATH."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_DIR), env.get("PYTHONPATH", "")) if p)
    return env


TAURARO_BACKENDS = {"interp": None, "ir": None, "llvm": "llvmlite", "cranelift": "wasmtime"}
ALL_ENGINES = ["c", "luajit", "pypy", "cpython", "llvm", "cranelift", "ir", "interp"]
DEFAULT_ENGINES = ["c", "luajit", "pypy", "cpython", "llvm", "cranelift", "interp"]
ALIASES = {"gcc": "c", "lua": "luajit", "python": "cpython", "pypy3": "pypy"}
ALIASES.update({f"tauraro-{b}": b for b in TAURARO_BACKENDS})
# Engines whose full-size runs are predicted from a quick-size run and skipped if they would time out.
SLOW_ENGINES = ("interp", "cpython")


def canonical(name: str) -> str:
    name = name.strip().lower()
    return ALIASES.get(name, name)


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def _capture_version(argv: list[str], lines: int = 2) -> str:
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as e:
        return f"unknown ({e})"
    return " ".join(line.strip() for line in (r.stdout + r.stderr).splitlines()[:lines] if line.strip())


def _tauraro_version() -> str:
    init = REPO_DIR / "tauraro" / "__init__.py"
    m = re.search(r'__version__\s*=\s*"([^"]+)"', init.read_text(encoding="utf-8")) if init.exists() else None
    version = m.group(1) if m else "?"
    return f"tauraro {version} ({git_commit()})"


def git_commit() -> str:
    """The repository's commit, with '+dirty' when tauraro/ has uncommitted changes."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=REPO_DIR, capture_output=True,
                              text=True, timeout=30).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "tauraro"], cwd=REPO_DIR,
                               capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (head or "unknown") + ("+dirty" if dirty else "")


def make_engine(name: str) -> Engine:
    """Find one engine on this machine (never raises: a missing one carries the reason)."""
    if name == "c":
        cc = os.environ.get("CC", "gcc")
        exe = shutil.which(cc)
        return Engine("c", "C (gcc -O2)", "c", exe, missing=None if exe else f"no C compiler '{cc}' on PATH",
                      version=_capture_version([exe, "--version"], 1) if exe else "")
    if name == "luajit":
        exe = shutil.which("luajit")
        return Engine("luajit", "LuaJIT", "lua", exe, missing=None if exe else "no 'luajit' on PATH",
                      version=_capture_version([exe, "-v"], 1) if exe else "")
    if name == "pypy":
        exe = shutil.which("pypy3") or shutil.which("pypy")
        return Engine("pypy", "PyPy", "python", exe, missing=None if exe else "no 'pypy3' on PATH",
                      version=_capture_version([exe, "--version"]) if exe else "")
    if name == "cpython":
        version = f"CPython {sys.version.split()[0]} ({sys.executable})"
        return Engine("cpython", "CPython", "python", sys.executable, version=version)
    if name in TAURARO_BACKENDS:
        missing = None
        if not (REPO_DIR / "tauraro" / "__init__.py").exists():
            missing = f"no tauraro package in {REPO_DIR}"
        elif TAURARO_BACKENDS[name] and importlib.util.find_spec(TAURARO_BACKENDS[name]) is None:
            missing = f"Python package '{TAURARO_BACKENDS[name]}' is not installed (pip install -e .)"
        return Engine(name, f"tauraro-{name}", "tauraro", sys.executable, backend=name, missing=missing,
                      version=_tauraro_version())
    raise ValueError(f"unknown engine '{name}' (known: {', '.join(ALL_ENGINES)})")


def build_c(engine: Engine, program: Program) -> str | None:
    """Compile the program's C source with gcc -O2; return an error message or None."""
    C_BIN_DIR.mkdir(parents=True, exist_ok=True)
    out = C_BIN_DIR / program.name
    argv = [str(engine.exe), *CFLAGS, "-o", str(out), str(program.c_path), "-lm"]
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.SubprocessError) as e:
        return f"build failed: {e}"
    if r.returncode != 0:
        return f"build failed: {_first_line(r.stderr) or f'exit status {r.returncode}'}"
    return None


def write_source(program: Program, size: int) -> Path:
    """Write the sized Tauraro/Python text of `program` under bench/out/src/ and return its path."""
    path = WORK_DIR / "src" / f"n{size}" / f"{program.name}.tr"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = program.source(size)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return path


def error_line(stderr: str, returncode: int) -> str:
    """The first line of stderr; for a Python traceback, its last line (the exception) instead."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    if not lines:
        if returncode < 0:
            try:
                return f"killed by {signal.Signals(-returncode).name}"
            except ValueError:
                return f"killed by signal {-returncode}"
        return f"exit status {returncode}"
    line = lines[-1] if lines[0].startswith("Traceback (most recent call last)") else lines[0]
    return line if len(line) <= 200 else line[:197] + "..."


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _read_stats(path: Path | None) -> tuple[dict | None, str]:
    if path is None or not path.exists():
        return None, ""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        return None, f"stats file unreadable: {e}"
    if not isinstance(data, dict):
        return None, "stats file is not a JSON object"
    return data, ""


def run_once(inv: Invocation, timeout: float) -> Outcome:
    """Run a command once, timing it end to end; never raises."""
    if inv.stats_path is not None:
        inv.stats_path.parent.mkdir(parents=True, exist_ok=True)
        inv.stats_path.unlink(missing_ok=True)
    cpu0 = _children_cpu()
    t0 = time.perf_counter()
    try:
        proc = subprocess.Popen(inv.argv, cwd=inv.cwd, env=inv.env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                errors="replace", start_new_session=True)
    except OSError as e:
        return Outcome("error", message=f"cannot start: {e}")
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            proc.kill()
        proc.communicate()
        return Outcome("timeout", wall=time.perf_counter() - t0, message=f"timeout after {timeout:g} s")
    wall = time.perf_counter() - t0
    cpu = _children_cpu() - cpu0
    if proc.returncode != 0:
        return Outcome("error", wall=wall, cpu=cpu, message=error_line(stderr, proc.returncode), stdout=stdout,
                       returncode=proc.returncode)
    stats, note = _read_stats(inv.stats_path)
    return Outcome("ok", wall=wall, cpu=cpu, checksum=parse_checksum(stdout), message=note, stats=stats,
                   stdout=stdout, returncode=0)
