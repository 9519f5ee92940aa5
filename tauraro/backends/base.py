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
* Optional hooks with defaults: ``backend.configure(options)`` (per-run options), ``backend.interrupt()``
  (SIGINT arrived), ``backend.cache_hits`` (compiles a persistent cache served).
* ``loop.dump(kind, target=None)`` returns text for each kind in ``dump_kinds`` ("ir", "llvm", "asm",
  "wat"); `target` (a name in ``targets``) only for the kinds in ``target_dumps``.
* What `--dump`/`--target` may ask of a backend follows from those declarations alone and is checked
  once, before the program runs, by ``check_dump_request``.

New backends are registered in ``BACKENDS`` (module path, class name, required packages); the
module is imported only when the backend is first requested.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import shutil
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

from ..errors import TauraroError

if TYPE_CHECKING:  # the CLI reads this module at start-up: the JIT's modules load when a loop gets hot
    from ..jit.ir import LoopFunction
    from ..jit.layout import LinearMemory


class BackendCompileError(RuntimeError):
    """A backend could not compile or load a loop (its toolchain rejected it); the driver records
    AbortReason.BACKEND and the loop stays interpreted."""


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

    def dump(self, kind: str, target: str | None = None) -> str:
        """Text of the compiled form; `kind` in the backend's dump_kinds, `target` in its targets."""
        if kind == "ir":
            return str(self.fn)
        raise ValueError(f"backend {self.backend.name!r} cannot dump {kind!r} (it dumps: {sorted(self.backend.dump_kinds)})")


class Backend(ABC):
    """A code generator. Subclasses set the capability flags and implement `compile`."""

    name: ClassVar[str] = "?"
    native: ClassVar[bool] = False  # produces machine code (False: interprets or runs in a VM)
    polls_interrupt_flag: ClassVar[bool] = True  # `poll` honours header +8
    dump_kinds: ClassVar[frozenset[str]] = frozenset({"ir"})  # what loop.dump(kind) prints
    dump_tools: ClassVar[dict[str, str]] = {}  # dump kind -> the program on PATH it needs
    targets: ClassVar[frozenset[str]] = frozenset()  # --target names (TARGET_TRIPLES) it emits code for
    target_dumps: ClassVar[frozenset[str]] = frozenset()  # the dump kinds --target changes
    supports_lists: ClassVar[bool] = True  # implements load.ptr, list.len, list.get.*, list.set.*
    cache_hits: int = 0  # compiles served from a persistent cache so far (--stats reports the run's share)

    def configure(self, options: dict[str, Any]) -> None:  # noqa: B027 - optional hook
        """Take this run's driver options (the keyword options of tauraro.run); called once per run,
        before make_memory. Default: nothing to configure."""

    def make_memory(self, size: int | None = None) -> LinearMemory:
        """The memory compiled code addresses (default: an owned ctypes buffer of layout.DEFAULT_SIZE)."""
        from ..jit.layout import DEFAULT_SIZE, LinearMemory

        return LinearMemory(DEFAULT_SIZE if size is None else size)

    def release_memory(self, memory: LinearMemory) -> None:  # noqa: B027 - optional hook
        """The driver is done with `memory` from make_memory: its run finished and every loop compiled
        over it was released. A backend may keep it for a later make_memory (reset first). Default:
        nothing; the memory is freed with its last reference."""

    def interrupt(self) -> None:  # noqa: B027 - optional hook
        """Called from the interrupt watcher thread on SIGINT, after the interrupt flag of every
        window is set (backends that poll the flag need nothing more; the default does nothing)."""

    @abstractmethod
    def compile(self, fn: LoopFunction, memory: LinearMemory) -> CompiledLoop:
        """Compile `fn` for `memory`; NotImplementedError names an op this backend cannot compile."""

    def close(self) -> None:  # noqa: B027 - optional hook, most backends hold nothing global
        """Release engine-wide resources (called at interpreter shutdown)."""


class BackendSpec(NamedTuple):
    """Where a backend lives and which third-party packages it needs."""

    module: str
    cls: str
    packages: tuple[str, ...] = ()


# The one list of backend names: the API, the CLI, the tests and the fuzzer read it (the default first).
BACKENDS: dict[str, BackendSpec] = {
    "cranelift": BackendSpec("tauraro.backends.wasm", "WasmBackend", ("wasmtime",)),
    "llvm": BackendSpec("tauraro.backends.llvm", "LLVMBackend", ("llvmlite",)),
    "ir": BackendSpec("tauraro.backends.ir", "IRBackend"),
}
ALIASES: dict[str, str] = {"wasm": "cranelift"}
INTERPRETER = "interp"  # no JIT: the bytecode VM alone
BACKEND_CHOICES: tuple[str, ...] = (*BACKENDS, INTERPRETER)  # every --backend value

