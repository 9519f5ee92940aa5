"""JIT driver: counts back-edges, compiles hot loops (the pipeline), enters compiled code and applies exits.

The compile pipeline, in order (`JitDriver.compile_loop`):
  1. region extraction  (region.extract_region: the loop between SetupLoop and PopBlock, its slots)
  2. IR building        (translate.Translator: abstract interpretation over the entry types)
  3. passes             (pipeline.optimize: constfold, cse, guardelim, licm, constfold, dce)
  4. emission           (backend.compile: IR interpreter, LLVM or WebAssembly)
  5. installation       (the loop's back-edge and SetupLoop enter compiled code from now on)

Whether a loop is compiled and kept being entered is judged by the entry ledger (jit/policy.py);
the memory compiled loops keep is bounded by the code budget (jit/budget.py).
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from ..bytecode import CodeObject, Instr
from ..errors import InternalJitError, TauraroError
from ..settings import DEFAULT_JIT_THRESHOLD
from ..stats import JitStats
from ..vm import globals_of
from .budget import CodeBudget, code_budget, retained_bytes
from .deopt import ExitPlan, apply_exit, plans_for
from .functions import FunctionUnits
from .hot import counting_handler, default_threshold, function_counter
from .interrupt import InterruptWatcher
from .judge import Judged, loop_summary, quiet_handlers, record_abort, record_blacklist
from .layout import Tag, box
from .lists import mirror_in, mirror_out
from .lists import release as release_mirror
from .policy import Ledger
from .reasons import AbortReason, GiveUp
from .region import RANGE_ITERATOR, LoopRegion, classify, range_iterator_state
from .translate import Abort, Translator, describe_value

if TYPE_CHECKING:
    from ..backends.base import Backend

DEFAULT_THRESHOLD = DEFAULT_JIT_THRESHOLD  # measured: see tauraro/settings.py
MAX_VARIANTS = 4  # type signatures compiled per loop before it is blacklisted
BIG_LIST = 1 << 16  # elements: an inner loop defers to its enclosing loop rather than copy such a list


@dataclass(eq=False)
class Variant:
    """One compiled version of a loop, for one entry signature."""

    compiled: Any
    frame: int
    plans: list[ExitPlan]
    writes: list[tuple[int, str, Any]]  # (slot, kind, key) written at entry
    iter_writes: list[tuple[int, int, int]]  # (register, cur slot, stop slot)
    list_slots: frozenset[int] = frozenset()  # slots whose entry list is mirrored into linear memory
    retained_bytes: int = 0  # what keeping it costs, charged to the code budget
    state: Any = None  # the LoopState it belongs to
    sig: tuple = ()


@dataclass
class LoopState:
    """Everything the driver knows about one loop of one code object."""

    code: CodeObject
    loop_id: int
    region: LoopRegion | None = None
    judge: Judged | None = None  # the checks before compiling (jit/judge.py), with the region and ledger
    variants: dict[tuple, Variant] = field(default_factory=dict)
    failed: set = field(default_factory=set)
    blacklisted: str | None = None
    deferred: bool = False  # leaves big-list work to an enclosing loop while that one may compile
    ledger: Ledger | None = None
    compiles: int = 0
    evicted: int = 0
    caught: int = 0  # exceptions caught inside the loop since it was last judged hot

    @property
    def location(self) -> str:
        return f"{self.code.filename}:{self.line}"

    @property
    def line(self) -> int:
        return self.code.loops[self.loop_id].line

    def back_edges(self) -> list[tuple[int, Instr]]:
        """(pc, JumpBack) of every back-edge of this loop (its end and its continues)."""
        return [(pc, ins) for pc, ins in enumerate(self.code.instrs) if ins.op == "JumpBack" and ins.b == self.loop_id]

    def summary(self) -> dict[str, Any]:
        """The loop's line in --stats-json `loops`."""
        return loop_summary(self.location, self.blacklisted, self.ledger, compiles=self.compiles,
                            live_variants=len(self.variants), evicted=self.evicted)


