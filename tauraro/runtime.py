"""Runtime objects of the VM: unbound marker, cells, functions, generator-expression iterators, builtins."""
from __future__ import annotations

import builtins as _py
from types import MethodType
from typing import Any

from .bytecode import CodeObject


class _Unbound:
    """The value of a local or cell that has not been assigned."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<unbound>"


UNBOUND = _Unbound()


class Cell:
    """A captured variable shared between a function and its closures."""

    __slots__ = ("contents",)

    def __init__(self, contents: Any = UNBOUND) -> None:
        self.contents = contents


class Function:
    """A Tauraro function: code, defaults and closure cells. Callable from host code; binds as a method."""

    __slots__ = ("code", "defaults", "cells", "vm", "__name__", "__qualname__", "binder", "plain", "nparams", "__dict__")

    def __init__(self, vm: Any, code: CodeObject, defaults: tuple, cells: tuple) -> None:
        self.vm = vm
        self.code = code
        self.defaults = defaults
        self.cells = cells
        self.__name__ = code.name
        self.__qualname__ = code.qualname
        self.binder = None
        self.plain = not code.free_regs and not code.is_generator  # callable without closure set-up
        self.nparams = len(code.params)

    def __get__(self, obj: Any, cls: Any = None) -> Any:
        return self if obj is None else MethodType(self, obj)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.vm.call(self, args, kwargs)

    def __repr__(self) -> str:
        return f"<function {self.__qualname__} at {id(self):#x}>"


    def bind(self, args: tuple, kwargs: dict) -> list:
        """Bind arguments by Python's rules (errors with CPython's exact messages)."""
        if self.binder is None:
            self.binder = make_binder(self)
        return list(self.binder(*args, **kwargs))


# Error messages name a value's type: Tauraro functions are 'function' there, as in CPython.
Function.__name__ = Function.__qualname__ = "function"
Function.__module__ = "builtins"


def make_binder(func: Function) -> Any:
    """A host function with the Tauraro function's signature: Python itself checks the arguments."""
    code = func.code
    params = code.params
    nd = len(func.defaults)
    parts = []
    for i, p in enumerate(params):
        j = i - (len(params) - nd)
        parts.append(f"{p}=_d[{j}]" if j >= 0 else p)
    safe = [p for p in params if p.isidentifier()]
    if len(safe) != len(params):  # comprehension parameter '.0' never needs binding by keyword
        src = "def _bind(*a):\n    return a\n"
    else:
        src = f"def _bind({', '.join(parts)}):\n    return ({', '.join(params)}{',' if params else ''})\n"
    ns: dict = {"_d": func.defaults}
    exec(src, ns)
    binder = ns["_bind"]
    binder.__name__ = code.name
    binder.__qualname__ = code.qualname
    return binder


class GeneratorExpression:
    """The iterator a generator expression evaluates to: a suspended VM frame resumed by next()."""

    __slots__ = ("vm", "code", "regs", "pc", "running")

    def __init__(self, vm: Any, code: CodeObject, regs: list) -> None:
        self.vm = vm
        self.code = code
        self.regs = regs
        self.pc = 0
        self.running = False

    def __iter__(self) -> GeneratorExpression:
        return self

    def __next__(self) -> Any:
        if self.pc < 0:
            raise StopIteration
        if self.running:
            raise ValueError("generator already executing")
        self.running = True
        try:
            value, pc = self.vm.resume(self.code, self.regs, self.pc)
        except BaseException:
            self.pc = -1
            raise
        finally:
            self.running = False
        if pc < 0:
            self.pc = -1
            raise StopIteration
        self.pc = pc
        return value

    def __repr__(self) -> str:
        return f"<generator object {self.code.qualname} at {id(self):#x}>"


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
