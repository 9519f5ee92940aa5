"""The JIT's linear memory grows with need: compiled loops, frame windows, list mirrors and exits survive it.

An owned memory (llvm, ir) starts small and doubles by remapping, so its base can move; a wasm memory
(cranelift) grows in place. A move is forced by mapping a page right after the memory first.
"""
from __future__ import annotations

import contextlib
import ctypes
import io
import mmap
from pathlib import Path

import pytest

import tauraro
from tauraro.backends.conformance import cases, check_backend
from tauraro.errors import TauraroError
from tauraro.jit.layout import DEFAULT_SIZE, LinearMemory

BACKENDS = ["ir", "llvm", "cranelift"]
PROGRAM = Path(__file__).resolve().parents[1] / "programs" / "loop_memory_growth.tr"
_LIBC = ctypes.CDLL(None, use_errno=True)
_LIBC.mmap.restype = ctypes.c_void_p
_LIBC.mmap.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long)
_LIBC.munmap.argtypes = (ctypes.c_void_p, ctypes.c_size_t)
MAP_FIXED_NOREPLACE = 0x100000


@pytest.fixture(params=BACKENDS)
def backend(request):
    from tauraro.backends.base import get_backend

    try:
        return get_backend(request.param)
    except TauraroError as e:
        pytest.skip(str(e))


@contextlib.contextmanager
def page_after(mem: LinearMemory):
    """Map a page right after `mem` (if that address is free), so that growing it in place is impossible."""
    want = mem.base + mem.size
    got = _LIBC.mmap(want, mmap.PAGESIZE, 0,  # PROT_NONE
                     mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
                     -1, 0)
    placed = got == want
    if got not in (None, ctypes.c_void_p(-1).value) and not placed:
        _LIBC.munmap(got, mmap.PAGESIZE)  # the kernel took it as a hint only
    try:
        yield placed
    finally:
        if placed:
            _LIBC.munmap(want, mmap.PAGESIZE)


def grow_and_move(moves: list[bool]):
    """A `grow` for check_backend: double the memory with a page in the way; records whether it moved.

    (Usually the address after a mapping is taken anyway: Linux places new mappings below older ones.)
    """
    def grow(mem: LinearMemory) -> None:
        base, size = mem.base, mem.size
        with page_after(mem):
            mem.alloc(size)
        assert mem.size >= 2 * size
        moves.append(mem.base != base)
    return grow


def test_owned_memory_starts_small_grows_and_keeps_contents():
    mem = LinearMemory()
    assert mem.size == DEFAULT_SIZE
    frame = mem.alloc_frame(2)
    mem.write_value(frame, 1, -12345)
    stale = mem.words
    with page_after(mem) as blocked:
        big = mem.alloc(3 * DEFAULT_SIZE)
    assert big + 3 * DEFAULT_SIZE <= mem.size
    assert mem.read_value(frame, 1) == -12345
    assert ctypes.c_uint64.from_address(mem.base_cell_address).value == mem.base
    if blocked:
        with pytest.raises(ValueError):  # a view from before the move is released, not dangling
            stale[0] = 1
    mem.write_bytes(big + 3 * DEFAULT_SIZE - 8, b"\xff" * 8)  # the new end is writable


def test_owned_memory_growth_has_a_ceiling(monkeypatch):
    import tauraro.jit.layout as layout

    monkeypatch.setattr(layout, "MAX_OWNED_SIZE", 4 * DEFAULT_SIZE)
    mem = LinearMemory()
    mem.alloc(2 * DEFAULT_SIZE)
    with pytest.raises(MemoryError):
        mem.alloc(4 * DEFAULT_SIZE)


def test_failed_growth_leaves_the_memory_usable(monkeypatch):
    import tauraro.jit.layout as layout

    mem = LinearMemory()
    frame = mem.alloc_frame(1)
    mem.write_value(frame, 0, 7)

    def refuse(self, size):
        raise MemoryError("no more")

    monkeypatch.setattr(layout._Mapping, "resize", refuse)
    with pytest.raises(MemoryError):
        mem.alloc(2 * DEFAULT_SIZE)
    assert mem.read_value(frame, 0) == 7 and mem.alloc_frame(1) > frame


def test_conformance_cases_survive_growth_before_their_run(backend):
    """Compiled before, windows and lists written before, run after the memory grew (and moved).

    Every list case and a spread of the others (all of them with growth would add ~20 s to the suite).
    """
    chosen = [c for k, c in enumerate(cases()) if c.lists or k % 6 == 0]
    problems, moves = [], []
    for case in chosen:
        problems += check_backend(backend, case, grow=grow_and_move(moves))
    assert not problems, "\n".join(problems[:10])
    if backend.name != "cranelift":  # wasm memories grow in place (memory_may_move=False)
        assert sum(moves) >= len(chosen) // 2, f"the owned memory moved in {sum(moves)} of {len(chosen)} growths"


def test_program_that_grows_the_memory_mid_run(backend, monkeypatch):
    """A list bigger than the initial memory is mirrored between loops compiled before and after."""
    grew = []
    real = LinearMemory._grow

    def counting(self, extra):
        grew.append(extra)
        real(self, extra)

    monkeypatch.setattr(LinearMemory, "_grow", counting)
    source = PROGRAM.read_text(encoding="utf-8")
    expected = io.StringIO()
    with contextlib.redirect_stdout(expected):
        exec(compile(source, str(PROGRAM), "exec"), {"__name__": "__main__"})  # CPython, live
    for threshold in (1, None):
        grew.clear()
        out = io.StringIO()
        result = tauraro.run(source, backend.name, jit_threshold=threshold, stdout=out)
        assert out.getvalue() == expected.getvalue(), f"threshold {threshold}"
        assert grew, f"threshold {threshold}: the memory never grew"
        assert result.stats.loops_compiled >= 3
