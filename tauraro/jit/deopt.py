"""The exit side of the deopt record (LuaJIT's lj_snap.c): what an exit writes, what the VM restores, and applying it.

The record itself, ``Snapshot``, lives with the IR (tauraro.jit.ir); this module owns everything
that happens when compiled code leaves through one.

Exit contract, for leaving a LoopFunction through snapshot N (N = its index in fn.snapshots,
reached by a failing guard, a set interrupt flag at `poll`, or an `exit !N` terminator):

1. For every (slot, v) in snapshot N's ``slots`` (``exit_stores``): write the slot's tag word with
   the tag of v's IR type (i64 -> INT, f64 -> FLOAT, bool -> BOOL) and its payload word with v's
   value (two's-complement i64, the double's bits, or 0/1). Slots not listed are left untouched:
   compiled code never writes a slot anywhere else.
2. Write N to header +0 and the number of back-edges taken during this call to header +16.
3. Return N.

A guard that fails exits *before* its own result exists, so a snapshot never names the
result of the op that uses it. The VM then rebuilds its registers from the window (unlisted
slots still hold what the VM wrote before the call) and resumes at ``resume_pc``: the driver
turns each snapshot into an ``ExitPlan`` once, at compile time (``plans_for``), and
``apply_exit`` carries one out after every run of compiled code.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .ir import TYPE_TAG, Const, LoopFunction, Snapshot, Value, const_of
from .layout import Tag, float_to_bits, unbox
from .reasons import ExitReason
from .region import RANGE_ITERATOR, LoopRegion, SlotRef, advance_range_iterator

__all__ = ["SnapshotExtras", "ExitPlan", "exit_stores", "payload_word", "plans_for", "apply_exit"]


@dataclass
class SnapshotExtras:
    """What the VM restores beside the slots (the translator fills it): host constants, the lists
    the loop entered with, and rebuilt range iterators."""

    objects: dict[SlotRef, Any] = field(default_factory=dict)
    list_copies: dict[SlotRef, int] = field(default_factory=dict)  # register <- the list entered via slot
    # (reg, cur slot, stop slot, step, whether it is the iterator object the loop entered with)
    iterators: list[tuple[int, int, int, int, bool]] = field(default_factory=list)


@dataclass
class ExitPlan:
    """How the VM applies one exit: slots to read back, host objects and iterators to restore."""

    resume_pc: int
    reason: ExitReason
    line: int
    reads: list[tuple[str, Any, int]]  # (kind "reg"/"global", key, slot)
    objects: list[tuple[str, Any, Any]]  # (kind, key, value)
    iterators: list[tuple[int, int, int, int, bool]]  # (reg, cur slot, stop slot, step, entered)
    list_copies: list[tuple[str, Any, int]]  # (kind, key, slot whose entry list the register gets)


def payload_word(type: Any, value: int | float | bool) -> int:
    """The slot payload word an exit stores for a constant of IR `type` (signed; f64: its bits)."""
    return float_to_bits(value) if TYPE_TAG[type] is Tag.FLOAT else int(value)  # type: ignore[arg-type]


def exit_stores(snap: Snapshot) -> list[tuple[int, Tag, Value | Const, int | None]]:
    """Step 1 of the contract for one snapshot, in slot order: (slot, tag word, entry, payload word
    when the entry is a constant (const_of), else None: the lowering stores the value's register)."""
    out: list[tuple[int, Tag, Value | Const, int | None]] = []
    for slot, v in sorted(snap.slots.items()):
        k = const_of(v)
        out.append((slot, TYPE_TAG[v.type], v, None if k is None else payload_word(v.type, k)))
    return out


def plans_for(fn: LoopFunction, region: LoopRegion) -> list[ExitPlan]:
    """One ExitPlan per snapshot of `fn` (after the backend compiled it: it may append exits)."""
    plans = []
    for snap in fn.snapshots:
        reads = []
        for slot in sorted(snap.slots):
            ref = region.slots[slot]
            if ref.kind in ("reg", "global"):
                reads.append((ref.kind, ref.key, slot))
        extras = snap.extras
        objects = [(ref.kind, ref.key, v) for ref, v in extras.objects.items()] if extras else []
        iterators = list(extras.iterators) if extras else []
        copies = [(ref.kind, ref.key, src) for ref, src in extras.list_copies.items()] if extras else []
        plans.append(ExitPlan(snap.resume_pc, snap.reason, snap.line, reads, objects, iterators, copies))
    return plans


def apply_exit(plan: ExitPlan, R: list, G: dict[str, Any], memory: Any, frame: int,
               entered: dict[int, list] | None = None) -> None:
    """Rebuild the VM's registers `R` and globals `G` after an exit: lists first (a register whose
    list the loop mutated gets the object it entered with; `entered` maps slot -> that list), then the
    slots the snapshot wrote, host objects, and range iterators."""
    if entered:
        for kind, key, slot in plan.list_copies:
            if kind == "reg":
                R[key] = entered[slot]
            else:
                G[key] = entered[slot]
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
    for reg, cur_slot, stop_slot, step, entered in plan.iterators:
        cur = memory.read_slot(frame, cur_slot)[1]
        if entered and type(R[reg]) is RANGE_ITERATOR:  # the object the program may also hold: advanced
            advance_range_iterator(R[reg], cur)
            continue
        stop = memory.read_slot(frame, stop_slot)[1]
        R[reg] = iter(range(cur, stop, step))
