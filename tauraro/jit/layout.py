"""Linear-memory layout shared by the VM and compiled loops: frame windows of tagged 16-byte slots.

One contiguous byte region holds every frame window. The VM writes the slots a loop reads, calls
the compiled loop with the window's byte offset, and reads back the slots the exit snapshot lists.
All integers are little-endian; every window is 16-byte aligned.

    frame window at offset F (all fields 8 bytes)
    +--------+-----------------------------------------------------------------+
    | F+0    | i64 exit number      written by compiled code when it leaves    |
    | F+8    | i64 interrupt flag   set nonzero by the VM (Ctrl-C); polled at   |
    |        |                      loop back-edges                            |
    | F+16   | i64 iteration count  back-edges taken during the call (stats)    |
    | F+24   | i64 reserved         (0)                                        |
    +--------+-----------------------------------------------------------------+
    | F+32   | slot 0: i64 tag | i64 payload                                   |
    | F+48   | slot 1: i64 tag | i64 payload                                   |
    | ...    | slot k at F + 32 + 16*k                                         |
    +--------+-----------------------------------------------------------------+

Payloads: INT = the value as two's-complement i64; FLOAT = the IEEE-754 bits of the double;
BOOL = 0 or 1. EMPTY (tag 0) means "no value that compiled code can represent".
"""
from __future__ import annotations

import ctypes
import mmap
import sys
import threading
from collections.abc import Callable
from enum import IntEnum
from typing import Any

HEADER_SIZE = 32
SLOT_SIZE = 16
ALIGN = 16

HDR_EXIT = 0
HDR_INTERRUPT = 8
HDR_ITERATIONS = 16
HDR_DEPTH = 24  # function units: the Tauraro call depth of this window (call ops check and pass it on)
# The VM's RECURSION_LIMIT (tauraro/vm.py; a test keeps them equal): a call op at this depth exits.
MAX_CALL_DEPTH = 1000
RETURN_EXIT = -1  # what a function unit's `ret` returns (exit numbers are >= 0)

SLOT_TAG = 0
SLOT_PAYLOAD = 8

I64_MIN = -(2**63)
I64_MAX = 2**63 - 1
TWO_53 = 2**53  # every integer of magnitude up to this is exact as a double

# Offset 0..NULL_GUARD-1 is never handed out so that 0 can mean "no frame/no object" in compiled code.
NULL_GUARD = 64
DEFAULT_SIZE = 1 << 16  # initial size of a JIT memory; a frame window is 32 bytes + 16 per slot
# An owned memory maps what it needs and doubles by remapping when an allocation does not fit, up to
# MAX_OWNED_SIZE (then MemoryError: a list too big to mirror stays interpreted). It used to reserve
# 16 GiB up front, which is free natively but costs ~96 MiB of real memory per instance under qemu-user
# (the emulator's page descriptors for the whole range, kept after munmap): bench/memory_reserve.py.
MAX_OWNED_SIZE = 1 << 34


class Tag(IntEnum):
    """Slot tags. Values 4 and 6..15 are reserved for NONE, STR, OBJECT and friends (see docs/jit.md)."""

    EMPTY = 0
    INT = 1
    FLOAT = 2
    BOOL = 3
    LIST = 5  # payload: byte offset of a list object (LIST_* below)


# A list object at byte offset P (docs/jit.md section 7; tauraro.jit.lists copies lists in and out):
#   P+0 i64 length, P+8 i64 capacity (= length: compiled code never resizes), P+16 i64 items offset E,
#   P+24 i64 dirty word (list.set writes 1); E = P+32, cell k at E + 16k holds a tag and payload like a slot.
LIST_LEN, LIST_CAP, LIST_ITEMS, LIST_DIRTY, LIST_HEADER = 0, 8, 16, 24, 32
CELL_SIZE = SLOT_SIZE
CELL_SHIFT = CELL_SIZE.bit_length() - 1  # cell k starts at items + (k << CELL_SHIFT)


def slot_offset(frame: int, slot: int) -> int:
    """Byte offset of slot `slot`'s tag word in the window at `frame`."""
    return frame + HEADER_SIZE + SLOT_SIZE * slot


def frame_size(nslots: int) -> int:
    """Bytes a window with `nslots` slots occupies (header included; a multiple of ALIGN, as both sizes are)."""
    return HEADER_SIZE + SLOT_SIZE * nslots


