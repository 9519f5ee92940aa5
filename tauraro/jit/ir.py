"""Backend-agnostic loop IR: types, SSA values, ops, blocks with parameters, LoopFunction, THE op table, builder.

Every op is defined once, in ``_TABLE`` below (name, signature, flags, attributes, one-line doc).
Everything else (``PURE_OPS``, ``GUARD_OPS``, the verifier's type checks, the text parser, the docs)
is derived from it. ``python -m tauraro.jit.ir --markdown`` prints the table as Markdown;
``--write docs/jit.md`` refreshes the table section of the docs.

Building a loop (the bytecode->IR translator's API)::

    from tauraro.jit.ir import I64, F64, BOOL, IRBuilder, LoopFunction
    from tauraro.jit.reasons import ExitReason

    fn = LoopFunction("loop7", "prog.tr:12", nslots=3, slot_names={0: "i", 1: "n", 2: "total"},
                      entry_pc=7)
    b = IRBuilder(fn)
    entry = b.new_block("entry")                      # the first block created is the entry
    header = b.new_block("header", params=[I64, I64, I64], names=["i", "n", "t"])
    body, done = b.new_block("body"), b.new_block("done")

    b.set_block(entry)
    s_type = b.snapshot(7, {}, ExitReason.GUARD_TYPE, line=12)   # exit number = returned index
    for slot in (0, 1, 2):
        b.guard_tag(slot, I64, s_type)
    i0, n0, t0 = (b.load(slot, I64) for slot in (0, 1, 2))
    b.jump(header, [i0, n0, t0])

    b.set_block(header)
    i, n, t = header.params
    b.br(b.op("lt.i64", i, n), body, [], done, [])

    b.set_block(body)
    s_ovf = b.snapshot(9, {0: i, 2: t}, ExitReason.OVERFLOW, line=13)
    t2 = b.op("add.i64", t, i, snapshot=s_ovf, hint="t")
    i2 = b.op("add.i64", i, b.const(I64, 1), snapshot=b.snapshot(11, {0: i, 2: t2},
              ExitReason.OVERFLOW, line=12), hint="i")
    b.poll(b.snapshot(7, {0: i2, 2: t2}, ExitReason.INTERRUPT, line=12))
    b.jump(header, [i2, n, t2])                       # a back-edge: counted in header +16

    b.set_block(done)
    b.exit(b.snapshot(20, {0: i, 2: t}, ExitReason.LOOP_EXIT, line=14))

Rules the builder enforces at once (the verifier re-checks everything): the op exists, operand
count and types match the table, attributes are present and well-typed, ops that can exit get a
valid snapshot index, and nothing is appended after a terminator. ``b.op`` returns the result
Value, or None for ops without a result.

Values are identity-compared Python objects with a unique (per function) printable name; block
references in terminators are Block objects. Snapshots live in ``fn.snapshots``; an op refers to
one by index (``op.snapshot``), which is also the exit number compiled code returns.
"""
from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from .layout import I64_MAX, I64_MIN, Tag, float_to_bits
from .reasons import ExitReason


class IRError(ValueError):
    """Malformed IR: raised by the builder, the parser and the verifier."""


class Type(Enum):
    """IR value types. PTR (a byte offset into linear memory) is reserved for lists/objects."""

    I64 = "i64"
    F64 = "f64"
    BOOL = "bool"
    PTR = "ptr"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def parse(cls, text: str) -> Type:
        try:
            return cls(text)
        except ValueError:
            raise IRError(f"unknown type {text!r}") from None


I64, F64, BOOL, PTR = Type.I64, Type.F64, Type.BOOL, Type.PTR

# The slot tag compiled code writes for a value of each type at an exit.
TYPE_TAG: dict[Type, Tag] = {I64: Tag.INT, F64: Tag.FLOAT, BOOL: Tag.BOOL, PTR: Tag.LIST}
TAG_TYPE: dict[Tag, Type] = {tag: ty for ty, tag in TYPE_TAG.items()}

# Libm functions `callf.f64` may name. Backends must call the same C function CPython's math
# module calls (the platform libm), and exit exactly when CPython's math_1() would raise.
LIBM_FUNCTIONS: tuple[str, ...] = (
    "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh",
    "exp", "expm1", "log", "log2", "log10",
)
# Two-argument libm functions `callf2.f64` may name (also `**` on floats, which is `pow`). With
# finite arguments CPython's math.atan2/pow/fmod and float.__pow__ return exactly the C function's
# result or raise when it is not finite, so compiled code exits unless arguments and result are finite.
LIBM2_FUNCTIONS: tuple[str, ...] = ("atan2", "pow", "fmod")
LIBM_BY_OP: dict[str, tuple[str, ...]] = {"callf.f64": LIBM_FUNCTIONS, "callf2.f64": LIBM2_FUNCTIONS}


