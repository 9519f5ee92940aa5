"""IR building: abstract interpretation of a loop's quickened bytecode over the types of its live values.

Every bytecode block of the region becomes an IR block whose parameters are the live slots' values;
types come from the values at entry and flow forward (a merge whose types disagree aborts the
compile). An instruction the translator does not model ends its path with an `exit` to the
interpreter at that instruction (reason UNSUPPORTED): unsupported code never blocks compilation.
Snapshots list the live slots at the resume pc; host constants and range iterators that must be
rebuilt are attached to each snapshot as `snap.extras` for the driver.

Worlds: blocks are keyed by (world, leader pc). World 0 starts at the loop header with the entry
types. When a back-edge brings the loop's header other types than its block was built for
(typically the first iteration: a variable first assigned inside the loop, or the loop variable
itself when it is read after the loop), the header and the blocks it reaches are built again in a
new world for those types (at most MAX_WORLDS), instead of exiting at every entry's first back-edge.
"""
from __future__ import annotations

import heapq
import math
import types
from dataclasses import dataclass
from typing import Any, NamedTuple

from ..bytecode import CALLS, GENERIC_OF, JUMPS, OPCODES, CodeObject, Instr, register_effects
from ..runtime import UNBOUND, Function
from .analysis import back_edges
from .deopt import SnapshotExtras
from .ir import (
    BOOL,
    F64,
    I64,
    LIBM2_FUNCTIONS,
    LIBM_FUNCTIONS,
    PTR,
    TAG_TYPE,
    Block,
    IRBuilder,
    LoopFunction,
    Type,
    Value,
    const_of,
)
from .layout import Tag, is_i64
from .lists import NOTHING, first_uncopyable
from .reasons import AbortReason, ExitReason, Unsupported, bytecode_what
from .region import LoopRegion, classify, is_list_key

_ELEM_TYPES = {int: I64, float: F64, bool: BOOL}  # a list's first element predicts what list.get reads
EXACT_FLOAT_INT = 2 ** 53
MAX_BLOCKS = 400
MAX_WORLDS = 3  # copies of the loop for the types of its first iterations (see _world_for)
SCAN = object()  # describe_value's default: it finds a list's first uncopyable item itself