class JitDriver:
    """Per-run JIT state: backend, linear memory, loops, stats, log and dumps."""

    def __init__(self, backend_name: str, load_backend: Callable[[], Backend], threshold: int | None,
                 stats: JitStats, options: dict[str, Any]) -> None:
        self.backend_name = backend_name
        self._load = load_backend  # api.make_jit's loader: the driver never imports a backend itself
        self.options = options
        self._backend: Backend | None = None  # loaded when the first loop translates (see `backend`)
        self._memory: Any = None
        self._closed = False  # set by finish(): nothing compiles or enters native code afterwards
        self._cache_hits_before = 0
        self.threshold = threshold if threshold is not None else default_threshold()
        if self.threshold < 1:
            raise TauraroError("the JIT threshold must be at least 1")
        self.stats = stats
        self.dump = set(options.get("dump", ()))
        self.log_enabled = bool(options.get("jit_log"))
        self.out = options.get("dump_stream") or sys.stderr
        self.target = options.get("target")
        self.loops: dict[tuple[int, int], LoopState] = {}
        self.counters: dict[tuple[int, int], list[int]] = {}
        self._handler_loops: dict[tuple[int, int], list[LoopState]] = {}  # (code, handler pc) -> loops around it
        self.budget = CodeBudget(code_budget(options.get("jit_code_budget")))
        self._interrupt = InterruptWatcher(self.interrupt)
        self.functions = FunctionUnits(self)

    @property
    def backend(self) -> Backend:
        """The backend, loaded on first use: importing wasmtime or llvmlite and creating the engine
        and memory take 0.1-0.3 s (measured, bench/hostile), which a program whose loops never get
        past translation (or never get hot) does not pay."""
        if self._backend is None:
            self._load_backend()
        return self._backend

    def _load_backend(self) -> None:
        t0 = time.perf_counter()
        backend = self._load()
        backend.configure(self.options)
        self._memory = backend.make_memory()
        self._cache_hits_before = backend.cache_hits
        self._backend = backend
        self._interrupt.start()  # compiled code is about to run: Ctrl-C must reach it
        elapsed = time.perf_counter() - t0
        self.stats.compile_seconds_by_phase["backend_load"] += elapsed
        self.stats.compile_seconds += elapsed
        self.log(f"loaded the {self.backend_name} backend in {elapsed * 1000:.1f} ms")

    @property
    def memory(self) -> Any:
        if self._memory is None:
            self.backend  # noqa: B018 - loads the backend and its memory
        return self._memory

    # --- observability ---------------------------------------------------------------------------
    def log(self, message: str) -> None:
        if self.log_enabled:
            self.out.write(f"[jit] {message}\n")
            self.out.flush()

    def abort(self, state: LoopState, reason: AbortReason, detail: str) -> None:
        record_abort(self.stats, self.log, state.location, state.line, reason,
                     reason.explain(detail=detail, backend=self.backend_name))

    def blacklist(self, vm: Any, state: LoopState, reason: GiveUp, **fields: Any) -> None:
        """Give the loop back to the interpreter for good, saying why."""
        state.blacklisted = str(reason)
        record_blacklist(self.stats, self.log, state.location, reason, reason.explain(**fields))
        self._uninstall(vm, state)
        quiet_handlers(state.code, {s.loop_id for s in self.loops.values() if s.code is state.code and s.blacklisted})

    # --- hot-loop detection -------------------------------------------------------------------------
    def back_edge_handler(self, vm: Any, code: CodeObject, pc: int, ins: Instr) -> Callable[[list], int]:
        target, loop_id = ins.a, ins.b
        key = (id(code), loop_id)
        if key in self.loops and self.loops[key].variants and not self.loops[key].blacklisted:
            return self._entry_handler(vm, self.loops[key], target)
        count = self.counters.setdefault(key, [0])  # shared by the loop's back-edges (continue, end)
        return counting_handler(count, self.threshold, target, lambda R: self.hot(vm, code, loop_id, R, target))

    def function_entry(self, vm: Any, code: CodeObject) -> Callable[[list, int, int], Any] | None:
        """The call counter of a function (see jit/functions.py and hot.function_counter)."""
        return function_counter(self, vm, code)

    def start_driver(self) -> JitDriver:
        return self

    def hot(self, vm: Any, code: CodeObject, loop_id: int, R: list, header: int) -> int:
        if self._closed:  # a function of a finished run called later: it stays in the interpreter
            return header
        state = self._state(code, loop_id)
        if state.blacklisted:
            self._uninstall(vm, state)
            return header
        if state.deferred and self._enclosing_pending(state):
            return header
        caught, state.caught = state.caught, 0
        if caught and not state.variants and self._exceptions_outweigh(vm, state, caught):
            return header
        if not state.variants and (self._blocked(vm, state) or self._copies_outweigh(vm, state, R)
                                   or self._too_short(vm, state, R)):
            return header
        if self.enter_or_compile(vm, state, R) is None:
            return header
        self._install(vm, state)
        return self.enter(vm, state, R, header)

    def caught(self, code: CodeObject, handler: int, count: int = 1) -> None:
        """The VM caught an exception at `handler` (`count` of them: those jit/hot.py counted before
        the driver existed): count it for the loops around the handler (called for every caught
        exception, so it is one dict lookup and an increment per loop)."""
        states = self._handler_loops.get((id(code), handler))
        if states is None:
            states = self._handler_loops[(id(code), handler)] = [
                self._state(code, info.loop_id) for info in code.loops if info.header <= handler < info.pop]
        for state in states:
            state.caught += count

    def adopt(self, code: CodeObject, loop_id: int, judge: Judged | None = None,
              verdict: str | None = None) -> LoopState:
        """The state of a loop jit/hot.py judged (or counted exceptions for) before the driver existed."""
        state = self._state(code, loop_id)
        if judge is not None and state.judge is None:
            state.judge, state.region, state.ledger = judge, judge.region, judge.ledger
        if verdict is not None:
            state.blacklisted = verdict
        return state

    def _state(self, code: CodeObject, loop_id: int) -> LoopState:
        state = self.loops.get((id(code), loop_id))
        if state is None:
            state = self.loops[(id(code), loop_id)] = LoopState(code, loop_id)
        return state

    def _exceptions_outweigh(self, vm: Any, state: LoopState, caught: int) -> bool:
        """Whether the exceptions the loop caught while warming up make compiling it a loss: each
        one would leave compiled code (raising and catching are interpreted), so an entry would run
        only the iterations between two exceptions (see jit/policy.py)."""
        self._ensure_region(state)
        detail = state.judge.exceptions_outweigh(self.threshold, caught)
        if detail is None:
            return False
        self.abort(state, AbortReason.EXCEPTIONS, detail)
        self.blacklist(vm, state, GiveUp.NOT_COMPILED, detail=detail)
        return True

    def _copies_outweigh(self, vm: Any, state: LoopState, R: list) -> bool:
        """Whether copying the lists this loop indexes into compiled code would cost more than a
        whole run of its range saves (a short loop over a big list): then it is not compiled.
        The range's length is known at entry; a `while` loop's is not, and the ledger judges it."""
        self._ensure_region(state)
        copies = state.judge.copies_outweigh(lambda: self._values(vm, state.region, R), R)
        if copies is None:
            return False
        elements, total = copies
        self.blacklist(vm, state, GiveUp.LIST_COPIES, elements=elements, iterations=total)
        self._heat_enclosing(state)
        return True

    def _blocked(self, vm: Any, state: LoopState) -> bool:
        """Whether every path through the loop runs an instruction compiled code never runs: then it
        is not compiled (judged from the bytecode, before translating; jit/judge.py)."""
        self._ensure_region(state)
        detail = state.judge.blocked()
        if detail is None:
            return False
        self.abort(state, AbortReason.NO_ITERATION, detail)
        self.blacklist(vm, state, GiveUp.NOT_COMPILED, detail=AbortReason.NO_ITERATION.explain(detail=detail))
        return True

    def _too_short(self, vm: Any, state: LoopState, R: list) -> bool:
        """Whether the loop's range is too short for an entry to pay: then it is not compiled now,
        and not at all once it was found short SHORT_TRIES times in a row (jit/judge.py)."""
        detail = state.judge.too_short(R, self.threshold)
        if detail is None:
            return state.judge.short_tries > 0
        self.abort(state, AbortReason.SHORT_RANGE, detail)
        self.blacklist(vm, state, GiveUp.NOT_COMPILED, detail=detail)
        self._heat_enclosing(state)
        return True

    def _ensure_region(self, state: LoopState) -> None:
        if state.region is None:
            state.judge = Judged(state.code, state.loop_id)
            state.region, state.ledger = state.judge.region, state.judge.ledger

    def _install(self, vm: Any, state: LoopState) -> None:
        rt = state.code.runtime
        for pc, ins in state.back_edges():
            rt.handlers[pc] = self._entry_handler(vm, state, ins.a)
        info = state.code.loops[state.loop_id]
        rt.handlers[info.setup] = self._entry_handler(vm, state, info.header)

    def _uninstall(self, vm: Any, state: LoopState, counting: bool = False) -> None:
        """Give the loop back to the interpreter: plain back-edges, or counting ones (`counting`)."""
        for variant in list(state.variants.values()):
            self._release(variant)
        self._restore_handlers(state, vm if counting else None)

    def _restore_handlers(self, state: LoopState, counting_vm: Any = None) -> None:
        """Plain back-edges and loop setup again, or counting back-edges when `counting_vm` is given."""
        rt = state.code.runtime
        for pc, ins in state.back_edges():
            if counting_vm is not None:
                rt.handlers[pc] = self.back_edge_handler(counting_vm, state.code, pc, ins)
            else:
                rt.handlers[pc] = lambda R, t=ins.a: t
        nxt = state.code.loops[state.loop_id].setup + 1
        rt.handlers[state.code.loops[state.loop_id].setup] = lambda R: nxt

    def _release(self, variant: Variant) -> None:
        """Free a variant's code and frame (never while it runs: compiled code never calls back into Python)."""
        variant.compiled.release()
        self.memory.free_frame(variant.frame)
        del variant.state.variants[variant.sig]
        self.budget.remove(variant)
        self.stats.live_compiled_loops = len(self.budget)
        self.stats.code_bytes = self.budget.bytes

    def _entry_handler(self, vm: Any, state: LoopState, header: int) -> Callable[[list], int]:
        def h(R: list) -> int:
            return self.enter(vm, state, R, header)
        return h

    # --- compiling ---------------------------------------------------------------------------------
    def enter_or_compile(self, vm: Any, state: LoopState, R: list) -> Variant | None:
        """The variant for the current entry values, compiling it if needed (None: cannot)."""
        self._ensure_region(state)
        values = self._values(vm, state.region, R)
        sig = tuple(classify(v) for v in values)
        variant = state.variants.get(sig)
        if variant is not None:
            return variant
        if sig in state.failed or state.blacklisted:
            return None
        if len(state.variants) >= MAX_VARIANTS:
            self.blacklist(vm, state, GiveUp.TYPES_CHANGE, count=MAX_VARIANTS + 1)
            return None
        try:
            variant = self.compile_loop(state, values)
        except Abort as e:
            return self._compile_failed(vm, state, sig, e.reason, e.detail)
        except Exception as e:  # noqa: BLE001 - a JIT failure never changes the program's behaviour
            from .verify import VerifyError

            reason = (AbortReason.UNSUPPORTED_OP if isinstance(e, NotImplementedError) else
                      AbortReason.VERIFY if isinstance(e, VerifyError) else AbortReason.BACKEND)
            return self._compile_failed(vm, state, sig, reason, f"{type(e).__name__}: {e}".splitlines()[0])
        variant.state, variant.sig = state, sig
        state.variants[sig] = variant
        state.compiles += 1
        for old in self.budget.add(variant):  # least recently used first, never the new one
            self.log(f"evict {old.state.location}: over the compiled-code budget of {self.budget.limit} bytes")
            old.state.evicted += 1
            self.stats.evictions += 1
            was = old.state
            self._release(old)
            if not was.variants and not was.blacklisted:
                self._uninstall(vm, was, counting=True)  # compiles again if it gets hot again
        self.stats.live_compiled_loops = len(self.budget)
        self.stats.code_bytes = self.budget.bytes
        self.stats.peak_code_bytes = max(self.stats.peak_code_bytes, self.budget.bytes)
        return variant

    def _compile_failed(self, vm: Any, state: LoopState, sig: tuple, reason: AbortReason, detail: str) -> None:
        state.failed.add(sig)
        self.abort(state, reason, detail)
        if not state.variants:
            self.blacklist(vm, state, GiveUp.NOT_COMPILED, detail=reason.explain(detail=detail,
                                                                                   backend=self.backend_name))
        return None

    def compile_loop(self, state: LoopState, values: list[Any]) -> Variant:
        """The pipeline: translate -> optimise -> emit, timing each phase."""
        region = state.region
        phases = self.stats.compile_seconds_by_phase
        start = time.perf_counter()
        name = f"loop_{state.code.name.strip('<>')}_{state.loop_id}_{state.compiles}"
        lists = self._backend is None or self._backend.supports_lists  # every backend so far has lists
        translator = Translator(region, values, name, state.location, lists=lists)
        try:
            fn = translator.translate()
        finally:
            phases["translate"] += time.perf_counter() - start
        if self._backend is None:
            self._load_backend()
            start += phases["backend_load"]  # once per run: not part of this loop's compile time
        if translator.list_slots and not self.backend.supports_lists:
            translator = Translator(region, values, name, state.location, lists=False)
            fn = translator.translate()
        fn, compiled, seconds = self.optimize_and_emit(fn, start, "IR")
        self.stats.loops_compiled += 1
        frame = self.memory.alloc_frame(fn.nslots)
        nops = sum(len(b.ops) for b in fn.blocks)
        variant = Variant(compiled, frame, plans_for(fn, region), *self._writes(region),
                          list_slots=frozenset(translator.list_slots),
                          retained_bytes=retained_bytes(compiled, nops, len(fn.snapshots)))
        nguards = sum(1 for b in fn.blocks for op in b.ops if op.snapshot is not None)
        self.log(f"compiled {state.location} ({self.backend_name}, {nops} ops, {nguards} guards) "
                 f"in {seconds * 1000:.1f} ms")
        for line, detail in translator.exits_unsupported:
            self.log(f"side exit {state.code.filename}:{line}: the loop {detail}")
        self._dump_compiled(fn, compiled)
        return variant

    def optimize_and_emit(self, fn: Any, start: float, label: str) -> tuple[Any, Any, float]:
        """The compile pipeline after translation, for a loop or a function unit (`label` heads its
        --dump ir text): optimise (passes timed, dumped with ir-passes), emit with the backend; the
        compile time since `start` is charged to the stats. Returns the optimised IR, the compiled code and
        that compile time in seconds."""
        phases = self.stats.compile_seconds_by_phase
        t1 = time.perf_counter()
        if "ir" in self.dump:
            self.out.write(f"== {label} {fn.location} (built)\n{format_function(fn)}\n")
        pass_seconds: dict[str, float] = {}
        after = self._dump_pass if "ir-passes" in self.dump else None
        fn = optimize(fn, timings=pass_seconds, after_pass=after)  # TAURARO_JIT_VERIFY: verify.verify_enabled
        for pass_name, seconds in pass_seconds.items():
            phases[f"optimize.{pass_name}"] += seconds
        t2 = time.perf_counter()
        if "ir" in self.dump:
            self.out.write(f"== {label} {fn.location} (optimised)\n{format_function(fn)}\n")
        compiled = self.backend.compile(fn, self.memory)
        t3 = time.perf_counter()
        phases["optimize"] += t2 - t1
        phases["backend"] += t3 - t2
        self.stats.compile_seconds += t3 - start
        return fn, compiled, t3 - start

    def _dump_pass(self, name: str, fn: Any) -> None:
        self.out.write(f"== ir-passes {fn.location} (after {name})\n{format_function(fn)}\n")

    def _dump_compiled(self, fn: Any, compiled: Any) -> None:
        if "snapshots" in self.dump:
            self.out.write(f"== snapshots {fn.location}\n")
            for i, snap in enumerate(fn.snapshots):
                slots = ", ".join(f"{fn.slot_names.get(s, s)}={v!r}" for s, v in sorted(snap.slots.items()))
                self.out.write(f"  exit {i}: pc={snap.resume_pc} line={snap.line} {snap.reason}: {slots}\n")
        for kind in ("llvm", "asm", "wat"):
            if kind in self.dump:
                try:
                    text = compiled.dump(kind, target=self.target if kind in self.backend.target_dumps else None)
                except (NotImplementedError, KeyError, ValueError) as e:
                    text = f"(no {kind} dump from the {self.backend_name} backend: {e})"
                self.out.write(f"== {kind} {fn.location}\n{text}\n")

    @staticmethod
    def _writes(region: LoopRegion) -> tuple[list[tuple[int, str, Any]], list[tuple[int, int, int]]]:
        """The slots the VM fills at entry: live registers, globals and live range iterators."""
        live = region.live_at(region.header)
        writes = [(slot, ref.kind, ref.key) for slot, ref in enumerate(region.slots)
                  if ref.kind == "global" or (ref.kind == "reg" and live >> ref.key & 1)]
        iters = [(reg, cur, stop) for reg, (cur, stop) in region.iter_slots.items() if live >> reg & 1]
        return writes, iters

    @staticmethod
    def _values(vm: Any, region: LoopRegion, R: list) -> list[Any]:
        G, B = globals_of(vm, region.code), vm.builtins
        live = region.header_live
        out = []
        for ref in region.slots:
            if ref.kind == "reg":
                # A register dead at the header must not split the loop into type variants.
                out.append(R[ref.key] if live >> ref.key & 1 else _DEAD)
            elif ref.kind == "global":
                out.append(G[ref.key] if ref.key in G else B.get(ref.key, _DEAD))  # a missing name: untracked
            else:
                out.append(None)  # iterator halves are derived from their register
        return out

    # --- entering and leaving compiled code -----------------------------------------------------------
    def enter(self, vm: Any, state: LoopState, R: list, header: int) -> int:
        """Run the compiled loop from its header; returns the pc where the interpreter resumes."""
        self.stats.loop_entries += 1
        variant = self.enter_or_compile(vm, state, R)
        if variant is None:
            if not state.blacklisted:
                self._entry_failed(vm, state, 0, "it was entered with variable types it was not compiled for")
            return header
        memory, frame = self.memory, variant.frame
        G = globals_of(vm, state.code)
        mirrors: dict[int, tuple[int, list]] = {}  # id(list) -> (object offset, list)
        entered: dict[int, Any] = {}  # slot -> the list object it held at entry
        copied = 0
        for slot, kind, key in variant.writes:
            value = R[key] if kind == "reg" else G.get(key)
            t = type(value)
            if t is int or t is float or t is bool:
                boxed = box(value)
                if boxed is not None:
                    memory.write_slot(frame, slot, boxed[0], boxed[1])
                    continue
            elif t is list and slot in variant.list_slots:
                mirror = mirrors.get(id(value))
                if mirror is None and len(value) > BIG_LIST and not state.deferred and self._heat_enclosing(state):
                    # Copying a big list at every entry of an inner loop costs more than it saves:
                    # run this entry, then leave the loop to its enclosing one, which compiles at its
                    # next back-edge and copies the list once.
                    state.deferred = True
                    self.log(f"defer {state.location}: the loop copies a {len(value)}-element list at every "
                             f"entry; the loop around it compiles instead")
                if mirror is None:
                    p = mirror_in(memory, value)
                    if p is None:  # an element without a cell form: this entry stays interpreted
                        self._release_mirrors(mirrors)
                        name = state.code.register_name(key) if kind == "reg" else key
                        self._entry_failed(vm, state, copied + len(value),
                                           f"list '{name}' holds {describe_value(value)}; compiled loops "
                                           f"copy only lists of ints, floats and bools")
                        return header
                    mirror = mirrors[id(value)] = (p, value)
                    copied += len(value)
                    self.stats.list_copies += 1
                memory.write_slot(frame, slot, Tag.LIST, mirror[0])
                entered[slot] = value
                continue
            memory.write_slot(frame, slot, Tag.EMPTY, 0)
        for reg, cur_slot, stop_slot in variant.iter_writes:
            it = R[reg]
            if type(it) is RANGE_ITERATOR:
                cur, stop, _step = range_iterator_state(it)
                memory.write_slot(frame, cur_slot, Tag.INT, cur)
                memory.write_slot(frame, stop_slot, Tag.INT, stop)
        memory.set_interrupt(frame, 0)
        self.budget.touch(variant)
        t0 = time.perf_counter()
        try:
            n = variant.compiled.run(frame)
        except InternalJitError:
            raise
        except Exception as e:
            raise InternalJitError(f"compiled loop {state.location} failed: {type(e).__name__}: {e}") from e
        self.stats.native_seconds += time.perf_counter() - t0
        plan = variant.plans[n]
        iterations = memory.iterations(frame)
        written = 0
        if mirrors:
            for p, lst in mirrors.values():
                written += mirror_out(memory, p, lst)
            self._release_mirrors(mirrors)
        apply_exit(plan, R, G, memory, frame, entered)
        self._count_entry(iterations, copied, written, plan)
        pays = state.ledger.entered(iterations, len(variant.writes) + len(plan.reads), copied + written,
                                    plan.reason, plan.line)
        if not pays:
            self._give_up(vm, state)
        elif state.deferred:
            if self._enclosing_pending(state):
                self._uninstall(vm, state, counting=True)  # until the loop around it has compiled
            else:
                state.deferred = False  # nothing around it compiles: the ledger alone decides
        return plan.resume_pc

    def _count_entry(self, iterations: int, copied: int, written: int, plan: ExitPlan) -> None:
        stats = self.stats
        stats.native_entries += 1
        stats.native_iterations += iterations
        stats.list_elements_copied += copied
        stats.list_elements_written_back += written
        stats.exits_taken += 1
        stats.exits_by_reason[str(plan.reason)] += 1

    def _entry_failed(self, vm: Any, state: LoopState, scanned: int, why: str) -> None:
        """An attempt that ran no compiled code: counted against the loop."""
        self.stats.failed_entries += 1
        self.stats.list_elements_copied += scanned
        if not state.ledger.failed_attempt(scanned, why):
            self._give_up(vm, state)

    def _give_up(self, vm: Any, state: LoopState) -> None:
        """The loop's entries cost more than they save: interpret it from now on (see jit/policy.py)."""
        reason, fields = state.ledger.verdict()
        self.blacklist(vm, state, reason, **fields)
        self._heat_enclosing(state)  # a loop around it may pay where this one does not

    def _release_mirrors(self, mirrors: dict[int, tuple[int, list]]) -> None:
        for p, _lst in mirrors.values():
            release_mirror(self.memory, p)

    def _enclosing(self, state: LoopState) -> list[Any]:
        """The loops of the same code object around this one."""
        inner = state.code.loops[state.loop_id]
        return [info for info in state.code.loops if info.header < inner.header and inner.pop < info.pop]

    def _enclosing_pending(self, state: LoopState) -> bool:
        """Whether a loop around this one may still compile (it has not been blacklisted)."""
        for info in self._enclosing(state):
            outer = self.loops.get((id(state.code), info.loop_id))
            if outer is None or not outer.blacklisted:
                return True
        return False

    def _heat_enclosing(self, state: LoopState) -> bool:
        """Make the loops around this one compile at their next back-edge (they are entered less
        often); False when no enclosing loop can still compile."""
        heated = False
        for info in self._enclosing(state):
            outer = self.loops.get((id(state.code), info.loop_id))
            if outer is not None and (outer.blacklisted or outer.variants):
                continue
            self.counters.setdefault((id(state.code), info.loop_id), [0])[0] = self.threshold
            heated = True
        return heated

    # --- end of run ------------------------------------------------------------------------------------
    def interrupt(self) -> None:
        """Called from the interrupt watcher thread when SIGINT arrives: stop compiled loops."""
        memory = self._memory  # None once finish() handed it back (a signal racing the end of the run)
        if self._backend is None or memory is None:
            return
        memory.interrupt_all(1)
        self._backend.interrupt()

    def finish(self) -> None:
        """The run is over: report, then give every loop back to the interpreter, free the compiled
        code and hand the memory back to the backend (which may reuse it for the next run)."""
        self._interrupt.stop()
        if self._backend is not None:
            self.stats.cache_hits = self._backend.cache_hits - self._cache_hits_before
        self.stats.loops = [state.summary() for state in self.loops.values()]
        self._closed = True
        self.functions.finish()
        for state in self.loops.values():
            if state.variants:
                for variant in state.variants.values():
                    variant.compiled.release()
                state.variants.clear()
                self._restore_handlers(state)
        if self._backend is not None and self._memory is not None:
            memory, self._memory = self._memory, None
            self._backend.release_memory(memory)


_DEAD = object()  # the value of a slot whose register is dead at loop entry (never loaded)


# The passes and the IR printer are imported when first used: a hot loop that does not translate
# (most JIT-hostile loops, bench/hostile) never pays for them.
def optimize(fn: Any, **options: Any) -> Any:
    from .pipeline import optimize as run_passes

    return run_passes(fn, **options)


def format_function(fn: Any) -> str:
    from .irtext import print_function

    return print_function(fn)
