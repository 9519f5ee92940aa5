"""Runtime objects of the VM: unbound marker, cells, functions, generator and coroutine drivers, builtins."""
from __future__ import annotations

import builtins as _py
from types import MethodType
from typing import Any, Callable

from .bytecode import CodeObject


class _Unbound:
    """The value of a local or cell that has not been assigned."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<unbound>"


UNBOUND = _Unbound()
NOT_NATIVE = object()  # what a JIT function entry returns when the call is to be interpreted (vm.CodeRuntime.entry)


class Cell:
    """A captured variable shared between a function and its closures."""

    __slots__ = ("contents",)

    def __init__(self, contents: Any = UNBOUND) -> None:
        self.contents = contents


class Function:
    """A Tauraro function: code, defaults and closure cells. Callable from host code; binds as a method.

    Its attributes are CPython's (__name__, __qualname__, __module__, __doc__, __defaults__,
    __kwdefaults__, __annotations__, __dict__, __wrapped__ once functools.wraps sets it), so decorators,
    property, functools and inspect.signature treat it as a function."""

    __slots__ = ("code", "defaults", "cells", "vm", "__name__", "__qualname__", "binder", "plain", "nparams",
                 "kwdefaults", "__dict__")

    def __init__(self, vm: Any, code: CodeObject, defaults: tuple, cells: tuple, kwdefaults: dict | None = None,
                 annotations: dict | None = None) -> None:
        self.vm = vm
        self.code = code
        self.defaults = defaults
        self.cells = cells
        self.kwdefaults = kwdefaults
        self.__name__ = code.name
        self.__qualname__ = code.qualname
        self.binder = None
        # callable without closure set-up or the generic binding
        self.plain = not code.free_regs and code.simple
        self.nparams = len(code.params)
        self.__dict__ = {"__module__": self.__globals__.get("__name__"), "__doc__": code.docstring,
                         "__annotations__": {} if annotations is None else annotations}

    def __get__(self, obj: Any, cls: Any = None) -> Any:
        return self if obj is None else MethodType(self, obj)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.vm.call(self, args, kwargs)

    def __repr__(self) -> str:
        return f"<function {self.__qualname__} at {id(self):#x}>"

    @property
    def __defaults__(self) -> tuple | None:
        return self.defaults or None

    @__defaults__.setter
    def __defaults__(self, value: tuple | None) -> None:
        self.defaults = tuple(value or ())
        self.binder = None
        self.plain = False

    @property
    def __kwdefaults__(self) -> dict | None:
        return self.kwdefaults or None

    @__kwdefaults__.setter
    def __kwdefaults__(self, value: dict | None) -> None:
        self.kwdefaults = dict(value) if value else None
        self.binder = None

    @property
    def __globals__(self) -> dict:
        return self.vm.globals if self.code.globals is None else self.code.globals

    @property
    def __signature__(self) -> Any:
        import inspect

        if self.binder is None:
            self.binder = make_binder(self)
        return inspect.signature(self.binder)

    def bind(self, args: tuple, kwargs: dict) -> list:
        """Bind arguments by Python's rules (errors with CPython's exact messages)."""
        if self.binder is None:
            self.binder = make_binder(self)
        return list(self.binder(*args, **kwargs))


# Error messages name a value's type: Tauraro functions are 'function' there, as in CPython.
Function.__name__ = Function.__qualname__ = "function"
Function.__module__ = "builtins"


def parameter_list(code: Any, names: list[str], positional: Callable[[int, str], str] | None = None,
                   keyword: Callable[[str], str] | None = None) -> list[str]:
    """The host parameter list of `code`, its parameters named `names` in register order: '/' after the
    positional-only ones, '*' or '*args' before keyword-only ones, '**kwargs'. `positional(i, name)` and
    `keyword(name)` give a parameter's text (with its default) when given."""
    npos, nkw = code.argcount, code.kwonlycount
    parts: list[str] = []
    for i, p in enumerate(names[:npos]):
        parts.append(positional(i, p) if positional else p)
        if i == code.posonlycount - 1:
            parts.append("/")
    rest = npos + nkw
    if code.varargs:
        parts.append("*" + names[rest])
        rest += 1
    elif nkw:
        parts.append("*")
    parts += [keyword(p) if keyword else p for p in names[npos:npos + nkw]]
    if code.varkw:
        parts.append("**" + names[rest])
    return parts


