"""Lowering of a LoopFunction to one WebAssembly module in text form (WAT), for Cranelift via wasmtime.

Module shape::

    (module
      (import "env" "memory" (memory 0 65536 shared))     ;; the program's one linear memory
      (import "libm" "sin" (func $libm_sin (param f64) (result f64)))   ;; only the callf.f64 used
      (func $run (export "run") (param $frame i32) (result i32) ...)  ;; returns the exit number
      (func $fmod ...) (func $py_mod ...) ...)            ;; float % and // helpers, only if used

Code shape (what Cranelift needs to produce a tight loop):

* Every SSA value lives in its own wasm local; slots are loaded once at entry and stored only at
  exits, so the loop body touches memory only to poll the interrupt flag. Constants are inlined.
* Exits: every snapshot used gets one block wrapped around the whole body; a failing guard is a
  ``br_if $exitN`` and the block's end holds the stores of snapshot N, the header words and
  ``return N``. The exit code is therefore laid out after the loop, off the hot path.
* Control flow: the CFG of abstract nodes (IR blocks, plus rotated header copies, see below) is
  structured by Ramsey's algorithm ("Beyond Relooper", JFP 2022) for reducible graphs: a ``loop``
  at each loop header, a ``block`` ending just before each merge node (two or more forward
  in-edges), everything else nested in dominator-tree order. No dispatch variable is needed.
  Irreducible control flow raises BackendCompileError (the translator only emits natural loops).
* Rotation: Cranelift does not rotate loops, so a `while` header (a `br` with one successor in the
  loop and one outside) is duplicated at the loop's latches; the in-loop successor becomes the wasm
  ``loop`` and each iteration ends in one conditional back-branch (do-while form). Copying the
  header is free of SSA repair because values are wasm locals: the copy re-assigns the same locals.
* Block arguments are parallel copies: all arguments are pushed, then the parameters are popped in
  reverse order, so ``jump h(%b, %a)`` swaps correctly.
* The iteration counter (header +16) is a local incremented on every IR back-edge.

Arithmetic is exactly Python's (see the op table); each non-obvious check is commented where emitted.

Why text (WAT) and not the binary format: measured on the loops of loop_nbody/loop_mandelbrot/
loop_sum_range (15 loops, 200-1000 WAT lines each), lowering to text costs ~0.5 us a line,
``wasmtime.wat2wasm`` ~0.19 us a line (0.04-0.19 ms a loop) and Cranelift 0.35-1.1 ms a loop. So the
text step is ~10% of a compile; a binary encoder in Python would still pay ~0.09 us an instruction
for opcodes and LEB128 immediates, saving perhaps 5%, and would need a disassembler for
``dump("wat")``. With text, the dump is the module Cranelift compiled, comments included.
"""
from __future__ import annotations

import math
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field

from ...jit.ir import (
    BOOL,
    F64,
    I64,
    LIBM2_FUNCTIONS,
    PTR,
    TYPE_TAG,
    LoopFunction,
    Op,
    Type,
    Value,
    const_of,
)
from ...jit.irtext import format_op
from ...jit.layout import (
    CELL_SHIFT,
    HDR_DEPTH,
    HDR_EXIT,
    HDR_INTERRUPT,
    HDR_ITERATIONS,
    HEADER_SIZE,
    I64_MAX,
    I64_MIN,
    LIST_DIRTY,
    LIST_ITEMS,
    LIST_LEN,
    MAX_CALL_DEPTH,
    RETURN_EXIT,
    SLOT_PAYLOAD,
    SLOT_SIZE,
    SLOT_TAG,
    TWO_53,
    float_to_bits,
    frame_size,
)
from ..base import BackendCompileError
from ..common import Namer, exit_stores, reject_reserved
from .structure import Edge, Node, build_cfg, sanitize

WASM_TYPE = {I64: "i64", F64: "f64", BOOL: "i32", PTR: "i32"}  # PTR: a byte offset (wasm address)


@dataclass
class LoweredModule:
    """The WAT text of a module and what instantiating it needs."""

    wat: str
    imports: list[str] = field(default_factory=list)  # libm function names, in import order


def lower(fn: LoopFunction) -> LoweredModule:
    """Translate `fn` to a WAT module; NotImplementedError for reserved ops, BackendCompileError if unstructurable."""
    reject_reserved(fn, "cranelift")
    # Emission recurses along the dominator tree (a few frames per nested if/merge); deep nesting
    # is legal IR, so allow more depth than the default while lowering, and fail cleanly beyond it.
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 20000))
    try:
        return _Lowering(fn).run()
    except RecursionError:
        raise BackendCompileError(f"{fn.name}: control flow nested too deeply for the wasm lowering") from None
    finally:
        sys.setrecursionlimit(limit)


# -- constants -------------------------------------------------------------------------------------


def f64_literal(x: float) -> str:
    """A WAT f64 literal with exactly the bits of `x` (hex float; NaN with its payload)."""
    if math.isnan(x):
        bits = float_to_bits(x) & 0xFFFFFFFFFFFFFFFF
        sign = "-" if bits >> 63 else ""
        return f"{sign}nan:0x{bits & 0xFFFFFFFFFFFFF:x}"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x.hex()


def const_instr(ty: Type, value: int | float | bool) -> str:
    if ty is I64:
        return f"i64.const {value}"
    if ty is F64:
        return f"f64.const {f64_literal(value)}"  # type: ignore[arg-type]
    return f"i32.const {1 if value else 0}"


