"""Function units: a function called often is compiled whole, specialised on its argument types, and entered natively.

The VM asks `CodeRuntime.entry` at every plain call (tauraro/vm.py, CallFunction): None means
interpret; otherwise the entry gets the caller's registers and returns the result, or NOT_NATIVE to
interpret the call. Until a function is hot the entry is jit/hot.py's counter; then it is
`FunctionState.enter` (or None again when the function cannot be compiled or stopped paying).

A unit runs on a stack of frame windows in linear memory (one allocation per variant, room for the
recursion limit): a call op of the unit itself writes the arguments into the next window and calls
natively (docs/jit.md section 7). Compiled units have no effects (no global or list stores), so any
exit, at any depth, is handled by running the whole call again in the interpreter from its start:
the VM then raises, overflows into big ints or changes types exactly where it would have without
the JIT. The depth word of each window carries the Tauraro call depth, so recursion past the
limit exits too, and the interpreter raises RecursionError at the same call.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from time import perf_counter
from typing import TYPE_CHECKING, Any

from ..bytecode import CodeObject
from ..runtime import NOT_NATIVE
from ..vm import globals_of
from .analysis import back_edges
from .hot import UNIT_ARGUMENT_TYPES
from .ir import BOOL, F64, I64
from .layout import (
    HDR_DEPTH,
    HDR_INTERRUPT,
    HDR_ITERATIONS,
    HEADER_SIZE,
    I64_MAX,
    I64_MIN,
    MAX_CALL_DEPTH,
    RETURN_EXIT,
    Tag,
    frame_size,
)
from .policy import ENTRY_COST
from .reasons import AbortReason
from .region import LoopRegion, extract_function_region
from .translate import Abort, Translator

if TYPE_CHECKING:
    from .driver import JitDriver

MAX_FUNCTION_VARIANTS = 4  # argument type signatures compiled per function
_TYPE_OF = {int: I64, float: F64, bool: BOOL}
assert set(_TYPE_OF) == UNIT_ARGUMENT_TYPES, "jit/hot.py's cheap argument check must take what units take"
_INT, _FLOAT, _BOOL = int(Tag.INT), int(Tag.FLOAT), int(Tag.BOOL)
_CHECK_EVERY = 64  # native calls between judging whether exits make a function a loss


@dataclass(eq=False)
class FunctionVariant:
    """One compiled version of a function, for one tuple of argument types."""

    compiled: Any
    stack: int  # offset of the first frame window of its stack
    globals: list[tuple[str, Any]]  # (name, object) the code was compiled against: checked at entry
    calls: int = 0
    exits: int = 0
    # The entry ledger of a unit without recursion (jit/policy.py's unit: interpreted instructions):
    # each native call saves its straight-line instructions plus those of its loops' iterations.
    judged: bool = False
    per_call: int = 0
    per_iteration: int = 0
    saved: int = 0


@dataclass(eq=False)
class FunctionState:
    """Everything the driver knows about one function's code object."""

    code: CodeObject
    region: LoopRegion | None = None
    variants: dict[tuple, FunctionVariant] = field(default_factory=dict)
    failed: set = field(default_factory=set)
    given_up: str | None = None
    misses: int = 0  # calls no variant could take

    @property
    def location(self) -> str:
        return f"{self.code.filename}:{self.code.firstline}"


