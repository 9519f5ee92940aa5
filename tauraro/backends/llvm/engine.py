"""LLVM engine: one host TargetMachine per process, LLVM IR -> object code, loading, cheap calls and dumps.

Pipeline per loop: ``lower.lower(fn)`` -> ``parse_assembly`` -> optional IR pass pipeline ->
``TargetMachine.emit_object`` -> load. On x86-64 Linux the object is loaded by ``elfload`` (one
mmap per loop, unmapped on release); elsewhere (or with TAURARO_LLVM_LOADER=orc) by llvmlite's
LLJIT, one JITDylib per loop whose code the ResourceTracker frees on release. The entry point is
called through one cached ctypes CFUNCTYPE pointer, ``entry(frame_offset)``: the code loads the
memory's base at entry from the memory's base cell (LinearMemory.base_cell_address), whose address is
compiled in, so a memory that moves when it grows needs no recompile. Code for another target (dumps,
the emulated check) takes the base as an argument instead: ``entry(base, frame_offset)``.

Choices, measured on x86-64 (znver5) with llvmlite 0.50 / LLVM 22 by
``python -m bench.llvm_backend``:

* Entry: one argument, typed c_void_p (the cheapest ctypes conversion). Each argument costs
  60-100 ns (0 args 83 ns, 1 c_void_p 140 ns, 1 c_int64 177 ns, 2 arguments 190-270 ns per raw
  call); ``run(frame)``, the method the VM calls, costs ~190 ns in all.
* Default: code generator -O2, no IR pass pipeline. Median compile 1.8 ms per loop (lower 0.1,
  parse 0.15, codegen 1.45, load 0.06 ms). LLVM's -O2 IR pipeline adds ~0.9 ms per loop and gave
  no measurable speed-up on the kernels once the lowering folds literal operands itself (that
  folding was worth 2.7x on collatz), while in llvmlite 0.50 it leaks ~73 KiB per compile: each
  run registers instrumentation callbacks on a PassInstrumentationCallbacks object the
  PassBuilder never frees (a shared PassBuilder instead gets slower with every run: 4 -> 30 ms
  over 3000 runs). Codegen -O0 compiles in 0.6 ms but runs 1.6-5.8x slower; -O1 is the same as
  -O2; -O3 only adds compile time. Both levels are options (LLVMBackend docstring).
* Memory over 3000 compile+release: flat with the ELF loader and an LLVMContext per compile
  (the global context would keep every distinct constant: +5.6 KiB per compile measured); +9 KiB
  per compile with LLJIT (llvmlite cannot remove a JITDylib); MCJIT would keep every function's
  code (~32 KiB).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import itertools
import os
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

import llvmlite.binding as llvm

from ...jit.ir import LIBM2_FUNCTIONS, LIBM_FUNCTIONS, LoopFunction
from ..base import TARGET_TRIPLES, BackendCompileError
from .lower import lower

__all__ = ["Engine", "Build", "get_engine", "aarch64_asm", "aarch64_object", "AARCH64_TRIPLE", "FIXED_BASE_PROTO"]

AARCH64_TRIPLE = TARGET_TRIPLES["aarch64"]
# C prototype of a compiled loop: i64 entry(i64 frame), the base read from the memory's base cell.
# The frame goes through c_void_p, ctypes' cheapest conversion. CFUNCTYPE releases the GIL during
# the call, so the driver's interrupt watcher thread can set the flag the loop polls.
FIXED_BASE_PROTO = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_void_p)

# Defaults chosen by measurement (module docstring): codegen -O2 and no IR pass pipeline.
DEFAULT_CODEGEN_OPT = 2
DEFAULT_IR_OPT = 0

_init_lock = threading.Lock()
_initialised = False


def _initialise() -> None:
    """Initialise LLVM once (llvmlite 0.50: llvm.initialize() raises; targets are initialised one by one)."""
    global _initialised
    with _init_lock:
        if not _initialised:
            llvm.initialize_native_target()
            llvm.initialize_native_asmprinter()
            _initialised = True


_all_targets = False


def _initialise_all() -> None:
    """Also initialise every target LLVM was built with (cross-compiling to AArch64)."""
    global _all_targets
    _initialise()
    with _init_lock:
        if not _all_targets:
            llvm.initialize_all_targets()
            llvm.initialize_all_asmprinters()
            _all_targets = True


def _libm_addresses() -> dict[str, int]:
    """Addresses of the libm functions compiled code calls: the ones CPython's math module binds to.

    CPython's math module is linked against the platform libm, which is already loaded in this
    process; dlsym in the global scope therefore finds the very same functions. `fmod` backs
    LLVM's `frem`.
    """
    process = ctypes.CDLL(None)
    libm_path = ctypes.util.find_library("m")
    libm = ctypes.CDLL(libm_path) if libm_path else None
    out = {}
    for name in (*LIBM_FUNCTIONS, *LIBM2_FUNCTIONS, "floor", "ceil", "sqrt", "trunc", "roundeven"):
        func = getattr(process, name, None) or (getattr(libm, name, None) if libm else None)
        if func is not None:
            out[name] = ctypes.cast(func, ctypes.c_void_p).value
    return out


@dataclass
class Build:
    """The stages of one compile: LLVM IR before and after optimisation and the object code."""

    symbol: str
    text: str
    module: Any  # llvmlite ModuleRef after optimisation
    object_code: bytes
    seconds: dict[str, float]
    base_cell: int | None  # the compiled-in address of the memory's base cell, or None (base is an argument)


class Engine:
    """Process-wide LLVM state: the host TargetMachine, the optional LLJIT and the libm table.

    Thread-safety: compiles are serialised by a lock (the TargetMachines and LLJIT are shared).
    """

    def __init__(self) -> None:
        _initialise()
        self.triple = llvm.get_process_triple()
        self.cpu = llvm.get_host_cpu_name()
        self.features = llvm.get_host_cpu_features().flatten()
        self._tms: dict[tuple[str, int], Any] = {}
        self._lock = threading.Lock()
        self._counter = itertools.count()
        self._lljit: Any = None
        self.libm = _libm_addresses()
        wanted = os.environ.get("TAURARO_LLVM_LOADER", "")
        # The ELF loader handles x86-64 relocations only; LLJIT works everywhere LLVM does.
        self.loader = "elf" if wanted != "orc" and self._elf_loader_ok() else "orc"

    def _elf_loader_ok(self) -> bool:
        return sys.platform.startswith("linux") and self.triple.startswith("x86_64")

    # -- target machines -------------------------------------------------------------------------
    def target_machine(self, triple: str | None = None, opt: int = DEFAULT_CODEGEN_OPT) -> Any:
        """A cached TargetMachine (host: its CPU and features; AArch64: generic ARMv8-A)."""
        triple = triple or self.triple
        key = (triple, opt)
        tm = self._tms.get(key)
        if tm is None:
            if triple == self.triple:
                target = llvm.Target.from_triple(triple)
                tm = target.create_target_machine(cpu=self.cpu, features=self.features, opt=opt,
                                                  reloc="pic", codemodel="small")
            else:
                _initialise_all()
                target = llvm.Target.from_triple(triple)
                tm = target.create_target_machine(cpu="generic", opt=opt, reloc="pic", codemodel="small")
            self._tms[key] = tm
        return tm

    def _engine(self) -> Any:
        if self._lljit is None:
            self._lljit = llvm.create_lljit_compiler(self.target_machine())
        return self._lljit

    # -- compiling -------------------------------------------------------------------------------
    def build(self, fn: LoopFunction, *, triple: str | None = None, ir_opt: int = DEFAULT_IR_OPT,
              codegen_opt: int = DEFAULT_CODEGEN_OPT, symbol: str | None = None, emit: bool = True,
              base_cell: int | None = None) -> Build:
        """Lower, parse, optionally optimise and (if `emit`) emit an object for `fn`.

        `base_cell`: the address of the word holding the memory's base (compiled in: entry takes
        the frame offset only), or None (entry takes the base and the frame offset).
        """
        seconds: dict[str, float] = {}
        t0 = time.perf_counter()
        symbol = symbol or f"tauraro_loop_{next(self._counter)}"
        lowered = lower(fn, symbol, base_cell)
        t1 = time.perf_counter()
        seconds["lower"] = t1 - t0
        tm = self.target_machine(triple, codegen_opt)
        with self._lock:
            # A context per compile: LLVM interns every constant and type in its context forever,
            # so the global one would grow with each loop's distinct constants (measured: 5.6 KiB
            # per compile with unique float constants; flat with a context per module). The
            # ModuleRef keeps its context alive, so the two are freed together.
            context = llvm.create_context()
            try:
                module = llvm.parse_assembly(lowered.text, context=context)
                module.triple = triple or self.triple
                module.data_layout = str(tm.target_data)
                module.verify()
            except RuntimeError as e:
                raise BackendCompileError(f"LLVM rejected the IR of {fn.name}: {_one_line(e)}") from e
            t2 = time.perf_counter()
            seconds["parse"] = t2 - t1
            if ir_opt > 0:
                _run_ir_pipeline(module, tm, ir_opt)
            t3 = time.perf_counter()
            seconds["optimise"] = t3 - t2
            obj = b""
            if emit:
                try:
                    obj = tm.emit_object(module)
                except RuntimeError as e:
                    raise BackendCompileError(f"LLVM code generation failed for {fn.name}: {_one_line(e)}") from e
            seconds["codegen"] = time.perf_counter() - t3
        return Build(symbol, lowered.text, module, obj, seconds, base_cell)

    def load(self, build: Build) -> tuple[int, Any]:
        """Install an object; returns (entry address, handle with .free())."""
        t0 = time.perf_counter()
        if self.loader == "elf":
            from .elfload import LoadError, load_object

            try:
                code = load_object(build.object_code, self.libm)
            except LoadError as e:
                raise BackendCompileError(f"cannot load compiled code: {e}") from e
            handle: Any = _ElfHandle(code)
            address = code.address(build.symbol)
        else:
            handle = self._orc_load(build)
            address = handle.address
        build.seconds["load"] = time.perf_counter() - t0
        return address, handle

    def _orc_load(self, build: Build) -> _OrcHandle:
        with self._lock:
            lib = llvm.JITLibraryBuilder().add_object_img(build.object_code)
            for name, address in self.libm.items():
                lib.import_symbol(name, address)
            lib.export_symbol(build.symbol)
            try:
                tracker = lib.link(self._engine(), build.symbol)
            except RuntimeError as e:
                raise BackendCompileError(f"LLJIT could not link {build.symbol}: {e}") from e
        return _OrcHandle(tracker, tracker[build.symbol], len(build.object_code))

    def assembly(self, module: Any, triple: str | None = None, codegen_opt: int = DEFAULT_CODEGEN_OPT) -> str:
        tm = self.target_machine(triple, codegen_opt)
        with self._lock:
            return tm.emit_assembly(module)


def _one_line(e: BaseException) -> str:
    """LLVM's multi-line diagnostics on one line (the driver logs the first line of a message)."""
    return "; ".join(line.strip() for line in str(e).splitlines() if line.strip())


