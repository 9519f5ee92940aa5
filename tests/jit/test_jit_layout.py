"""Linear-memory layout: offsets, allocation, slot boxing, header fields, external memory."""
from __future__ import annotations

import ctypes
import math
import struct

import pytest

from tauraro.jit.layout import (
    HEADER_SIZE,
    I64_MAX,
    I64_MIN,
    NULL_GUARD,
    SLOT_SIZE,
    LinearMemory,
    Tag,
    bits_to_float,
    box,
    float_to_bits,
    frame_size,
    slot_offset,
    unbox,
)


def test_layout_constants_match_the_spec():
    assert (HEADER_SIZE, SLOT_SIZE) == (32, 16)
    assert (Tag.EMPTY, Tag.INT, Tag.FLOAT, Tag.BOOL) == (0, 1, 2, 3)
    assert slot_offset(64, 2) == 64 + 32 + 32
    assert frame_size(3) == 32 + 48


def test_alloc_is_aligned_zeroed_and_reuses_freed_windows():
    mem = LinearMemory(4096)
    a = mem.alloc_frame(3)
    b = mem.alloc_frame(3)
    assert a >= NULL_GUARD and a % 16 == 0 and b % 16 == 0 and b >= a + frame_size(3)
    mem.write_value(a, 0, 99)
    mem.free_frame(a)
    c = mem.alloc_frame(3)
    assert c == a and mem.read_slot(c, 0) == (0, 0)
    assert sorted(mem.live_frames()) == sorted([b, c])


def test_exhausted_memory_without_grow_hook_raises_memory_error():
    buf = (ctypes.c_uint8 * 512)()
    mem = LinearMemory.external(ctypes.addressof(buf), 512)
    with pytest.raises(MemoryError):
        for _ in range(100):
            mem.alloc_frame(4)


@pytest.mark.parametrize("value,tag", [(0, Tag.INT), (I64_MAX, Tag.INT), (I64_MIN, Tag.INT), (-1, Tag.INT),
                                       (1.5, Tag.FLOAT), (-0.0, Tag.FLOAT), (math.inf, Tag.FLOAT),
                                       (True, Tag.BOOL), (False, Tag.BOOL)])
def test_values_round_trip_through_slots(value, tag):
    mem = LinearMemory(4096)
    f = mem.alloc_frame(2)
    assert mem.write_value(f, 1, value)
    assert mem.read_slot(f, 1)[0] == tag
    back = mem.read_value(f, 1)
    assert type(back) is type(value) and struct.pack("<d", float(back)) == struct.pack("<d", float(value))
    assert box(value) == mem.read_slot(f, 1)
    assert unbox(*box(value)) == value


def test_unrepresentable_values_leave_the_slot_empty():
    mem = LinearMemory(4096)
    f = mem.alloc_frame(1)
    for v in (2**63, -(2**63) - 1, "s", None, [1]):
        assert box(v) is None
        assert mem.write_value(f, 0, v) is False
        assert mem.read_slot(f, 0)[0] == Tag.EMPTY
        with pytest.raises(ValueError):
            mem.read_value(f, 0)


def test_nan_payload_and_sign_survive():
    for bits in (0x7FF8000000000001, 0xFFF8000000000000, 0x7FF0000000000001):
        x = bits_to_float(bits)
        assert float_to_bits(x) & 0xFFFFFFFFFFFFFFFF == bits
        mem = LinearMemory(4096)
        f = mem.alloc_frame(1)
        mem.write_f64(f, 0, x)
        assert mem.read_slot(f, 0)[1] & 0xFFFFFFFFFFFFFFFF == bits


def test_slot_words_are_little_endian_tag_then_payload():
    mem = LinearMemory(4096)
    f = mem.alloc_frame(2)
    mem.write_value(f, 1, -2)
    raw = mem.read_bytes(slot_offset(f, 1), 16)
    assert struct.unpack("<qq", raw) == (Tag.INT, -2)
    mem.write_value(f, 0, 2.5)
    assert struct.unpack("<qd", mem.read_bytes(slot_offset(f, 0), 16)) == (Tag.FLOAT, 2.5)


def test_header_fields():
    mem = LinearMemory(4096)
    f = mem.alloc_frame(0)
    g = mem.alloc_frame(0)
    mem.set_exit_number(f, 7)
    mem.set_iterations(f, 12)
    mem.set_interrupt(f)
    assert (mem.exit_number(f), mem.interrupt_flag(f), mem.iterations(f)) == (7, 1, 12)
    assert struct.unpack("<qqqq", mem.read_bytes(f, 32)) == (7, 1, 12, 0)
    mem.set_interrupt(f, 0)
    mem.interrupt_all()
    assert mem.interrupt_flag(f) == mem.interrupt_flag(g) == 1


def test_external_memory_with_growth():
    buffers = [(ctypes.c_uint8 * 512)()]

    def refresh():
        return ctypes.addressof(buffers[-1]), len(buffers[-1])

    def grow(extra):
        old = buffers[-1]
        new = (ctypes.c_uint8 * (len(old) + extra + 1024))()
        ctypes.memmove(new, old, len(old))
        buffers.append(new)

    mem = LinearMemory.external(*refresh(), refresh=refresh, grow=grow)
    f = mem.alloc_frame(2)
    mem.write_value(f, 0, 41)
    assert buffers[0][slot_offset(f, 0) + 8] == 41
    for _ in range(20):
        mem.alloc_frame(4)
    assert mem.base == ctypes.addressof(buffers[-1]) and len(buffers) > 1
    assert mem.read_value(f, 0) == 41


def test_first_uncopyable_matches_a_scan() -> None:
    """lists.first_uncopyable (C speed, for abort messages about big lists) finds the item a plain
    scan finds: the first one without a cell form."""
    import random

    from tauraro.jit.layout import is_i64
    from tauraro.jit.lists import NOTHING, first_uncopyable

    def scan(lst: list) -> object:
        return next((x for x in lst if type(x) not in (int, float, bool) or (type(x) is int and not is_i64(x))),
                    NOTHING)

    rng = random.Random(10)
    pool = [0, -5, 2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 10**30, 1.5, float("nan"), float("inf"), -1e300,
            True, False, None, "s", (1,), [2]]
    for _ in range(5000):
        lst = [rng.choice(pool) for _ in range(rng.randint(0, 8))]
        expected, got = scan(lst), first_uncopyable(lst)
        assert got is expected or (type(got) is type(expected) and got == expected), lst
