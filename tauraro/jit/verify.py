"""IR verifier: table-driven types, block structure, SSA dominance and snapshot validity.

``verify(fn)`` raises VerifyError listing every problem, one per line, each naming the block and
the op as text (``block body: `%t = add.i64 %a, %b !1`: operand 1 %b is f64, expected i64``).
It runs between passes when ``optimize(fn, verify=True)`` or ``TAURARO_JIT_VERIFY=1``.
Unreachable blocks are type-checked but exempt from dominance checks (DCE deletes them).
"""
from __future__ import annotations

import os

from .analysis import Dominators
from .ir import (
    OPS,
    TYPE_TAG,
    AttrKind,
    Block,
    Const,
    Flag,
    IRError,
    LoopFunction,
    Op,
    Snapshot,
    Type,
    Value,
    check_const,
)
from .irtext import format_op


class VerifyError(IRError):
    """The IR broke an invariant; `.errors` holds one message per problem."""

    def __init__(self, fn: LoopFunction, errors: list[str]) -> None:
        self.errors = errors
        super().__init__(f"IR of {fn.name} ({fn.location}) is invalid:\n  " + "\n  ".join(errors))


def verify_enabled() -> bool:
    """True when TAURARO_JIT_VERIFY asks for verification between passes."""
    return os.environ.get("TAURARO_JIT_VERIFY", "") not in ("", "0")


def verify(fn: LoopFunction) -> None:
    """Raise VerifyError unless `fn` is well formed."""
    errors = _Verifier(fn).run()
    if errors:
        raise VerifyError(fn, errors)