class _Lowering:
    def __init__(self, fn: LoopFunction) -> None:
        self.fn = fn
        self.lines: list[str] = []
        self.depth = 2
        self.locals: dict[Value, str] = {}
        self.local_decls: list[tuple[str, str]] = []
        self.names = Namer({"frame", "iters", "t0", "f0", "cell"})
        self.exits_used: dict[int, None] = {}  # ordered set of snapshots some branch leaves through
        self.imports: dict[str, None] = {}
        self.helpers: set[str] = set()

    # -- driver --------------------------------------------------------------------------------
    def run(self) -> LoweredModule:
        fn = self.fn
        for blk in fn.blocks:
            for p in blk.params:
                self._local(p)
            for op in blk.ops:
                if op.result is not None and not op.opcode.startswith("const."):
                    self._local(op.result)
        entry = build_cfg(fn)
        body_start = len(self.lines)
        self._tree(entry)
        body = self.lines[body_start:]
        del self.lines[body_start:]
        return LoweredModule(self._module(body), list(self.imports))

    def _local(self, v: Value) -> str:
        name = self.names(sanitize(v.name))
        self.locals[v] = f"${name}"
        self.local_decls.append((f"${name}", WASM_TYPE[v.type]))
        return self.locals[v]

    # -- emission: structure ---------------------------------------------------------------------------
    def emit(self, line: str) -> None:
        self.lines.append("  " * self.depth + line)

    def _open(self, line: str) -> None:
        self.emit(line)
        self.depth += 1

    def _close(self, label: str | None = None) -> None:
        # A branch to the end of the construct being closed is a fall-through: drop it (readability).
        if label is not None and self.lines and self.lines[-1].strip() == f"br {label}":
            self.lines.pop()
        self.depth -= 1
        self.emit("end")

    def _tree(self, x: Node) -> None:
        merges = sorted((c for c in x.children if c.merge), key=lambda n: n.rpo, reverse=True)
        if x.header:
            self._open(f"loop $L_{x.label}")
            self._within(x, merges)
            self._close()
        else:
            self._within(x, merges)

    def _within(self, x: Node, merges: list[Node]) -> None:
        if merges:
            y = merges[0]
            self._open(f"block $B_{y.label}")
            self._within(x, merges[1:])
            self._close(f"$B_{y.label}")
            self._tree(y)
            return
        self.emit(f";; block {x.block.name}")
        for op in x.block.ops[:-1]:
            self._op(op)
        self._terminator(x)

    def _terminator(self, x: Node) -> None:
        term = x.block.terminator
        assert term is not None
        self.emit(f";; {format_op(term)}")
        if term.opcode == "exit":
            self.emit(f"br {self._exit_label(term.snapshot)}")  # type: ignore[arg-type]
            return
        if term.opcode.startswith("ret."):  # a function unit returns: slot 0 = the value, header +0 = -1
            self._store_value(0, term.args[0])
            self.ins("local.get $frame", f"i64.const {RETURN_EXIT}", f"i64.store offset={HDR_EXIT}",
                     "local.get $frame", "local.get $iters", f"i64.store offset={HDR_ITERATIONS}",
                     f"i32.const {RETURN_EXIT}", "return")
            return
        if term.opcode == "jump":
            self._edge(x, x.edges[0])
            return
        cond = self.get(term.args[0])
        then, other = x.edges
        if then.dest is not None and then.dest is other.dest and not then.args and not other.args and then.counts == other.counts:
            self._edge(x, then)  # both ways lead to the same place
            return
        t_label, o_label = self._simple(x, then), self._simple(x, other)
        if t_label is not None:
            self.emit(cond)
            self.emit(f"br_if {t_label}")
            self._edge(x, other)
        elif o_label is not None:
            self.emit(cond)
            self.emit("i32.eqz")
            self.emit(f"br_if {o_label}")
            self._edge(x, then)
        else:
            self.emit(cond)
            self._open("if")
            self._edge(x, then)
            self.depth -= 1
            self.emit("else")
            self.depth += 1
            self._edge(x, other)
            self._close()

    def _simple(self, x: Node, e: Edge) -> str | None:
        """The label if taking `e` is a single `br` (nothing to assign, no counting), else None."""
        if e.counts or any(a is not p for a, p in zip(e.args, e.params)):
            return None
        if e.dest is None:
            return self._exit_label(e.exit)  # type: ignore[arg-type]
        if e.dest.rpo <= x.rpo:
            return f"$L_{e.dest.label}"
        if e.dest.merge:
            return f"$B_{e.dest.label}"
        return None

    def _edge(self, x: Node, e: Edge) -> None:
        moves = [(a, p) for a, p in zip(e.args, e.params) if a is not p]
        for a, _ in moves:
            self.emit(self.get(a))
        for _, p in reversed(moves):
            self.emit(f"local.set {self.locals[p]}")
        if e.counts:
            self.emit("local.get $iters")
            self.emit("i64.const 1")
            self.emit("i64.add")
            self.emit("local.set $iters")
        if e.dest is None:
            self.emit(f"br {self._exit_label(e.exit)}")  # type: ignore[arg-type]
        elif e.dest.rpo <= x.rpo:
            self.emit(f"br $L_{e.dest.label}")
        elif e.dest.merge:
            self.emit(f"br $B_{e.dest.label}")
        else:
            self._tree(e.dest)

    def _exit_label(self, snapshot: int) -> str:
        self.exits_used[snapshot] = None
        return f"$exit{snapshot}"

    # -- emission: ops ----------------------------------------------------------------------------------
    def get(self, v: Value) -> str:
        """The instruction that pushes `v` (constants are inlined)."""
        op = v.op
        if op is not None and op.opcode.startswith("const."):
            return const_instr(v.type, op.attrs["value"])
        return f"local.get {self.locals[v]}"

    def put(self, op: Op) -> None:
        self.emit(f"local.set {self.locals[op.result]}")  # type: ignore[index]

    def guard(self, op: Op) -> None:
        """Pop an i32 condition: leave through the op's snapshot when it is nonzero."""
        self.emit(f"br_if {self._exit_label(op.snapshot)}")  # type: ignore[arg-type]

    def ins(self, *lines: str) -> None:
        for line in lines:
            self.emit(line)

    def _op(self, op: Op) -> None:
        name = op.opcode
        if name.startswith("const."):
            return  # inlined at each use
        self.emit(f";; {format_op(op)}")
        handler = getattr(self, "op_" + name.replace(".", "_"), None)
        if handler is not None:
            handler(op)
            return
        simple = _SIMPLE.get(name)
        if simple is None:
            raise BackendCompileError(f"{self.fn.name}: IR op {name} has no wasm lowering")
        for a in op.args:
            self.emit(self.get(a))
        self.ins(*simple)
        self.put(op)

    # frame access
    def op_load_i64(self, op: Op) -> None:
        self.ins("local.get $frame", f"i64.load offset={_payload(op.attrs['slot'])}")
        self.put(op)

    def op_load_f64(self, op: Op) -> None:
        self.ins("local.get $frame", f"f64.load offset={_payload(op.attrs['slot'])}")
        self.put(op)

    def op_load_bool(self, op: Op) -> None:
        self.ins("local.get $frame", f"i64.load offset={_payload(op.attrs['slot'])}", "i64.const 0", "i64.ne")
        self.put(op)

    def _store_value(self, offset: int, v: Value) -> None:
        """Store `v` as a tagged slot at $frame + HEADER_SIZE + offset (tag word, then payload)."""
        at = HEADER_SIZE + offset
        self.ins("local.get $frame", f"i64.const {int(TYPE_TAG[v.type])}", f"i64.store offset={at}",
                 "local.get $frame", self.get(v))
        if v.type is BOOL:
            self.ins("i64.extend_i32_u")
        self.ins(f"{'f64' if v.type is F64 else 'i64'}.store offset={at + SLOT_PAYLOAD}")

    def op_call(self, op: Op) -> None:
        """A call of the unit itself in the next frame window (docs/jit.md section 7)."""
        if op.attrs["fn"] != self.fn.name:
            raise NotImplementedError(f"{op.opcode} of another function ({op.attrs['fn']})")
        size = frame_size(self.fn.nslots)
        self.ins("local.get $frame", f"i64.load offset={HDR_DEPTH}", "local.tee $t0", f"i64.const {MAX_CALL_DEPTH}",
                 "i64.ge_s")
        self.guard(op)
        self.ins("local.get $frame", "local.get $frame", f"i64.load offset={HDR_INTERRUPT}",
                 f"i64.store offset={size + HDR_INTERRUPT}",
                 "local.get $frame", "local.get $t0", "i64.const 1", "i64.add", f"i64.store offset={size + HDR_DEPTH}")
        for k, v in enumerate(op.args):
            self._store_value(size + SLOT_SIZE * k, v)
        self.ins("local.get $frame", f"i32.const {size}", "i32.add", "call $run", f"i32.const {RETURN_EXIT}", "i32.ne")
        self.guard(op)
        ty = op.result.type  # type: ignore[union-attr]
        self.ins("local.get $frame", f"i64.load offset={size + HEADER_SIZE}", f"i64.const {int(TYPE_TAG[ty])}", "i64.ne")
        self.guard(op)
        at = size + HEADER_SIZE + SLOT_PAYLOAD
        if ty is F64:
            self.ins("local.get $frame", f"f64.load offset={at}")
        else:
            self.ins("local.get $frame", f"i64.load offset={at}")
            if ty is BOOL:
                self.ins("i64.const 0", "i64.ne")
        self.put(op)

    op_call_i64 = op_call_f64 = op_call_bool = op_call

    def op_guard_tag(self, op: Op) -> None:
        tag = int(TYPE_TAG[op.attrs["type"]])
        self.ins("local.get $frame", f"i64.load offset={_tag(op.attrs['slot'])}", f"i64.const {tag}", "i64.ne")
        self.guard(op)

    def op_poll(self, op: Op) -> None:
        # One load and a test per back-edge: measured cheaper than wasmtime's epoch checks (engine.py).
        self.ins("local.get $frame", f"i64.load offset={HDR_INTERRUPT}", "i64.const 0", "i64.ne")
        self.guard(op)

    def op_guard_true(self, op: Op) -> None:
        self.ins(self.get(op.args[0]), "i32.eqz")
        self.guard(op)

    def op_guard_false(self, op: Op) -> None:
        self.ins(self.get(op.args[0]))
        self.guard(op)

    # i64 arithmetic with exact overflow checks
    def op_add_i64(self, op: Op) -> None:
        x, y = op.args
        if const_of(x) is not None and const_of(y) is None:
            x, y = y, x
        k = const_of(y)
        if k is not None:
            self._add_const(op, x, k)
            return
        a, b = map(self.get, op.args)
        r = self.locals[op.result]  # type: ignore[index]
        # Signed overflow iff both operands' signs differ from the result's: ((a^r) & (b^r)) < 0.
        self.ins(a, b, "i64.add", f"local.set {r}",
                 a, f"local.get {r}", "i64.xor", b, f"local.get {r}", "i64.xor", "i64.and", "i64.const 0", "i64.lt_s")
        self.guard(op)

    def _add_const(self, op: Op, x: Value, k: int) -> None:
        # x + k with k known: overflow iff x > MAX - k (k > 0) or x < MIN - k (k < 0); one compare.
        a = self.get(x)
        if k > 0:
            self.ins(a, f"i64.const {I64_MAX - k}", "i64.gt_s")
            self.guard(op)
        elif k < 0:
            self.ins(a, f"i64.const {I64_MIN - k}", "i64.lt_s")
            self.guard(op)
        self.ins(a, f"i64.const {k}", "i64.add")
        self.put(op)

    def op_sub_i64(self, op: Op) -> None:
        k = const_of(op.args[1])
        if k is not None and k != I64_MIN:
            self._add_const(op, op.args[0], -k)
            return
        a, b = map(self.get, op.args)
        r = self.locals[op.result]  # type: ignore[index]
        # Overflow iff the operands' signs differ and the result's sign differs from a: ((a^b) & (a^r)) < 0.
        self.ins(a, b, "i64.sub", f"local.set {r}",
                 a, b, "i64.xor", a, f"local.get {r}", "i64.xor", "i64.and", "i64.const 0", "i64.lt_s")
        self.guard(op)

    def op_mul_i64(self, op: Op) -> None:
        a, b = map(self.get, op.args)
        r = self.locals[op.result]  # type: ignore[index]
        # i64.mul_wide_s (wide-arithmetic proposal) gives the exact 128-bit product as (low, high):
        # it fits in i64 iff high is the sign extension of low. One x86 imul, no division.
        self.ins(a, b, "i64.mul_wide_s", "local.set $t0", f"local.tee {r}",
                 "i64.const 63", "i64.shr_s", "local.get $t0", "i64.ne")
        self.guard(op)

    def op_neg_i64(self, op: Op) -> None:
        a = self.get(op.args[0])
        self.ins(a, f"i64.const {I64_MIN}", "i64.eq")
        self.guard(op)
        self.ins("i64.const 0", a, "i64.sub")
        self.put(op)

    def op_abs_i64(self, op: Op) -> None:
        a = self.get(op.args[0])
        self.ins(a, f"i64.const {I64_MIN}", "i64.eq")
        self.guard(op)
        self.ins("i64.const 0", a, "i64.sub", a, a, "i64.const 0", "i64.lt_s", "select")
        self.put(op)

    def op_floordiv_i64(self, op: Op) -> None:
        a, b = map(self.get, op.args)
        r = self.locals[op.result]  # type: ignore[index]
        k = const_of(op.args[1])
        if k is None or k in (0, -1):
            # Exit on b == 0, and on (-2**63) // -1 (does not fit; i64.div_s would trap).
            self.ins(b, "i64.eqz", a, f"i64.const {I64_MIN}", "i64.eq", b, "i64.const -1", "i64.eq", "i32.and", "i32.or")
            self.guard(op)
        # Truncating quotient q, remainder a - q*b; floor = q - 1 when the remainder is nonzero and
        # its sign differs from b's.
        self.ins(a, b, "i64.div_s", f"local.set {r}", a, f"local.get {r}", b, "i64.mul", "i64.sub", "local.set $t0",
                 f"local.get {r}")
        if k is not None and k > 0:
            self.ins("local.get $t0", "i64.const 0", "i64.lt_s")
        else:
            self.ins("local.get $t0", "i64.const 0", "i64.ne", "local.get $t0", b, "i64.xor", "i64.const 0",
                     "i64.lt_s", "i32.and")
        self.ins("i64.extend_i32_u", "i64.sub")
        self.put(op)

    def op_mod_i64(self, op: Op) -> None:
        a, b = map(self.get, op.args)
        k = const_of(op.args[1])
        if k is None or k == 0:
            self.ins(b, "i64.eqz")
            self.guard(op)
        # wasm i64.rem_s(-2**63, -1) is 0 (it only traps on a zero divisor), which is Python's answer.
        # Python's result has b's sign: add b when the remainder is nonzero and its sign differs.
        self.ins(a, b, "i64.rem_s", "local.set $t0", "local.get $t0", b, "i64.const 0")
        if k is not None and k > 0:
            self.ins("local.get $t0", "i64.const 0", "i64.lt_s")
        else:
            self.ins("local.get $t0", "i64.const 0", "i64.ne", "local.get $t0", b, "i64.xor", "i64.const 0",
                     "i64.lt_s", "i32.and")
        self.ins("select", "i64.add")
        self.put(op)

    def op_truediv_i64(self, op: Op) -> None:
        a, b = map(self.get, op.args)
        # |x| > 2**53 iff x + 2**53 (mod 2**64) > 2**54 unsigned: then float(x) may be inexact, exit.
        self.ins(b, "i64.eqz",
                 a, f"i64.const {TWO_53}", "i64.add", f"i64.const {2 * TWO_53}", "i64.gt_u", "i32.or",
                 b, f"i64.const {TWO_53}", "i64.add", f"i64.const {2 * TWO_53}", "i64.gt_u", "i32.or")
        self.guard(op)
        self.ins(a, "f64.convert_i64_s", b, "f64.convert_i64_s", "f64.div")
        self.put(op)

    def op_lshift_i64(self, op: Op) -> None:
        a, n = map(self.get, op.args)
        k = const_of(op.args[1])
        if k is not None and 0 <= k < 64:
            # (a << k) >> k != a: bits (or the sign) were shifted out.
            self.ins(a, n, "i64.shl", n, "i64.shr_s", a, "i64.ne")
            self.guard(op)
            self.ins(a, n, "i64.shl")
            self.put(op)
            return
        # Exit if n < 0, or if a != 0 and (n >= 64 or shifting loses bits); 0 << n is 0 for any n >= 0.
        self.ins(n, "i64.const 0", "i64.lt_s",
                 a, "i64.const 0", "i64.ne",
                 n, "i64.const 64", "i64.ge_u", a, n, "i64.shl", n, "i64.shr_s", a, "i64.ne", "i32.or",
                 "i32.and", "i32.or")
        self.guard(op)
        self.ins(a, n, "i64.shl")
        self.put(op)

    def op_rshift_i64(self, op: Op) -> None:
        a, n = map(self.get, op.args)
        k = const_of(op.args[1])
        if k is not None and k >= 0:
            self.ins(a, f"i64.const {min(k, 63)}", "i64.shr_s")
            self.put(op)
            return
        self.ins(n, "i64.const 0", "i64.lt_s")
        self.guard(op)
        # wasm masks the count to 6 bits; Python shifts by n >= 64 give 0 or -1, i.e. a shift by 63.
        self.ins(a, n, "i64.const 63", n, "i64.const 63", "i64.lt_u", "select", "i64.shr_s")
        self.put(op)

    def _minmax(self, op: Op, cmp: str) -> None:
        a, b = map(self.get, op.args)
        # Python's min(a, b) is `b if b < a else a` (max: b > a): NaN and -0.0 as Python, not IEEE.
        self.ins(b, a, b, a, cmp, "select")
        self.put(op)

    def op_min_i64(self, op: Op) -> None:
        self._minmax(op, "i64.lt_s")

    def op_max_i64(self, op: Op) -> None:
        self._minmax(op, "i64.gt_s")

    def op_min_f64(self, op: Op) -> None:
        self._minmax(op, "f64.lt")

    def op_max_f64(self, op: Op) -> None:
        self._minmax(op, "f64.gt")

    # f64
    def _zero_divisor(self, op: Op) -> None:
        self.ins(self.get(op.args[1]), "f64.const 0", "f64.eq")  # true for 0.0 and -0.0
        self.guard(op)

    def op_div_f64(self, op: Op) -> None:
        self._zero_divisor(op)
        self.ins(self.get(op.args[0]), self.get(op.args[1]), "f64.div")
        self.put(op)

    def op_mod_f64(self, op: Op) -> None:
        self._zero_divisor(op)
        self.helpers.add("py_mod")
        self.ins(self.get(op.args[0]), self.get(op.args[1]), "call $py_mod")
        self.put(op)

    def op_floordiv_f64(self, op: Op) -> None:
        self._zero_divisor(op)
        self.helpers.add("py_floordiv")
        self.ins(self.get(op.args[0]), self.get(op.args[1]), "call $py_floordiv")
        self.put(op)

    def op_sqrt_f64(self, op: Op) -> None:
        a = self.get(op.args[0])
        self.ins(a, "f64.const 0", "f64.lt")  # sqrt(-0.0) is -0.0 and sqrt(nan) nan: only a < 0 exits
        self.guard(op)
        self.ins(a, "f64.sqrt")
        self.put(op)

    def op_callf_f64(self, op: Op) -> None:
        fname = op.attrs["fn"]
        self.imports[fname] = None
        a = self.get(op.args[0])
        r = self.locals[op.result]  # type: ignore[index]
        # CPython's math_1 rule: an error iff NaN from a non-NaN, or an infinity from a finite x.
        self.ins(a, f"call $libm_{fname}", f"local.tee {r}", f"local.get {r}", "f64.ne", a, a, "f64.eq", "i32.and",
                 f"local.get {r}", "f64.abs", "f64.const inf", "f64.eq", a, "f64.abs", "f64.const inf", "f64.lt",
                 "i32.and", "i32.or")
        self.guard(op)

    def op_callf2_f64(self, op: Op) -> None:
        fname = op.attrs["fn"]
        self.imports[fname] = None
        a, b = self.get(op.args[0]), self.get(op.args[1])
        r = self.locals[op.result]  # type: ignore[index]
        finite = ("f64.abs", "f64.const inf", "f64.lt")
        # Finite arguments and a finite result, else exit: CPython's own special cases and errors.
        self.ins(a, b, f"call $libm_{fname}", f"local.tee {r}", *finite, a, *finite, "i32.and", b, *finite,
                 "i32.and", "i32.eqz")
        self.guard(op)

    def op_copysign_f64(self, op: Op) -> None:
        self.ins(self.get(op.args[0]), self.get(op.args[1]), "f64.copysign")
        self.put(op)

    def op_round_f64(self, op: Op) -> None:
        self._to_int_checked(op, "f64.nearest")  # ties to even, as Python's round()

    def _to_int_checked(self, op: Op, rounding: str | None) -> None:
        a = self.get(op.args[0])
        r = self.locals[op.result]  # type: ignore[index]
        self.ins(a)
        if rounding:
            self.ins(rounding)
        # Fits i64 iff -2**63 <= x < 2**63 (both bounds exact doubles; NaN fails both comparisons).
        self.ins("local.tee $f0", "f64.const -0x1p+63", "f64.ge", "local.get $f0", "f64.const 0x1p+63", "f64.lt",
                 "i32.and", "i32.eqz")
        self.guard(op)
        self.ins("local.get $f0", "i64.trunc_sat_f64_s", f"local.set {r}")

    def op_floor_f64(self, op: Op) -> None:
        self._to_int_checked(op, "f64.floor")

    def op_ceil_f64(self, op: Op) -> None:
        self._to_int_checked(op, "f64.ceil")

    def op_int_f64(self, op: Op) -> None:
        self._to_int_checked(op, None)

    # lists in linear memory (tauraro/jit/lists.py): P+0 length, P+16 items offset, P+24 dirty word,
    # cell k at items + (k << CELL_SHIFT) (tag word, payload word; layout.py). Lengths and item offsets never change while
    # compiled code runs; Cranelift keeps the loads cheap (they hit L1), the IR may hoist list.len.
    def op_load_ptr(self, op: Op) -> None:
        self.ins("local.get $frame", f"i64.load offset={_payload(op.attrs['slot'])}", "i32.wrap_i64")
        self.put(op)

    def op_list_len(self, op: Op) -> None:
        self.ins(self.get(op.args[0]), f"i64.load offset={LIST_LEN}")
        self.put(op)

    def _list_cell(self, op: Op) -> None:
        """Leave the address of cell `index` in $cell; exit unless 0 <= index (+ len if negative) < len."""
        p, i = map(self.get, op.args[:2])
        # Python's negative index fix-up, then one unsigned compare covers both ends of the range.
        self.ins(i, p, f"i64.load offset={LIST_LEN}", "i64.const 0", i, "i64.const 0", "i64.lt_s", "select", "i64.add",
                 "local.tee $t0", p, f"i64.load offset={LIST_LEN}", "i64.ge_u")
        self.guard(op)
        self.ins(p, f"i64.load offset={LIST_ITEMS}", "i32.wrap_i64", "local.get $t0", "i32.wrap_i64",
                 f"i32.const {CELL_SHIFT}", "i32.shl",
                 "i32.add", "local.set $cell")

    def _list_get(self, op: Op, ty: Type) -> None:
        self._list_cell(op)
        self.ins("local.get $cell", f"i64.load offset={SLOT_TAG}", f"i64.const {int(TYPE_TAG[ty])}", "i64.ne")
        self.guard(op)
        if ty is F64:
            self.ins("local.get $cell", f"f64.load offset={SLOT_PAYLOAD}")
        elif ty is BOOL:
            self.ins("local.get $cell", f"i64.load offset={SLOT_PAYLOAD}", "i64.const 0", "i64.ne")
        else:
            self.ins("local.get $cell", f"i64.load offset={SLOT_PAYLOAD}")
        self.put(op)

    def _list_set(self, op: Op, ty: Type) -> None:
        self._list_cell(op)
        value = self.get(op.args[2])
        self.ins("local.get $cell", f"i64.const {int(TYPE_TAG[ty])}", f"i64.store offset={SLOT_TAG}", "local.get $cell", value)
        if ty is F64:
            self.ins(f"f64.store offset={SLOT_PAYLOAD}")
        elif ty is BOOL:
            self.ins("i64.extend_i32_u", f"i64.store offset={SLOT_PAYLOAD}")
        else:
            self.ins(f"i64.store offset={SLOT_PAYLOAD}")
        self.ins(self.get(op.args[0]), "i64.const 1", f"i64.store offset={LIST_DIRTY}")  # the dirty word: mirror back out

    def op_list_get_i64(self, op: Op) -> None:
        self._list_get(op, I64)

    def op_list_get_f64(self, op: Op) -> None:
        self._list_get(op, F64)

    def op_list_get_bool(self, op: Op) -> None:
        self._list_get(op, BOOL)

    def op_list_set_i64(self, op: Op) -> None:
        self._list_set(op, I64)

    def op_list_set_f64(self, op: Op) -> None:
        self._list_set(op, F64)

    def op_list_set_bool(self, op: Op) -> None:
        self._list_set(op, BOOL)

    # -- module text ------------------------------------------------------------------------------------
    def _exit_code(self, n: int) -> list[str]:
        snap = self.fn.snapshots[n]
        pad = "  " * 2
        out = [f"{pad};; exit {n}: {snap.reason} pc={snap.resume_pc} line={snap.line}"]
        for slot, tag, v, word in exit_stores(snap):
            base = HEADER_SIZE + SLOT_SIZE * slot
            out.append(f"{pad}local.get $frame")
            out.append(f"{pad}i64.const {int(tag)}")
            out.append(f"{pad}i64.store offset={base}")
            out.append(f"{pad}local.get $frame")
            if word is not None:
                out.append(f"{pad}i64.const {word}")  # exact bits, NaN payload too
                out.append(f"{pad}i64.store offset={base + SLOT_PAYLOAD}")
            elif v.type is F64:
                out.append(f"{pad}local.get {self.locals[v]}")
                out.append(f"{pad}f64.store offset={base + SLOT_PAYLOAD}")
            elif v.type is BOOL or v.type is PTR:
                out.append(f"{pad}local.get {self.locals[v]}")
                out.append(f"{pad}i64.extend_i32_u")
                out.append(f"{pad}i64.store offset={base + SLOT_PAYLOAD}")
            else:
                out.append(f"{pad}local.get {self.locals[v]}")
                out.append(f"{pad}i64.store offset={base + SLOT_PAYLOAD}")
        out += [f"{pad}local.get $frame", f"{pad}i64.const {n}", f"{pad}i64.store offset={HDR_EXIT}",
                f"{pad}local.get $frame", f"{pad}local.get $iters", f"{pad}i64.store offset={HDR_ITERATIONS}",
                f"{pad}i32.const {n}", f"{pad}return"]
        return out

    def _module(self, body: list[str]) -> str:
        fn = self.fn
        out = [f";; {fn.name} ({fn.location})", "(module", '  (import "env" "memory" (memory 0 65536 shared))']
        for name in self.imports:
            params = "f64 f64" if name in LIBM2_FUNCTIONS else "f64"
            out.append(f'  (import "libm" "{name}" (func $libm_{name} (param {params}) (result f64)))')
        out.append('  (func $run (export "run") (param $frame i32) (result i32)')
        decls = [("$iters", "i64"), ("$t0", "i64"), ("$f0", "f64"), ("$cell", "i32"), *self.local_decls]
        for k in range(0, len(decls), 8):
            out.append("    " + " ".join(f"(local {n} {t})" for n, t in decls[k : k + 8]))
        exits = list(self.exits_used)
        # One block per exit around the body; the innermost (first in use) ends first, so its exit
        # code comes right after the body, the others follow in order.
        for k, n in enumerate(reversed(exits)):
            out.append("    " + "  " * k + f"block $exit{n}")
        out.extend("  " * len(exits) + line for line in body)
        out.append("    " + "  " * len(exits) + "unreachable")
        for k, n in enumerate(exits):
            out.append("    " + "  " * (len(exits) - 1 - k) + "end")
            out.extend("  " * (len(exits) - 1 - k) + line for line in self._exit_code(n))
        out.append("    unreachable")
        out.append("  )")
        for helper in sorted(_helper_closure(self.helpers)):
            out.append(HELPERS[helper])
        out.append(")")
        return "\n".join(out) + "\n"