class Flag(Enum):
    """Op properties. GUARD ops are deterministic functions of their operands that may also exit."""

    PURE = "pure"  # no effect, never exits: may be folded, CSE'd, hoisted, deleted when unused
    GUARD = "guard"  # may exit through its snapshot; otherwise pure (CSE ok, DCE never)
    EFFECT = "effect"  # reads mutable state or writes memory: never moved, merged or deleted
    TERMINATOR = "terminator"  # ends a block
    DEOPT = "deopt"  # takes a snapshot `!N` (every GUARD op, and `exit`)
    COMMUTATIVE = "commutative"  # operands may be swapped (CSE canonicalises the order)
    RESERVED = "reserved"  # designed but not implemented: every backend raises NotImplementedError


class AttrKind(Enum):
    """Kinds of op attributes and how they print: slot `s3`, type `i64`, int `5`, float `1.5`, ..."""

    SLOT = "slot"
    TYPE = "type"
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    NAME = "name"


@dataclass(frozen=True)
class OpDef:
    """One row of the op table."""

    name: str
    operands: tuple[Type, ...]
    result: Type | None
    flags: frozenset[Flag]
    attrs: tuple[tuple[str, AttrKind], ...]
    doc: str
    exits: tuple[ExitReason, ...] = ()  # the reasons a translator normally gives this op's snapshot
    ntargets: int = 0  # successor blocks (jump: 1, br: 2)
    variadic: bool = False  # extra operands of any value type allowed after `operands`

    def has(self, flag: Flag) -> bool:
        return flag in self.flags


