"""The cranelift (wasm) backend's lowering: exact against the IR interpreter where the shared suite cannot reach.

The shared suites (test_backend_conformance.py: every op, control and list case; test_backend_consts.py:
constant operands) run on every backend. The lowering also has its own fmod, loop rotation and the
structuring algorithm: each is checked here against the IR interpreter or CPython, exit number and
window bytes.
"""
from __future__ import annotations

import math
import random
import struct

import pytest

from tauraro.backends.conformance import (
    F64_SAMPLES,
    Case,
    check_backend,
)
from tauraro.errors import TauraroError
from tauraro.jit.ir import BOOL, F64, I64, IRBuilder, LoopFunction
from tauraro.jit.layout import I64_MAX, float_to_bits
from tauraro.jit.reasons import ExitReason


@pytest.fixture(scope="module")
def backend():
    from tauraro.backends.base import get_backend

    try:
        get_backend("cranelift")
    except TauraroError as e:
        pytest.skip(str(e))
    from tauraro.backends.wasm import WasmBackend

    return WasmBackend(use_cache=False)


def _float_binop_case(opcode: str) -> Case:
    fn = LoopFunction(f"f_{opcode.replace('.', '_')}", "test:1", 3, entry_pc=0)
    b = IRBuilder(fn)
    b.set_block(b.new_block("entry"))
    snap = b.snapshot(0, {}, ExitReason.GUARD_TYPE, 1)
    b.guard_tag(0, F64, snap)
    b.guard_tag(1, F64, snap)
    x, y = b.load(0, F64), b.load(1, F64)
    r = b.op(opcode, x, y, snapshot=b.snapshot(1, {}, ExitReason.ZERO_DIV, 1))
    b.exit(b.snapshot(2, {2: r}, ExitReason.LOOP_EXIT, 1))
    return Case(fn.name, fn)


def _random_floats(rng: random.Random, n: int) -> list[float]:
    out = []
    for _ in range(n):
        kind = rng.randrange(4)
        if kind == 0:
            out.append(struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0])  # any bits
        elif kind == 1:
            out.append(rng.choice((-1, 1)) * rng.random() * 2.0 ** rng.randint(-1074, 1023))  # any exponent
        elif kind == 2:
            out.append(float(rng.randint(-10**6, 10**6)) / rng.choice((1, 2, 4, 10)))  # everyday values
        else:
            out.append(rng.choice(F64_SAMPLES))
    return out


