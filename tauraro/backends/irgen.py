"""Random loop IR for testing backends: counted loops whose bodies apply random ops, guards and snapshots."""
from __future__ import annotations

import random

from ..jit.ir import BOOL, F64, I64, OPS, Flag, IRBuilder, LoopFunction, Value
from ..jit.reasons import ExitReason
from ..jit.semantics import SEMANTICS
from .conformance import Case

# Value names that collide with the labels and registers the lowering invents.
NASTY_NAMES = ["fp", "start", "x.1", "exit.2", "it.b.body", "b.body", "body", "v.3", "0", "1.ok", "e0", None]


def random_function(rng: random.Random, index: int) -> Case:
    """A counted loop whose body applies random ops (any guard may exit) to loop-carried values."""
    types = [rng.choice([I64, I64, F64, BOOL]) for _ in range(rng.randint(1, 4))]
    nslots = len(types) + 2
    fn = LoopFunction(f"rand{index}", "random:1", nslots, entry_pc=0)
    b = IRBuilder(fn)
    hint = lambda: rng.choice(NASTY_NAMES)  # noqa: E731
    b.set_block(b.new_block("entry"))
    s_type = b.snapshot(0, {}, ExitReason.GUARD_TYPE, 1)
    loaded = []
    for slot, ty in enumerate([I64, I64, *types]):
        b.guard_tag(slot, ty, s_type)
        loaded.append(b.load(slot, ty, hint=hint()))
    header = b.new_block(rng.choice(["header", "fp", "x.1", "exit.0"]) if index % 2 else "header",
                         [I64, *types], [hint() for _ in range(len(types) + 1)])
    body, done = b.new_block("body"), b.new_block("done")
    b.jump(header, [loaded[0], *loaded[2:]])
    b.set_block(header)
    i, *carried = header.params
    b.br(b.op("lt.i64", i, loaded[1]), body, [], done, [])
    b.set_block(body)
    avail: dict = {I64: [i, loaded[1]], F64: [], BOOL: []}
    for v in carried:
        avail[v.type].append(v)
    ops = [name for name in SEMANTICS if name != "callf.f64" and not name.startswith("const")]
    for _ in range(rng.randint(2, 12)):
        name = rng.choice(ops + ["callf.f64", "const"])
        if name == "const":
            ty = rng.choice([I64, F64, BOOL])
            pool = {I64: [0, 1, -1, 2, 3, 7, 64, -(2**63), 2**63 - 1], F64: [0.0, -0.0, 1.5, -2.0, float("inf"), float("nan")],
                    BOOL: [False, True]}[ty]
            avail[ty].append(b.const(ty, rng.choice(pool), hint=hint()))
            continue
        d = OPS[name]
        if any(not avail[t] for t in d.operands):
            continue
        args = [rng.choice(avail[t]) for t in d.operands]
        attrs = {"fn": rng.choice(["sin", "exp", "log", "tanh"])} if name == "callf.f64" else {}
        snap = None
        if Flag.DEOPT in d.flags:
            live = [v for vs in avail.values() for v in vs if isinstance(v, Value)]
            chosen = rng.sample(live, min(len(live), rng.randint(0, 3)))
            slots = dict(zip(rng.sample(range(nslots), len(chosen)), chosen))
            snap = b.snapshot(5, slots, (d.exits or (ExitReason.UNSUPPORTED,))[0], 2)
        r = b.op(name, *args, snapshot=snap, hint=hint(), **attrs)
        if r is not None:
            avail[r.type].append(r)
    _random_diamond(b, rng, avail)
    i2 = b.op("add.i64", i, b.const(I64, 1), snapshot=b.snapshot(6, {0: i}, ExitReason.OVERFLOW, 1))
    new = [rng.choice(avail[v.type]) for v in carried]
    if rng.random() < 0.5:
        b.poll(b.snapshot(7, {0: i2, **{2 + k: v for k, v in enumerate(new)}}, ExitReason.INTERRUPT, 1))
    b.jump(header, [i2, *new])
    b.set_block(done)
    b.exit(b.snapshot(9, {0: i, **{2 + k: v for k, v in enumerate(carried)}}, ExitReason.LOOP_EXIT, 3))
    samples = {I64: [0, 1, -3, 5, 2**62, -(2**63)], F64: [0.0, -1.5, 2.5, float("nan"), 1e300], BOOL: [False, True]}
    inputs = []
    for _ in range(6):
        inputs.append((rng.choice([0, 1, 5]), rng.choice([0, 3, 10, 40]), *[rng.choice(samples[t]) for t in types]))
    return Case(fn.name, fn, inputs)




def _random_diamond(b: IRBuilder, rng: random.Random, avail: dict) -> None:
    """Maybe a branch on a random bool joining in a block with a parameter (or a br to one block twice)."""
    if not avail[BOOL] or rng.random() < 0.4:
        return
    cond = rng.choice(avail[BOOL])
    ty = rng.choice([t for t in (I64, F64, BOOL) if avail[t]])
    join = b.new_block(None, [ty], [rng.choice(NASTY_NAMES)])
    if rng.random() < 0.4:
        b.br(cond, join, [rng.choice(avail[ty])], join, [rng.choice(avail[ty])])
    else:
        then, other = b.new_block(None), b.new_block(None)
        b.br(cond, then, [], other, [])
        for blk in (then, other):
            b.set_block(blk)
            value = rng.choice(avail[ty])
            if ty is I64 and rng.random() < 0.5:
                value = b.op("mul.i64", value, value, snapshot=b.snapshot(4, {1: value}, ExitReason.OVERFLOW, 2))
            b.jump(join, [value])
    b.set_block(join)
    avail[ty].append(join.params[0])


def random_functions(seed: int, count: int) -> list[Case]:
    """`count` random loops (with their inputs) from one seed."""
    rng = random.Random(seed)
    return [random_function(rng, k) for k in range(count)]
