"""JIT driver: counts back-edges, compiles hot loops (the pipeline), enters compiled code and applies exits.

The compile pipeline, in order (`JitDriver.compile_loop`):
  1. region extraction  (region.extract_region: the loop between SetupLoop and PopBlock, its slots)
  2. IR building        (translate.Translator: abstract interpretation over the entry types)
  3. passes             (pipeline.optimize: constfold, cse, guardelim, licm, constfold, dce)
  4. emission           (backend.compile: IR interpreter, LLVM or WebAssembly)
  5. installation       (the loop's back-edge and SetupLoop enter compiled code from now on)
"""
from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

from ..bytecode import CodeObject, Instr
from ..errors import InternalJitError, TauraroError
from ..stats import JitStats
from .irtext import print_function as format_function
from .layout import Tag, box, unbox
from .lists import mirror_in, mirror_out
from .lists import release as release_mirror
from .pipeline import optimize
from .reasons import AbortReason, ExitReason
from .region import LoopRegion, classify, extract_region, range_iterator_state
from .translate import Abort, Translator

# Chosen by measurement (bench/ and docs/jit.md): compiling costs ~2-20 ms per loop, an
# interpreted iteration ~1-3 us, so 1000 back-edges bounds compile time near the time already spent.
DEFAULT_THRESHOLD = 1000
MAX_VARIANTS = 4  # type signatures compiled per loop before it is blacklisted
STORM_ENTRIES = 200  # entries observed before judging a loop's exits
STORM_MIN_ITERATIONS = 3.0  # average back-edges per entry below which compiled code does not pay off
COPY_RATIO = 2  # list elements mirrored per compiled iteration above which entering does not pay off
BIG_LIST = 1 << 16  # elements: an inner loop defers to its enclosing loop rather than copy such a list
MISS_LIMIT = 64  # failed entries (types the loop was not compiled for) before it is blacklisted


def default_threshold() -> int:
    env = os.environ.get("TAURARO_JIT_THRESHOLD")
    if env:
        try:
            value = int(env)
        except ValueError:
            raise TauraroError(f"TAURARO_JIT_THRESHOLD must be an integer, not {env!r}") from None
        if value < 1:
            raise TauraroError("TAURARO_JIT_THRESHOLD must be at least 1")
        return value
    return DEFAULT_THRESHOLD


@dataclass
class ExitPlan:
    """How the VM applies one exit: slots to read back, host objects and iterators to restore."""

    resume_pc: int
    reason: ExitReason
    line: int
    reads: list[tuple[str, Any, int]]  # (kind "reg"/"global", key, slot)
    objects: list[tuple[str, Any, Any]]  # (kind, key, value)
    iterators: list[tuple[int, int, int, int]]  # (reg, cur slot, stop slot, step)
    list_copies: list[tuple[str, Any, int]]  # (kind, key, slot whose entry list the register gets)


@dataclass
class Variant:
    """One compiled version of a loop, for one entry signature."""

    compiled: Any
    frame: int
    plans: list[ExitPlan]
    writes: list[tuple[int, str, Any]]  # (slot, kind, key) written at entry
    iter_writes: list[tuple[int, int, int]]  # (register, cur slot, stop slot)
    mirrors_lists: bool = False  # the loop indexes lists: mirror list values into linear memory
    entries: int = 0
    iterations: int = 0
    copied: int = 0  # list elements mirrored in at entries
    exits: Counter = field(default_factory=Counter)


@dataclass
class LoopState:
    """Everything the driver knows about one loop of one code object."""

    code: CodeObject
    loop_id: int
    region: LoopRegion | None = None
    variants: dict[tuple, Variant] = field(default_factory=dict)
    failed: set = field(default_factory=set)
    blacklisted: str | None = None
    misses: int = 0
    deferred: bool = False  # leaves big-list work to an enclosing loop while that one may compile

    @property
    def location(self) -> str:
        return f"{self.code.filename}:{self.code.loops[self.loop_id].line}"