def _run_ir_pipeline(module: Any, tm: Any, level: int) -> None:
    """LLVM's default O<level> module pipeline.

    A fresh PassBuilder per run: llvmlite 0.50 registers instrumentation callbacks on the
    PassBuilder at every run and never removes them, so a shared one gets slower and bigger with
    each compile (measured: 4 ms -> 30 ms per run over 3000 runs). A fresh one leaks its callback
    object instead (~73 KiB per compile, measured), which is why the default is no IR pipeline.
    """
    pto = llvm.create_pipeline_tuning_options(speed_level=min(level, 3))
    pb = llvm.create_pass_builder(tm, pto)
    mpm = pb.getModulePassManager()
    try:
        mpm.run(module, pb)
    finally:
        mpm.close()
        pb.close()
        pto.close()


class _ElfHandle:
    __slots__ = ("code",)

    def __init__(self, code: Any) -> None:
        self.code = code

    @property
    def size(self) -> int:
        return self.code.size  # the mapping: whole pages

    def free(self) -> None:
        self.code.free()


class _OrcHandle:
    __slots__ = ("tracker", "address", "size")

    def __init__(self, tracker: Any, address: int, size: int = 0) -> None:
        self.tracker = tracker
        self.address = address
        self.size = size  # the object's size: LLJIT maps about that much

    def free(self) -> None:
        if self.tracker is not None:
            self.tracker.close()
            self.tracker = None


_engine: Engine | None = None


def get_engine() -> Engine:
    """The process-wide Engine (created on first use)."""
    global _engine
    if _engine is None:
        _engine = Engine()
    return _engine


def aarch64_asm(fn: LoopFunction, *, ir_opt: int = DEFAULT_IR_OPT, codegen_opt: int = DEFAULT_CODEGEN_OPT) -> str:
    """AArch64 (aarch64-unknown-linux-gnu) assembly for `fn`, on any host."""
    engine = get_engine()
    b = engine.build(fn, triple=AARCH64_TRIPLE, ir_opt=ir_opt, codegen_opt=codegen_opt, emit=False,
                     symbol="tauraro_loop")
    return engine.assembly(b.module, AARCH64_TRIPLE, codegen_opt)


def aarch64_object(fn: LoopFunction, symbol: str, *, ir_opt: int = DEFAULT_IR_OPT,
                   codegen_opt: int = DEFAULT_CODEGEN_OPT) -> bytes:
    """An AArch64 ELF object defining `i64 symbol(ptr base, i64 frame)` (for the emulated check)."""
    return get_engine().build(fn, triple=AARCH64_TRIPLE, ir_opt=ir_opt, codegen_opt=codegen_opt,
                              symbol=symbol).object_code
