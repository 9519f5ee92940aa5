"""`@record`: the part of @dataclass the start-up path uses, without importing dataclasses (and inspect, ast, dis)."""
from __future__ import annotations

from typing import Any, Callable, TypeVar

T = TypeVar("T", bound=type)


class _Factory:
    __slots__ = ("make",)

    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make


def field(*, default_factory: Callable[[], Any]) -> Any:
    """A field whose default is made per instance (dataclasses.field(default_factory=...))."""
    return _Factory(default_factory)


def record(cls: T) -> T:
    """Give `cls` what @dataclass gives it: __init__ over its annotated fields (in order, with their
    defaults and default factories), __repr__, field-wise __eq__ (and no hash, as a mutable dataclass).
    Saves the ~6 ms dataclasses and its imports cost at every start-up (bench/startup.py)."""
    names = [n for n in cls.__dict__.get("__annotations__", {}) if not n.startswith("__")]
    params, body, env = [], [], {}
    for name in names:
        default = cls.__dict__.get(name, _MISSING)
        if isinstance(default, _Factory):
            env[f"_f_{name}"] = default.make
            params.append(f"{name}=_HAS_FACTORY")
            body.append(f"    self.{name} = _f_{name}() if {name} is _HAS_FACTORY else {name}")
            delattr(cls, name)
            continue
        if default is _MISSING:
            params.append(name)
        else:
            env[f"_d_{name}"] = default
            params.append(f"{name}=_d_{name}")
        body.append(f"    self.{name} = {name}")
    env["_HAS_FACTORY"] = _HAS_FACTORY
    src = f"def __init__(self, {', '.join(params)}):\n" + ("\n".join(body) or "    pass") + "\n"
    exec(src, env)  # noqa: S102 - generated like dataclasses' own __init__: one call per instance, no loop
    init = env["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    cls.__init__ = init
    fields = tuple(names)
    cls.__record_fields__ = fields

    def __repr__(self: Any) -> str:
        inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in fields)
        return f"{type(self).__qualname__}({inner})"

    def __eq__(self: Any, other: Any) -> Any:
        if other.__class__ is self.__class__:
            return tuple(getattr(self, n) for n in fields) == tuple(getattr(other, n) for n in fields)
        return NotImplemented

    if "__repr__" not in cls.__dict__:
        cls.__repr__ = __repr__
    if "__eq__" not in cls.__dict__:
        cls.__eq__ = __eq__
        cls.__hash__ = None  # type: ignore[assignment]
    return cls


_MISSING = object()
_HAS_FACTORY = object()