_R = ExitReason
# name, signature "operand types -> result", flags, attributes "name:kind ...", doc, exit reasons.
_TABLE: tuple[tuple[str, str, str, str, str, tuple[ExitReason, ...]], ...] = (
    # -- constants and entry
    ("const.i64", "-> i64", "pure", "value:int", "The i64 constant `value`.", ()),
    ("const.f64", "-> f64", "pure", "value:float", "The f64 constant `value` (bits preserved, NaN too).", ()),
    ("const.bool", "-> bool", "pure", "value:bool", "The bool constant `value` (`true`/`false`).", ()),
    ("load.i64", "-> i64", "pure", "slot:slot", "Payload of slot `slot` as i64 (no tag check: pair with guard.tag).", ()),
    ("load.f64", "-> f64", "pure", "slot:slot", "Payload bits of slot `slot` as f64 (no tag check).", ()),
    ("load.bool", "-> bool", "pure", "slot:slot", "Payload of slot `slot` != 0 (no tag check).", ()),
    ("guard.tag", "->", "guard", "slot:slot type:type", "Exit unless slot `slot`'s tag is the tag of `type`.", (_R.GUARD_TYPE,)),
    # -- i64 arithmetic: exact Python int semantics on i64 values, else exit
    ("add.i64", "i64 i64 -> i64", "guard commutative", "", "a + b; exits if the result leaves i64.", (_R.OVERFLOW,)),
    ("sub.i64", "i64 i64 -> i64", "guard", "", "a - b; exits if the result leaves i64.", (_R.OVERFLOW,)),
    ("mul.i64", "i64 i64 -> i64", "guard commutative", "", "a * b; exits if the result leaves i64.", (_R.OVERFLOW,)),
    ("wadd.i64", "i64 i64 -> i64", "pure commutative", "", "a + b wrapping mod 2**64; only where no overflow is proven.", ()),
    ("wsub.i64", "i64 i64 -> i64", "pure", "", "a - b wrapping mod 2**64; only where no overflow is proven.", ()),
    ("wmul.i64", "i64 i64 -> i64", "pure commutative", "", "a * b wrapping mod 2**64; only where no overflow is proven.", ()),
    ("neg.i64", "i64 -> i64", "guard", "", "-a; exits if a == -2**63.", (_R.OVERFLOW,)),
    ("abs.i64", "i64 -> i64", "guard", "", "abs(a); exits if a == -2**63.", (_R.OVERFLOW,)),
    ("floordiv.i64", "i64 i64 -> i64", "guard", "", "a // b (floor); exits if b == 0 or (a, b) == (-2**63, -1).", (_R.ZERO_DIV, _R.OVERFLOW)),
    ("mod.i64", "i64 i64 -> i64", "guard", "", "a % b (sign of b); exits if b == 0. -2**63 % -1 is 0 (hardware srem traps: special-case).", (_R.ZERO_DIV,)),
    ("truediv.i64", "i64 i64 -> f64", "guard", "", "a / b as Python: exits if b == 0 or |a| > 2**53 or |b| > 2**53, else f64(a) / f64(b).", (_R.ZERO_DIV, _R.RANGE)),
    ("lshift.i64", "i64 i64 -> i64", "guard", "", "a << n; exits if n < 0 or the result leaves i64 (n >= 64 fits only for a == 0).", (_R.SHIFT, _R.OVERFLOW)),
    ("rshift.i64", "i64 i64 -> i64", "guard", "", "a >> n (arithmetic); exits if n < 0; n >= 64 gives 0 or -1.", (_R.SHIFT,)),
    ("and.i64", "i64 i64 -> i64", "pure commutative", "", "a & b.", ()),
    ("or.i64", "i64 i64 -> i64", "pure commutative", "", "a | b.", ()),
    ("xor.i64", "i64 i64 -> i64", "pure commutative", "", "a ^ b.", ()),
    ("invert.i64", "i64 -> i64", "pure", "", "~a (never overflows).", ()),
    ("min.i64", "i64 i64 -> i64", "pure commutative", "", "min(a, b).", ()),
    ("max.i64", "i64 i64 -> i64", "pure commutative", "", "max(a, b).", ()),
    ("lt.i64", "i64 i64 -> bool", "pure", "", "a < b.", ()),
    ("le.i64", "i64 i64 -> bool", "pure", "", "a <= b.", ()),
    ("gt.i64", "i64 i64 -> bool", "pure", "", "a > b.", ()),
    ("ge.i64", "i64 i64 -> bool", "pure", "", "a >= b.", ()),
    ("eq.i64", "i64 i64 -> bool", "pure commutative", "", "a == b.", ()),
    ("ne.i64", "i64 i64 -> bool", "pure commutative", "", "a != b.", ()),
    # -- f64 arithmetic: IEEE-754 binary64, round-to-nearest-even, exactly as CPython floats
    ("add.f64", "f64 f64 -> f64", "pure commutative", "", "a + b.", ()),
    ("sub.f64", "f64 f64 -> f64", "pure", "", "a - b.", ()),
    ("mul.f64", "f64 f64 -> f64", "pure commutative", "", "a * b.", ()),
    ("div.f64", "f64 f64 -> f64", "guard", "", "a / b; exits if b == 0.0 (either sign): Python raises ZeroDivisionError.", (_R.ZERO_DIV,)),
    ("floordiv.f64", "f64 f64 -> f64", "guard", "", "a // b by CPython's float_floor_div (docs/jit.md); exits if b == 0.0.", (_R.ZERO_DIV,)),
    ("mod.f64", "f64 f64 -> f64", "guard", "", "a % b by CPython's float_rem (docs/jit.md); exits if b == 0.0.", (_R.ZERO_DIV,)),
    ("neg.f64", "f64 -> f64", "pure", "", "-a (flips the sign bit, also of 0.0 and NaN).", ()),
    ("abs.f64", "f64 -> f64", "pure", "", "abs(a) (clears the sign bit).", ()),
    ("sqrt.f64", "f64 -> f64", "guard", "", "math.sqrt(a), correctly rounded; exits if a < 0 (sqrt(-0.0) == -0.0, sqrt(nan) is nan).", (_R.DOMAIN,)),
    ("min.f64", "f64 f64 -> f64", "pure", "", "Python min(a, b): `b if b < a else a` (NaN and -0.0 as Python, not IEEE minNum).", ()),
    ("max.f64", "f64 f64 -> f64", "pure", "", "Python max(a, b): `b if b > a else a`.", ()),
    ("lt.f64", "f64 f64 -> bool", "pure", "", "a < b (false if either is NaN).", ()),
    ("le.f64", "f64 f64 -> bool", "pure", "", "a <= b (false if either is NaN).", ()),
    ("gt.f64", "f64 f64 -> bool", "pure", "", "a > b (false if either is NaN).", ()),
    ("ge.f64", "f64 f64 -> bool", "pure", "", "a >= b (false if either is NaN).", ()),
    ("eq.f64", "f64 f64 -> bool", "pure commutative", "", "a == b (false if either is NaN; 0.0 == -0.0).", ()),
    ("ne.f64", "f64 f64 -> bool", "pure commutative", "", "a != b (true if either is NaN).", ()),
    ("callf.f64", "f64 -> f64", "guard", "fn:name", "math.<fn>(a) via the platform libm; exits where CPython raises (see docs/jit.md).", (_R.DOMAIN,)),
    ("callf2.f64", "f64 f64 -> f64", "guard", "fn:name", "math.<fn>(a, b) via the platform libm (atan2, pow, fmod; `**` on floats is pow); exits unless a, b and the result are all finite.", (_R.DOMAIN,)),
    ("copysign.f64", "f64 f64 -> f64", "pure", "", "math.copysign(a, b): the magnitude of a with the sign bit of b (a NaN's sign bit too).", ()),
    ("round.f64", "f64 -> i64", "guard", "", "round(a): the nearest integer, ties to even; exits unless the result is finite and in i64.", (_R.RANGE,)),
    ("floor.f64", "f64 -> i64", "guard", "", "math.floor(a); exits unless the result is finite and in i64.", (_R.RANGE,)),
    ("ceil.f64", "f64 -> i64", "guard", "", "math.ceil(a); exits unless the result is finite and in i64.", (_R.RANGE,)),
    # -- conversions
    ("float.i64", "i64 -> f64", "pure", "", "float(a): correctly rounded (round-half-even), as Python.", ()),
    ("int.f64", "f64 -> i64", "guard", "", "int(a): truncation; exits unless -2**63 <= a < 2**63 (so NaN/inf exit).", (_R.RANGE,)),
    ("int.bool", "bool -> i64", "pure", "", "int(a): 0 or 1.", ()),
    ("bool.i64", "i64 -> bool", "pure", "", "bool(a): a != 0.", ()),
    ("bool.f64", "f64 -> bool", "pure", "", "bool(a): a != 0.0 (NaN is true).", ()),
    # -- bool
    ("not.bool", "bool -> bool", "pure", "", "not a.", ()),
    ("and.bool", "bool bool -> bool", "pure commutative", "", "a and b (both evaluated: no short circuit).", ()),
    ("or.bool", "bool bool -> bool", "pure commutative", "", "a or b (both evaluated).", ()),
    ("eq.bool", "bool bool -> bool", "pure commutative", "", "a == b.", ()),
    ("ne.bool", "bool bool -> bool", "pure commutative", "", "a != b.", ()),
    ("select.i64", "bool i64 i64 -> i64", "pure", "", "a if cond else b (cond is the first operand).", ()),
    ("select.f64", "bool f64 f64 -> f64", "pure", "", "a if cond else b.", ()),
    ("select.bool", "bool bool bool -> bool", "pure", "", "a if cond else b.", ()),
    # -- control
    ("jump", "->", "terminator", "", "Go to the target block, passing its parameters.", ()),
    ("br", "bool ->", "terminator", "", "Go to the first target if cond, else to the second.", ()),
    ("exit", "->", "terminator deopt", "", "Leave through snapshot !N: write its slots, header +0 = N, +16 = iterations; return N.", (_R.LOOP_EXIT, _R.BREAK, _R.RETURN, _R.UNSUPPORTED)),
    ("guard.true", "bool ->", "guard", "", "Exit through !N unless cond.", (_R.GUARD_VALUE,)),
    ("guard.false", "bool ->", "guard", "", "Exit through !N if cond.", (_R.GUARD_VALUE,)),
    ("poll", "->", "guard effect", "", "Exit through !N if the header interrupt flag (+8) is nonzero; put at back-edges.", (_R.INTERRUPT,)),
    # -- lists in linear memory (docs/jit.md section 7): P+0 length, P+24 dirty flag, 16-byte cells from P+32
    ("load.ptr", "-> ptr", "pure", "slot:slot", "Payload of a LIST-tagged slot: the list object's byte offset P in linear memory.", ()),
    ("list.len", "ptr -> i64", "effect", "", "len(list): the length word at P+0 (compiled code never changes a length).", ()),
    ("list.get.i64", "ptr i64 -> i64", "guard effect", "", "list[i]; i += len if i < 0; exits unless 0 <= i < len and the cell's tag is INT.", (_R.RANGE, _R.GUARD_TYPE)),
    ("list.get.f64", "ptr i64 -> f64", "guard effect", "", "list[i]; exits unless in bounds and the cell's tag is FLOAT.", (_R.RANGE, _R.GUARD_TYPE)),
    ("list.get.bool", "ptr i64 -> bool", "guard effect", "", "list[i]; exits unless in bounds and the cell's tag is BOOL.", (_R.RANGE, _R.GUARD_TYPE)),
    ("list.set.i64", "ptr i64 i64 ->", "guard effect", "", "list[i] = v: writes tag INT and v, sets the dirty word P+24 to 1; exits unless in bounds.", (_R.RANGE,)),
    ("list.set.f64", "ptr i64 f64 ->", "guard effect", "", "list[i] = v (tag FLOAT), dirty word = 1; exits unless in bounds.", (_R.RANGE,)),
    ("list.set.bool", "ptr i64 bool ->", "guard effect", "", "list[i] = v (tag BOOL, payload 0/1), dirty word = 1; exits unless in bounds.", (_R.RANGE,)),
    # -- function units (docs/jit.md section 7): calls to the unit itself, and its return
    ("call.i64", "-> i64", "guard effect", "fn:name", "Call function unit `fn` (the unit itself) with the operands in the next frame window; result from its slot 0. Exits if the depth word has reached the recursion limit or the callee exits or returns another type.", (_R.CALL,)),
    ("call.f64", "-> f64", "guard effect", "fn:name", "Like call.i64 with an f64 result.", (_R.CALL,)),
    ("call.bool", "-> bool", "guard effect", "fn:name", "Like call.i64 with a bool result.", (_R.CALL,)),
    ("ret.i64", "i64 ->", "terminator", "", "Return a from a function unit: slot 0 = (INT, a), header +0 = -1, +16 = iterations; return -1 (RETURN_EXIT).", ()),
    ("ret.f64", "f64 ->", "terminator", "", "Return a (slot 0 = (FLOAT, a)); return -1.", ()),
    ("ret.bool", "bool ->", "terminator", "", "Return a (slot 0 = (BOOL, a)); return -1.", ()),
)

