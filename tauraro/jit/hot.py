"""Hot-loop counting without the JIT: the driver and its compile pipeline are imported when a loop first gets hot."""
from __future__ import annotations

import os
import sys
from typing import Any, Callable

from ..bytecode import CodeObject, Instr
from ..errors import TauraroError
from ..settings import DEFAULT_JIT_THRESHOLD, ENV_JIT_THRESHOLD
from ..stats import JitStats
from .budget import code_budget


def default_threshold() -> int:
    """TAURARO_JIT_THRESHOLD, else DEFAULT_JIT_THRESHOLD; TauraroError if the variable is not a positive integer."""
    env = os.environ.get(ENV_JIT_THRESHOLD)
    if env:
        try:
            value = int(env)
        except ValueError:
            raise TauraroError(f"TAURARO_JIT_THRESHOLD must be an integer, not {env!r}") from None
        if value < 1:
            raise TauraroError("TAURARO_JIT_THRESHOLD must be at least 1")
        return value
    return DEFAULT_JIT_THRESHOLD


class HotCounter:
    """What the VM holds as its `jit` until a loop gets hot enough to compile: it counts back-edges
    exactly as JitDriver.back_edge_handler does (one shared counter per loop) and the exceptions
    caught inside each loop. When a loop gets hot it first runs the cheap checks of jit/judge.py; a
    loop they reject (it catches exceptions too often, its range is too short to pay for an entry)
    is given back to the interpreter without importing the driver. At the first loop they pass it
    creates the driver (importing tauraro.jit.driver, translate, the IR and the passes: ~25 ms that
    a program whose loops stay cold or are rejected never pays), hands it the counters, the judged
    loops and the caught exceptions, and from then on forwards everything to it."""

    def __init__(self, backend_name: str, load_backend: Callable[[], Any], threshold: int | None,
                 stats: JitStats, options: dict[str, Any]) -> None:
        self.backend_name = backend_name
        self._args = (backend_name, load_backend, threshold, stats, options)
        # The driver's own checks, up front: they are usage errors, reported before the program runs.
        self.threshold = threshold if threshold is not None else default_threshold()
        if self.threshold < 1:
            raise TauraroError("the JIT threshold must be at least 1")
        code_budget(options.get("jit_code_budget"))
        self.stats = stats
        self.log_enabled = bool(options.get("jit_log"))
        self.counters: dict[tuple[int, int], list[int]] = {}
        self._caught: dict[tuple[int, int], list] = {}  # (code, loop id) -> [count, code, loop id]
        self._handler_loops: dict[tuple[int, int], list[list]] = {}  # (code, handler pc) -> _caught entries
        self._judged: dict[tuple[int, int], tuple[CodeObject, int, Any, str | None]] = {}  # code, loop id, Judged, verdict
        self.driver: Any = None
        self._closed = False  # set by finish(): a function of a finished run called later stays interpreted

    def start_driver(self) -> Any:
        """The JIT driver, created (and its modules imported) on first call."""
        if self.driver is None:
            from .driver import JitDriver

            backend_name, load_backend, _, stats, options = self._args
            driver = JitDriver(backend_name, load_backend, self.threshold, stats, options)
            driver.counters = self.counters  # the handlers already installed keep counting into these
            for code, loop_id, judge, verdict in self._judged.values():
                driver.adopt(code, loop_id, judge, verdict)
            for count, code, loop_id in self._caught.values():
                if count:
                    driver.adopt(code, loop_id).caught += count
            self._caught.clear()
            self._handler_loops.clear()
            self.driver = driver
        return self.driver

    def back_edge_handler(self, vm: Any, code: CodeObject, pc: int, ins: Instr) -> Callable[[list], int]:
        if self.driver is not None:
            return self.driver.back_edge_handler(vm, code, pc, ins)
        target, loop_id = ins.a, ins.b
        count = self.counters.setdefault((id(code), loop_id), [0])  # shared by the loop's back-edges

        def on_hot(R: list) -> int:
            return self.hot_loop(vm, code, loop_id, R, target)

        return counting_handler(count, self.threshold, target, on_hot)

    def hot_loop(self, vm: Any, code: CodeObject, loop_id: int, R: list, header: int) -> int:
        """A loop reached the threshold with registers R at its header (from the VM's back-edge, or from a
        baseline function, tauraro/baseline.py): the cheap checks, then the driver; the pc to go on at."""
        if self._closed:
            return header
        if self.driver is None:
            judged = self._judged.get((id(code), loop_id))
            if (judged is not None and judged[3] is not None) or self._rejects(code, loop_id, R):
                return header  # given up for good (a baseline loop asks again), or not compiled now
        return self.start_driver().hot(vm, code, loop_id, R, header)

    def _rejects(self, code: CodeObject, loop_id: int, R: list) -> bool:
        """Run jit/judge.py's checks on a loop that just got hot; True when it is not compiled now."""
        from .judge import Judged, enclosing

        key = (id(code), loop_id)
        entry = self._judged.get(key)
        if entry is None:
            entry = self._judged[key] = (code, loop_id, Judged(code, loop_id), None)
        judge = entry[2]
        caught = self._caught.get(key)
        if caught is not None and caught[0]:
            count, caught[0] = caught[0], 0
            detail = judge.exceptions_outweigh(self.threshold, count)
            if detail is not None:
                self._give_up(key, "exceptions", detail)
                return True
        detail = judge.blocked()
        if detail is not None:
            self._give_up(key, "no_iteration", detail)
            return True
        detail = judge.too_short(R, self.threshold)
        if detail is not None:
            self._give_up(key, "short_range", detail)
            for info in enclosing(code, loop_id):  # a loop around it may pay where this one does not
                if self._judged.get((id(code), info.loop_id), (None,) * 4)[3] is None:
                    self.counters.setdefault((id(code), info.loop_id), [0])[0] = self.threshold
            return True
        return judge.short_tries > 0

    def _give_up(self, key: tuple[int, int], abort: str, detail: str) -> None:
        """Not compiled, for good: recorded as the driver records it, and the back-edges jump plainly."""
        from .judge import not_compiled
        from .reasons import AbortReason

        code, loop_id, judge, _ = self._judged[key]
        self._judged[key] = (code, loop_id, judge, "not_compiled")
        not_compiled(self.stats, self._log, code, loop_id, AbortReason(abort), detail,
                     {i for c, i, _j, verdict in self._judged.values() if c is code and verdict})

    def _log(self, message: str) -> None:
        if self.log_enabled:
            out = self._args[4].get("dump_stream") or sys.stderr
            out.write(f"[jit] {message}\n")
            out.flush()

    log = _log  # what function_counter calls on this counter or on the driver (JitDriver.log)

    def function_entry(self, vm: Any, code: CodeObject) -> Callable[[list, int, int], Any] | None:
        """The VM's entry for calls of `code` (vm.CodeRuntime.entry): None for code that is never
        compiled as a function unit, else a counter that hands the `threshold`-th call to the driver."""
        if self.driver is not None:
            return self.driver.function_entry(vm, code)
        return function_counter(self, vm, code)

    def caught(self, code: CodeObject, handler: int) -> None:
        """The VM caught an exception at `handler` (see JitDriver.caught): one more for each loop around it."""
        if self.driver is not None:
            self.driver.caught(code, handler)
            return
        entries = self._handler_loops.get((id(code), handler))
        if entries is None:
            entries = self._handler_loops[(id(code), handler)] = [
                self._caught.setdefault((id(code), info.loop_id), [0, code, info.loop_id])
                for info in code.loops if info.header <= handler < info.pop]
        for entry in entries:
            entry[0] += 1

    def finish(self) -> None:
        self._closed = True
        if self.driver is not None:
            self.driver.finish()
        elif self._judged:
            from .judge import location, loop_summary

            self.stats.loops = [loop_summary(location(code, loop_id), verdict, judge.ledger)
                                for code, loop_id, judge, verdict in self._judged.values()]
        else:
            self.stats.loops = []


