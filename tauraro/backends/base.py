"""The Backend contract (compile a LoopFunction to a CompiledLoop over a LinearMemory) and the lazy registry.

Contract every backend implements (the conformance suite in tests/backends checks it):

* ``backend.make_memory(size)`` returns the LinearMemory compiled code will address. The default
  owns a ctypes buffer; a backend whose code lives in its own memory (wasm) returns an external
  LinearMemory over it. The VM allocates all frame windows from this memory.
* ``backend.compile(fn, memory)`` returns a CompiledLoop for an optimised, verified LoopFunction,
  or raises NotImplementedError naming the op it cannot compile (reserved ops always do), or
  TauraroError/another exception for real failures (the VM records AbortReason.BACKEND).
* ``loop.run(frame_offset)`` executes with the exit contract of tauraro.jit.deopt: on leaving
  through snapshot N it writes exactly the listed slots, header +0 = N, header +16 = back-edges
  taken during this call, and returns N. Nothing else in memory changes.
  Results must match the IR interpreter bit for bit (exit number and frame bytes; any NaN
  matches any NaN).
* If ``polls_interrupt_flag`` is True, every ``poll !N`` reads header +8 and exits through N when
  it is nonzero, so Ctrl-C stops a compiled loop within one iteration.
* ``loop.release()`` frees the code (idempotent); ``run`` after release raises RuntimeError.
* ``loop.dump(kind)`` returns text for each kind in ``supports_dump`` ("ir", "llvm", "asm", "wat").

New backends are registered in ``BACKENDS`` (module path, class name, required packages); the
module is imported only when the backend is first requested.
"""
from __future__ import annotations

import importlib
import importlib.util
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

from ..errors import TauraroError
from ..jit.ir import RESERVED_OPS, LoopFunction
from ..jit.layout import DEFAULT_SIZE, LinearMemory


class CompiledLoop(ABC):
    """Machine code (or a prepared interpreter) for one LoopFunction, bound to one LinearMemory."""

    def __init__(self, backend: Backend, fn: LoopFunction, memory: LinearMemory) -> None:
        self.backend = backend
        self.fn = fn
        self.memory = memory
        self.released = False

    @abstractmethod
    def run(self, frame_offset: int) -> int:
        """Execute on the frame window at `frame_offset`; return the exit (snapshot) number."""

    def release(self) -> None:
        """Free the compiled code; further `run` calls raise RuntimeError. Idempotent."""
        self.released = True

    def dump(self, kind: str) -> str:
        """Text of the compiled form; `kind` must be in the backend's supports_dump."""
        if kind == "ir":
            return str(self.fn)
        raise ValueError(f"backend {self.backend.name!r} cannot dump {kind!r} (supports: {sorted(self.backend.supports_dump)})")


class Backend(ABC):
    """A code generator. Subclasses set the capability flags and implement `compile`."""

    name: ClassVar[str] = "?"
    native: ClassVar[bool] = False  # produces machine code (False: interprets or runs in a VM)
    polls_interrupt_flag: ClassVar[bool] = True  # `poll` honours header +8
    supports_dump: ClassVar[frozenset[str]] = frozenset({"ir"})
    supports_lists: ClassVar[bool] = True  # implements load.ptr, list.len, list.get.*, list.set.*

    def make_memory(self, size: int = DEFAULT_SIZE) -> LinearMemory:
        """The memory compiled code addresses (default: an owned ctypes buffer)."""
        return LinearMemory(size)

    @abstractmethod
    def compile(self, fn: LoopFunction, memory: LinearMemory) -> CompiledLoop:
        """Compile `fn` for `memory`; NotImplementedError names an op this backend cannot compile."""

    def close(self) -> None:  # noqa: B027 - optional hook, most backends hold nothing global
        """Release engine-wide resources (called at interpreter shutdown)."""


def reject_reserved(fn: LoopFunction, backend: str) -> None:
    """Raise NotImplementedError naming the first reserved op in `fn` (lists, calls)."""
    for op in fn.ops():
        if op.opcode in RESERVED_OPS:
            raise NotImplementedError(f"IR op {op.opcode} is reserved and not implemented by the {backend} backend")


@dataclass(frozen=True)
class BackendSpec:
    """Where a backend lives and which third-party packages it needs."""

    module: str
    cls: str
    packages: tuple[str, ...] = ()


BACKENDS: dict[str, BackendSpec] = {
    "ir": BackendSpec("tauraro.backends.irbackend", "IRBackend"),
    "llvm": BackendSpec("tauraro.backends.llvm.runtime", "LLVMBackend", ("llvmlite",)),
    "cranelift": BackendSpec("tauraro.backends.wasm.runtime", "WasmBackend", ("wasmtime",)),
}
ALIASES: dict[str, str] = {"wasm": "cranelift"}

_instances: dict[str, Backend] = {}


def canonical_name(name: str) -> str:
    """The registry name for `name` (aliases resolved); TauraroError if unknown."""
    name = ALIASES.get(name, name)
    if name not in BACKENDS:
        raise TauraroError(f"unknown JIT backend {name!r} (choose from: {', '.join(BACKENDS)})")
    return name


def check_backend(name: str) -> str:
    """The registry name for `name` if the backend can load here (its packages are installed),
    without importing it; TauraroError otherwise."""
    name = canonical_name(name)
    for package in BACKENDS[name].packages:
        if importlib.util.find_spec(package) is None:
            raise TauraroError(f"JIT backend {name!r} needs the Python package {package!r}: pip install {package}")
    return name


def get_backend(name: str) -> Backend:
    """The shared instance of backend `name`, imported on first use; TauraroError if unavailable."""
    name = canonical_name(name)
    backend = _instances.get(name)
    if backend is None:
        backend = _instances[name] = _load(name, BACKENDS[name])()
    return backend


def _load(name: str, spec: BackendSpec) -> type[Backend]:
    check_backend(name)
    try:
        module = importlib.import_module(spec.module)
    except ImportError as e:
        raise TauraroError(f"JIT backend {name!r} is not available: cannot import {spec.module} ({e})") from None
    cls = getattr(module, spec.cls, None)
    if cls is None:
        cls = next((c for c in vars(module).values() if _is_backend_class(c) and c.name == name), None)
    if cls is None:
        raise TauraroError(f"JIT backend {name!r} is not available: {spec.module} defines no {spec.cls}")
    return cls


def _is_backend_class(obj: object) -> bool:
    return isinstance(obj, type) and issubclass(obj, Backend) and obj is not Backend


def available_backends() -> list[str]:
    """Names of the backends that load on this machine (the conformance suite runs each)."""
    names = []
    for name in BACKENDS:
        try:
            get_backend(name)
        except TauraroError:
            continue
        names.append(name)
    return names