class FunctionUnits:
    """The driver's function units: compiling on the hot call, entering, giving up."""

    def __init__(self, driver: JitDriver) -> None:
        self.driver = driver
        self.states: dict[int, FunctionState] = {}

    def hot(self, vm: Any, code: CodeObject, args: list) -> Any:
        """The function just got hot at a call with `args`: install the native entry (or None)
        and run this call natively if that works; returns the result or NOT_NATIVE."""
        state = self.states.get(id(code))
        if state is None:
            state = self.states[id(code)] = FunctionState(code)
        rt = code.runtime
        if self.driver._closed:
            rt.entry = None
            return NOT_NATIVE
        rt.entry = lambda R, first, end: self.enter(vm, state, R[first:end])
        return self.enter(vm, state, args)

    def enter(self, vm: Any, state: FunctionState, args: list) -> Any:
        variant = state.variants.get(tuple(map(type, args)))
        if variant is None:
            variant = self._variant(vm, state, tuple(map(type, args)), args)
            if variant is None:
                return self._miss(state)
        if variant.globals:
            G, B = globals_of(vm, state.code), vm.builtins
            for name, obj in variant.globals:
                if (G[name] if name in G else B.get(name)) is not obj:
                    return self._miss(state)  # a global was rebound: compiled against another value
        if vm.depth >= MAX_CALL_DEPTH:
            return NOT_NATIVE  # the interpreter raises RecursionError
        # The argument slots, written inline (this is the cost of every native call from the VM).
        memory, frame = self.driver.memory, variant.stack
        q, d = memory.words, memory.doubles
        w = slot0 = (frame + HEADER_SIZE) >> 3
        for a in args:
            t = type(a)
            if t is float:
                q[w] = _FLOAT
                d[w + 1] = a
            elif t is int:
                if not I64_MIN <= a <= I64_MAX:
                    return NOT_NATIVE  # an int beyond i64
                q[w] = _INT
                q[w + 1] = a
            else:
                q[w] = _BOOL
                q[w + 1] = 1 if a else 0
            w += 2
        q[(frame + HDR_DEPTH) >> 3] = vm.depth + 1  # the callee's frame counts, as in VM.call
        stats = self.driver.stats
        stats.function_calls += 1
        t0 = perf_counter()
        n = variant.compiled.run(frame)
        stats.native_seconds += perf_counter() - t0
        variant.calls += 1
        if n == RETURN_EXIT:
            if variant.judged:
                variant.saved += variant.per_call + variant.per_iteration * q[(frame + HDR_ITERATIONS) >> 3]
                if variant.calls % _CHECK_EVERY == 0 and variant.saved < variant.calls * ENTRY_COST:
                    self._give_up(state, f"a call does about {variant.saved // variant.calls} interpreted "
                                         f"instructions' work; entering compiled code costs about {ENTRY_COST:.0f}")
            tag = q[slot0]
            return q[slot0 + 1] if tag == _INT else d[slot0 + 1] if tag == _FLOAT else q[slot0 + 1] != 0
        q[(frame + HDR_INTERRUPT) >> 3] = 0
        stats.function_exits += 1
        variant.exits += 1
        if variant.calls % _CHECK_EVERY == 0 and variant.exits * 4 > variant.calls:
            self._give_up(state, f"{variant.exits} of {variant.calls} native calls left compiled code")
        return NOT_NATIVE

    def _miss(self, state: FunctionState) -> Any:
        """A call no variant could take: after many, more than native ones, stop checking calls."""
        state.misses += 1
        if state.misses > _CHECK_EVERY and state.misses > 4 * sum(v.calls for v in state.variants.values()):
            self._give_up(state, f"{state.misses} calls had argument types or globals it was not compiled for")
        return NOT_NATIVE

    def _variant(self, vm: Any, state: FunctionState, sig: tuple, args: list) -> FunctionVariant | None:
        if state.given_up or sig in state.failed:
            return None
        if len(state.variants) >= MAX_FUNCTION_VARIANTS or not all(t in _TYPE_OF for t in sig):
            state.failed.add(sig)
            return None
        try:
            variant = self.compile(vm, state, args)
        except Abort as e:
            return self._failed(state, sig, e.reason, e.detail)
        except Exception as e:  # noqa: BLE001 - a JIT failure never changes the program's behaviour
            reason = AbortReason.UNSUPPORTED_OP if isinstance(e, NotImplementedError) else AbortReason.BACKEND
            return self._failed(state, sig, reason, f"{type(e).__name__}: {e}".splitlines()[0])
        state.variants[sig] = variant
        return variant

    def _failed(self, state: FunctionState, sig: tuple, reason: AbortReason, detail: str) -> None:
        state.failed.add(sig)
        driver = self.driver
        text = reason.explain(detail=detail, backend=driver.backend_name)
        driver.log(f"abort function {state.code.name} {state.location}: {reason}: {text}")
        if not state.variants:
            self._give_up(state, None)
        return None

    def _give_up(self, state: FunctionState, why: str | None) -> None:
        """Calls of this function stay interpreted from now on (no entry check either)."""
        state.given_up = why or "not compiled"
        if why:
            self.driver.log(f"blacklist function {state.code.name} {state.location}: {why}")
        state.code.runtime.entry = None
        self._release(state)

    def _release(self, state: FunctionState) -> None:
        for variant in state.variants.values():
            variant.compiled.release()
            self.driver.memory.free(variant.stack)
        state.variants.clear()

    def compile(self, vm: Any, state: FunctionState, args: list) -> FunctionVariant:
        """Translate (first guessing the result type from the arguments, then the type the returns
        have), optimise and emit one variant."""
        driver = self.driver
        phases = driver.stats.compile_seconds_by_phase
        start = time.perf_counter()
        if state.region is None:
            state.region = extract_function_region(state.code)
        region = state.region
        values = self._values(vm, region, args)
        name = f"fn_{state.code.name.strip('<>')}_{len(state.variants)}"
        location = state.location
        guess = F64 if F64 in (_TYPE_OF[type(a)] for a in args) else I64
        translator = Translator(region, values, name, location, result=guess)
        fn = translator.translate()
        if translator.ret_types != {guess}:
            other = translator.ret_types - {guess}
            if len(other) != 1:
                raise Abort(AbortReason.UNSUPPORTED_TYPE, "its returns have several types")
            translator = Translator(region, values, name, location, result=other.pop())
            fn = translator.translate()
        phases["translate"] += time.perf_counter() - start
        if not back_edges(fn) and not any(op.opcode.startswith("call.") for b in fn.blocks for op in b.ops):
            # Entering native code costs about what interpreting ~100 instructions does (jit/policy.py):
            # a function without a loop or recursion does less per call.
            raise Abort(AbortReason.SMALL, "it has no loop and does not call itself")
        if driver._backend is None:
            driver._load_backend()
            start += phases["backend_load"]
        fn, compiled, seconds = driver.optimize_and_emit(fn, start, "IR function")
        driver.stats.functions_compiled += 1
        # One window per Tauraro frame up to the recursion limit, plus the entry's (see the call op).
        window = frame_size(fn.nslots)
        stack = driver.memory.alloc(window * (MAX_CALL_DEPTH + 2))
        nops = sum(len(b.ops) for b in fn.blocks)
        nguards = sum(1 for b in fn.blocks for op in b.ops if op.snapshot is not None)
        types = ", ".join(str(_TYPE_OF[type(a)]) for a in args)
        driver.log(f"compiled function {state.code.name}({types}) -> {translator.result} {location} "
                   f"({driver.backend_name}, {nops} ops, {nguards} guards) in {seconds * 1000:.1f} ms")
        for line, detail in translator.exits_unsupported:
            driver.log(f"side exit {state.code.filename}:{line}: the function {detail.removeprefix('the loop ')}")
        driver._dump_compiled(fn, compiled)
        globals_ = [(ref.key, values[slot]) for slot, ref in enumerate(region.slots) if ref.kind == "global"]
        variant = FunctionVariant(compiled, stack, globals_)
        if not any(op.opcode.startswith("call.") for b in fn.blocks for op in b.ops):
            loops = state.code.loops
            variant.judged = True
            variant.per_call = len(state.code.instrs) - sum(info.pop - info.header for info in loops)
            variant.per_iteration = max((info.pop - info.header for info in loops), default=0)
        return variant

    @staticmethod
    def _values(vm: Any, region: LoopRegion, args: list) -> list[Any]:
        """Entry values per slot: the arguments, the globals the function names, nothing else."""
        G, B = globals_of(vm, region.code), vm.builtins
        out: list[Any] = []
        for slot, ref in enumerate(region.slots):
            if slot < len(args):
                out.append(args[slot])
            elif ref.kind == "global":
                out.append(G[ref.key] if ref.key in G else B.get(ref.key))
            else:
                out.append(_UNSET)
        return out

    def finish(self) -> None:
        for state in self.states.values():
            if state.code.runtime is not None:
                state.code.runtime.entry = None
            for variant in state.variants.values():
                variant.compiled.release()
            state.variants.clear()


_UNSET = object()  # a register with no value at function entry (never loaded)