class JitDriver:
    """Per-run JIT state: backend, linear memory, loops, stats, log and dumps."""

    def __init__(self, backend: str, threshold: int | None, stats: JitStats, options: dict[str, Any]) -> None:
        from ..backends.base import get_backend

        self.backend_name = backend
        self.backend = get_backend(backend)
        if hasattr(self.backend, "configure"):
            self.backend.configure(options)
        self.memory = self.backend.make_memory()
        self._cache_hits_before = self._backend_cache_hits()
        self.threshold = threshold if threshold is not None else default_threshold()
        if self.threshold < 1:
            raise TauraroError("the JIT threshold must be at least 1")
        self.stats = stats
        self.dump = set(options.get("dump", ()))
        self.log_enabled = bool(options.get("jit_log"))
        self.out = options.get("dump_stream") or sys.stderr
        self.target = options.get("target")
        self.verify = bool(os.environ.get("TAURARO_JIT_VERIFY"))
        self.loops: dict[tuple[int, int], LoopState] = {}
        self.counters: dict[tuple[int, int], list[int]] = {}
        self.compiled: list[Any] = []
        self._interrupt = _InterruptWatcher(self)
        self._interrupt.start()

    # --- observability ---------------------------------------------------------------------------
    def log(self, message: str) -> None:
        if self.log_enabled:
            self.out.write(f"[jit] {message}\n")
            self.out.flush()

    def abort(self, state: LoopState, reason: AbortReason, detail: str, line: int | None = None) -> None:
        line = line if line is not None else state.code.loops[state.loop_id].line
        self.stats.aborts.append({"line": line, "reason": f"{reason}: {detail}"})
        self.log(f"abort {state.code.filename}:{line}: {reason}: {detail}")

    def blacklist(self, vm: Any, state: LoopState, why: str) -> None:
        state.blacklisted = why
        self.stats.blacklisted += 1
        self.log(f"blacklist {state.location}: {why}")
        self._uninstall(vm, state)

    # --- hot-loop detection -------------------------------------------------------------------------
    def back_edge_handler(self, vm: Any, code: CodeObject, pc: int, ins: Instr) -> Callable[[list], int]:
        target, loop_id = ins.a, ins.b
        key = (id(code), loop_id)
        count = self.counters.setdefault(key, [0])  # shared by the loop's back-edges (continue, end)
        threshold = self.threshold

        def h(R: list) -> int:
            count[0] += 1
            if count[0] < threshold:
                return target
            count[0] = 0
            return self.hot(vm, code, loop_id, R, target)

        if key in self.loops and self.loops[key].variants and not self.loops[key].blacklisted:
            return self._entry_handler(vm, self.loops[key], target)
        return h

    def hot(self, vm: Any, code: CodeObject, loop_id: int, R: list, header: int) -> int:
        key = (id(code), loop_id)
        state = self.loops.get(key)
        if state is None:
            state = self.loops[key] = LoopState(code, loop_id)
        if state.blacklisted:
            self._uninstall(vm, state)
            return header
        if state.deferred and self._enclosing_pending(state):
            return header
        if self.enter_or_compile(vm, state, R) is None:
            return header
        self._install(vm, state)
        return self.enter(vm, state, R, header)

    def _install(self, vm: Any, state: LoopState) -> None:
        rt = state.code.runtime
        info = state.code.loops[state.loop_id]
        for pc, ins in enumerate(state.code.instrs):
            if ins.op == "JumpBack" and ins.b == state.loop_id:
                rt.handlers[pc] = self._entry_handler(vm, state, ins.a)
        rt.handlers[info.setup] = self._entry_handler(vm, state, info.header)

    def _uninstall(self, vm: Any, state: LoopState, counting: bool = False) -> None:
        """Give the loop back to the interpreter: plain back-edges, or counting ones (`counting`)."""
        rt = state.code.runtime
        info = state.code.loops[state.loop_id]
        for variant in state.variants.values():
            variant.compiled.release()
            self.memory.free_frame(variant.frame)
        state.variants.clear()
        for pc, ins in enumerate(state.code.instrs):
            if ins.op == "JumpBack" and ins.b == state.loop_id:
                target = ins.a
                if counting:
                    rt.handlers[pc] = self.back_edge_handler(vm, state.code, pc, ins)
                else:
                    rt.handlers[pc] = lambda R, t=target: t
        nxt = info.setup + 1
        rt.handlers[info.setup] = lambda R: nxt

    def _entry_handler(self, vm: Any, state: LoopState, header: int) -> Callable[[list], int]:
        def h(R: list) -> int:
            return self.enter(vm, state, R, header)
        return h

    # --- compiling ---------------------------------------------------------------------------------
    def enter_or_compile(self, vm: Any, state: LoopState, R: list) -> Variant | None:
        """The variant for the current entry values, compiling it if needed (None: cannot)."""
        if state.region is None:
            state.region = extract_region(state.code, state.code.loops[state.loop_id])
        values = self._values(vm, state.region, R)
        sig = tuple(classify(v) for v in values)
        variant = state.variants.get(sig)
        if variant is not None:
            return variant
        if sig in state.failed or state.blacklisted:
            return None
        if len(state.variants) >= MAX_VARIANTS:
            self.blacklist(vm, state, f"more than {MAX_VARIANTS} type signatures")
            return None
        try:
            variant = self.compile_loop(state, values)
        except Abort as e:
            state.failed.add(sig)
            self.abort(state, e.reason, e.detail)
            if not state.variants:
                self.blacklist(vm, state, str(e.reason))
            return None
        except Exception as e:  # noqa: BLE001 - a JIT failure never changes the program's behaviour
            state.failed.add(sig)
            reason = AbortReason.BACKEND if not isinstance(e, NotImplementedError) else AbortReason.UNSUPPORTED_OP
            self.abort(state, reason, f"{type(e).__name__}: {e}".splitlines()[0])
            if not state.variants:
                self.blacklist(vm, state, str(reason))
            return None
        state.variants[sig] = variant
        return variant

    def compile_loop(self, state: LoopState, values: list[Any]) -> Variant:
        """The pipeline: translate -> optimise -> emit, timing each phase."""
        region = state.region
        phases = self.stats.compile_seconds_by_phase
        start = time.perf_counter()
        name = f"loop_{state.code.name.strip('<>')}_{state.loop_id}_{len(state.variants)}"
        translator = Translator(region, values, name, state.location,
                                lists=getattr(self.backend, "supports_lists", False))
        fn = translator.translate()
        t1 = time.perf_counter()
        if "ir" in self.dump:
            self.out.write(f"== IR {fn.location} (built)\n{format_function(fn)}\n")
        fn = optimize(fn, verify=self.verify, timings=None)
        t2 = time.perf_counter()
        if "ir" in self.dump:
            self.out.write(f"== IR {fn.location} (optimised)\n{format_function(fn)}\n")
        compiled = self.backend.compile(fn, self.memory)
        t3 = time.perf_counter()
        phases["translate"] += t1 - start
        phases["optimize"] += t2 - t1
        phases["backend"] += t3 - t2
        self.stats.compile_seconds += t3 - start
        self.stats.loops_compiled += 1
        self.compiled.append(compiled)
        frame = self.memory.alloc_frame(fn.nslots)
        variant = Variant(compiled, frame, self._plans(fn, region), *self._writes(region),
                          mirrors_lists=translator.mirrors_lists)
        nops = sum(len(b.ops) for b in fn.blocks)
        nguards = sum(1 for b in fn.blocks for op in b.ops if op.snapshot is not None)
        self.log(f"compiled loop {state.location} ({self.backend_name}, {nops} ops, {nguards} guards) "
                 f"in {(t3 - start) * 1000:.1f} ms")
        for line, detail in translator.exits_unsupported:
            self.log(f"side exit {state.code.filename}:{line}: {detail}")
        self._dump_compiled(fn, compiled)
        return variant

    def _dump_compiled(self, fn: Any, compiled: Any) -> None:
        if "snapshots" in self.dump:
            self.out.write(f"== snapshots {fn.location}\n")
            for i, snap in enumerate(fn.snapshots):
                slots = ", ".join(f"{fn.slot_names.get(s, s)}={v!r}" for s, v in sorted(snap.slots.items()))
                self.out.write(f"  exit {i}: pc={snap.resume_pc} line={snap.line} {snap.reason}: {slots}\n")
        for kind in ("llvm", "asm", "wat"):
            if kind in self.dump:
                try:
                    if self.target and kind == "asm":
                        text = compiled.dump(kind, target=self.target)
                    else:
                        text = compiled.dump(kind)
                except (NotImplementedError, KeyError, TypeError, ValueError) as e:
                    text = f"(no {kind} dump from the {self.backend_name} backend: {e})"
                self.out.write(f"== {kind} {fn.location}\n{text}\n")

    @staticmethod
    def _plans(fn: Any, region: LoopRegion) -> list[ExitPlan]:
        plans = []
        for snap in fn.snapshots:
            reads = []
            for slot in sorted(snap.slots):
                ref = region.slots[slot]
                if ref.kind in ("reg", "global"):
                    reads.append((ref.kind, ref.key, slot))
            extras = getattr(snap, "extras", None)
            objects = [(ref.kind, ref.key, v) for ref, v in extras.objects.items()] if extras else []
            iterators = list(extras.iterators) if extras else []
            copies = [(ref.kind, ref.key, src) for ref, src in extras.list_copies.items()] if extras else []
            plans.append(ExitPlan(snap.resume_pc, snap.reason, snap.line, reads, objects, iterators, copies))
        return plans

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
        G, B = vm.globals, vm.builtins
        live = region.live_at(region.header)
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
        variant = self.enter_or_compile(vm, state, R)
        if variant is None:
            state.misses += 1
            if state.misses >= MISS_LIMIT and not state.blacklisted:
                self.blacklist(vm, state, "entry types keep changing")
            return header
        memory, frame = self.memory, variant.frame
        G = vm.globals
        mirrors: dict[int, tuple[int, list]] = {}  # id(list) -> (object offset, list)
        entered: dict[int, Any] = {}  # slot -> the list object it held at entry
        for slot, kind, key in variant.writes:
            value = R[key] if kind == "reg" else G.get(key)
            t = type(value)
            if t is int or t is float or t is bool:
                boxed = box(value)
                if boxed is not None:
                    memory.write_slot(frame, slot, boxed[0], boxed[1])
                    continue
            elif t is list and variant.mirrors_lists:
                mirror = mirrors.get(id(value))
                if mirror is None and len(value) > BIG_LIST and not state.deferred and self._heat_enclosing(state):
                    # Copying a big list at every entry of an inner loop costs more than it saves:
                    # run this entry, then leave the loop to its enclosing one, which compiles at its
                    # next back-edge and copies the list once.
                    state.deferred = True
                    self.log(f"defer {state.location} to its enclosing loop ({len(value)}-element list)")
                if mirror is None:
                    p = mirror_in(memory, value)
                    if p is None:  # an element without a cell form: this entry stays interpreted
                        self._release_mirrors(mirrors)
                        state.misses += 1
                        return header
                    mirror = mirrors[id(value)] = (p, value)
                    variant.copied += len(value)
                memory.write_slot(frame, slot, Tag.LIST, mirror[0])
                entered[slot] = value
                continue
            memory.write_slot(frame, slot, Tag.EMPTY, 0)
        for reg, cur_slot, stop_slot in variant.iter_writes:
            it = R[reg]
            if type(it).__name__ == "range_iterator":
                cur, stop, _step = range_iterator_state(it)
                memory.write_slot(frame, cur_slot, Tag.INT, cur)
                memory.write_slot(frame, stop_slot, Tag.INT, stop)
        memory.set_interrupt(frame, 0)
        t0 = time.perf_counter()
        try:
            n = variant.compiled.run(frame)
        except InternalJitError:
            raise
        except Exception as e:
            raise InternalJitError(f"compiled loop {state.location} failed: {type(e).__name__}: {e}") from e
        self.stats.native_seconds += time.perf_counter() - t0
        self.stats.native_entries += 1
        plan = variant.plans[n]
        iterations = memory.iterations(frame)
        if mirrors:
            for p, lst in mirrors.values():
                mirror_out(memory, p, lst)
            self._release_mirrors(mirrors)
            for kind, key, slot in plan.list_copies:
                if kind == "reg":
                    R[key] = entered[slot]
                else:
                    G[key] = entered[slot]
        self._apply_exit(vm, plan, R, memory, frame)
        variant.entries += 1
        variant.iterations += iterations
        variant.exits[n] += 1
        self.stats.exits_taken += 1
        self.stats.exits_by_reason[str(plan.reason)] += 1
        if state.deferred:
            self._uninstall(vm, state, counting=True)
        elif (variant.entries >= STORM_ENTRIES and variant.entries % STORM_ENTRIES == 0) or (
                variant.entries >= 2 and variant.copied > COPY_RATIO * variant.iterations + 64 * variant.entries):
            self._check_storm(vm, state, variant)
        return plan.resume_pc

    def _release_mirrors(self, mirrors: dict[int, tuple[int, list]]) -> None:
        for p, _lst in mirrors.values():
            release_mirror(self.memory, p)

    @staticmethod
    def _apply_exit(vm: Any, plan: ExitPlan, R: list, memory: Any, frame: int) -> None:
        G = vm.globals
        for kind, key, slot in plan.reads:
            tag, payload = memory.read_slot(frame, slot)
            value = unbox(tag, payload)
            if kind == "reg":
                R[key] = value
            else:
                G[key] = value
        for kind, key, value in plan.objects:
            if kind == "reg":
                R[key] = value
            else:
                G[key] = value
        for reg, cur_slot, stop_slot, step in plan.iterators:
            cur = memory.read_slot(frame, cur_slot)[1]
            stop = memory.read_slot(frame, stop_slot)[1]
            R[reg] = iter(range(cur, stop, step))

    def _enclosing_pending(self, state: LoopState) -> bool:
        """Whether a loop around this one may still compile (it has not been blacklisted)."""
        inner = state.code.loops[state.loop_id]
        for info in state.code.loops:
            if info.header < inner.header and inner.pop < info.pop:
                outer = self.loops.get((id(state.code), info.loop_id))
                if outer is None or not outer.blacklisted:
                    return True
        return False

    def _heat_enclosing(self, state: LoopState) -> bool:
        """Make the loops around this one compile at their next back-edge (they are entered less
        often); False when no enclosing loop can still compile."""
        inner = state.code.loops[state.loop_id]
        heated = False
        for info in state.code.loops:
            if info.header < inner.header and inner.pop < info.pop:
                outer = self.loops.get((id(state.code), info.loop_id))
                if outer is not None and (outer.blacklisted or outer.variants):
                    continue
                self.counters.setdefault((id(state.code), info.loop_id), [0])[0] = self.threshold
                heated = True
        return heated

    def _check_storm(self, vm: Any, state: LoopState, variant: Variant) -> None:
        average = variant.iterations / max(1, variant.entries)
        if variant.copied > COPY_RATIO * variant.iterations + 64 * variant.entries:
            # Copying lists in and out costs more than the loop saves: let an enclosing loop (entered
            # once) compile instead, or keep interpreting.
            self.blacklist(vm, state, f"list copies ({variant.copied} elements) outweigh "
                                      f"{variant.iterations} iterations")
            self._heat_enclosing(state)
            return
        if average >= STORM_MIN_ITERATIONS:
            return
        n, count = variant.exits.most_common(1)[0]
        plan = variant.plans[n]
        if plan.reason in (ExitReason.LOOP_EXIT, ExitReason.BREAK, ExitReason.RETURN):
            why = f"short loop ({average:.1f} iterations per entry)"
        else:
            self.stats.exit_storms += 1
            why = f"exit storm: exit {n} ({plan.reason}, line {plan.line}) {count} times"
            self.log(f"exit storm {state.location} exit {n} ({plan.reason})")
        self.blacklist(vm, state, why)

    # --- end of run ------------------------------------------------------------------------------------
    def interrupt(self) -> None:
        """Called from the interrupt watcher thread when SIGINT arrives: stop compiled loops."""
        self.memory.interrupt_all(1)
        hook = getattr(self.backend, "interrupt", None)
        if hook is not None:
            hook()

    def finish(self) -> None:
        self._interrupt.stop()
        self.stats.cache_hits = self._backend_cache_hits() - self._cache_hits_before

    def _backend_cache_hits(self) -> int:
        hits = getattr(self.backend, "cache_hits", 0)
        return hits if isinstance(hits, int) else 0


