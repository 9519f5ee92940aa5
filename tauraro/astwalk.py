"""A faster ast.NodeVisitor (same visit_X protocol) for the front end's whole-tree passes."""
from __future__ import annotations

import ast
from typing import Any, Callable, ClassVar

# Fields that never hold a node with children (names, flags, the expression context, operators) or, for
# Constant, a plain value.
_SCALAR_FIELDS = frozenset({"ctx", "id", "arg", "attr", "name", "kind", "level", "module", "conversion",
                            "is_async", "type_comment", "tag", "lineno", "col_offset", "op", "ops"})
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {ast.Constant: (), ast.Global: (), ast.Nonlocal: ()}


def child_fields(cls: type) -> tuple[str, ...]:
    """The fields of a node class that may hold child nodes or lists of them."""
    fields = _CHILD_FIELDS.get(cls)
    if fields is None:
        fields = _CHILD_FIELDS[cls] = tuple(f for f in cls._fields if f not in _SCALAR_FIELDS)  # type: ignore[attr-defined]
    return fields


class FastVisitor:
    """Like ast.NodeVisitor, with the method of each node class looked up once per visitor class, only
    the fields that can hold nodes walked, without generators, and nodes without children (Name,
    Constant, Load, Add, Pass, ...) not visited at all unless the visitor has a visit_X method for them:
    an overridden generic_visit is not called for those. Not a subclass of ast.NodeVisitor: its
    visit_Constant compatibility shim alone made every constant cost ~3 µs. Measured on 10,000-40,000
    line modules: each pass went from about 1x CPython's whole compile() time to 0.1-0.5x."""

    _dispatch: ClassVar[dict[type, Callable[[Any, ast.AST], Any]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._dispatch = {}

    def visit(self, node: ast.AST) -> Any:
        fn = self._dispatch.get(node.__class__)
        if fn is None:
            fn = self._method(node.__class__)
        return fn(self, node)

    def _method(self, cls: type) -> Callable[[Any, ast.AST], Any]:
        fn = getattr(type(self), "visit_" + cls.__name__, None)
        if fn is None:
            fn = type(self).generic_visit if child_fields(cls) else _skip
        self._dispatch[cls] = fn
        return fn

    def generic_visit(self, node: ast.AST) -> None:
        dispatch = self._dispatch  # the children's methods are called directly: one call less per node
        fields = _CHILD_FIELDS.get(node.__class__)
        if fields is None:
            fields = child_fields(node.__class__)
        for name in fields:
            value = getattr(node, name, None)
            if value.__class__ is not list:  # one child (or None): no 1-tuple to loop over
                fn = dispatch.get(value.__class__)
                if fn is None:
                    if not isinstance(value, ast.AST):
                        continue
                    fn = self._method(value.__class__)
                if fn is not _skip:
                    fn(self, value)
                continue
            for item in value:
                fn = dispatch.get(item.__class__)
                if fn is None:
                    if not isinstance(item, ast.AST):
                        continue
                    fn = self._method(item.__class__)
                if fn is not _skip:
                    fn(self, item)


def _skip(visitor: FastVisitor, node: ast.AST) -> None:
    return None
