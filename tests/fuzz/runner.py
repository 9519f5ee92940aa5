"""Runs one source under CPython (the oracle, in-process) and under Tauraro backends, and compares them."""
from __future__ import annotations

import contextlib
import io
import os
import signal
import threading
import time
import traceback
import warnings
from dataclasses import dataclass

from tauraro.backends.base import BACKENDS, INTERPRETER

JIT_BACKENDS = tuple(BACKENDS)  # the registry is the one list of backend names
ALL_BACKENDS = (INTERPRETER, *JIT_BACKENDS)
# Seconds; generated programs take well under 50 ms. TAURARO_TEST_TIME_SCALE stretches both for slow hosts
# (ci/aarch64-full-emulated.sh: qemu-user runs the JIT's host side 10-20x slower).
TIME_SCALE = float(os.environ.get("TAURARO_TEST_TIME_SCALE", "1"))
CPYTHON_TIMEOUT = 2.0 * TIME_SCALE
TAURARO_TIMEOUT = 20.0 * TIME_SCALE
# Exceptions the reducer must not introduce (a deleted initialisation would make any program "fail").
NAME_ERRORS = ("NameError", "UnboundLocalError")

Config = tuple[str, "int | None"]  # (backend, jit_threshold); None is the backend's default threshold


class FuzzTimeout(BaseException):
    """Raised into a run that exceeded its time limit (a BaseException: programs cannot catch it)."""


@dataclass(frozen=True)
class Outcome:
    """What one run did: stdout, the final error line of an uncaught exception, an internal crash, a timeout."""

    stdout: str
    error: str | None = None
    crash: str | None = None
    timeout: bool = False
    seconds: float = 0.0
    jit_errors: tuple[str, ...] = ()  # compiles the JIT gave up on because of its own bug (verify/backend)

    def describe(self) -> str:
        if self.timeout:
            return "timeout"
        if self.crash:
            return "crash: " + self.crash.strip().splitlines()[-1]
        return f"error: {self.error}" if self.error else "ok"


@dataclass(frozen=True)
class Failure:
    """A configuration on which Tauraro does not behave like CPython."""

    backend: str
    threshold: int | None
    kind: str  # "mismatch", "crash", "timeout" or "jit_error"
    detail: str

    @property
    def config(self) -> str:
        return f"{self.backend}@{'default' if self.threshold is None else self.threshold}"


class _Deadline:
    """A CPU-time limit that also stops compiled loops: a watcher thread sends SIGINT, which the JIT polls.

    The limit counts this process's CPU time, so a starved process on a loaded machine (niced fuzz
    workers) is not mistaken for a hang; a wall-clock cap of 10x (at least 120 s) catches a process
    that hangs without using the CPU.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.active = False
        self.fired = False
        self.thread: threading.Thread | None = None
        self.done = threading.Event()
        self.previous = None

    def _watch(self) -> None:
        cpu0, wall0 = time.process_time(), time.monotonic()
        wall_cap = max(self.seconds * 10, 120.0)
        while not self.done.wait(0.05):
            if time.process_time() - cpu0 > self.seconds or time.monotonic() - wall0 > wall_cap:
                if self.active:
                    self.fired = True
                    os.kill(os.getpid(), signal.SIGINT)
                return

    def _handler(self, signum, frame) -> None:
        if self.active:
            self.active = False
            raise FuzzTimeout(f"no result within {self.seconds:g} s of CPU time")
        if not self.fired:  # a real Ctrl-C
            raise KeyboardInterrupt

    def __enter__(self) -> _Deadline:
        if self.seconds > 0 and threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._handler)
            self.active = True
            self.thread = threading.Thread(target=self._watch, name="fuzz-deadline", daemon=True)
            self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.thread is None:
            return
        self.active = False
        self.done.set()
        self.thread.join()
        if self.fired:
            time.sleep(0.05)  # let a SIGINT still pending reach our handler, which now ignores it
        signal.signal(signal.SIGINT, self.previous)


def final_line(exc: BaseException) -> str:
    """CPython's last traceback line for an uncaught exception."""
    return traceback.format_exception_only(type(exc), exc)[-1].rstrip("\n")


def run_cpython(source: str, timeout: float = CPYTHON_TIMEOUT) -> Outcome:
    """exec() the program's Python form in a fresh namespace with stdout captured."""
    from tauraro.frontend import to_python

    out = io.StringIO()
    t0 = time.process_time()  # CPU time: what "< 50 ms per program" means, robust on a loaded machine
    error = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarnings of odd literals (mutated sources)
            code = compile(to_python(source), "<fuzz>", "exec")
        with _Deadline(timeout), contextlib.redirect_stdout(out):
            exec(code, {"__name__": "__main__"})
    except FuzzTimeout:
        return Outcome(out.getvalue(), timeout=True, seconds=time.process_time() - t0)
    except (Exception, RecursionError) as e:  # noqa: BLE001 - the program's own uncaught exception
        error = final_line(e)
    return Outcome(out.getvalue(), error, seconds=time.process_time() - t0)


