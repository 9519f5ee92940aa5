"""Structural pattern matching (`match`): patterns compiled to nested tuples, matched with CPython 3.11's rules.

A pattern is one of
    ("value", i)                       subject == values[i]
    ("singleton", v)                   subject is v (None, True, False)
    ("seq", (patterns...), star)       a sequence; star: index of the star pattern in patterns, or -1
    ("star", slot)                     the rest of a sequence, captured as a list (slot -1: `*_`)
    ("map", ((i, pattern)...), slot)   a mapping: keys are values[i]; slot: where `**rest` goes (-1: none)
    ("class", i, (patterns...), (("attr", pattern)...))   isinstance(subject, values[i]) and its parts
    ("as", pattern or None, slot)      `pattern as name` / a capture / `_` (slot -1)
    ("or", (patterns...))              the first alternative that matches
`values` are the pattern's value and class expressions, evaluated before the case is tried; captures are
stored into `slots` and bound to names only when the whole pattern matched (CPython's order).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

# Classes whose single positional sub-pattern matches the subject itself (CPython's MATCH_SELF types).
MATCH_SELF = (bool, bytearray, bytes, dict, float, frozenset, int, list, set, str, tuple)
_MISSING = object()


def match(pattern: tuple, subject: Any, values: list, slots: list) -> bool:
    """Whether subject matches pattern; captures go into slots."""
    kind = pattern[0]
    if kind == "as":
        sub, slot = pattern[1], pattern[2]
        if sub is not None and not match(sub, subject, values, slots):
            return False
        if slot >= 0:
            slots[slot] = subject
        return True
    if kind == "value":
        return bool(subject == values[pattern[1]])
    if kind == "singleton":
        return subject is pattern[1]
    if kind == "or":
        return any(match(alt, subject, values, slots) for alt in pattern[1])
    if kind == "seq":
        return _match_sequence(pattern, subject, values, slots)
    if kind == "map":
        return _match_mapping(pattern, subject, values, slots)
    if kind == "class":
        return _match_class(pattern, subject, values, slots)
    raise AssertionError(kind)


def _match_sequence(pattern: tuple, subject: Any, values: list, slots: list) -> bool:
    if not isinstance(subject, Sequence) or isinstance(subject, (str, bytes, bytearray)):
        return False
    parts, star = pattern[1], pattern[2]
    n = len(subject)
    if star < 0:
        if n != len(parts):
            return False
        return all(match(p, subject[i], values, slots) for i, p in enumerate(parts))
    after = len(parts) - star - 1
    if n < len(parts) - 1:
        return False
    for i in range(star):
        if not match(parts[i], subject[i], values, slots):
            return False
    for j in range(after):
        if not match(parts[star + 1 + j], subject[n - after + j], values, slots):
            return False
    slot = parts[star][1]
    if slot >= 0:
        slots[slot] = [subject[i] for i in range(star, n - after)]
    return True


def _match_mapping(pattern: tuple, subject: Any, values: list, slots: list) -> bool:
    if not isinstance(subject, Mapping):
        return False
    items, rest_slot = pattern[1], pattern[2]
    if len(subject) < len(items):
        return False
    keys = [values[i] for i, _ in items]
    seen: list = []
    for k in keys:
        if k in seen:
            raise ValueError(f"mapping pattern checks duplicate key ({k!r})")
        seen.append(k)
    get = subject.get
    found = []
    for k in keys:
        v = get(k, _MISSING)
        if v is _MISSING:
            return False
        found.append(v)
    for (_, p), v in zip(items, found):
        if not match(p, v, values, slots):
            return False
    if rest_slot >= 0:
        rest = dict(subject)
        for k in keys:
            del rest[k]
        slots[rest_slot] = rest
    return True


def _match_class(pattern: tuple, subject: Any, values: list, slots: list) -> bool:
    cls = values[pattern[1]]
    positional, keywords = pattern[2], pattern[3]
    if not isinstance(cls, type):
        raise TypeError("called match pattern must be a type")
    if not isinstance(subject, cls):
        return False
    attrs: list[tuple[Any, tuple]] = []
    if positional:
        match_args = getattr(cls, "__match_args__", _MISSING)
        match_self = match_args is _MISSING and issubclass(cls, MATCH_SELF)
        if match_args is _MISSING:
            match_args = ()
        elif not isinstance(match_args, tuple):
            raise TypeError(f"{cls.__name__}.__match_args__ must be a tuple (got {type(match_args).__name__})")
        allowed = 1 if match_self else len(match_args)
        if len(positional) > allowed:
            raise TypeError(f"{cls.__name__}() accepts {allowed} positional sub-pattern"
                            f"{'' if allowed == 1 else 's'} ({len(positional)} given)")
        if match_self:
            if not match(positional[0], subject, values, slots):
                return False
        else:
            for name, p in zip(match_args, positional):
                if not isinstance(name, str):
                    raise TypeError(f"__match_args__ elements must be strings (got {type(name).__name__})")
                attrs.append((name, p))
    names = [n for n, _ in attrs]
    for name, p in keywords:
        if name in names:
            raise TypeError(f"{cls.__name__}() got multiple sub-patterns for attribute {name!r}")
        names.append(name)
        attrs.append((name, p))
    for name, p in attrs:
        v = getattr(subject, name, _MISSING)
        if v is _MISSING:
            return False
        if not match(p, v, values, slots):
            return False
    return True