class _Verifier:
    def __init__(self, fn: LoopFunction) -> None:
        self.fn = fn
        self.errors: list[str] = []
        self.defs: dict[Value, tuple[Block, int]] = {}  # value -> (block, index); params at -1
        self.doms: Dominators | None = None

    def run(self) -> list[str]:
        fn = self.fn
        if not fn.blocks:
            return ["function has no blocks"]
        if fn.entry.params:
            self.errors.append(f"block {fn.entry.name}: the entry block cannot have parameters")
        self._collect_defs()
        for blk in fn.blocks:
            self._check_block(blk)
        for k, snap in enumerate(fn.snapshots):
            self._check_snapshot(k, snap)
        if not self.errors:
            self.doms = Dominators(fn)
            self._check_dominance()
        return self.errors

    def err(self, blk: Block, op: Op | None, message: str) -> None:
        where = f"block {blk.name}" + (f": `{_safe_format(op)}`" if op is not None else "")
        self.errors.append(f"{where}: {message}")

    def _collect_defs(self) -> None:
        names: dict[str, Value] = {}
        block_names: set[str] = set()
        for blk in self.fn.blocks:
            if blk.name in block_names:
                self.err(blk, None, "block name defined twice")
            block_names.add(blk.name)
            defined = [(p, -1) for p in blk.params] + [(op.result, k) for k, op in enumerate(blk.ops) if op.result]
            for v, k in defined:
                if v in self.defs or names.get(v.name, v) is not v:
                    self.err(blk, blk.ops[k] if k >= 0 else None, f"value %{v.name} defined twice")
                self.defs[v] = (blk, k)
                names[v.name] = v

    def _check_block(self, blk: Block) -> None:
        if not blk.ops or not blk.ops[-1].is_terminator:
            self.err(blk, blk.ops[-1] if blk.ops else None, "block does not end with a terminator")
        for k, op in enumerate(blk.ops):
            if op.opcode not in OPS:
                self.err(blk, None, f"unknown op {op.opcode!r}")
                continue
            if op.is_terminator and k != len(blk.ops) - 1:
                self.err(blk, op, "terminator in the middle of the block")
            if op.block is not blk:
                self.err(blk, op, "op.block does not point at its block")
            self._check_op(blk, op)

    def _check_op(self, blk: Block, op: Op) -> None:
        d = op.opdef
        fixed = len(d.operands)
        if len(op.args) != fixed and not (d.variadic and len(op.args) > fixed):
            self.err(blk, op, f"takes {fixed} operands, got {len(op.args)}")
        for k, (arg, want) in enumerate(zip(op.args, d.operands)):
            if arg.type is not want:
                self.err(blk, op, f"operand {k} {arg!r} is {arg.type}, expected {want}")
        if d.result is None and op.result is not None:
            self.err(blk, op, "has a result but the op table says none")
        if d.result is not None and (op.result is None or op.result.type is not d.result):
            got = op.result.type if op.result is not None else "nothing"
            self.err(blk, op, f"result is {got}, expected {d.result}")
        self._check_attrs(blk, op)
        self._check_snapshot_ref(blk, op)
        self._check_targets(blk, op)

    def _check_attrs(self, blk: Block, op: Op) -> None:
        want = dict(op.opdef.attrs)
        if set(op.attrs) != set(want):
            self.err(blk, op, f"attributes {sorted(op.attrs)}, expected {sorted(want)}")
            return
        for name, kind in want.items():
            value = op.attrs[name]
            if kind is AttrKind.SLOT and not (isinstance(value, int) and 0 <= value < self.fn.nslots):
                self.err(blk, op, f"slot {value!r} not in 0..{self.fn.nslots - 1}")
            elif kind is AttrKind.TYPE and value not in TYPE_TAG:
                self.err(blk, op, f"{value!r} is not a slot type")
            elif kind in _CONST_KINDS:
                try:
                    check_const(_CONST_KINDS[kind], value)
                except IRError as e:
                    self.err(blk, op, str(e))

    def _check_snapshot_ref(self, blk: Block, op: Op) -> None:
        needs = Flag.DEOPT in op.opdef.flags
        if needs and op.snapshot is None:
            self.err(blk, op, "can exit but has no snapshot")
        elif needs and not 0 <= op.snapshot < len(self.fn.snapshots):  # type: ignore[operator]
            self.err(blk, op, f"snapshot !{op.snapshot} does not exist ({len(self.fn.snapshots)} snapshots)")
        elif not needs and op.snapshot is not None:
            self.err(blk, op, "cannot exit but has a snapshot")

    def _check_targets(self, blk: Block, op: Op) -> None:
        if len(op.targets) != op.opdef.ntargets:
            self.err(blk, op, f"has {len(op.targets)} targets, expected {op.opdef.ntargets}")
        for t in op.targets:
            if t.block not in self.fn.blocks:
                self.err(blk, op, f"targets block {t.block.name} which is not in the function")
                continue
            if len(t.args) != len(t.block.params):
                self.err(blk, op, f"passes {len(t.args)} args to {t.block.name} which has {len(t.block.params)} params")
            for arg, param in zip(t.args, t.block.params):
                if arg.type is not param.type:
                    self.err(blk, op, f"arg {arg!r} to {t.block.name} is {arg.type}, param %{param.name} is {param.type}")

    def _check_snapshot(self, index: int, snap: Snapshot) -> None:
        where = f"snapshot {index}"
        for slot, v in snap.slots.items():
            if not (isinstance(slot, int) and 0 <= slot < self.fn.nslots):
                self.errors.append(f"{where}: slot {slot!r} not in 0..{self.fn.nslots - 1}")
            if isinstance(v, Const):
                continue
            if not isinstance(v, Value):
                self.errors.append(f"{where}: s{slot} holds {v!r}, not a Value or Const")
            elif v not in self.defs:
                self.errors.append(f"{where}: s{slot}={v!r} is not defined in the function")
            elif v.type not in TYPE_TAG:
                self.errors.append(f"{where}: s{slot}={v!r} has type {v.type}, which has no slot tag")

    def _check_dominance(self) -> None:
        doms = self.doms
        assert doms is not None
        for blk in self.fn.blocks:
            if not doms.reachable(blk):
                continue
            for k, op in enumerate(blk.ops):
                for v in op.uses():
                    if not self._available(v, blk, k):
                        self.err(blk, op, f"uses {v!r} which does not dominate it{self._where(v)}")
                if op.snapshot is not None and Flag.DEOPT in op.opdef.flags:
                    for slot, v in self.fn.snapshots[op.snapshot].slots.items():
                        if isinstance(v, Value) and not self._available(v, blk, k):
                            self.err(blk, op, f"snapshot !{op.snapshot} s{slot}={v!r} does not dominate the op{self._where(v)}")

    def _available(self, v: Value, blk: Block, index: int) -> bool:
        """True if `v` is defined before op `index` of `blk` on every path."""
        if v not in self.defs:
            return False
        dblk, dk = self.defs[v]
        if dblk is blk:
            return dk < index
        return self.doms.dominates(dblk, blk)  # type: ignore[union-attr]

    def _where(self, v: Value) -> str:
        if v not in self.defs:
            return " (never defined)"
        return f" (defined in block {self.defs[v][0].name})"


_CONST_KINDS = {AttrKind.INT: Type.I64, AttrKind.FLOAT: Type.F64, AttrKind.BOOL: Type.BOOL}


def _safe_format(op: Op) -> str:
    try:
        return format_op(op)
    except Exception:  # the op may be too broken to print (missing attributes)
        return f"{op.opcode} {op.args}"