class Abort(Exception):
    """The loop cannot be compiled at all."""

    def __init__(self, reason: AbortReason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class TypeMismatch(Exception):
    """An edge reaches a block with slot types other than the block was built for."""


class SideExit(Exception):
    """This instruction is not modelled: leave to the interpreter right before it.

    `reason` and `fields` fill the plain explanation of reasons.Unsupported (`detail`)."""

    def __init__(self, reason: Unsupported, /, **fields: Any) -> None:
        self.reason = reason
        self.detail = reason.explain(**fields)
        super().__init__(self.detail)


# Abstract values of a slot: Value (typed SSA), Obj (host constant), It (virtual range iterator),
# Rng (virtual range object, only between range() and GetIter) or None (unchanged entry value).
@dataclass(frozen=True)
class Obj:
    value: Any


@dataclass(frozen=True)
class It:
    cur: Value
    stop: Value
    step: int
    entered: bool = False  # the iterator object the loop entered with (the program may hold it too)


@dataclass(frozen=True)
class Lst:
    """A list mirrored into linear memory (object offset `ptr`), entered through slot `source`."""

    ptr: Value
    source: int
    elem: Type


@dataclass(frozen=True)
class Rng:
    start: Value
    stop: Value
    step: int


def _op_kind(op: str) -> str:
    """'Add', 'Less', ... for generic, in-place and quickened arithmetic/compare ops."""
    generic = GENERIC_OF.get(op, op)
    for prefix in ("Binary", "Inplace", "Compare"):
        if generic.startswith(prefix):
            return generic[len(prefix):-2]
    return generic


ARITH_I64 = {"Add": "add.i64", "Sub": "sub.i64", "Mul": "mul.i64", "FloorDiv": "floordiv.i64",
             "Mod": "mod.i64", "Div": "truediv.i64", "LShift": "lshift.i64", "RShift": "rshift.i64",
             "And": "and.i64", "Or": "or.i64", "Xor": "xor.i64"}
ARITH_F64 = {"Add": "add.f64", "Sub": "sub.f64", "Mul": "mul.f64", "Div": "div.f64",
             "FloorDiv": "floordiv.f64", "Mod": "mod.f64"}
ARITH_BOOL = {"And": "and.bool", "Or": "or.bool", "Xor": "ne.bool"}
COMPARE = {"Less": "lt", "LessEqual": "le", "Greater": "gt", "GreaterEqual": "ge", "Equal": "eq",
           "NotEqual": "ne"}
NATIVE_BUILTINS = (range, len, abs, min, max, int, float, bool, round)  # besides math functions: reasons.NATIVE_CALLS
# The math module's functions as imported: a function is compiled natively only if it is the very
# object found here (so a name rebound to something else, even in `math` itself, is a plain call).
_MATH_FUNCTIONS: dict[str, Any] = {k: v for k, v in vars(math).items() if callable(v)}
_MATH_UNARY = frozenset(("sqrt", "fabs", "isnan", "isinf", "isfinite", *LIBM_FUNCTIONS))


class Translator:
    """Builds the LoopFunction of one region for one set of entry values."""

    def __init__(self, region: LoopRegion, entry_values: list[Any], name: str, location: str,
                 lists: bool = True, result: Type | None = None) -> None:
        self.region = region
        # A function unit (region of a whole function, docs/jit.md section 7): `return` becomes `ret`
        # of type `result`, calls of the function itself become call ops; no lists, no global stores.
        self.unit = region.loop.kind == "function"
        self.result = result
        self.ret_types: set[Type] = set()
        self.param_types: tuple[Type, ...] = ()
        lists = lists and not self.unit
        self.mirrors_lists = lists and region.indexes_lists  # lists the loop indexes live in linear memory
        self.code = region.code
        self.entry_values = entry_values
        self.fn = LoopFunction(name, location, len(region.slots),
                               {i: s.name for i, s in enumerate(region.slots)}, entry_pc=region.header)
        self.b = IRBuilder(self.fn)
        # Blocks are keyed by (world, leader): see "Worlds" in the module docstring.
        self.blocks: dict[tuple[int, int], Block] = {}
        self.block_layout: dict[tuple[int, int], list[tuple[int, str]]] = {}  # [(slot, kind)] of params
        self.block_state: dict[tuple[int, int], dict[int, Any]] = {}  # abstract values at entry
        self.world_entries: list[int] = []  # world -> the loop header pc it starts at
        self.world = 0  # the world of the block being translated
        self._pending: list[tuple[int, int]] = []  # defined, not yet translated (heap of keys)
        self.state: dict[int, Any] = {}
        self.pc = 0
        self.line = region.loop.line
        self.exits_unsupported: list[tuple[int, str]] = []
        self.list_slots: set[int] = set()  # slots whose entry list is mirrored into linear memory
        self.uncopyable: dict[int, Any] = {}  # slot -> what _uncopyable found in its entry list

    # --- entry -----------------------------------------------------------------------------------
    def translate(self) -> LoopFunction:
        region = self.region
        self.leaders = leaders = region.block_leaders()
        if len(leaders) > MAX_BLOCKS:
            raise Abort(AbortReason.TOO_LARGE, f"{len(leaders)} blocks")
        self.block_end = {leader: leaders[i + 1] if i + 1 < len(leaders) else region.end
                          for i, leader in enumerate(leaders)}
        entry = self.b.new_block("entry")
        self.b.set_block(entry)
        guard = self.b.snapshot(region.header, {}, ExitReason.GUARD_TYPE, line=self.line)
        self.state = self._entry_state(guard)
        self.world_entries.append(region.header)
        self._jump_to(region.header, self.state)
        while self._pending:  # lowest (world, pc) first: within a world, bytecode order
            key = heapq.heappop(self._pending)
            self.world = key[0]
            self._translate_block(key, self.block_end[key[1]])
        self.fn.nslots = len(region.slots)
        self.fn.slot_names = {i: s.name for i, s in enumerate(region.slots)}
        if self.unit:
            if not self.ret_types:
                raise Abort(AbortReason.NO_RETURN, self.why_no_iteration().replace("the loop ", "the function "))
        elif not back_edges(self.fn):
            raise Abort(AbortReason.NO_ITERATION, self.why_no_iteration())
        return self.fn

    def why_no_iteration(self) -> str:
        """Why no path through the loop body reaches its next iteration in compiled code."""
        if self.exits_unsupported:
            line, detail = self.exits_unsupported[0]
            return f"line {line}: the loop {detail}"
        mismatched = [s for s in self.fn.snapshots if s.reason is ExitReason.GUARD_TYPE and s.resume_pc != self.region.header]
        if mismatched:
            return f"line {mismatched[0].line}: variables change type at every iteration"
        return "every path through its body leaves the loop (break or return)"

    def _entry_state(self, guard: int) -> dict[int, Any]:
        state: dict[int, Any] = {}
        region = self.region
        for slot, ref in enumerate(list(region.slots)):
            value = self.entry_values[slot]
            key = classify(value)
            if self.unit and ref.kind == "global":
                # A function unit reads globals as constants, checked by identity at every native
                # entry (jit/functions.py): it stores none, so they cannot change while it runs.
                if isinstance(key, Tag):
                    state[slot] = self.const(value)
                elif tauraro_function(value) is not None or (isinstance(key, tuple) and key[0] == "obj"
                                                             and value is not None):
                    state[slot] = Obj(value)
                continue
            if isinstance(key, Tag):
                self.b.guard_tag(slot, TAG_TYPE[key], guard)
                state[slot] = self.b.load(slot, TAG_TYPE[key], hint=_hint(ref.name))
            elif isinstance(key, tuple) and key[0] == "iter" and ref.kind == "reg" and ref.key in region.iter_slots:
                # Only registers the loop itself iterates with get slots (extract_region); a stale
                # iterator left in a temporary register stays untracked (it is overwritten before use).
                cur_slot, stop_slot = region.iterator_slots(ref.key)
                self.b.guard_tag(cur_slot, I64, guard)
                self.b.guard_tag(stop_slot, I64, guard)
                cur = self.b.load(cur_slot, I64, hint=_hint(ref.name) + "_cur")
                stop = self.b.load(stop_slot, I64, hint=_hint(ref.name) + "_stop")
                state[slot] = It(cur, stop, key[1], entered=True)
            elif isinstance(key, tuple) and key[0] == "obj":
                if ref.kind == "global" and value is None:
                    # A name missing from globals and builtins also arrives as None: untracked, so
                    # reading it raises NameError in the interpreter and no exit binds it to None.
                    continue
                state[slot] = Obj(value)
            elif is_list_key(key) and self.mirrors_lists and self._uncopyable(slot, value) is NOTHING:
                self.b.guard_tag(slot, PTR, guard)
                ptr = self.b.load(slot, PTR, hint=_hint(ref.name))
                state[slot] = Lst(ptr, slot, _ELEM_TYPES.get(type(value[0]) if value else int, I64))
                self.list_slots.add(slot)
        if self.unit:
            params = [state.get(slot) for slot in range(len(self.code.params))]
            if not all(isinstance(v, Value) for v in params):
                raise Abort(AbortReason.UNSUPPORTED_TYPE, "a parameter that is not an int, float or bool")
            self.param_types = tuple(v.type for v in params)
        return state

    # --- blocks and edges --------------------------------------------------------------------------
    def _live_slots(self, pc: int, state: dict[int, Any] | None = None) -> list[int]:
        """The slots live at `pc`, and (given `state`) its entered iterators: dead after a `break`, they
        are still written back at the exit, as the program may hold the same object (`for x in it`)."""
        live = self.region.live_at(pc)
        out = {s for r, s in self.region.reg_slot.items() if live >> r & 1}
        out.update(self.region.global_slot.values())
        if state:
            out.update(s for s, v in state.items() if isinstance(v, It) and v.entered)
        return sorted(out)

    def _define_block(self, key: tuple[int, int], state: dict[int, Any]) -> Block:
        world, leader = key
        layout: list[tuple[int, str]] = []
        types: list[Type] = []
        names: list[str] = []
        entry_state: dict[int, Any] = {}
        for slot in self._live_slots(leader, state):
            v = state.get(slot)
            name = _hint(self.region.slots[slot].name)
            if isinstance(v, Value):
                layout.append((slot, "v"))
                types.append(v.type)
                names.append(name)
            elif isinstance(v, It):
                layout.append((slot, "it"))
                types += [I64, I64]
                names += [name + "_cur", name + "_stop"]
            elif isinstance(v, (Obj, Lst)):
                entry_state[slot] = v
            elif isinstance(v, Rng):
                raise Abort(AbortReason.UNSUPPORTED_TYPE, "range object live across blocks")
        label = f"pc{leader}" if world == 0 else f"pc{leader}_w{world}"
        block = self.b.new_block(label, params=types, names=names)
        params = iter(block.params)
        for slot, kind in layout:
            if kind == "v":
                entry_state[slot] = next(params)
            else:
                entry_state[slot] = It(next(params), next(params), state[slot].step, state[slot].entered)
        self.blocks[key] = block
        self.block_layout[key] = layout
        self.block_state[key] = entry_state
        heapq.heappush(self._pending, key)
        return block

    def _edge_args(self, key: tuple[int, int], state: dict[int, Any]) -> list[Value]:
        """Arguments for block `key` from `state`; TypeMismatch if the types disagree."""
        args: list[Value] = []
        want_state = self.block_state[key]
        for slot, kind in self.block_layout[key]:
            v = state.get(slot)
            want = want_state[slot]
            if kind == "v":
                if not isinstance(v, Value) or v.type is not want.type:
                    raise TypeMismatch(self.region.slots[slot].name)
                args.append(v)
            else:
                if not isinstance(v, It) or v.step != want.step or v.entered != want.entered:
                    raise TypeMismatch(self.region.slots[slot].name)
                args += [v.cur, v.stop]
        for slot in self._live_slots(key[1]):
            want, have = want_state.get(slot), state.get(slot)
            if isinstance(want, (Value, It)):
                continue
            if isinstance(want, Obj):
                ok = isinstance(have, Obj) and have.value is want.value
            else:
                ok = have == want if isinstance(want, Lst) else have is None
            if not ok:
                raise TypeMismatch(self.region.slots[slot].name)
        return args

    def _target(self, pc: int, state: dict[int, Any], reason: ExitReason) -> tuple[Block, list[Value]]:
        """The IR block and arguments for control reaching bytecode `pc` with `state`."""
        if self.region.contains(pc):
            key = (self.world, pc)
            if key not in self.blocks:
                return self._define_block(key, state), self._edge_args(key, state)
            try:
                return self.blocks[key], self._edge_args(key, state)
            except TypeMismatch:
                if pc == self.region.header:
                    found = self._world_for(pc, state)
                    if found is not None:
                        return found
                # This path brings other types than the block was built for: leave to the
                # interpreter there; a later entry with the new types compiles its own variant.
                reason = ExitReason.GUARD_TYPE
        exit_block = self.b.new_block(self._exit_name(pc))
        saved = self.b.block
        self.b.set_block(exit_block)
        self.b.exit(self.snapshot(pc, state, reason))
        self.b.set_block(saved)
        return exit_block, []

    def _world_for(self, header: int, state: dict[int, Any]) -> tuple[Block, list[Value]] | None:
        """A later world starting at the loop header that takes `state`, or a new one.

        A loop's first iteration often brings other types to its header than the next ones (a
        variable unbound or of another type before the loop, first assigned inside it). Rather
        than exit at the first back-edge, the loop gets another copy (a world) of its blocks
        specialised for the new types. Every world starts at the region's header, and edges
        between worlds only go to a higher-numbered world's first block, so the worlds form a
        chain of single-entry copies of the (reducible) loop and the CFG stays reducible (natural
        loops only, which the passes and the wasm structurer rely on). A world may not start at
        an inner loop's header: entered there, the outer loop's blocks after a `break` out of the
        inner loop are reached both through and around the inner loop's exit (irreducible; found
        by the fuzzer, seed 700680), so inner headers exit on a type change instead.
        """
        for world in range(self.world + 1, len(self.world_entries)):
            if self.world_entries[world] == header:
                try:
                    return self.blocks[(world, header)], self._edge_args((world, header), state)
                except TypeMismatch:
                    continue
        if len(self.world_entries) >= MAX_WORLDS or len(self.blocks) + len(self.leaders) > MAX_BLOCKS:
            return None
        key = (len(self.world_entries), header)
        self.world_entries.append(header)
        return self._define_block(key, state), self._edge_args(key, state)

    def _exit_name(self, pc: int) -> str:
        """`exit<pc>`, or `exit<pc>_<k>` when several edges leave to the same pc (`while a and b:`)."""
        taken = {blk.name for blk in self.fn.blocks}
        name, k = f"exit{pc}", 1
        while name in taken:
            k += 1
            name = f"exit{pc}_{k}"
        return name

    def _jump_to(self, pc: int, state: dict[int, Any], reason: ExitReason = ExitReason.LOOP_EXIT) -> None:
        block, args = self._target(pc, state, reason)
        self.b.jump(block, args)

    def _branch(self, cond: Value, pc_true: int, state_true: dict, pc_false: int, state_false: dict,
                reason: ExitReason = ExitReason.LOOP_EXIT) -> None:
        bt, at = self._target(pc_true, state_true, reason)
        bf, af = self._target(pc_false, state_false, reason)
        self.b.br(cond, bt, at, bf, af)

    # --- snapshots -----------------------------------------------------------------------------------
    def snapshot(self, pc: int, state: dict[int, Any], reason: ExitReason) -> int:
        if self.unit:  # a function unit's exit runs the whole call again: nothing to restore
            return self.b.snapshot(pc, {}, reason, line=self.code.line_of(pc))
        region = self.region
        slots: dict[int, Any] = {}
        extras = SnapshotExtras()
        for slot in self._live_slots(pc, state):
            v = state.get(slot)
            ref = region.slots[slot]
            if isinstance(v, Value):
                slots[slot] = v
            elif isinstance(v, It):
                cur_slot, stop_slot = region.iterator_slots(ref.key)
                slots[cur_slot] = v.cur
                slots[stop_slot] = v.stop
                extras.iterators.append((ref.key, cur_slot, stop_slot, v.step, v.entered))
            elif isinstance(v, Lst):
                if v.source != slot:
                    extras.list_copies[ref] = v.source
            elif isinstance(v, Obj):
                # Always restored: the entry value of an untracked register differs between entries.
                extras.objects[ref] = v.value
            elif isinstance(v, Rng):
                raise Abort(AbortReason.UNSUPPORTED_TYPE, "range object live at an exit")
        index = self.b.snapshot(pc, slots, reason, line=self.code.line_of(pc))
        self.fn.snapshots[index].extras = extras
        return index

    # --- instructions ------------------------------------------------------------------------------
    def _translate_block(self, key: tuple[int, int], end: int) -> None:
        self.b.set_block(self.blocks[key])
        self.state = dict(self.block_state[key])
        pc = key[1]
        while pc < end:
            self.pc = pc
            ins = self.code.instrs[pc]
            self.line = ins.line
            try:
                done = self._instr(ins, pc)
            except SideExit as e:
                self.exits_unsupported.append((ins.line, e.detail))
                self.b.exit(self.snapshot(pc, self.state, ExitReason.UNSUPPORTED))
                return
            if done:
                return
            pc += 1
        self._jump_to(end, self.state)

    def _instr(self, ins: Instr, pc: int) -> bool:
        """Translate one instruction; True when it ended the IR block."""
        method = getattr(self, "op_" + ins.op, None)
        if method is not None:
            return bool(method(ins, pc))
        kind = _op_kind(ins.op)
        generic = GENERIC_OF.get(ins.op, ins.op)
        if generic.startswith(("Binary", "Inplace")):
            x, y = self.operands(ins)
            self.set(ins.a, self.arith(kind, x, y, _symbol(ins.op)))
            return False
        if generic.startswith("Compare") and kind in COMPARE:
            x, y = self.operands(ins)
            self.set(ins.a, self.compare(kind, x, y))
            return False
        raise SideExit(Unsupported.BYTECODE, what=self.what_bytecode(ins))

    def operands(self, ins: Instr) -> tuple[Value, Value]:
        """The two operand values of a binary op or comparison; SideExit naming one that is not a number."""
        x, y = self.get(ins.b), self.get(ins.c)
        for reg, v in ((ins.b, x), (ins.c, y)):
            if not isinstance(v, Value):
                raise SideExit(Unsupported.OPERATOR, op=_symbol(ins.op), kind=self.described(reg),
                               native="ints, floats and bools")
        return x, y

    def described(self, reg: int) -> str:
        """"'x' (a str)" for a named variable, "a str" for a temporary."""
        name = self.code.local_names.get(reg)
        return f"'{name}' ({self.kind_of(reg)})" if name else self.kind_of(reg)

    def what_bytecode(self, ins: Instr) -> str:
        """What an instruction the translator does not model does, in user terms."""
        return bytecode_what(self.code, ins)

    # --- describing values for explanations --------------------------------------------------------
    def callee_name(self, reg: int) -> str:
        """The name a call uses: the variable, or the global loaded into the callee register."""
        name = self.code.local_names.get(reg)
        if name:
            return name
        for pc in range(self.pc - 1, self.region.header - 1, -1):
            ins = self.code.instrs[pc]
            if ins.op == "LoadGlobal" and ins.a == reg:
                return self.code.names[ins.b]
        return "a function"

    def called_later(self, reg: int, pc: int) -> Instr | None:
        """The call in the same block whose callee (or, for CallMethod, receiver) is register `reg`,
        just loaded at pc."""
        for k in range(pc + 1, self.region.end):
            ins = self.code.instrs[k]
            if ins.op in CALLS and ins.b == reg:
                return ins
            if ins.op in JUMPS or reg in register_effects(ins, self.code)[1]:
                return None
        return None

    def iterated_kind(self, reg: int) -> str:
        """What a for-loop iterates over: 'a list', 'a str', ... (its iterator's source)."""
        v = self.get(reg)
        value = v.value if isinstance(v, Obj) else self.entry_values[self.slot_of(reg)]
        source = {"list_iterator": "a list", "str_ascii_iterator": "a str", "str_iterator": "a str",
                  "tuple_iterator": "a tuple", "dict_keyiterator": "a dict", "set_iterator": "a set"}
        return source.get(type(value).__name__, describe_value(value))

    def name_of(self, reg: int) -> str:
        """'x' for a named variable, 'a temporary value' otherwise."""
        name = self.code.local_names.get(reg)
        return f"'{name}'" if name else "a temporary value"

    def kind_of(self, reg: int) -> str:
        """What register `reg` holds here, as 'a str', 'None', 'a list holding None', ..."""
        return self.kind_of_state(self.get(reg), self.slot_of(reg))

    def kind_of_state(self, v: Any, slot: int | None) -> str:
        if isinstance(v, Value):
            return {I64: "an int", F64: "a float", BOOL: "a bool"}.get(v.type, "a value")
        if isinstance(v, (It, Rng)):
            return "a range"
        if isinstance(v, Lst):
            return "a list"
        if isinstance(v, Obj):
            return describe_value(v.value)
        if slot is not None and slot < len(self.entry_values):
            return describe_value(self.entry_values[slot], self.uncopyable.get(slot, SCAN))
        return "a value computed by code the JIT does not compile"

    def _uncopyable(self, slot: int, value: list) -> Any:
        """The first item of the list in `slot` at entry without a cell form (lists.NOTHING if none),
        remembered for the abort message (scanning a big list costs milliseconds)."""
        odd = self.uncopyable[slot] = first_uncopyable(value)
        return odd

    # register access
    def slot_of(self, reg: int) -> int:
        return self.region.reg_slot[reg]

    def get(self, reg: int) -> Any:
        return self.state.get(self.slot_of(reg))

    def num(self, reg: int) -> Value:
        v = self.get(reg)
        if not isinstance(v, Value):
            raise SideExit(Unsupported.VALUE, name=self.name_of(reg), kind=self.kind_of(reg))
        return v

    def set(self, reg: int, value: Any) -> None:
        self.state[self.slot_of(reg)] = value

    def op(self, opcode: str, *args: Value, **attrs: Any) -> Value:
        from .ir import OPS, Flag

        snapshot = None
        if Flag.GUARD in OPS[opcode].flags:
            reason = (OPS[opcode].exits or (ExitReason.GUARD_VALUE,))[0]  # the table's first exit reason
            snapshot = self.snapshot(self.pc, self.state, reason)
        return self.b.op(opcode, *args, snapshot=snapshot, **attrs)

    def const(self, value: int | float | bool) -> Value:
        t = BOOL if type(value) is bool else I64 if type(value) is int else F64
        return self.b.const(t, value)

    # conversions
    def as_i64(self, v: Any) -> Value:
        if isinstance(v, Value):
            if v.type is I64:
                return v
            if v.type is BOOL:
                return self.op("int.bool", v)
        raise SideExit(Unsupported.OPERATOR, op="an int operation", kind=self.kind_of_state(v, None), native="ints")

    def as_f64(self, v: Value) -> Value:
        if v.type is F64:
            return v
        return self.op("float.i64", self.as_i64(v))

    def truth(self, v: Any, reg: int | None = None) -> Value:
        if isinstance(v, Value):
            if v.type is BOOL:
                return v
            return self.op("bool.i64" if v.type is I64 else "bool.f64", v)
        if reg is None:
            raise SideExit(Unsupported.VALUE, name="a value", kind=self.kind_of_state(v, None))
        raise SideExit(Unsupported.VALUE, name=self.name_of(reg), kind=self.kind_of(reg))

    def arith(self, kind: str, x: Value, y: Value, symbol: str) -> Value:
        if x.type is BOOL and y.type is BOOL and kind in ARITH_BOOL:
            return self.op(ARITH_BOOL[kind], x, y)
        if F64 in (x.type, y.type):
            if kind == "Pow":  # float.__pow__ is libm pow on finite values (callf2.f64 exits otherwise)
                return self.op("callf2.f64", self.as_f64(x), self.as_f64(y), fn="pow")
            if kind not in ARITH_F64:
                raise SideExit(Unsupported.OPERATOR, op=symbol, kind="a float", native="ints")
            return self.op(ARITH_F64[kind], self.as_f64(x), self.as_f64(y))
        xi, yi = self.as_i64(x), self.as_i64(y)
        if kind == "Pow":
            return self.int_pow(xi, yi)
        if kind not in ARITH_I64:
            raise SideExit(Unsupported.OPERATOR, op=symbol, kind="ints", native="other numbers")
        return self.op(ARITH_I64[kind], xi, yi)

    def int_pow(self, x: Value, y: Value) -> Value:
        exponent = const_of(y)
        if not isinstance(exponent, int) or not 0 <= exponent <= 8:
            raise SideExit(Unsupported.POWER, name="a variable" if exponent is None else str(exponent))
        result = self.const(1)
        for _ in range(exponent):
            result = self.op("mul.i64", result, x)
        return result

    def compare(self, kind: str, x: Value, y: Value) -> Value:
        cmp = COMPARE[kind]
        if x.type is BOOL and y.type is BOOL and kind in ("Equal", "NotEqual"):
            return self.op(f"{cmp}.bool", x, y)
        if F64 in (x.type, y.type):
            return self.op(f"{cmp}.f64", self.exact_f64(x), self.exact_f64(y))
        return self.op(f"{cmp}.i64", self.as_i64(x), self.as_i64(y))

    def exact_f64(self, v: Value) -> Value:
        """An int as f64 for comparing with a float: exact only within 2**53, so guard that."""
        if v.type is F64:
            return v
        i = self.as_i64(v)
        lo = self.op("ge.i64", i, self.const(-EXACT_FLOAT_INT))
        hi = self.op("le.i64", i, self.const(EXACT_FLOAT_INT))
        snap = self.snapshot(self.pc, self.state, ExitReason.RANGE)
        self.b.guard_true(self.b.op("and.bool", lo, hi), snap)
        return self.op("float.i64", i)

    # --- bytecode handlers ---------------------------------------------------------------------------
    def op_Nop(self, ins: Instr, pc: int) -> None:
        pass

    op_SetupLoop = op_Nop
    op_PopBlock = op_Nop

    def op_LoadConst(self, ins: Instr, pc: int) -> None:
        value = self.code.consts[ins.b]
        if type(value) in (int, float, bool) and classify(value) is not None:
            self.set(ins.a, self.const(value))
        else:
            self.set(ins.a, Obj(value))

    def op_Move(self, ins: Instr, pc: int) -> None:
        v = self.get(ins.b)
        if v is None:
            self.untracked_copy(ins.a, pc, self.name_of(ins.b).strip("'"), self.name_of(ins.b), self.kind_of(ins.b))
        self.set(ins.a, v)

    def untracked_copy(self, dst: int, pc: int, name: str, shown: str, kind: str) -> None:
        """SideExit for copying an untracked value into `dst`, saying what the loop does with it:
        a call (of it, or of one of its methods) if that comes next, else just that it uses it."""
        call = self.called_later(dst, pc)
        if call is not None and call.op == "CallMethod":
            raise SideExit(Unsupported.BYTECODE, what=self.what_bytecode(call))
        if call is not None:
            raise SideExit(Unsupported.CALL, name=name, kind=kind)
        raise SideExit(Unsupported.VALUE, name=shown, kind=kind)

    def op_CheckBound(self, ins: Instr, pc: int) -> None:
        if self.get(ins.a) is None:
            raise SideExit(Unsupported.UNBOUND, name=self.name_of(ins.a))

    def op_LoadGlobal(self, ins: Instr, pc: int) -> None:
        slot = self.region.global_slot[self.code.names[ins.b]]
        v = self.state.get(slot)
        if v is None:
            name = self.code.names[ins.b]
            self.untracked_copy(ins.a, pc, name, f"global '{name}'", self.kind_of_state(None, slot))
        self.set(ins.a, v)

    def op_StoreGlobal(self, ins: Instr, pc: int) -> None:
        v = self.get(ins.a)
        if self.unit:  # a function unit's exits run the call again: it has no effects
            raise SideExit(Unsupported.UNIT_STORE, name=f"'{self.code.names[ins.b]}'")
        if not isinstance(v, Value):
            raise SideExit(Unsupported.GLOBAL_STORE, name=f"'{self.code.names[ins.b]}'", kind=self.kind_of(ins.a))
        self.state[self.region.global_slot[self.code.names[ins.b]]] = v

    def op_UnaryNeg(self, ins: Instr, pc: int) -> None:
        v = self.num(ins.b)
        self.set(ins.a, self.op("neg.f64", v) if v.type is F64 else self.op("neg.i64", self.as_i64(v)))

    def op_UnaryPos(self, ins: Instr, pc: int) -> None:
        v = self.num(ins.b)
        self.set(ins.a, v if v.type is F64 else self.as_i64(v))

    def op_UnaryNot(self, ins: Instr, pc: int) -> None:
        self.set(ins.a, self.op("not.bool", self.truth(self.get(ins.b), ins.b)))

    def op_UnaryInvert(self, ins: Instr, pc: int) -> None:
        v = self.num(ins.b)
        if v.type is F64:
            raise SideExit(Unsupported.OPERATOR, op="~", kind="a float", native="ints")
        self.set(ins.a, self.op("invert.i64", self.as_i64(v)))

    def op_Jump(self, ins: Instr, pc: int) -> bool:
        self._jump_to(ins.a, self.state, ExitReason.BREAK)
        return True

    def op_JumpBack(self, ins: Instr, pc: int) -> bool:
        poll = self.snapshot(ins.a, self.state, ExitReason.INTERRUPT)
        self.b.poll(poll)
        self._jump_to(ins.a, self.state)
        return True

    def op_JumpIfTrue(self, ins: Instr, pc: int) -> bool:
        cond = self.truth(self.get(ins.a), ins.a)
        self._branch(cond, ins.b, self.state, pc + 1, self.state)
        return True

    def op_JumpIfFalse(self, ins: Instr, pc: int) -> bool:
        cond = self.truth(self.get(ins.a), ins.a)
        self._branch(cond, pc + 1, self.state, ins.b, self.state)
        return True

    def op_ReturnValue(self, ins: Instr, pc: int) -> bool:
        if self.unit:
            v = self.get(ins.a)
            if not isinstance(v, Value):
                raise SideExit(Unsupported.VALUE, name=self.name_of(ins.a), kind=self.kind_of(ins.a))
            self.ret_types.add(v.type)
            if v.type is not self.result:
                raise SideExit(Unsupported.RETURN_TYPE, kind=self.kind_of(ins.a))
            self.b.op(f"ret.{v.type}", v)
            return True
        self.b.exit(self.snapshot(pc, self.state, ExitReason.RETURN))
        return True

    def op_GetIter(self, ins: Instr, pc: int) -> None:
        v = self.get(ins.b)
        if not isinstance(v, Rng):
            raise SideExit(Unsupported.ITERATE, kind=self.kind_of(ins.b))
        self.set(ins.a, It(v.start, v.stop, v.step))
        self.region.iterator_slots(ins.a)

    def op_ForIter(self, ins: Instr, pc: int) -> bool:
        it = self.get(ins.b)
        if not isinstance(it, It):
            raise SideExit(Unsupported.ITERATE, kind=self.iterated_kind(ins.b))
        more = self.op("lt.i64" if it.step > 0 else "gt.i64", it.cur, it.stop)
        nxt = self.op("add.i64", it.cur, self.const(it.step))
        body = dict(self.state)
        body[self.slot_of(ins.b)] = It(nxt, it.stop, it.step, it.entered)
        body[self.slot_of(ins.a)] = it.cur
        self._branch(more, pc + 1, body, ins.c, self.state)
        return True

    op_FastForIterRange = op_ForIter

    def op_LoadAttr(self, ins: Instr, pc: int) -> None:
        obj = self.get(ins.b)
        if not (isinstance(obj, Obj) and obj.value is math):
            raise SideExit(Unsupported.ATTRIBUTE, attr=self.code.names[ins.c], kind=self.kind_of(ins.b))
        value = getattr(math, self.code.names[ins.c])
        if type(value) in (int, float) and classify(value) is not None:
            self.set(ins.a, self.const(value))
        else:
            self.set(ins.a, Obj(value))

    def op_SubscrLoad(self, ins: Instr, pc: int) -> None:
        lst, idx = self.get(ins.b), self.get(ins.c)
        if not isinstance(lst, Lst):
            raise SideExit(Unsupported.SUBSCRIPT, name=self.name_of(ins.b), kind=self.kind_of(ins.b))
        if not isinstance(idx, Value) or idx.type is F64:
            raise SideExit(Unsupported.SUBSCRIPT, name=self.name_of(ins.b), kind=f"a list, by {self.kind_of(ins.c)}")
        self.set(ins.a, self.op(f"list.get.{lst.elem}", lst.ptr, self.as_i64(idx)))

    def op_SubscrStore(self, ins: Instr, pc: int) -> None:
        lst, idx, value = self.get(ins.a), self.get(ins.b), self.get(ins.c)
        if not isinstance(lst, Lst):
            raise SideExit(Unsupported.SUBSCRIPT, name=self.name_of(ins.a), kind=self.kind_of(ins.a))
        if not isinstance(idx, Value) or idx.type is F64:
            raise SideExit(Unsupported.SUBSCRIPT, name=self.name_of(ins.a), kind=f"a list, by {self.kind_of(ins.b)}")
        if not isinstance(value, Value):
            raise SideExit(Unsupported.LIST_STORE, name=self.name_of(ins.a), kind=self.kind_of(ins.c))
        self.op(f"list.set.{value.type}", lst.ptr, self.as_i64(idx), value)

    def op_CallFunction(self, ins: Instr, pc: int) -> None:
        f = self.get(ins.b)
        if not isinstance(f, Obj):
            raise SideExit(Unsupported.CALL, name=self.callee_name(ins.b), kind=self.kind_of(ins.b))
        args = [self.get(ins.b + 1 + i) for i in range(ins.c)]
        callee = tauraro_function(f.value) if self.unit else None
        if callee is not None and callee.code is self.code:
            self.set(ins.a, self.call_self(callee, args))
            return
        self.set(ins.a, self.call_builtin(f.value, args))

    def call_self(self, f: Callee, args: list[Any]) -> Value:
        """A call of the function unit being compiled, with the argument types it is compiled for."""
        if not f.plain or f.nparams != len(args):
            raise SideExit(Unsupported.CALL_ARGS, name=f.name, kind="another number of arguments")
        if tuple(a.type if isinstance(a, Value) else None for a in args) != self.param_types:
            raise SideExit(Unsupported.CALL_ARGS, name=f.name, kind="other argument types than compiled for")
        return self.op(f"call.{self.result}", *args, fn=self.fn.name)

    def op_CallMethod(self, ins: Instr, pc: int) -> None:
        """`math.f(x)` (also through `import math as m`): the module is a host constant checked by
        identity at entry, so its function is known now; any other method call is not modelled."""
        obj = self.get(ins.b)
        name, npos, kwnames = self.code.consts[ins.c]
        fn = getattr(math, name, None) if isinstance(obj, Obj) and obj.value is math else None
        if fn is None or kwnames:
            raise SideExit(Unsupported.BYTECODE, what=self.what_bytecode(ins))
        self.set(ins.a, self.call_builtin(fn, [self.get(ins.b + 1 + i) for i in range(npos)]))

    def call_builtin(self, fn: Any, args: list[Any]) -> Any:
        name = getattr(fn, "__name__", "?")
        if fn is range:
            return self.range_of(args)
        if fn is len and len(args) == 1 and isinstance(args[0], Lst):
            return self.op("list.len", args[0].ptr)
        is_math = _MATH_FUNCTIONS.get(name) is fn
        if fn not in NATIVE_BUILTINS and not is_math:
            raise SideExit(Unsupported.CALL, name=name, kind=describe_value(fn))
        if not all(isinstance(a, Value) for a in args):
            bad = next(a for a in args if not isinstance(a, Value))
            raise SideExit(Unsupported.CALL_ARGS, name=name, kind=self.kind_of_state(bad, None))
        if fn is abs and len(args) == 1:
            v = args[0]
            return self.op("abs.f64", v) if v.type is F64 else self.op("abs.i64", self.as_i64(v))
        if fn in (min, max) and len(args) >= 2 and all(a.type is args[0].type for a in args) and args[0].type is not BOOL:
            # Python keeps the first extreme: min(a, b, c) is min(min(a, b), c).
            result = args[0]
            for a in args[1:]:
                result = self.op(f"{name}.{a.type}", result, a)
            return result
        if fn is int and len(args) == 1:
            v = args[0]
            return self.op("int.f64", v) if v.type is F64 else self.as_i64(v)
        if fn is float and len(args) == 1:
            return self.as_f64(args[0])
        if fn is bool and len(args) == 1:
            return self.truth(args[0])
        if fn is round and len(args) == 1:
            v = args[0]
            return self.op("round.f64", v) if v.type is F64 else self.as_i64(v)
        if is_math and 1 <= len(args) <= 2:
            return self.math_call(name, args)
        raise SideExit(Unsupported.CALL_ARGS, name=name, kind=f"{len(args)} arguments of these types")

    def math_call(self, name: str, args: list[Value]) -> Value:
        """math.<name>(*args) on numbers (ints are converted as CPython converts them: exactly rounded)."""
        v = args[0]
        if len(args) == 2:
            x, y = self.as_f64(args[0]), self.as_f64(args[1])
            if name == "copysign":
                return self.op("copysign.f64", x, y)
            if name in LIBM2_FUNCTIONS:
                return self.op("callf2.f64", x, y, fn=name)
        elif name in ("floor", "ceil", "trunc"):
            if v.type is not F64:
                return self.as_i64(v)
            return self.op("int.f64" if name == "trunc" else f"{name}.f64", v)
        elif name in _MATH_UNARY:
            x = self.as_f64(v)
            if name == "sqrt":
                return self.op("sqrt.f64", x)
            if name == "fabs":
                return self.op("abs.f64", x)
            if name == "isnan":
                return self.op("ne.f64", x, x)
            if name == "isinf":
                return self.op("eq.f64", self.op("abs.f64", x), self.const(math.inf))
            if name == "isfinite":
                return self.op("lt.f64", self.op("abs.f64", x), self.const(math.inf))
            return self.op("callf.f64", x, fn=name)
        raise SideExit(Unsupported.CALL, name=f"math.{name}", kind="a math function the JIT does not compile")

    def range_of(self, args: list[Any]) -> Rng:
        if not 1 <= len(args) <= 3 or not all(isinstance(a, Value) and a.type is I64 for a in args):
            raise SideExit(Unsupported.RANGE_ARGS, detail="arguments that are not all ints")
        if len(args) == 1:
            return Rng(self.const(0), args[0], 1)
        step = 1 if len(args) == 2 else const_of(args[2])
        if not isinstance(step, int) or step == 0:
            raise SideExit(Unsupported.RANGE_ARGS, detail="a step that is not a constant")
        return Rng(args[0], args[1], step)


def describe_value(value: Any, odd: Any = SCAN) -> str:
    """A Python value in user terms for explanations: 'a str', 'None', 'a list holding None', ...
    (`odd`: a list's first item without a cell form, when the caller has already found it)."""
    if value is UNBOUND:
        return "no value yet"
    if value is None:
        return "None"
    t = type(value)
    if t is object:  # the driver's marker for a register dead at the loop entry
        return "a value the JIT does not track"
    if t is int:
        return "an int" if is_i64(value) else "an int too big for 64 bits"
    if t is list:
        if odd is SCAN:
            odd = first_uncopyable(value)
        if odd is NOTHING:
            return "a list"
        return f"a list holding {describe_value(odd)}"
    if tauraro_function(value) is not None:  # a VM function or a baseline (tier 1) host function
        return "a function defined in the program"
    if isinstance(value, types.BuiltinFunctionType):
        return f"the builtin {value.__name__}()"
    if isinstance(value, types.ModuleType):
        return f"the module {value.__name__}"
    if isinstance(value, type):
        return f"the class {value.__name__}"
    name = t.__name__
    article = "an" if name[:1] in "aeiou" else "a"
    return f"{article} {name}" if t.__module__ == "builtins" else f"{article} {name} object"


def _symbol(op: str) -> str:
    """The operator symbol of a binary/compare opcode ('+', '<', 'is', 'in', ...), from its doc."""
    doc = OPCODES[GENERIC_OF.get(op, op)].doc  # "R[a] = R[b] + R[c]", "R[a] = R[b] not in R[c]"
    return doc.split(" = ", 1)[1].split("R[b] ", 1)[1].rsplit(" R[c]", 1)[0]


def _hint(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in name) or "v"


class Callee(NamedTuple):
    """What a call needs to know of a Tauraro function, whichever tier made its function object."""

    code: CodeObject
    plain: bool  # callable without closure set-up or the generic binding
    nparams: int
    name: str


def tauraro_function(value: Any) -> Callee | None:
    """The Tauraro function behind `value`: a VM Function, or a baseline host function (tier 1, whose host
    code maps back to its code object in baseline.FRAMES); None for anything else."""
    if isinstance(value, Function):
        return Callee(value.code, value.plain, value.nparams, value.__name__)
    if type(value) is types.FunctionType:
        from ..baseline import FRAMES

        code = FRAMES.get(value.__code__)
        if code is not None:
            return Callee(code, not code.free_regs and code.simple, len(code.params), code.name)
    return None