def box(value: object) -> tuple[int, int] | None:
    """(tag, payload) for a Python value, or None when it has no slot representation."""
    cls = type(value)
    if cls is int:
        if I64_MIN <= value <= I64_MAX:  # type: ignore[operator]
            return Tag.INT, value  # type: ignore[return-value]
        return None
    if cls is float:
        return Tag.FLOAT, float_to_bits(value)  # type: ignore[arg-type]
    if cls is bool:
        return Tag.BOOL, int(value)  # type: ignore[call-overload]
    return None


def unbox(tag: int, payload: int) -> object:
    """The Python value for (tag, payload); raises ValueError for EMPTY or an unknown tag."""
    if tag == Tag.INT:
        return payload
    if tag == Tag.FLOAT:
        return bits_to_float(payload)
    if tag == Tag.BOOL:
        return payload != 0
    raise ValueError(f"slot tag {tag} holds no value")


_F2I = ctypes.c_double(0.0)
_F2I_BITS = ctypes.c_int64.from_address(ctypes.addressof(_F2I))


def float_to_bits(x: float) -> int:
    """The IEEE-754 bits of `x` as a signed i64 (NaN payloads preserved)."""
    _F2I.value = x
    return _F2I_BITS.value


def bits_to_float(bits: int) -> float:
    """The double whose IEEE-754 bits are `bits` (signed or unsigned 64-bit)."""
    _F2I_BITS.value = bits - (1 << 64) if bits > I64_MAX else bits
    return _F2I.value