_VARIADIC = frozenset({"call.i64", "call.f64", "call.bool"})
_NTARGETS = {"jump": 1, "br": 2}


def _parse_row(row: tuple[str, str, str, str, str, tuple[ExitReason, ...]]) -> OpDef:
    name, sig, flags_text, attrs_text, doc, exits = row
    lhs, rhs = sig.split("->")
    flags = {Flag(f) for f in flags_text.split()}
    if Flag.GUARD in flags:
        flags.add(Flag.DEOPT)
    attrs = tuple((a.split(":")[0], AttrKind(a.split(":")[1])) for a in attrs_text.split())
    return OpDef(
        name=name,
        operands=tuple(Type.parse(t) for t in lhs.split()),
        result=Type.parse(rhs.strip()) if rhs.strip() else None,
        flags=frozenset(flags),
        attrs=attrs,
        doc=doc,
        exits=exits,
        ntargets=_NTARGETS.get(name, 0),
        variadic=name in _VARIADIC,
    )


OPS: dict[str, OpDef] = {row[0]: _parse_row(row) for row in _TABLE}


def _with(flag: Flag) -> frozenset[str]:
    return frozenset(name for name, d in OPS.items() if flag in d.flags)


PURE_OPS = _with(Flag.PURE)
GUARD_OPS = _with(Flag.GUARD)
EFFECT_OPS = _with(Flag.EFFECT)
TERMINATOR_OPS = _with(Flag.TERMINATOR)
DEOPT_OPS = _with(Flag.DEOPT)  # ops carrying `!N`
COMMUTATIVE_OPS = _with(Flag.COMMUTATIVE)
RESERVED_OPS = _with(Flag.RESERVED)
IMPLEMENTED_OPS = frozenset(OPS) - RESERVED_OPS
# Ops whose result depends only on operands and attributes: CSE may merge two of them.
CSE_OPS = (PURE_OPS | GUARD_OPS) - EFFECT_OPS - RESERVED_OPS
CONST_OPS = frozenset(name for name in OPS if name.startswith("const."))
CONST_OP_FOR: dict[Type, str] = {I64: "const.i64", F64: "const.f64", BOOL: "const.bool"}
LOAD_OP_FOR: dict[Type, str] = {I64: "load.i64", F64: "load.f64", BOOL: "load.bool", PTR: "load.ptr"}