def _payload(slot: int) -> int:
    return HEADER_SIZE + SLOT_SIZE * slot + SLOT_PAYLOAD


def _tag(slot: int) -> int:
    return HEADER_SIZE + SLOT_SIZE * slot


# Ops that are a plain instruction sequence over their operands (pushed in order).
_SIMPLE: dict[str, tuple[str, ...]] = {
    "wadd.i64": ("i64.add",),
    "wsub.i64": ("i64.sub",),
    "wmul.i64": ("i64.mul",),
    "and.i64": ("i64.and",),
    "or.i64": ("i64.or",),
    "xor.i64": ("i64.xor",),
    "invert.i64": ("i64.const -1", "i64.xor"),
    "lt.i64": ("i64.lt_s",),
    "le.i64": ("i64.le_s",),
    "gt.i64": ("i64.gt_s",),
    "ge.i64": ("i64.ge_s",),
    "eq.i64": ("i64.eq",),
    "ne.i64": ("i64.ne",),
    "add.f64": ("f64.add",),
    "sub.f64": ("f64.sub",),
    "mul.f64": ("f64.mul",),
    "neg.f64": ("f64.neg",),  # flips the sign bit only (NaN too)
    "abs.f64": ("f64.abs",),  # clears the sign bit only
    "lt.f64": ("f64.lt",),
    "le.f64": ("f64.le",),
    "gt.f64": ("f64.gt",),
    "ge.f64": ("f64.ge",),
    "eq.f64": ("f64.eq",),
    "ne.f64": ("f64.ne",),
    "float.i64": ("f64.convert_i64_s",),  # round-to-nearest-even, as CPython's int->float
    "int.bool": ("i64.extend_i32_u",),
    "bool.i64": ("i64.eqz", "i32.eqz"),
    "bool.f64": ("f64.const 0", "f64.ne"),  # NaN is true
    "not.bool": ("i32.eqz",),
    "and.bool": ("i32.and",),
    "or.bool": ("i32.or",),
    "eq.bool": ("i32.eq",),
    "ne.bool": ("i32.ne",),
    "select.i64": (),
    "select.f64": (),
    "select.bool": (),
}