class LinearMemory:
    """A byte region of frame windows, either owned (an anonymous mapping that grows) or wrapping external memory.

    Owned: ``LinearMemory(size)`` maps `size` zeroed bytes and grows itself by remapping, so its
    address can change: code must reach the memory through ``base`` / ``base_cell_address`` (a
    word that always holds the current base, which compiled code loads at entry) and the views,
    read afresh after any allocation (a view left over from before a move is released: using it
    raises ValueError instead of touching unmapped memory). Byte offsets never change.
    External: ``LinearMemory.external(base, size, refresh=..., grow=...)`` wraps memory owned by
    someone else (e.g. a wasmtime Memory: base = ``data_ptr`` address). ``refresh()`` returns the
    current (base, size) and is called after ``grow(extra_bytes)`` or whenever the owner says the
    memory may have moved; call ``memory.refresh()`` yourself after growing it behind our back.

    Slot access goes through two public memoryviews over the same bytes: ``words`` (int64) and
    ``doubles`` (double), indexed in 8-byte words (re-read them after any allocation), so reads and writes allocate nothing beyond the result.
    """

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        size = _round_up(max(size, NULL_GUARD + ALIGN), mmap.PAGESIZE)
        self._owned: _Mapping | None = _Mapping(size)
        self._refresh_hook: Callable[[], tuple[int, int]] | None = None
        self._grow_hook: Callable[[int], None] | None = None
        self._init_views()
        self._map(self._owned.address, size)
        self._init_allocator()

    @classmethod
    def external(
        cls,
        base: int,
        size: int,
        *,
        refresh: Callable[[], tuple[int, int]] | None = None,
        grow: Callable[[int], None] | None = None,
    ) -> LinearMemory:
        """Wrap `size` bytes at address `base`; `refresh` reports (base, size) after moves/growth."""
        mem = cls.__new__(cls)
        mem._owned = None
        mem._refresh_hook = refresh
        mem._grow_hook = grow
        mem._init_views()
        mem._map(base, size)
        mem._init_allocator()
        return mem

    def _init_views(self) -> None:
        self._base_cell = ctypes.c_uint64(0)
        self.base_cell_address = ctypes.addressof(self._base_cell)
        # Held while the memory moves and while another thread writes into it (interrupt_all).
        self._lock = threading.Lock()
        self.view: memoryview | None = None

    def _map(self, base: int, size: int) -> None:
        """Point base, the base cell and fresh views at `size` bytes at `base` (old views released)."""
        if self.view is not None:
            for old in (self.words, self.doubles, self.view):
                old.release()
        self.base = base
        self._base_cell.value = base
        self.size = size
        raw = (ctypes.c_uint8 * size).from_address(base)
        self._raw = raw
        self.view = memoryview(raw).cast("B")
        words = size // 8 * 8
        self.words = self.view[:words].cast("q")
        self.doubles = self.view[:words].cast("d")

    def _init_allocator(self) -> None:
        self._top = NULL_GUARD
        self._free: dict[int, list[int]] = {}
        self._live: dict[int, int] = {}

    def reset(self) -> None:
        """Forget every allocation and zero the bytes they used: the memory is as new for another run
        (alloc hands out fresh blocks from the top unzeroed, since a new memory is zero)."""
        ctypes.memset(self.base, 0, self._top)
        self._init_allocator()

    def refresh(self) -> None:
        """Re-read base and size from the refresh hook (after the external memory grew or moved)."""
        if self._refresh_hook is not None:
            base, size = self._refresh_hook()
            if base != self.base or size != self.size:
                self._map(base, size)

    # -- allocation ------------------------------------------------------------------------------

    def alloc(self, nbytes: int) -> int:
        """Allocate `nbytes` (16-byte aligned, zeroed); returns the byte offset. Exact-size free lists."""
        nbytes = _round_up(max(nbytes, ALIGN), ALIGN)
        bucket = self._free.get(nbytes)
        if bucket:
            off = bucket.pop()
            self.view[off : off + nbytes] = bytes(nbytes)
        else:
            if self._top + nbytes > self.size:
                self._grow(self._top + nbytes - self.size)
            off = self._top
            self._top += nbytes
        self._live[off] = nbytes
        return off

    def free(self, offset: int) -> None:
        """Return a block from `alloc` to its size's free list."""
        nbytes = self._live.pop(offset)
        self._free.setdefault(nbytes, []).append(offset)

    def alloc_frame(self, nslots: int) -> int:
        """Allocate a zeroed frame window (header + `nslots` EMPTY slots); returns its byte offset."""
        return self.alloc(frame_size(nslots))

    def free_frame(self, offset: int) -> None:
        """Release a frame window from `alloc_frame`."""
        self.free(offset)

    def live_frames(self) -> list[int]:
        """Offsets of all allocated blocks (frames included), for interrupt broadcast and leak checks."""
        return list(self._live)

    def _grow(self, extra: int) -> None:
        """Add at least `extra` bytes at the end (an owned memory doubles; external ones ask their hook)."""
        need = self.size + extra
        with self._lock:
            if self._owned is not None:
                self._grow_owned(need)
            elif self._grow_hook is not None:
                self._grow_hook(extra)
                self.refresh()
            else:
                raise MemoryError(f"JIT linear memory exhausted ({self.size} bytes)")
        if need > self.size:
            raise MemoryError("JIT linear memory grow hook did not add enough bytes")

    def _grow_owned(self, need: int) -> None:
        """Remap an owned memory to max(2 x size, need) bytes; base may move, offsets and contents stay."""
        assert self._owned is not None
        size = max(self.size * 2, _round_up(need, mmap.PAGESIZE))
        if size > MAX_OWNED_SIZE:
            raise MemoryError(f"JIT linear memory would exceed {MAX_OWNED_SIZE >> 30} GiB")
        for old in (self.words, self.doubles, self.view):  # release before the bytes move
            old.release()
        self.view = None
        try:
            self._owned.resize(size)
        finally:  # on failure the mapping is as it was
            self._map(self._owned.address, self._owned.size)

    # -- slots ------------------------------------------------------------------------------------

    def write_slot(self, frame: int, slot: int, tag: int, payload: int) -> None:
        """Store (tag, payload) into a slot; payload is a signed i64 (float payloads are bits)."""
        w = (frame + HEADER_SIZE + SLOT_SIZE * slot) >> 3
        self.words[w] = tag
        self.words[w + 1] = payload

    def read_slot(self, frame: int, slot: int) -> tuple[int, int]:
        """(tag, payload) of a slot."""
        w = (frame + HEADER_SIZE + SLOT_SIZE * slot) >> 3
        q = self.words
        return q[w], q[w + 1]

    def write_value(self, frame: int, slot: int, value: object) -> bool:
        """Box a Python value into a slot; False (slot left EMPTY) if it has no representation."""
        w = (frame + HEADER_SIZE + SLOT_SIZE * slot) >> 3
        cls = type(value)
        if cls is int and I64_MIN <= value <= I64_MAX:  # type: ignore[operator]
            self.words[w] = Tag.INT
            self.words[w + 1] = value  # type: ignore[assignment]
        elif cls is float:
            self.words[w] = Tag.FLOAT
            self.doubles[w + 1] = value  # type: ignore[assignment]
        elif cls is bool:
            self.words[w] = Tag.BOOL
            self.words[w + 1] = 1 if value else 0
        else:
            self.words[w] = Tag.EMPTY
            return False
        return True

    def read_value(self, frame: int, slot: int) -> object:
        """The Python value in a slot; raises ValueError if the slot is EMPTY."""
        w = (frame + HEADER_SIZE + SLOT_SIZE * slot) >> 3
        tag = self.words[w]
        if tag == Tag.INT:
            return self.words[w + 1]
        if tag == Tag.FLOAT:
            return self.doubles[w + 1]
        if tag == Tag.BOOL:
            return self.words[w + 1] != 0
        raise ValueError(f"slot {slot} of frame {frame} is empty (tag {tag})")

    def write_f64(self, frame: int, slot: int, value: float) -> None:
        """Store a FLOAT slot from a Python float (bits preserved)."""
        w = (frame + HEADER_SIZE + SLOT_SIZE * slot) >> 3
        self.words[w] = Tag.FLOAT
        self.doubles[w + 1] = value

    # -- header -----------------------------------------------------------------------------------

    def exit_number(self, frame: int) -> int:
        return self.words[(frame + HDR_EXIT) >> 3]

    def set_exit_number(self, frame: int, n: int) -> None:
        self.words[(frame + HDR_EXIT) >> 3] = n

    def interrupt_flag(self, frame: int) -> int:
        return self.words[(frame + HDR_INTERRUPT) >> 3]

    def set_interrupt(self, frame: int, flag: int = 1) -> None:
        """Ask the loop running in `frame` to exit at its next back-edge poll (0 clears)."""
        self.words[(frame + HDR_INTERRUPT) >> 3] = flag

    def interrupt_all(self, flag: int = 1) -> None:
        """Set the interrupt flag in every live window (the driver's interrupt thread calls this)."""
        with self._lock:  # never while the memory moves
            for off in list(self._live):
                self.words[(off + HDR_INTERRUPT) >> 3] = flag

    def iterations(self, frame: int) -> int:
        return self.words[(frame + HDR_ITERATIONS) >> 3]

    def set_iterations(self, frame: int, n: int) -> None:
        self.words[(frame + HDR_ITERATIONS) >> 3] = n

    def read_bytes(self, offset: int, nbytes: int) -> bytes:
        """A copy of raw bytes (conformance tests compare frame windows with this)."""
        return bytes(self.view[offset : offset + nbytes])

    def write_bytes(self, offset: int, data: bytes) -> None:
        self.view[offset : offset + len(data)] = data