# -- values, ops, blocks ---------------------------------------------------------------------------


class Value:
    """An SSA value: the result of one op or a block parameter. Compared by identity."""

    __slots__ = ("type", "name", "op", "block")

    def __init__(self, type: Type, name: str, op: Op | None = None, block: Block | None = None) -> None:
        self.type = type
        self.name = name
        self.op = op  # defining op, or None for a block parameter
        self.block = block  # the block whose parameter this is (None for op results)

    def __repr__(self) -> str:
        return f"%{self.name}"


class Const:
    """A typed constant in a snapshot (a slot whose exit value is known at compile time)."""

    __slots__ = ("type", "value")

    def __init__(self, type: Type, value: int | float | bool) -> None:
        self.type = type
        self.value = check_const(type, value)

    def key(self) -> tuple[Type, object]:
        return self.type, (float_to_bits(self.value) if self.type is F64 else self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Const) and self.key() == other.key()

    def __hash__(self) -> int:
        return hash(self.key())

    def __repr__(self) -> str:
        return f"Const({self.type}, {self.value!r})"


@dataclass
class Snapshot:
    """The deopt record: VM state to materialise on an exit (what an exit writes: tauraro.jit.deopt).

    resume_pc: bytecode pc at which the interpreter continues.
    slots: slot -> SSA value (live at every op using this snapshot) or typed Const.
    reason: why this exit exists (stats, logs and dumps group exits by it).
    line: source line of the operation that exits (for messages and dumps).
    extras: opaque data the translator attaches for rebuilding the VM frame (a deopt.SnapshotExtras;
        not IR: ignored by passes, the text form and backends; copied when a pass derives a snapshot).
    """

    resume_pc: int
    slots: dict[int, Value | Const] = field(default_factory=dict)
    reason: ExitReason = ExitReason.UNSUPPORTED
    line: int = 0
    extras: Any = field(default=None, compare=False, repr=False)

    def values(self) -> list[Value]:
        """The SSA values this snapshot reads (constants excluded)."""
        return [v for v in self.slots.values() if isinstance(v, Value)]


def const_of(v: Value | Const) -> int | float | bool | None:
    """The constant `v` stands for (a snapshot Const, or a value a const.* op defines), else None.

    The one answer to "is this a constant" for passes, the translator and every lowering.
    """
    if isinstance(v, Const):
        return v.value
    op = v.op
    if op is not None and op.opcode in CONST_OPS:
        return op.attrs["value"]
    return None


def check_const(type: Type, value: Any) -> int | float | bool:
    """Validate and normalise a constant of `type` (bools are not ints here, ints not floats)."""
    if type is I64 and isinstance(value, int) and not isinstance(value, bool):
        if I64_MIN <= value <= I64_MAX:
            return value
        raise IRError(f"i64 constant {value} out of range")
    if type is F64 and isinstance(value, float):
        return value
    if type is BOOL and isinstance(value, bool):
        return value
    raise IRError(f"bad {type} constant {value!r}")


