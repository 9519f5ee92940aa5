"""Hot-loop counting without the JIT: the driver and its compile pipeline are imported when a loop first gets hot."""
from __future__ import annotations

import os
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
    """What the VM holds as its `jit` until a loop gets hot: it counts back-edges exactly as
    JitDriver.back_edge_handler does (one shared counter per loop) and remembers the exceptions
    caught inside loops; at the first hot loop it creates the driver (importing tauraro.jit.driver,
    translate, the IR and the passes: ~0.1 s a program whose loops stay cold never pays), hands it
    the counters and the caught exceptions, and from then on forwards everything to it."""

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
        self.counters: dict[tuple[int, int], list[int]] = {}
        self._caught: dict[tuple[int, int], list] = {}  # (code, handler pc) -> [code, handler, count, loop ids]
        self.driver: Any = None
        self._closed = False  # set by finish(): a function of a finished run called later stays interpreted

    def start_driver(self) -> Any:
        """The JIT driver, created (and its modules imported) on first call."""
        if self.driver is None:
            from .driver import JitDriver

            backend_name, load_backend, _, stats, options = self._args
            driver = JitDriver(backend_name, load_backend, self.threshold, stats, options)
            driver.counters = self.counters  # the handlers already installed keep counting into these
            for code, handler, count, loop_ids in self._caught.values():
                if loop_ids:
                    driver.caught(code, handler, count)
            self._caught.clear()
            self.driver = driver
        return self.driver

    def back_edge_handler(self, vm: Any, code: CodeObject, pc: int, ins: Instr) -> Callable[[list], int]:
        if self.driver is not None:
            return self.driver.back_edge_handler(vm, code, pc, ins)
        target, loop_id = ins.a, ins.b
        count = self.counters.setdefault((id(code), loop_id), [0])  # shared by the loop's back-edges

        def on_hot(R: list) -> int:
            return target if self._closed else self.start_driver().hot(vm, code, loop_id, R, target)

        return counting_handler(count, self.threshold, target, on_hot)

    def function_entry(self, vm: Any, code: CodeObject) -> Callable[[list, int, int], Any] | None:
        """The VM's entry for calls of `code` (vm.CodeRuntime.entry): None for code that is never
        compiled as a function unit, else a counter that hands the `threshold`-th call to the driver."""
        if self.driver is not None:
            return self.driver.function_entry(vm, code)
        return function_counter(self, vm, code)

    def caught(self, code: CodeObject, handler: int) -> None:
        """The VM caught an exception at `handler` (see JitDriver.caught)."""
        if self.driver is not None:
            self.driver.caught(code, handler)
            return
        entry = self._caught.get((id(code), handler))
        if entry is None:
            loop_ids = [info.loop_id for info in code.loops if info.header <= handler < info.pop]
            entry = self._caught[(id(code), handler)] = [code, handler, 0, loop_ids]
        entry[2] += 1

    def finish(self) -> None:
        self._closed = True
        if self.driver is not None:
            self.driver.finish()
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

    def entry(R: list, first: int, end: int) -> Any:
        count[0] += 1
        if count[0] < threshold or jit._closed:
            return NOT_NATIVE
        count[0] = 0
        return jit.start_driver().functions.hot(vm, code, R[first:end])
    return entry


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