class _Mapping:
    """Anonymous read-write memory from the OS that can grow (mremap on Linux, else map-copy-unmap)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.address = _mmap_anonymous(size)
        self._munmap = _MUNMAP  # still reachable from __del__ at interpreter exit

    def resize(self, size: int) -> None:
        """Grow to `size` bytes, keeping the contents; the address may change."""
        if _MREMAP is not None:
            address = _MREMAP(self.address, self.size, size, _MREMAP_MAYMOVE)
            if address in (None, _MAP_FAILED):
                raise MemoryError(f"cannot grow the JIT linear memory to {size} bytes (errno {ctypes.get_errno()})")
        else:
            address = _mmap_anonymous(size)
            ctypes.memmove(address, self.address, self.size)
            self._munmap(self.address, self.size)
        self.address, self.size = address, size

    def __del__(self) -> None:
        if self.address:
            self._munmap(self.address, self.size)
            self.address = 0


def _libc_function(name: str, restype: Any, *argtypes: Any) -> Any:
    func = getattr(_LIBC, name, None)
    if func is not None:
        func.restype = restype
        func.argtypes = argtypes
    return func


_LIBC = ctypes.CDLL(None, use_errno=True)
_MAP_FAILED = ctypes.c_void_p(-1).value
_MREMAP_MAYMOVE = 1
_MMAP = _libc_function("mmap", ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                       ctypes.c_int, ctypes.c_long)
_MUNMAP = _libc_function("munmap", ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t)
_MREMAP = _libc_function("mremap", ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t,
                         ctypes.c_int) if sys.platform.startswith("linux") else None


def _mmap_anonymous(size: int) -> int:
    address = _MMAP(None, size, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1, 0)
    if address in (None, _MAP_FAILED):
        raise MemoryError(f"cannot map {size} bytes for the JIT linear memory (errno {ctypes.get_errno()})")
    return address


def _round_up(n: int, align: int) -> int:
    return (n + align - 1) // align * align


def is_i64(value: int) -> bool:
    """True when a Python int fits in a signed 64-bit integer."""
    return I64_MIN <= value <= I64_MAX