@dataclass(eq=False)
class Target:
    """A successor of a terminator: the block and the arguments for its parameters."""

    block: Block
    args: list[Value]


class Op:
    """One operation. `result` is None for ops without a result; `snapshot` indexes fn.snapshots."""

    __slots__ = ("opcode", "args", "result", "attrs", "snapshot", "targets", "block")

    def __init__(
        self,
        opcode: str,
        args: Sequence[Value] = (),
        attrs: dict[str, Any] | None = None,
        snapshot: int | None = None,
        targets: Sequence[Target] = (),
    ) -> None:
        self.opcode = opcode
        self.args = list(args)
        self.attrs = dict(attrs or {})
        self.snapshot = snapshot
        self.targets = list(targets)
        self.result: Value | None = None
        self.block: Block | None = None

    @property
    def opdef(self) -> OpDef:
        return OPS[self.opcode]

    @property
    def is_terminator(self) -> bool:
        return self.opcode in TERMINATOR_OPS

    def uses(self) -> list[Value]:
        """Every value this op reads: operands and target arguments (not snapshot entries)."""
        out = list(self.args)
        for t in self.targets:
            out.extend(t.args)
        return out

    def __repr__(self) -> str:
        from .irtext import format_op  # display only; irtext imports ir (the one deliberate lazy import)

        return format_op(self)


class Block:
    """A basic block: parameters (SSA values bound by the incoming jump/br), ops, one terminator last."""

    __slots__ = ("name", "params", "ops")

    def __init__(self, name: str) -> None:
        self.name = name
        self.params: list[Value] = []
        self.ops: list[Op] = []

    @property
    def terminator(self) -> Op | None:
        return self.ops[-1] if self.ops and self.ops[-1].is_terminator else None

    @property
    def successors(self) -> list[Block]:
        term = self.terminator
        return [t.block for t in term.targets] if term else []

    def append(self, op: Op) -> Op:
        op.block = self
        self.ops.append(op)
        return op

    def insert(self, index: int, op: Op) -> Op:
        op.block = self
        self.ops.insert(index, op)
        return op

    def __repr__(self) -> str:
        return f"<block {self.name}>"


class LoopFunction:
    """One compiled unit: a hot loop (blocks[0] is the entry) plus its exit snapshots.

    `nslots` is the frame window's slot count; `slot_names` maps slots to VM names for dumps;
    `entry_pc` is the bytecode pc at which the interpreter resumes if compiled code exits before
    changing anything (LICM's hoisted guards exit there; None disables that hoisting).
    """

    def __init__(
        self,
        name: str,
        location: str,
        nslots: int,
        slot_names: dict[int, str] | None = None,
        entry_pc: int | None = None,
    ) -> None:
        self.name = name
        self.location = location
        self.nslots = nslots
        self.slot_names = dict(slot_names or {})
        self.entry_pc = entry_pc
        self.blocks: list[Block] = []
        self.snapshots: list[Snapshot] = []
        self.pass_timings: list[tuple[str, float]] = []
        self._names: set[str] = set()
        self._counter = 0
        self._block_names: set[str] = set()

    @property
    def entry(self) -> Block:
        return self.blocks[0]

    def block(self, name: str) -> Block:
        for blk in self.blocks:
            if blk.name == name:
                return blk
        raise KeyError(name)

    def fresh_name(self, hint: str | None = None) -> str:
        """A value name unused in this function: `hint`, `hint.1`, ... or the next number."""
        if hint is None:
            while str(self._counter) in self._names:
                self._counter += 1
            name = str(self._counter)
        else:
            name, k = hint, 0
            while name in self._names:
                k += 1
                name = f"{hint}.{k}"
        self._names.add(name)
        return name

    def claim_name(self, name: str) -> None:
        """Reserve an exact value name (the parser uses this); IRError if taken."""
        if name in self._names:
            raise IRError(f"value %{name} defined twice")
        self._names.add(name)

    def new_value(self, type: Type, hint: str | None = None) -> Value:
        return Value(type, self.fresh_name(hint))

    def add_block(self, name: str | None = None) -> Block:
        """Append a new empty block named `name` (or b<N>); IRError if the name is taken."""
        if name is None:
            k = len(self.blocks)
            while f"b{k}" in self._block_names:
                k += 1
            name = f"b{k}"
        if name in self._block_names:
            raise IRError(f"block {name} defined twice")
        self._block_names.add(name)
        blk = Block(name)
        self.blocks.append(blk)
        return blk

    def remove_blocks(self, dead: Iterable[Block]) -> None:
        dead_set = set(map(id, dead))
        for blk in self.blocks:
            if id(blk) in dead_set:
                self._block_names.discard(blk.name)
        self.blocks = [b for b in self.blocks if id(b) not in dead_set]

    def add_snapshot(self, snap: Snapshot) -> int:
        self.snapshots.append(snap)
        return len(self.snapshots) - 1

    def ops(self) -> Iterable[Op]:
        for blk in self.blocks:
            yield from blk.ops

    def slot_name(self, slot: int) -> str:
        return self.slot_names.get(slot, f"s{slot}")

    def __str__(self) -> str:
        from .irtext import print_function  # display only (see Op.__repr__)

        return print_function(self)


