"""Python lists mirrored into linear memory for compiled loops: copied in at entry, back at exit if written.

The list object layout (LIST_* offsets, cells of CELL_SIZE bytes in the slot format) is defined in
layout.py, the one memory map.
Homogeneous int, float and bool lists convert at C speed through `array`; other lists cell by cell.
A list holding anything without a cell form (str, big int, nested list, ...) is not mirrored.
"""
from __future__ import annotations

from array import array
from operator import indexOf
from typing import Any

from .layout import (
    CELL_SIZE,
    I64_MAX,
    I64_MIN,
    LIST_CAP,
    LIST_DIRTY,
    LIST_HEADER,
    LIST_ITEMS,
    LIST_LEN,
    LinearMemory,
    Tag,
    box,
    unbox,
)


def _cells(lst: list) -> array | None:
    """The interleaved (tag, payload) words of a list, or None if an element has no cell form."""
    n = len(lst)
    kinds = set(map(type, lst))
    if len(kinds) == 1:
        kind = next(iter(kinds))
        payloads: array | None = None
        if kind is int:
            try:
                payloads = array("q", lst)
            except OverflowError:
                return None
            tag = Tag.INT
        elif kind is bool:
            payloads, tag = array("q", lst), Tag.BOOL
        elif kind is float:
            payloads, tag = array("q"), Tag.FLOAT
            payloads.frombytes(array("d", lst).tobytes())
        if payloads is not None:
            cells = array("q", bytes(CELL_SIZE * n))
            cells[0::2] = array("q", [int(tag)]) * n
            cells[1::2] = payloads
            return cells
    cells = array("q")
    for item in lst:
        boxed = box(item)
        if boxed is None:
            return None
        cells.append(int(boxed[0]))
        cells.append(boxed[1] if boxed[1] <= I64_MAX else boxed[1] - 2**64)
    return cells


def mirrorable(lst: list) -> bool:
    """Whether every item has a cell form (int within i64, float, bool), at C speed for the common cases."""
    kinds = set(map(type, lst))
    if not kinds <= {int, float, bool}:
        return False
    if int in kinds:
        ints = [x for x in lst if type(x) is int] if len(kinds) > 1 else lst
        return I64_MIN <= min(ints) and max(ints) <= I64_MAX
    return True


def first_uncopyable(lst: list) -> Any:
    """The first item without a cell form (see `mirrorable`), or NOTHING. At C speed: the first item of
    each other type is found by type, and the numbers before it are bounded by min and max (a NaN or a
    number outside 64 bits there falls back to scanning them one by one)."""
    kinds = set(map(type, lst))
    end = min((indexOf(map(type, lst), t) for t in kinds - _CELL_TYPES), default=len(lst))
    prefix = lst if end == len(lst) else lst[:end]  # no copy of a list that mirrors whole (sieve: 50M items)
    if int in kinds and prefix and not (I64_MIN <= min(prefix) and max(prefix) <= I64_MAX):
        big = next((x for x in prefix if type(x) is int and not I64_MIN <= x <= I64_MAX), None)
        if big is not None:
            return big
    return lst[end] if end < len(lst) else NOTHING


NOTHING = object()  # first_uncopyable's answer for a list whose every item has a cell form
_CELL_TYPES = frozenset({int, float, bool})


def mirror_in(memory: LinearMemory, lst: list) -> int | None:
    """Copy a list into linear memory; returns its object offset P, or None if it cannot be mirrored."""
    cells = _cells(lst)
    if cells is None:
        return None
    n = len(lst)
    try:
        p = memory.alloc(LIST_HEADER + CELL_SIZE * n)
    except MemoryError:
        return None
    q = memory.words
    q[(p + LIST_LEN) >> 3] = n
    q[(p + LIST_CAP) >> 3] = n
    q[(p + LIST_ITEMS) >> 3] = p + LIST_HEADER
    q[(p + LIST_DIRTY) >> 3] = 0
    if n:
        start = (p + LIST_HEADER) >> 3
        q[start:start + len(cells)] = cells
    return p


def mirror_out(memory: LinearMemory, p: int, lst: list) -> int:
    """Write a mirrored list back into the Python list if compiled code stored into it; returns the
    number of elements written back (0 when it was not stored into)."""
    q = memory.words
    if q[(p + LIST_DIRTY) >> 3] == 0:
        return 0
    n = q[(p + LIST_LEN) >> 3]
    items = q[(p + LIST_ITEMS) >> 3]
    cells = array("q")
    cells.frombytes(memory.view[items:items + CELL_SIZE * n])  # a memcpy (array(q, view) would iterate)
    tags, payloads = cells[0::2], cells[1::2]
    if tags.count(Tag.INT) == n:
        lst[:] = payloads.tolist()
    elif tags.count(Tag.FLOAT) == n:
        lst[:] = array("d", payloads.tobytes()).tolist()
    elif tags.count(Tag.BOOL) == n:
        lst[:] = list(map(bool, payloads))
    else:
        lst[:] = [unbox(t, v) for t, v in zip(tags, payloads)]
    q[(p + LIST_DIRTY) >> 3] = 0
    return n


def release(memory: LinearMemory, p: int) -> None:
    memory.free(p)


assert I64_MIN < 0 < I64_MAX