def _select(self: _Lowering, op: Op) -> None:
    c, a, b = op.args
    self.ins(self.get(a), self.get(b), self.get(c), "select")
    self.put(op)


for _name in ("select_i64", "select_f64", "select_bool"):
    setattr(_Lowering, "op_" + _name, _select)


# -- helpers: float % and // exactly as CPython (fmod is exact, so any correct fmod is bit-identical) --

HELPERS: dict[str, str] = {
    # fmod(x, y) for y != 0: musl's integer algorithm, with the bit-by-bit long division replaced by
    # 11-bit steps of i64.rem_u (exact: the remainder < y's significand < 2**53, shifted by 11 < 2**64).
    "fmod": """\
  (func $fmod (param $x f64) (param $y f64) (result f64)
    (local $ux i64) (local $uy i64) (local $ex i64) (local $ey i64) (local $lz i64) (local $k i64)
    (local.set $ux (i64.reinterpret_f64 (local.get $x)))
    (local.set $uy (i64.reinterpret_f64 (local.get $y)))
    (local.set $ex (i64.and (i64.shr_u (local.get $ux) (i64.const 52)) (i64.const 0x7ff)))
    (local.set $ey (i64.and (i64.shr_u (local.get $uy) (i64.const 52)) (i64.const 0x7ff)))
    ;; x inf or nan, y nan (or zero): nan
    (if (i32.or (i32.or (i64.eqz (i64.shl (local.get $uy) (i64.const 1))) (f64.ne (local.get $y) (local.get $y)))
                (i64.eq (local.get $ex) (i64.const 0x7ff)))
      (then (return (f64.div (f64.mul (local.get $x) (local.get $y)) (f64.mul (local.get $x) (local.get $y))))))
    ;; |x| <= |y|: x itself, or a zero with x's sign
    (if (i64.le_u (i64.shl (local.get $ux) (i64.const 1)) (i64.shl (local.get $uy) (i64.const 1)))
      (then
        (if (i64.eq (i64.shl (local.get $ux) (i64.const 1)) (i64.shl (local.get $uy) (i64.const 1)))
          (then (return (f64.mul (f64.const 0) (local.get $x)))))
        (return (local.get $x))))
    ;; significands with the implicit bit (subnormals normalised: exponent goes to 0 or below)
    (if (i64.eqz (local.get $ex))
      (then
        (local.set $lz (i64.clz (i64.shl (local.get $ux) (i64.const 12))))
        (local.set $ex (i64.sub (i64.const 0) (local.get $lz)))
        (local.set $ux (i64.shl (local.get $ux) (i64.add (local.get $lz) (i64.const 1)))))
      (else
        (local.set $ux (i64.or (i64.and (local.get $ux) (i64.const 0xfffffffffffff)) (i64.const 0x10000000000000)))))
    (if (i64.eqz (local.get $ey))
      (then
        (local.set $lz (i64.clz (i64.shl (local.get $uy) (i64.const 12))))
        (local.set $ey (i64.sub (i64.const 0) (local.get $lz)))
        (local.set $uy (i64.shl (local.get $uy) (i64.add (local.get $lz) (i64.const 1)))))
      (else
        (local.set $uy (i64.or (i64.and (local.get $uy) (i64.const 0xfffffffffffff)) (i64.const 0x10000000000000)))))
    ;; remainder of (mx * 2**(ex-ey)) by my, 11 bits at a time
    (local.set $ux (i64.rem_u (local.get $ux) (local.get $uy)))
    (local.set $ex (i64.sub (local.get $ex) (local.get $ey)))
    (block $done
      (loop $steps
        (br_if $done (i64.le_s (local.get $ex) (i64.const 0)))
        (local.set $k (select (local.get $ex) (i64.const 11) (i64.lt_s (local.get $ex) (i64.const 11))))
        (local.set $ux (i64.rem_u (i64.shl (local.get $ux) (local.get $k)) (local.get $uy)))
        (local.set $ex (i64.sub (local.get $ex) (local.get $k)))
        (br $steps)))
    (if (i64.eqz (local.get $ux))
      (then (return (f64.mul (f64.const 0) (local.get $x)))))
    ;; normalise (implicit bit back at 52) and rebuild the double with x's sign; the result is exact
    (local.set $lz (i64.sub (i64.clz (local.get $ux)) (i64.const 11)))
    (local.set $ex (i64.sub (local.get $ey) (local.get $lz)))
    (local.set $ux (i64.shl (local.get $ux) (local.get $lz)))
    (if (i64.gt_s (local.get $ex) (i64.const 0))
      (then
        (local.set $ux (i64.or (i64.sub (local.get $ux) (i64.const 0x10000000000000))
                               (i64.shl (local.get $ex) (i64.const 52)))))
      (else
        (local.set $ux (i64.shr_u (local.get $ux) (i64.sub (i64.const 1) (local.get $ex))))))
    (f64.reinterpret_i64 (i64.or (local.get $ux)
                                 (i64.and (i64.reinterpret_f64 (local.get $x)) (i64.const 0x8000000000000000)))))""",
    # CPython's float_rem (Objects/floatobject.c), for w != 0.
    "py_mod": """\
  (func $py_mod (param $v f64) (param $w f64) (result f64)
    (local $m f64)
    (local.set $m (call $fmod (local.get $v) (local.get $w)))
    (if (f64.ne (local.get $m) (f64.const 0))
      (then
        ;; ensure the remainder has the same sign as the denominator
        (if (i32.ne (f64.lt (local.get $w) (f64.const 0)) (f64.lt (local.get $m) (f64.const 0)))
          (then (local.set $m (f64.add (local.get $m) (local.get $w))))))
      (else (local.set $m (f64.copysign (f64.const 0) (local.get $w)))))
    (local.get $m))""",
    # CPython's _float_div_mod quotient (float_floor_div), for w != 0.
    "py_floordiv": """\
  (func $py_floordiv (param $v f64) (param $w f64) (result f64)
    (local $m f64) (local $d f64) (local $f f64)
    (local.set $m (call $fmod (local.get $v) (local.get $w)))
    (local.set $d (f64.div (f64.sub (local.get $v) (local.get $m)) (local.get $w)))
    (if (f64.ne (local.get $m) (f64.const 0))
      (then
        (if (i32.ne (f64.lt (local.get $w) (f64.const 0)) (f64.lt (local.get $m) (f64.const 0)))
          (then (local.set $d (f64.sub (local.get $d) (f64.const 1)))))))
    (if (f64.ne (local.get $d) (f64.const 0))
      (then
        ;; snap the quotient to the nearest integral value
        (local.set $f (f64.floor (local.get $d)))
        (if (f64.gt (f64.sub (local.get $d) (local.get $f)) (f64.const 0.5))
          (then (local.set $f (f64.add (local.get $f) (f64.const 1))))))
      (else (local.set $f (f64.copysign (f64.const 0) (f64.div (local.get $v) (local.get $w))))))
    (local.get $f))""",
}
_HELPER_DEPS = {"py_mod": ("fmod",), "py_floordiv": ("fmod",), "fmod": ()}


def _helper_closure(names: Iterable[str]) -> set[str]:
    out: set[str] = set()
    work = list(names)
    while work:
        n = work.pop()
        if n not in out:
            out.add(n)
            work.extend(_HELPER_DEPS[n])
    return out