# -- builder ---------------------------------------------------------------------------------------


def make_op(
    fn: LoopFunction,
    opcode: str,
    args: Sequence[Value],
    attrs: dict[str, Any],
    snapshot: int | None = None,
    targets: Sequence[Target] = (),
    hint: str | None = None,
    result: Value | None = None,
) -> Op:
    """Create (not insert) a checked op; its result is `result` or a fresh value named after `hint`."""
    opdef = OPS.get(opcode)
    if opdef is None:
        raise IRError(f"unknown op {opcode!r}")
    _check_operands(opdef, args)
    _check_attrs(fn, opdef, attrs)
    if Flag.DEOPT in opdef.flags:
        if snapshot is None or not 0 <= snapshot < len(fn.snapshots):
            raise IRError(f"{opcode} needs a snapshot index in 0..{len(fn.snapshots) - 1}, got {snapshot}")
    elif snapshot is not None:
        raise IRError(f"{opcode} takes no snapshot")
    if len(targets) != opdef.ntargets:
        raise IRError(f"{opcode} takes {opdef.ntargets} targets, got {len(targets)}")
    op = Op(opcode, args, attrs, snapshot, targets)
    if opdef.result is None:
        if result is not None:
            raise IRError(f"{opcode} has no result")
    elif result is not None:
        if result.type is not opdef.result:
            raise IRError(f"{opcode} result {result!r} is {result.type}, expected {opdef.result}")
        result.op = op
        op.result = result
    else:
        op.result = Value(opdef.result, fn.fresh_name(hint), op=op)
    return op


def _check_operands(opdef: OpDef, args: Sequence[Value]) -> None:
    fixed = len(opdef.operands)
    if len(args) != fixed and not (opdef.variadic and len(args) >= fixed):
        raise IRError(f"{opdef.name} takes {fixed} operands, got {len(args)}: {args}")
    for k, (arg, want) in enumerate(zip(args, opdef.operands)):
        if not isinstance(arg, Value):
            raise IRError(f"{opdef.name} operand {k} is {arg!r}, not a Value (use b.const for constants)")
        if arg.type is not want:
            raise IRError(f"{opdef.name} operand {k} {arg!r} is {arg.type}, expected {want}")


def _check_attrs(fn: LoopFunction, opdef: OpDef, attrs: dict[str, Any]) -> None:
    expected = dict(opdef.attrs)
    if set(attrs) != set(expected):
        raise IRError(f"{opdef.name} takes attributes {sorted(expected)}, got {sorted(attrs)}")
    for key, kind in expected.items():
        value = attrs[key]
        if kind is AttrKind.SLOT:
            if not (isinstance(value, int) and 0 <= value < fn.nslots):
                raise IRError(f"{opdef.name}: slot {value!r} not in 0..{fn.nslots - 1}")
        elif kind is AttrKind.TYPE:
            if value not in TYPE_TAG:
                raise IRError(f"{opdef.name}: {value!r} is not a slot type (i64, f64, bool)")
        elif kind is AttrKind.NAME:
            if opdef.name in LIBM_BY_OP and value not in LIBM_BY_OP[opdef.name]:
                raise IRError(f"{opdef.name}: unknown libm function {value!r}")
            if not (isinstance(value, str) and value.isidentifier()):
                raise IRError(f"{opdef.name}: bad name {value!r}")
        else:
            attrs[key] = check_const(_ATTR_CONST_TYPE[kind], value)


_ATTR_CONST_TYPE = {AttrKind.INT: I64, AttrKind.FLOAT: F64, AttrKind.BOOL: BOOL}