def function_counter(jit: Any, vm: Any, code: CodeObject) -> Callable[[list, int, int], Any] | None:
    """Counts calls of a plain function (jit/functions.py decides which); the `threshold`-th goes to
    the driver's function units, which install the native entry or None in its place."""
    from ..runtime import NOT_NATIVE

    if not (code.kind in ("function", "lambda") and code.simple and not code.free_regs and not code.cell_params
            and not code.is_generator and not code.is_coroutine):
        return None
    count = [0]
    threshold = jit.threshold

    misses = [0]

    def entry(R: list, first: int, end: int) -> Any:
        count[0] += 1
        if count[0] < threshold or jit._closed:
            return NOT_NATIVE
        count[0] = 0
        args = R[first:end]
        odd = [a for a in args if type(a) not in UNIT_ARGUMENT_TYPES]
        if odd:
            # Units take only numbers (jit/functions.py): a method of an object, a function of lists or
            # strings is judged here, without the driver (which would give it up after 65 misses).
            misses[0] += 1
            if misses[0] >= UNIT_ARGUMENT_TRIES:
                from .reasons import AbortReason

                code.runtime.entry = None
                why = AbortReason.ARGUMENTS
                jit.log(f"abort function {code.name} {code.filename}:{code.firstline}: {why}: "
                         f"{why.explain(detail=type(odd[0]).__name__)}")
            return NOT_NATIVE
        return jit.start_driver().functions.hot(vm, code, args)
    return entry


UNIT_ARGUMENT_TYPES = frozenset((int, float, bool))  # what a function unit's parameters can hold
UNIT_ARGUMENT_TRIES = 4  # hot moments with other arguments before a function is given up cheaply


def counting_handler(count: list[int], threshold: int, target: int,
                     on_hot: Callable[[list], int]) -> Callable[[list], int]:
    """A back-edge handler: jump to `target`, and every `threshold`-th time (the count is shared by a loop's
    back-edges) hand the registers to `on_hot`, which returns the pc to go on at. The interpreter's hot path:
    one increment and one compare per iteration."""
    def h(R: list) -> int:
        count[0] += 1
        if count[0] < threshold:
            return target
        count[0] = 0
        return on_hot(R)
    return h
