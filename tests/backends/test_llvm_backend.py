"""LLVM backend: dumps, compile errors, interrupts from another thread, external memory, random IR, bounded memory."""
from __future__ import annotations

import ctypes
import gc
import os
import threading
import time

import pytest

pytest.importorskip("llvmlite", reason="the LLVM backend needs llvmlite")

from tauraro.backends.base import get_backend  # noqa: E402
from tauraro.backends.conformance import cases, check_backend  # noqa: E402
from tauraro.backends.ir.interp import IRInterpreter  # noqa: E402
from tauraro.backends.irgen import random_case  # noqa: E402
from tauraro.jit.ir import F64, I64, IRBuilder, LoopFunction  # noqa: E402
from tauraro.jit.layout import I64_MAX, LinearMemory, Tag  # noqa: E402
from tauraro.jit.reasons import ExitReason  # noqa: E402

CASES = {c.name: c for c in cases()}


@pytest.fixture(scope="module")
def backend():
    return get_backend("llvm")


def _compile(backend, name):
    case = CASES[name]
    mem = backend.make_memory(1 << 16)
    return case, mem, backend.compile(case.fn, mem)


def test_backend_flags(backend):
    assert backend.name == "llvm" and backend.native and backend.polls_interrupt_flag
    assert {"ir", "llvm", "asm"} <= backend.dump_kinds


def test_dump_llvm_before_and_after(backend):
    _, _, loop = _compile(backend, "loop_poll")
    try:
        text = loop.dump("llvm")
        assert "before optimisation" in text and "after optimisation" in text
        assert "load atomic i64" in text and "monotonic" in text  # the interrupt flag is re-read
        assert "llvm.sadd.with.overflow.i64" in text
    finally:
        loop.release()


def test_dump_host_asm(backend):
    _, _, loop = _compile(backend, "op_mul_i64")
    try:
        asm = loop.dump("asm")
        assert loop.symbol in asm and ("imul" in asm or "mul" in asm)
    finally:
        loop.release()


def test_llvm_error_raises_backend_compile_error(backend, monkeypatch):
    from tauraro.backends.llvm import BackendCompileError, lower

    real = lower.lower

    def broken(fn, symbol="tauraro_loop", base_cell=None):
        out = real(fn, symbol, base_cell)
        out.text = out.text.replace("ret i64", "ret i32", 1)
        return out

    monkeypatch.setattr("tauraro.backends.llvm.engine.lower", broken)
    with pytest.raises(BackendCompileError, match=r"LLVM rejected the IR of op_add_i64: .*error"):
        backend.compile(CASES["op_add_i64"].fn, backend.make_memory(1 << 16))


def test_driver_falls_back_when_llvm_fails(monkeypatch):
    from tauraro.api import run
    from tauraro.backends.base import BackendCompileError

    def failing(self, fn, memory):
        raise BackendCompileError("simulated LLVM failure")

    monkeypatch.setattr("tauraro.backends.llvm.LLVMBackend.compile", failing)
    src = "t = 0\nfor i in range(5000):\n    t = t + i\n"
    result = run(src, "llvm", jit_threshold=10)
    assert result.globals["t"] == sum(range(5000))
    assert any(a["reason"] == "backend" and "simulated LLVM failure" in a["explanation"] for a in result.stats.aborts)


@pytest.mark.parametrize("ir_opt", [0, 2])
def test_interrupt_from_another_thread_stops_the_loop(backend, ir_opt):
    old = backend.ir_opt
    backend.ir_opt = ir_opt
    try:
        case, mem, loop = _compile(backend, "loop_poll")
    finally:
        backend.ir_opt = old
    frame = mem.alloc_frame(case.fn.nslots)
    for slot, v in enumerate((0, I64_MAX - 1, 0.0, 0)):
        mem.write_value(frame, slot, v)
    mem.set_interrupt(frame, 0)
    timer = threading.Timer(0.05, mem.set_interrupt, (frame, 1))  # needs the GIL: run() must release it
    timer.start()
    t0 = time.perf_counter()
    n = loop.run(frame)
    elapsed = time.perf_counter() - t0
    timer.join()
    loop.release()
    assert case.fn.snapshots[n].reason is ExitReason.INTERRUPT
    assert elapsed < 5.0 and mem.iterations(frame) > 0