class IRBuilder:
    """Appends checked ops to a LoopFunction; see the module docstring for a complete example."""

    def __init__(self, fn: LoopFunction) -> None:
        self.fn = fn
        self.block: Block | None = None

    def new_block(
        self, name: str | None = None, params: Sequence[Type] = (), names: Sequence[str | None] | None = None
    ) -> Block:
        """Add a block with parameters of the given types (`names` are printing hints)."""
        blk = self.fn.add_block(name)
        hints = list(names) if names is not None else [None] * len(params)
        for ty, hint in zip(params, hints):
            blk.params.append(Value(ty, self.fn.fresh_name(hint), block=blk))
        return blk

    def set_block(self, block: Block) -> None:
        """Make `block` the insertion point (ops are appended at its end)."""
        self.block = block

    def snapshot(
        self, resume_pc: int, slots: dict[int, Value | Const], reason: ExitReason, line: int
    ) -> int:
        """Record a deopt snapshot; returns its index (the exit number)."""
        for slot in slots:
            if not 0 <= slot < self.fn.nslots:
                raise IRError(f"snapshot slot {slot} not in 0..{self.fn.nslots - 1}")
        return self.fn.add_snapshot(Snapshot(resume_pc, dict(slots), ExitReason(reason), line))

    def op(self, opcode: str, *args: Value, snapshot: int | None = None, hint: str | None = None, **attrs: Any) -> Value | None:
        """Append `opcode` with operands `args` and attributes; returns its result (or None)."""
        return self._emit(make_op(self.fn, opcode, args, attrs, snapshot, (), hint)).result

    def const(self, type: Type, value: int | float | bool, hint: str | None = None) -> Value:
        return self.op(CONST_OP_FOR[type], value=value, hint=hint)  # type: ignore[return-value]

    def load(self, slot: int, type: Type, hint: str | None = None) -> Value:
        return self.op(LOAD_OP_FOR[type], slot=slot, hint=hint or self.fn.slot_names.get(slot))  # type: ignore[return-value]

    def guard_tag(self, slot: int, type: Type, snapshot: int) -> None:
        self.op("guard.tag", slot=slot, type=type, snapshot=snapshot)

    def guard_true(self, cond: Value, snapshot: int) -> None:
        self.op("guard.true", cond, snapshot=snapshot)

    def guard_false(self, cond: Value, snapshot: int) -> None:
        self.op("guard.false", cond, snapshot=snapshot)

    def poll(self, snapshot: int) -> None:
        self.op("poll", snapshot=snapshot)

    def jump(self, block: Block, args: Sequence[Value] = ()) -> None:
        self._emit(make_op(self.fn, "jump", (), {}, None, [Target(block, list(args))]))

    def br(
        self, cond: Value, then: Block, then_args: Sequence[Value], other: Block, other_args: Sequence[Value]
    ) -> None:
        targets = [Target(then, list(then_args)), Target(other, list(other_args))]
        self._emit(make_op(self.fn, "br", (cond,), {}, None, targets))

    def exit(self, snapshot: int) -> None:
        self.op("exit", snapshot=snapshot)

    def _emit(self, op: Op) -> Op:
        if self.block is None:
            raise IRError(f"no current block for {op.opcode}: call set_block first")
        if self.block.terminator is not None:
            raise IRError(f"block {self.block.name} already ends with {self.block.terminator.opcode}")
        for t in op.targets:
            _check_target(op.opcode, t)
        return self.block.append(op)


def _check_target(opcode: str, t: Target) -> None:
    params = t.block.params
    if len(t.args) != len(params):
        raise IRError(f"{opcode} to {t.block.name} passes {len(t.args)} args for {len(params)} params")
    for arg, param in zip(t.args, params):
        if arg.type is not param.type:
            raise IRError(f"{opcode} to {t.block.name}: {arg!r} is {arg.type}, param {param!r} is {param.type}")


# -- docs --------------------------------------------------------------------------------------------

TABLE_BEGIN = "<!-- BEGIN OP TABLE (generated by `python -m tauraro.jit.ir --write docs/jit.md`) -->"
TABLE_END = "<!-- END OP TABLE -->"


def markdown_table() -> str:
    """The op table as Markdown (the generated section of docs/jit.md)."""
    lines = [
        "| op | operands | result | attributes | flags | exits | semantics |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for d in OPS.values():
        operands = " ".join(map(str, d.operands)) + (" ..." if d.variadic else "")
        if d.ntargets:
            operands += (" " if operands else "") + ", ".join(["block(args)"] * d.ntargets)
        attrs = " ".join(f"{n}:{k.value}" for n, k in d.attrs)
        flags = " ".join(f.value for f in Flag if f in d.flags)
        exits = " ".join(r.value for r in d.exits)
        doc = d.doc.replace("|", "\\|")
        lines.append(f"| `{d.name}` | {operands or '-'} | {d.result or '-'} | {attrs or '-'} | {flags} | {exits or '-'} | {doc} |")
    return "\n".join(lines) + "\n"


def replace_table_section(doc: str) -> str:
    """`doc` with the text between the table markers replaced by the current table."""
    head, sep, rest = doc.partition(TABLE_BEGIN)
    _, sep2, tail = rest.partition(TABLE_END)
    if not sep or not sep2:
        raise ValueError("op table markers not found")
    return f"{head}{TABLE_BEGIN}\n{markdown_table()}{TABLE_END}{tail}"


def _main(argv: list[str]) -> int:
    if "--write" in argv:
        path = argv[argv.index("--write") + 1]
        with open(path, encoding="utf-8") as f:
            text = f.read()
        with open(path, "w", encoding="utf-8") as f:
            f.write(replace_table_section(text))
        return 0
    if "--markdown" in argv:
        sys.stdout.write(markdown_table())
        return 0
    print("usage: python -m tauraro.jit.ir --markdown | --write docs/jit.md", file=sys.stderr)
    return 2


# Python's float NaN is the quiet NaN with this bit pattern; used by the text form.
CANONICAL_NAN_BITS = float_to_bits(math.nan)

if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