@pytest.mark.parametrize(("opcode", "python"), [("mod.f64", lambda a, b: a % b), ("floordiv.f64", lambda a, b: a // b)])
def test_float_mod_and_floordiv_are_cpythons_bit_for_bit(backend, opcode, python):
    """wasm has no fmod: the lowering's own (exact) fmod plus CPython's float_rem/_float_div_mod."""
    case = _float_binop_case(opcode)
    mem = backend.make_memory(1 << 16)
    loop = backend.compile(case.fn, mem)
    frame = mem.alloc_frame(3)
    rng = random.Random(20240611)
    xs, ys = _random_floats(rng, 20000), _random_floats(rng, 20000)
    bad = []
    for x, y in zip(xs, ys):
        mem.write_value(frame, 0, x)
        mem.write_value(frame, 1, y)
        n = loop.run(frame)
        if y == 0.0:
            ok = n == 1
        else:
            want, got = python(x, y), mem.read_value(frame, 2)
            ok = n == 2 and (float_to_bits(got) == float_to_bits(want) or (math.isnan(got) and math.isnan(want)))
        if not ok:
            bad.append((x, y))
    loop.release()
    assert not bad, f"{len(bad)} mismatches, e.g. {bad[:5]}"


def test_random_functions_match_ir_interpreter(backend):
    """Random well-formed loops (diamonds, carried values, polls, every op) from the JIT-core test helpers."""
    from tauraro.backends.irgen import random_case

    problems = []
    for seed in range(150):
        problems += check_backend(backend, random_case(seed))
    assert not problems, "\n".join(problems[:10])


def _counting_loop() -> LoopFunction:
    """while i < n: t += i; i += 1 (the IR module docstring's example, with a poll)."""
    fn = LoopFunction("count", "test:1", 3, {0: "i", 1: "n", 2: "t"}, entry_pc=7)
    b = IRBuilder(fn)
    entry = b.new_block("entry")
    header = b.new_block("header", [I64, I64], ["i", "t"])
    body, done = b.new_block("body"), b.new_block("done")
    b.set_block(entry)
    s = b.snapshot(7, {}, ExitReason.GUARD_TYPE, 1)
    for slot in range(3):
        b.guard_tag(slot, I64, s)
    i0, n, t0 = (b.load(slot, I64) for slot in range(3))
    b.jump(header, [i0, t0])
    b.set_block(header)
    i, t = header.params
    b.br(b.op("lt.i64", i, n), body, [], done, [])
    b.set_block(body)
    t2 = b.op("add.i64", t, i, snapshot=b.snapshot(9, {0: i, 2: t}, ExitReason.OVERFLOW, 2))
    i2 = b.op("add.i64", i, b.const(I64, 1), snapshot=b.snapshot(11, {0: i, 2: t2}, ExitReason.OVERFLOW, 2))
    b.poll(b.snapshot(7, {0: i2, 2: t2}, ExitReason.INTERRUPT, 1))
    b.jump(header, [i2, t2])
    b.set_block(done)
    b.exit(b.snapshot(20, {0: i, 2: t}, ExitReason.LOOP_EXIT, 3))
    return fn


def test_counting_loop_is_one_rotated_wasm_loop_without_dispatch(backend):
    from tauraro.backends.wasm.lower import lower

    wat = lower(_counting_loop()).wat
    lines = [line.strip() for line in wat.splitlines()]
    assert sum(1 for line in lines if line.startswith("loop ")) == 1
    assert not any(line.startswith(("br_table", "call ")) for line in lines)
    # do-while: the loop ends with one conditional branch back to its own start
    loop_label = next(line.split()[1] for line in lines if line.startswith("loop "))
    body = lines[lines.index(f"loop {loop_label}") :]
    body = body[: body.index("end")]
    assert f"br_if {loop_label}" in body
    assert body[-1].startswith("br ") and "$exit" in body[-1]  # falls out of the loop to the exit
    assert "local.get $frame" not in body[: body.index("i64.load offset=8") - 1]  # no memory traffic but the poll


def test_loop_counts_iterations_and_exits_exactly(backend):
    case = Case("count", _counting_loop(), [(0, n, 0) for n in (0, 1, 5, 1000)] + [(I64_MAX - 3, I64_MAX, 0),
                                                                                 (0, 10**6, I64_MAX - 100)])
    assert not check_backend(backend, case)


def test_irreducible_control_flow_is_a_backend_compile_error(backend):
    from tauraro.backends.base import BackendCompileError

    fn = LoopFunction("irreducible", "test:1", 1, entry_pc=0)
    b = IRBuilder(fn)
    entry, left, right, out = b.new_block("entry"), b.new_block("left"), b.new_block("right"), b.new_block("out")
    b.set_block(entry)
    b.guard_tag(0, BOOL, b.snapshot(0, {}, ExitReason.GUARD_TYPE, 1))
    c = b.load(0, BOOL)
    b.br(c, left, [], right, [])  # two entries into the left <-> right cycle
    b.set_block(left)
    b.br(c, right, [], out, [])
    b.set_block(right)
    b.jump(left)
    b.set_block(out)
    b.exit(b.snapshot(1, {}, ExitReason.LOOP_EXIT, 1))
    with pytest.raises(BackendCompileError, match="irreducible"):
        backend.compile(fn, backend.make_memory(1 << 16))


def test_f64_literals_keep_every_bit():
    from tauraro.backends.wasm.lower import f64_literal

    for x in (0.0, -0.0, 5e-324, -5e-324, 1.0, math.pi, 1e308, -math.inf, math.inf, math.nan, -math.nan,
              struct.unpack("<d", struct.pack("<Q", 0x7FF0000000000001))[0],
              struct.unpack("<d", struct.pack("<Q", 0xFFFFFFFFFFFFFFFF))[0]):
        text = f64_literal(x)
        assert text.startswith(("0x", "-0x", "inf", "-inf", "nan:0x", "-nan:0x")), text
        if not math.isnan(x):
            assert float.fromhex(text) == x and math.copysign(1, float.fromhex(text)) == math.copysign(1, x)