def run_tauraro(source: str, backend: str, threshold: int | None, timeout: float = TAURARO_TIMEOUT) -> Outcome:
    """tauraro.run in-process; anything but a Tauraro exception is a crash (with its traceback)."""
    import tauraro
    from tauraro.errors import InternalJitError

    out = io.StringIO()
    log = io.StringIO()
    t0 = time.perf_counter()
    error = crash = None
    try:
        with _Deadline(timeout), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tauraro.run(source, backend=backend, jit_threshold=threshold, stdout=out, filename="<fuzz>",
                        use_cache=False, jit_log=backend != "interp", dump_stream=log)
    except FuzzTimeout:
        return Outcome(out.getvalue(), timeout=True, seconds=time.perf_counter() - t0)
    except tauraro.TauraroSyntaxError as e:
        error = f"SyntaxError: {e.message}"
    except tauraro.TauraroRuntimeError as e:
        if isinstance(e.exc, InternalJitError):
            crash = f"InternalJitError: {e.exc}"
        else:
            error = e.final_line()
    except Exception:  # noqa: BLE001 - a bug in Tauraro itself
        crash = traceback.format_exc(limit=-8)
    return Outcome(out.getvalue(), error, crash, seconds=time.perf_counter() - t0,
                   jit_errors=internal_aborts(log.getvalue()))


def internal_aborts(log: str) -> tuple[str, ...]:
    """The `--jit-log` abort lines that are JIT bugs: the verifier or a backend rejected the IR."""
    return tuple(line for line in log.splitlines()
                 if line.startswith("[jit] abort ") and (": backend: " in line or ": verify: " in line))


def difference(expected: Outcome, actual: Outcome) -> tuple[str, str] | None:
    """(kind, readable detail) when Tauraro's outcome differs from CPython's, else None."""
    if actual.timeout:
        return "timeout", f"no result within {TAURARO_TIMEOUT:g} s of CPU time"
    if actual.crash:
        return "crash", actual.crash.rstrip()
    if actual.jit_errors:
        return "jit_error", "\n".join(actual.jit_errors)
    problems = []
    if actual.error != expected.error:
        problems.append(f"final error line:\n  tauraro: {actual.error!r}\n  CPython: {expected.error!r}")
    if actual.stdout != expected.stdout:
        problems.append("stdout differs:\n" + stdout_diff(expected.stdout, actual.stdout))
    return ("mismatch", "\n".join(problems)) if problems else None


def stdout_diff(expected: str, actual: str, context: int = 2) -> str:
    a, b = expected.splitlines(), actual.splitlines()
    i = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]), min(len(a), len(b)))
    lines = [f"  first difference at line {i + 1} (CPython {len(a)} lines, tauraro {len(b)} lines)"]
    for k in range(max(0, i - context), i):
        lines.append(f"    {a[k]}")
    lines.append(f"  - CPython: {a[i] if i < len(a) else '<end>'}")
    lines.append(f"  + tauraro: {b[i] if i < len(b) else '<end>'}")
    return "\n".join(lines)


def configs_for(backends: list[str] | tuple[str, ...], with_default: bool,
                thresholds: tuple[int, ...] = (1, 2)) -> list[Config]:
    """interp once; every JIT backend at `thresholds` (and its default threshold when asked)."""
    out: list[Config] = []
    for b in backends:
        if b == "interp":
            out.append((b, None))
            continue
        out += [(b, t) for t in thresholds] + ([(b, None)] if with_default else [])
    return out


def check(source: str, configs: list[Config], expected: Outcome | None = None) -> tuple[Outcome, list[Failure]]:
    """CPython's outcome and the configurations that differ from it."""
    expected = expected or run_cpython(source)
    failures = []
    if expected.timeout:
        return expected, failures
    for backend, threshold in configs:
        diff = difference(expected, run_tauraro(source, backend, threshold))
        if diff and diff[0] == "timeout":  # confirm: a hang happens again, a hiccup does not
            diff = difference(expected, run_tauraro(source, backend, threshold))
        if diff:
            failures.append(Failure(backend, threshold, *diff))
    return expected, failures


def still_fails(source: str, failure: Failure, original_error: str | None) -> bool:
    """Reducer predicate: CPython runs `source` cleanly enough and Tauraro fails the same way on the same config."""
    try:
        expected = run_cpython(source, timeout=1.0)
    except SyntaxError:
        return False
    if expected.timeout or expected.seconds > 0.5 or " at 0x" in expected.stdout + (expected.error or ""):
        return False  # too slow, or prints addresses (which differ between any two runs)
    again = run_cpython(source, timeout=1.0)
    if (again.stdout, again.error) != (expected.stdout, expected.error):
        return False  # nondeterministic output is no evidence
    if expected.error and expected.error.split(":")[0] in NAME_ERRORS and expected.error != original_error:
        return False
    actual = run_tauraro(source, failure.backend, failure.threshold, timeout=10.0)
    diff = difference(expected, actual)
    if diff is None or diff[0] != failure.kind:
        return False
    if failure.kind in ("crash", "jit_error"):  # the same internal exception type
        return _error_kind(diff[1]) == _error_kind(failure.detail)
    return True


def _error_kind(detail: str) -> str:
    """'IRError' from '[jit] abort f:3: backend: IRError: ...' or from a traceback's last line."""
    last = detail.strip().splitlines()[-1]
    for marker in (": backend: ", ": verify: "):
        if last.startswith("[jit] abort ") and marker in last:
            return marker + last.split(marker, 1)[1].split(":")[0]
    return last.split(":")[0]