_DEAD = object()  # the value of a slot whose register is dead at loop entry (never loaded)


class _InterruptWatcher:
    """Turns SIGINT into a flag compiled code polls, while the main thread is inside native code.

    Python's C-level signal handler writes the signal number to the wakeup fd even while the main
    thread runs a ctypes call (which released the GIL); this thread reads it and sets the interrupt
    flag of every frame window. When compiled code returns, Python raises KeyboardInterrupt as usual.
    """

    def __init__(self, driver: JitDriver) -> None:
        self.driver = driver
        self.thread: threading.Thread | None = None
        self.sockets: tuple[socket.socket, socket.socket] | None = None
        self.previous_fd = -1

    def start(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        try:
            reader, writer = socket.socketpair()
            reader.setblocking(True)
            writer.setblocking(False)
            self.previous_fd = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
        except (ValueError, OSError):
            return
        self.sockets = (reader, writer)
        self.thread = threading.Thread(target=self._watch, name="tauraro-interrupt", daemon=True)
        self.thread.start()

    def _watch(self) -> None:
        reader = self.sockets[0]
        while True:
            try:
                data = reader.recv(64)
            except OSError:
                return
            if not data:
                return
            if signal.SIGINT in data:
                self.driver.interrupt()

    def stop(self) -> None:
        if self.sockets is None:
            return
        try:
            signal.set_wakeup_fd(self.previous_fd)
        except (ValueError, OSError):
            pass
        reader, writer = self.sockets
        self.sockets = None
        try:
            writer.close()
            reader.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        reader.close()