def make_binder(func: Function) -> Any:
    """A host function with the Tauraro function's signature: Python itself checks the arguments, with
    CPython's messages; it returns the values in register order (positional, keyword-only, *, **)."""
    code = func.code
    params = code.params
    if not all(p.isidentifier() for p in params):  # comprehension parameter '.0' never needs binding by keyword
        src = "def _bind(*a):\n    return a\n"
    else:
        first_default = code.argcount - len(func.defaults)
        kwd = func.kwdefaults or {}
        parts = parameter_list(code, params,
                               lambda i, p: f"{p}=_d[{i - first_default}]" if i >= first_default else p,
                               lambda p: f"{p}=_kd[{p!r}]" if p in kwd else p)
        src = f"def _bind({', '.join(parts)}):\n    return ({', '.join(params)}{',' if params else ''})\n"
    ns: dict = {"_d": func.defaults, "_kd": func.kwdefaults}
    exec(src, ns)
    binder = ns["_bind"]
    binder.__name__ = code.name
    binder.__qualname__ = code.qualname
    binder.__module__ = func.__dict__.get("__module__")
    return binder


class Frame:
    """A suspended generator or coroutine frame: its code, registers and the except blocks it was in."""

    __slots__ = ("vm", "code", "regs", "handled")

    def __init__(self, vm: Any, code: CodeObject, regs: list) -> None:
        self.vm = vm
        self.code = code
        self.regs = regs
        self.handled: list = []


class Delegate:
    """`await Delegate(it)` in a host coroutine delegates to the iterator `it` (what `await` does)."""

    __slots__ = ("it",)

    def __init__(self, it: Any) -> None:
        self.it = it

    def __await__(self) -> Any:
        return self.it


def _generator(frame: Frame) -> Any:
    """The host generator driving a Tauraro generator frame: send, throw, close, return values,
    StopIteration becoming RuntimeError and `yield from` are the host's own."""
    resume = frame.vm.resume
    pc, thrown = 0, None
    while True:
        kind, value, pc = resume(frame, pc, thrown)
        thrown = None
        if kind == 0:
            return value
        try:
            sent = (yield value) if kind == 1 else (yield from value)
        except BaseException as e:  # noqa: BLE001 - thrown into the frame at its yield
            thrown, pc = e, pc - 1
        else:
            frame.regs[frame.code.instrs[pc - 1].b] = sent


async def _coroutine(frame: Frame) -> Any:
    """The host coroutine driving a Tauraro `async def` frame; each await delegates to the awaitable."""
    resume = frame.vm.resume
    pc, thrown = 0, None
    while True:
        kind, value, pc = resume(frame, pc, thrown)
        thrown = None
        if kind == 0:
            return value
        try:
            sent = await Delegate(value)
        except BaseException as e:  # noqa: BLE001
            thrown, pc = e, pc - 1
        else:
            frame.regs[frame.code.instrs[pc - 1].b] = sent


async def _async_generator(frame: Frame) -> Any:
    """The host asynchronous generator driving a Tauraro `async def` frame that yields."""
    resume = frame.vm.resume
    pc, thrown = 0, None
    while True:
        kind, value, pc = resume(frame, pc, thrown)
        thrown = None
        if kind == 0:
            return
        try:
            sent = (yield value) if kind == 1 else await Delegate(value)
        except BaseException as e:  # noqa: BLE001
            thrown, pc = e, pc - 1
        else:
            frame.regs[frame.code.instrs[pc - 1].b] = sent


def make_generator(vm: Any, code: CodeObject, regs: list) -> Any:
    """The generator, coroutine or async generator object a call of a Tauraro function returns."""
    frame = Frame(vm, code, regs)
    if code.is_coroutine:
        obj = _async_generator(frame) if code.is_generator else _coroutine(frame)
    else:
        obj = _generator(frame)
    obj.__name__ = code.name
    obj.__qualname__ = code.qualname
    return obj


# Attributes of the builtins module that are not builtins: every module defines its own.
MODULE_ATTRIBUTES = frozenset({"__name__", "__doc__", "__package__", "__loader__", "__spec__"})
# Builtins replaced by Tauraro's own (tauraro/modules.py): they run Tauraro source, or see the calling frame.
FRAME_BUILTINS = frozenset({"exec", "eval", "compile", "globals", "locals", "vars", "dir", "__import__"})


def make_builtins() -> dict[str, Any]:
    """The builtins namespace of a running program: the host's own objects, so their types, behaviour
    and error messages are CPython's (print and input use sys.stdout/sys.stdin, which `run` redirects).
    The VM adds FRAME_BUILTINS."""
    ns = {name: value for name, value in vars(_py).items() if name not in MODULE_ATTRIBUTES | FRAME_BUILTINS}
    ns["__debug__"] = True
    return ns
