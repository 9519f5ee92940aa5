"""The public entry point `run` and its result type."""
from __future__ import annotations

import os
import sys
import time
from typing import Any, TextIO

from .backends.base import BACKEND_CHOICES, INTERPRETER
from .codecache import compile_cached
from .errors import TauraroError, remember_source
from .modules import MODULE_DUNDERS
from .record import field, record
from .settings import DEFAULT_TIER, ENV_TIER, TIERS
from .stats import JitStats
from .vm import VM


@record
class RunResult:
    """What a run leaves: the module globals (Python values) and the JIT statistics."""

    globals: dict[str, Any]
    stats: JitStats
    dumps: dict[str, str] = field(default_factory=dict)


def make_jit(backend: str, jit_threshold: int | None, stats: JitStats, options: dict[str, Any]) -> Any:
    """The JIT driver for a backend, or None for the plain interpreter; clear error if unavailable."""
    if backend not in BACKEND_CHOICES:
        raise TauraroError(f"unknown backend '{backend}' (choose from {', '.join(BACKEND_CHOICES)})")
    if options.get("dump") or options.get("target") is not None:
        from .backends.base import check_dump_request

        check_dump_request(backend, options.get("dump", ()), options.get("target"))
    if backend == INTERPRETER:
        return None
    from importlib.util import find_spec

    from .backends.base import check_backend, get_backend
    from .jit.hot import HotCounter

    if find_spec("tauraro.jit.driver") is None:
        raise TauraroError(f"backend '{backend}' is not available: the JIT is not built") from None
    name = check_backend(backend)  # unknown or not installed: a usage error now
    # The driver and its compile pipeline are imported when a loop first gets hot (jit/hot.py), and the
    # backend when the first loop translates: importing them costs ~0.1 s and 0.1-0.3 s, which a run
    # whose loops never get hot does not pay (see JitDriver.backend).
    return HotCounter(name, lambda: get_backend(name), jit_threshold, stats, options)


def resolve_tier(tier: int | None) -> int:
    """The tier to run at: the argument, else $TAURARO_TIER, else the default; a usage error if unknown."""
    if tier is None:
        text = os.environ.get(ENV_TIER, "").strip()
        if not text:
            return DEFAULT_TIER
        try:
            tier = int(text)
        except ValueError:
            raise TauraroError(f"{ENV_TIER} must be one of {', '.join(map(str, TIERS))}, not {text!r}") from None
    if tier not in TIERS:
        raise TauraroError(f"unknown tier {tier} (choose from {', '.join(map(str, TIERS))})")
    return tier


def _stderr_log(line: str) -> None:
    print(line, file=sys.stderr)


def run(source: str, backend: str = "cranelift", *, filename: str = "<string>", jit_threshold: int | None = None,
        stdout: TextIO | None = None, dump: set[str] | frozenset[str] = frozenset(), jit_log: bool = False,
        dump_stream: TextIO | None = None, stats: JitStats | None = None, tier: int | None = None,
        **options: Any) -> RunResult:
    """Compile and run a Tauraro program.

    Raises TauraroSyntaxError (syntax errors, unsupported constructs), TauraroRuntimeError (an uncaught
    Tauraro exception, with its traceback) or TauraroError (usage errors such as an unknown backend).
    `stats`, if given, is the JitStats object to fill: the caller keeps it whatever the outcome.
    `tier`: 0 keeps everything in the VM, 1 (default; env TAURARO_TIER) translates hot functions to host code.
    """
    t0 = time.perf_counter()
    if stats is None:
        stats = JitStats(backend=backend)
    options = dict(options, dump=set(dump), jit_log=jit_log, dump_stream=dump_stream or sys.stderr,
                   filename=filename)
    jit = None
    try:
        jit = make_jit(backend, jit_threshold, stats, options)
        code = compile_cached(source, filename, options.get("use_cache", True))
        remember_source(filename, source)
        if "bytecode" in dump:
            from .bytecode import disassemble

            (dump_stream or sys.stderr).write(disassemble(code) + "\n")
        vm = VM(filename=filename, stdout=stdout, jit=jit, tier=resolve_tier(tier), stats=stats,
                log=_stderr_log if jit_log else None)
        vm.modules.use_cache = options.get("use_cache", True)
        stats.startup_seconds = time.perf_counter() - t0
        vm.modules.publish(vm.main)
        try:
            vm.run_module(code)
        finally:
            vm.modules.close()
    finally:
        if jit is not None:
            jit.finish()
        stats.total_seconds = time.perf_counter() - t0
        if stdout is None:
            sys.stdout.flush()
    return RunResult(globals={k: v for k, v in vm.globals.items() if k not in MODULE_DUNDERS}, stats=stats)