def test_external_memory_and_moving_base(backend):
    """Code takes the window address at each call: it works for external memory, also after a move."""
    case = CASES["op_add_i64"]
    buffers = [(ctypes.c_uint8 * (1 << 16))() for _ in range(2)]
    where = {"k": 0}

    def refresh():
        return ctypes.addressof(buffers[where["k"]]), 1 << 16

    mem = LinearMemory.external(*refresh(), refresh=refresh)
    loop = backend.compile(case.fn, mem)
    frame = mem.alloc_frame(case.fn.nslots)
    for k in (0, 1):
        where["k"] = k
        mem.refresh()
        mem.write_value(frame, 0, 40)
        mem.write_value(frame, 1, 2)
        assert loop.run(frame) == 2 and mem.read_value(frame, 2) == 42
    loop.release()
    with pytest.raises(RuntimeError):
        loop.run(frame)


# -- random IR -----------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(8))
def test_random_loops_match_ir_interpreter(backend, seed):
    problems = []
    for k in range(25):
        problems += check_backend(backend, random_case(seed * 1000 + k))
    assert not problems, "\n".join(problems[:10])


def test_random_loops_with_ir_pipeline(backend):
    old = backend.ir_opt
    backend.ir_opt = 2
    try:
        problems = []
        for k in range(30):
            problems += check_backend(backend, random_case(1234 + k))
    finally:
        backend.ir_opt = old
    assert not problems, "\n".join(problems[:10])


# -- memory ---------------------------------------------------------------------------------------


def _rss_kib() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)


def _unique_constants_fn(k: int) -> LoopFunction:
    """A function whose float and int constants are new for every k (LLVM interns constants)."""
    fn = LoopFunction(f"consts{k}", "mem:1", 2, entry_pc=0)
    b = IRBuilder(fn)
    b.set_block(b.new_block("entry"))
    b.guard_tag(0, F64, b.snapshot(0, {}, ExitReason.GUARD_TYPE, 1))
    y = b.load(0, F64)
    for j in range(6):
        y = b.op("mul.f64", y, b.const(F64, 1.0 + k * 1e-9 + j * 1e-12))
        y = b.op("add.f64", y, b.op("float.i64", b.const(I64, k * 1000 + j)))
    b.exit(b.snapshot(1, {1: y}, ExitReason.LOOP_EXIT, 1))
    return fn


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="RSS is read from /proc")
def test_thousands_of_compiles_keep_memory_bounded(backend):
    """Compile + release 2000 loops: RSS stays flat (ORC grows ~9 KiB per compile, the O2 IR pipeline ~73 KiB,
    the global LLVM context ~5 KiB with distinct constants)."""
    from tauraro.backends.llvm.engine import get_engine

    if get_engine().loader != "elf" or backend.ir_opt:
        pytest.skip("only the default configuration (ELF loader, no IR pipeline) promises flat memory")
    fns = [c.fn for c in cases()]
    mem = backend.make_memory(1 << 16)
    trim = getattr(ctypes.CDLL(None), "malloc_trim", None)

    def one(k: int) -> None:
        fn = fns[k % len(fns)] if k % 2 else _unique_constants_fn(k)
        backend.compile(fn, mem).release()

    for k in range(200):
        one(k)
    gc.collect()
    if trim:
        trim(0)
    start = _rss_kib()
    for k in range(200, 2200):
        one(k)
    gc.collect()
    if trim:
        trim(0)
    growth = _rss_kib() - start
    assert growth < 4096, f"RSS grew by {growth} KiB over 2000 compiles"


def test_released_code_is_unmapped_and_live_code_survives(backend):
    """Releasing one loop must not disturb another one compiled before or after it."""
    mem = backend.make_memory(1 << 16)
    a = backend.compile(CASES["op_add_i64"].fn, mem)
    b = backend.compile(CASES["op_sub_i64"].fn, mem)
    a.release()
    c = backend.compile(CASES["op_mul_i64"].fn, mem)
    frame = mem.alloc_frame(3)
    for loop, want in ((b, 5), (c, 14)):
        mem.write_slot(frame, 0, Tag.INT, 7)
        mem.write_slot(frame, 1, Tag.INT, 2)
        assert loop.run(frame) == 2 and mem.read_value(frame, 2) == want
    ref = IRInterpreter(CASES["op_sub_i64"].fn, mem)
    assert ref.run(frame) == 2
    b.release()
    c.release()


def test_lljit_loader_conforms(backend):
    """The portable loader (LLJIT, used off x86-64 Linux) passes the same corpus."""
    from tauraro.backends.llvm.engine import get_engine

    engine = get_engine()
    old = engine.loader
    engine.loader = "orc"
    try:
        problems = []
        for name in ("op_add_i64", "op_mod_f64", "op_callf_f64_exp", "loop_poll", "nested_loops", "swap"):
            problems += check_backend(backend, CASES[name])
    finally:
        engine.loader = old
    assert not problems, "\n".join(problems[:10])