# --target names and their LLVM triples: the 64-bit little-endian architectures (the layout of
# layout.py) that the LLVM in llvmlite 0.50 emits code for. Aliases map other spellings to them.
TARGET_TRIPLES: dict[str, str] = {
    "x86-64": "x86_64-unknown-linux-gnu",
    "aarch64": "aarch64-unknown-linux-gnu",
    "riscv64": "riscv64-unknown-linux-gnu",
    "ppc64le": "powerpc64le-unknown-linux-gnu",
}
TARGET_ALIASES: dict[str, str] = {"x86_64": "x86-64", "amd64": "x86-64", "arm64": "aarch64",
                                  **{triple: name for name, triple in TARGET_TRIPLES.items()}}

def _machine() -> str:
    """platform.machine() without importing platform at start-up (it is os.uname().machine on POSIX)."""
    if hasattr(os, "uname"):
        return os.uname().machine.lower()
    import platform

    return platform.machine().lower()


HOST_TARGET = TARGET_ALIASES.get(_machine(), _machine())
# Dumps printed for every backend (the front end's) and for every JIT backend (the driver's).
FRONT_END_DUMPS = frozenset({"bytecode"})
DRIVER_DUMPS = frozenset({"ir", "ir-passes", "snapshots"})

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


def canonical_target(target: str) -> str:
    """The TARGET_TRIPLES name for a --target value ("host"/"native": this machine)."""
    target = target.strip().lower()
    if target in ("host", "native"):
        return HOST_TARGET
    return TARGET_ALIASES.get(target, target)


def check_dump_request(backend: str, dump: Iterable[str], target: str | None) -> None:
    """Raise TauraroError (one line) unless `backend` prints every `dump` kind, for `target` if given.

    Decided from the backends' declarations alone (dump_kinds, dump_tools, targets, target_dumps),
    before the program runs, so that no combination fails half-way or silently prints nothing.
    """
    dump = set(dump)
    cls = _backend_class(backend)
    usable = lambda c: _missing_tool(c, dump) is None  # noqa: E731 - recommend only what works here
    for kind in sorted(dump):
        if kind not in _dumps_of(cls):
            raise TauraroError(_not_produced(f"--dump {kind}", backend,
                                             lambda c, k=kind: k in _dumps_of(c) and usable(c)))
    if target is not None:
        name = canonical_target(target)
        if cls is None or name not in cls.targets:
            valid = f" (valid: {', '.join(sorted(cls.targets))})" if cls is not None and cls.targets else \
                " (it emits no machine code)"
            raise TauraroError(_not_produced(f"--target {target}", backend,
                                             lambda c: c is not None and name in c.targets and _targets_here(c), valid))
        if not dump & cls.target_dumps:
            kinds = " or ".join(f"--dump {k}" for k in sorted(cls.target_dumps))
            raise TauraroError(f"--target {target} changes only {kinds}, and none was asked for")
    missing = _missing_tool(cls, dump)
    if missing is not None:
        kind, tool = missing
        raise TauraroError(f"--dump {kind} on the {backend} backend needs the program '{tool}', "
                           f"which is not on PATH")


def _targets_here(cls: type[Backend]) -> bool:
    """Whether `cls` can print some target-dependent dump on this machine (its tools are installed)."""
    return any(_missing_tool(cls, {kind}) is None for kind in cls.target_dumps)


def _missing_tool(cls: type[Backend] | None, dump: set[str]) -> tuple[str, str] | None:
    """The first (dump kind, program) of `dump` that `cls` needs and this machine lacks."""
    for kind in sorted(dump):
        tool = cls.dump_tools.get(kind) if cls is not None else None
        if tool and shutil.which(tool) is None:
            return kind, tool
    return None


def _backend_class(backend: str) -> type[Backend] | None:
    """The Backend class of a --backend name; None for the plain interpreter ("interp")."""
    if backend == INTERPRETER:
        return None
    name = canonical_name(backend)
    return _load(name, BACKENDS[name])


def _dumps_of(cls: type[Backend] | None) -> frozenset[str]:
    return FRONT_END_DUMPS if cls is None else FRONT_END_DUMPS | DRIVER_DUMPS | cls.dump_kinds


def _not_produced(what: str, backend: str, has: Callable[[type[Backend] | None], bool], detail: str = "") -> str:
    """'WHAT is not supported by the BACKEND backend; use --backend X or Y', naming the backends that can."""
    others = []
    for name in (INTERPRETER, *BACKENDS):
        if name == backend:
            continue
        try:
            if has(_backend_class(name)):
                others.append(name)
        except TauraroError:  # not installed here: cannot tell what it would print
            continue
    use = f"; use --backend {' or '.join(others)}" if others else ""
    return f"{what} is not supported by the {backend} backend{detail}{use}"


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
