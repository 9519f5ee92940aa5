"""JIT statistics: one object per run, filled by the JIT driver, printed by --stats, dumped by --stats-json."""
from __future__ import annotations

from collections import Counter
from typing import Any

from .record import field, record


@record
class JitStats:
    """Counters and timings of one run; `to_json` gives the documented --stats-json object."""

    backend: str = "interp"
    loops_compiled: int = 0
    functions_compiled: int = 0
    # Function units (tauraro/jit/functions.py): calls the VM made natively, and those of them that
    # left compiled code (the interpreter then ran the whole call again).
    function_calls: int = 0
    function_exits: int = 0
    compile_seconds: float = 0.0
    compile_seconds_by_phase: Counter = field(default_factory=Counter)
    exits_taken: int = 0
    exits_by_reason: Counter = field(default_factory=Counter)
    native_entries: int = 0
    native_seconds: float = 0.0
    # Entering compiled code (tauraro/jit/policy.py): attempts, those that ran no compiled code,
    # back-edges taken natively, lists mirrored in and elements copied in / written back.
    loop_entries: int = 0
    failed_entries: int = 0
    native_iterations: int = 0
    list_copies: int = 0
    list_elements_copied: int = 0
    list_elements_written_back: int = 0
    aborts: list[dict[str, Any]] = field(default_factory=list)
    blacklisted: int = 0
    blacklists: list[dict[str, Any]] = field(default_factory=list)
    exit_storms: int = 0
    # The compiled-code budget (tauraro/jit/budget.py).
    evictions: int = 0
    live_compiled_loops: int = 0
    code_bytes: int = 0
    peak_code_bytes: int = 0
    loops: list[dict[str, Any]] = field(default_factory=list)  # one summary per hot loop (filled at the end)
    cache_hits: int = 0
    # Tier 1 (tauraro/baseline.py): functions translated to host code, and why others stayed in the VM.
    functions_baselined: int = 0
    baseline_rejects: Counter = field(default_factory=Counter)
    startup_seconds: float = 0.0
    total_seconds: float = 0.0

    @property
    def interp_seconds(self) -> float:
        return max(0.0, self.total_seconds - self.compile_seconds - self.native_seconds)

    def to_json(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "loops_compiled": self.loops_compiled,
            "functions_compiled": self.functions_compiled,
            "function_calls": self.function_calls,
            "function_exits": self.function_exits,
            "compile_seconds": self.compile_seconds,
            "compile_seconds_by_phase": dict(self.compile_seconds_by_phase),
            "exits_taken": self.exits_taken,
            "exits_by_reason": dict(self.exits_by_reason),
            "native_entries": self.native_entries,
            "native_seconds": self.native_seconds,
            "loop_entries": self.loop_entries,
            "failed_entries": self.failed_entries,
            "native_iterations": self.native_iterations,
            "list_copies": self.list_copies,
            "list_elements_copied": self.list_elements_copied,
            "list_elements_written_back": self.list_elements_written_back,
            "aborts": list(self.aborts),
            "blacklisted": self.blacklisted,
            "blacklists": list(self.blacklists),
            "exit_storms": self.exit_storms,
            "evictions": self.evictions,
            "live_compiled_loops": self.live_compiled_loops,
            "code_bytes": self.code_bytes,
            "peak_code_bytes": self.peak_code_bytes,
            "loops": list(self.loops),
            "cache_hits": self.cache_hits,
            "functions_baselined": self.functions_baselined,
            "baseline_rejects": dict(self.baseline_rejects),
            "startup_seconds": self.startup_seconds,
            "interp_seconds": self.interp_seconds,
            "total_seconds": self.total_seconds,
        }

    def dumps(self) -> str:
        import json

        return json.dumps(self.to_json(), indent=2, sort_keys=True)

    def table(self) -> str:
        rows = [
            ("backend", self.backend),
            ("loops compiled", self.loops_compiled),
            ("functions compiled", self.functions_compiled),
            ("native function calls", f"{self.function_calls} ({self.function_exits} left compiled code)"),
            ("compile time", f"{self.compile_seconds * 1000:.2f} ms"),
            ("loop entries", self.loop_entries),
            ("native entries", self.native_entries),
            ("failed entries", self.failed_entries),
            ("native iterations", self.native_iterations),
            ("native time", f"{self.native_seconds * 1000:.2f} ms"),
            ("lists copied in", f"{self.list_copies} ({self.list_elements_copied} elements)"),
            ("elements written back", self.list_elements_written_back),
            ("exits taken", self.exits_taken),
            ("aborts", len(self.aborts)),
            ("blacklisted", self.blacklisted),
            ("exit storms", self.exit_storms),
            ("compiled loops kept", f"{self.live_compiled_loops} ({self.code_bytes} bytes, "
                                    f"peak {self.peak_code_bytes})"),
            ("evictions", self.evictions),
            ("module cache hits", self.cache_hits),
            ("functions baselined", self.functions_baselined),
            ("total time", f"{self.total_seconds * 1000:.2f} ms"),
        ]
        for phase, secs in sorted(self.compile_seconds_by_phase.items()):
            rows.append((f"  compile: {phase}", f"{secs * 1000:.2f} ms"))
        from .jit.reasons import ExitReason  # here: the interpreter alone never imports the JIT

        for reason, n in sorted(self.exits_by_reason.items()):
            rows.append((f"  exits: {reason}", f"{n}  ({ExitReason(reason).explain()})"))
        for reason, n in sorted(self.baseline_rejects.items()):
            rows.append(("  left in the VM", f"{n}: {reason}"))
        for a in self.aborts:
            rows.append(("  not compiled", f"{a['loop']}: {a['explanation']}"))
        for b in self.blacklists:
            if b["reason"] != "not_compiled":  # the `not compiled` row above says it
                rows.append(("  gave up", f"{b['loop']}: {b['explanation']}"))
        width = max(len(k) for k, _ in rows)
        return "tauraro stats\n" + "\n".join(f"  {k:<{width}}  {v}" for k, v in rows)
