"""When CPython's compile-time check can be skipped: a scope pass that notes every construct it could reject."""
from __future__ import annotations

import ast
import unicodedata

from .frontend import (
    FRONT_END_RECURSION_LIMIT,
    MappedSource,
    _stack_depth,
    check_like_cpython,
    recursion_limit,
)
from .scopes import Scope, ScopeBuilder, analyse

# CPython 3.11's compiler (symtable.c, compile.c, future.c) raises SyntaxError or warns (SyntaxWarning) after
# the parser has accepted a program only about the constructs listed below. A program with none of them
# compiles without error or warning, so the check (0.4-0.8x CPython's whole compile time) is skipped for it;
# tests/test_precheck.py compares this verdict with CPython's on thousands of sources.
#   - duplicate parameters, repeated keyword arguments (calls and class bases);
#   - 'return' outside a function or with a value in an async generator; 'yield'/'yield from'/'await'
#     outside the function kind that allows it; async for/with/comprehensions outside an async function;
#   - 'break'/'continue' outside a loop; more than 20 statically nested blocks (loops, try, with items);
#   - global after a use, binding or annotation of the name in its scope (or annotated after it), nonlocal,
#     `from __future__`, `import *` below module level, :=, starred expressions outside
#     call arguments, match statements (pattern errors), except* blocks;
#   - the SyntaxWarnings: calling a literal, subscripting one (or a sequence literal with an index that is not
#     an int or a slice), `is` with a literal, asserting a tuple (the
#     operands are tested after CPython's constant folding, so any operand that may fold is suspect);
#   - __debug__ written anywhere (tested on the text), annotations of locals (CPython's symtable reads them,
#     the scope pass does not), and nesting deep enough to meet CPython's recursion bound (SCOPE_DEPTH_BUDGET).
MAX_BLOCKS = 15  # CPython's limit is 20 (CO_MAXBLOCKS); the count below over-approximates CPython's
# Python frames the scope pass may use: at least one per level of the tree, so a tree it walks within the budget
# is far from CPython's compile-time bound (about 3,000 levels at the default recursion limit).
SCOPE_DEPTH_BUDGET = 1000
_PLAIN_OPERANDS = (ast.Name, ast.Attribute, ast.Call, ast.Subscript)  # never folded into a literal
_SINGLETONS = (None, True, False, ...)


def _unique(names: list[str]) -> bool:
    return len(set(names)) == len(names)


def _literal_is_operand(node: ast.expr) -> bool:
    """Whether `node` may be (or fold to) a constant other than None/True/False/... (a `x is 1` warning)."""
    if node.__class__ is ast.Constant:
        return not any(node.value is s for s in _SINGLETONS)
    return not isinstance(node, _PLAIN_OPERANDS)


def _is_sequence_literal(node: ast.expr) -> bool:
    """A literal CPython lets be subscripted (it warns only about the index: _is_plain_index)."""
    if node.__class__ is ast.Constant:
        return isinstance(node.value, (str, bytes, tuple))
    return isinstance(node, (ast.List, ast.Tuple, ast.ListComp, ast.Dict, ast.DictComp, ast.JoinedStr))


def _is_plain_index(node: ast.expr) -> bool:
    """An index CPython does not warn about on a literal: an int, a slice, or what never folds to a literal."""
    if node.__class__ is ast.Constant:
        return isinstance(node.value, int)
    return isinstance(node, (*_PLAIN_OPERANDS, ast.Slice))


class CheckingScopeBuilder(ScopeBuilder):
    """ScopeBuilder that also sets `risk` (a reason) at the first construct CPython's compiler might reject."""

    def __init__(self) -> None:
        super().__init__()
        self.risk: str | None = None
        self.loops = 0  # loops enclosing the current statement in this function
        self.blocks = 0  # over-approximation of CPython's static block stack in this function
        self.annotated: dict[ast.AST, set[str]] = {}  # module and class scopes -> the names they annotate

    def _flag(self, reason: str) -> None:
        if self.risk is None:
            self.risk = reason

    def _in_def(self, kind: type) -> bool:
        return self.current.node.__class__ is kind

    def _new_unit(self, visit, node: ast.AST) -> None:
        """Visit a function or class: loops and blocks do not reach into its body."""
        saved = self.loops, self.blocks
        self.loops = self.blocks = 0
        visit(self, node)
        self.loops, self.blocks = saved

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        if not _unique(self._params(node.args)):
            self._flag("duplicate parameter")
        self._new_unit(ScopeBuilder.visit_FunctionDef, node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        if not _unique(self._params(node.args)):
            self._flag("duplicate parameter")
        self._new_unit(ScopeBuilder.visit_Lambda, node)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        if not _unique([k.arg for k in node.keywords if k.arg is not None]):
            self._flag("repeated keyword")
        self._new_unit(ScopeBuilder.visit_ClassDef, node)

    def visit_Return(self, node: ast.Return) -> None:
        if not (self._in_def(ast.FunctionDef) or (node.value is None and self._in_def(ast.AsyncFunctionDef))):
            self._flag("return")
        self.generic_visit(node)

    def visit_Yield(self, node: ast.Yield) -> None:
        if not (self._in_def(ast.FunctionDef) or self._in_def(ast.AsyncFunctionDef)):
            self._flag("yield")
        ScopeBuilder.visit_Yield(self, node)

    def visit_YieldFrom(self, node: ast.YieldFrom) -> None:
        if not self._in_def(ast.FunctionDef):
            self._flag("yield from")
        ScopeBuilder.visit_YieldFrom(self, node)

    def visit_Await(self, node: ast.Await) -> None:
        if not self._in_def(ast.AsyncFunctionDef):
            self._flag("await")
        ScopeBuilder.visit_Await(self, node)

    def visit_Break(self, node: ast.stmt) -> None:
        if not self.loops:
            self._flag("break/continue")

    visit_Continue = visit_Break

    def _loop(self, head: list[ast.AST], node: ast.For | ast.While) -> None:
        for n in head:
            self.visit(n)
        self.loops += 1
        self.blocks += 1
        if self.blocks > MAX_BLOCKS:
            self._flag("nested blocks")
        for s in node.body:
            self.visit(s)
        self.loops -= 1
        self.blocks -= 1
        for s in node.orelse:
            self.visit(s)

    def visit_For(self, node: ast.For) -> None:
        self._loop([node.target, node.iter], node)

    def visit_AsyncFor(self, node: ast.AsyncFor) -> None:
        if not self._in_def(ast.AsyncFunctionDef):
            self._flag("async for")
        self._loop([node.target, node.iter], node)

    def visit_While(self, node: ast.While) -> None:
        self._loop([node.test], node)

    def _nested(self, node: ast.AST, blocks: int) -> None:
        self.blocks += blocks
        if self.blocks > MAX_BLOCKS:
            self._flag("nested blocks")
        self.generic_visit(node)
        self.blocks -= blocks

    def visit_Try(self, node: ast.Try) -> None:
        if any(h.type is None for h in node.handlers[:-1]):
            self._flag("bare except not last")
        self._nested(node, 3)

    def visit_With(self, node: ast.With) -> None:
        self._nested(node, len(node.items) + 1)

    def visit_AsyncWith(self, node: ast.AsyncWith) -> None:
        if not self._in_def(ast.AsyncFunctionDef):
            self._flag("async with")
        self._nested(node, len(node.items) + 1)

    def visit_TryStar(self, node: ast.AST) -> None:
        self._flag("except*")
        self.generic_visit(node)

    def visit_Match(self, node: ast.AST) -> None:
        self._flag("match")
        self.generic_visit(node)

    def visit_Global(self, node: ast.Global) -> None:
        # CPython rejects a global declaration of a name the scope has already used, bound (parameters too),
        # declared nonlocal or annotated (checked in build: an annotation after it counts too).
        scope = self.current
        if any(n in scope.used or n in scope.bound_set or n in scope.declared_nonlocal for n in node.names):
            self._flag("global after use")
        ScopeBuilder.visit_Global(self, node)

    def build(self, tree: ast.Module) -> dict[ast.AST, Scope]:
        scopes = ScopeBuilder.build(self, tree)
        if any(names & self.scopes[node].declared_global for node, names in self.annotated.items()):
            self._flag("annotated global")
        return scopes

    def visit_Nonlocal(self, node: ast.Nonlocal) -> None:
        self._flag("nonlocal")
        ScopeBuilder.visit_Nonlocal(self, node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module == "__future__" or (self.current.kind != "module" and any(a.name == "*" for a in node.names)):
            self._flag("future or star import")
        ScopeBuilder.visit_ImportFrom(self, node)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self._flag(":=")
        ScopeBuilder.visit_NamedExpr(self, node)

    def visit_Starred(self, node: ast.Starred) -> None:  # call arguments do not come here (visit_Call)
        self._flag("starred")
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if self.current.kind == "function":
            self._flag("local annotation")
        elif node.target.__class__ is ast.Name:
            self.annotated.setdefault(self.current.node, set()).add(node.target.id)
        ScopeBuilder.visit_AnnAssign(self, node)

    def visit_Assert(self, node: ast.Assert) -> None:
        if node.test.__class__ is ast.Tuple or (node.test.__class__ is ast.Constant and type(node.test.value) is tuple):
            self._flag("assert tuple")
        self.generic_visit(node)

    def _comprehension(self, node: ast.AST, parts: list[ast.AST]) -> None:
        if any(g.is_async for g in node.generators):
            self._flag("async comprehension")
        ScopeBuilder._comprehension(self, node, parts)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if not isinstance(func, _PLAIN_OPERANDS) and func.__class__ is not ast.Lambda:
            self._flag("literal called")
        if len(node.keywords) > 1 and not _unique([k.arg for k in node.keywords if k.arg is not None]):
            self._flag("repeated keyword")
        self.visit(func)
        for a in node.args:
            self.visit(a.value if a.__class__ is ast.Starred else a)
        for k in node.keywords:
            self.visit(k.value)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        value = node.value
        if not isinstance(value, _PLAIN_OPERANDS) and not (_is_sequence_literal(value) and _is_plain_index(node.slice)):
            self._flag("literal subscripted")
        self.generic_visit(node)

    def visit_Compare(self, node: ast.Compare) -> None:
        for op in node.ops:
            if op.__class__ is ast.Is or op.__class__ is ast.IsNot:
                if _literal_is_operand(node.left) or any(_literal_is_operand(c) for c in node.comparators):
                    self._flag("is literal")
                break
        self.generic_visit(node)


def _mentions_debug(source: str) -> bool:
    """Whether any name could be __debug__ (identifiers are NFKC-normalized: `__ｄebug__` is __debug__ too)."""
    if "__debug__" in source:
        return True
    return not source.isascii() and "__debug__" in unicodedata.normalize("NFKC", source)


def precheck(tree: ast.Module, python_source: str) -> tuple[dict[ast.AST, Scope] | None, str | None]:
    """(the scope table, why CPython's check must run: None when it cannot find anything in this program).
    The table is None when the scope pass did not finish (nesting deeper than its budget, ...)."""
    builder = CheckingScopeBuilder()
    try:
        with recursion_limit(_stack_depth() + SCOPE_DEPTH_BUDGET):
            scopes = builder.build(tree)
    except Exception:  # deeper than the budget (RecursionError) or a tree the pass trips on: CPython judges first
        return None, "scope pass did not finish"
    if builder.risk is None and _mentions_debug(python_source):
        return scopes, "__debug__"
    return scopes, builder.risk


def scopes_after_check(tree: ast.Module, mapped: MappedSource, filename: str) -> dict[ast.AST, Scope]:
    """The scope table, with CPython's compile-time check run first unless the scope pass shows that it would
    find nothing (so CPython's error, when there is one, is still the one reported)."""
    scopes, risk = precheck(tree, mapped.python)
    if risk is None:
        return scopes
    with recursion_limit(FRONT_END_RECURSION_LIMIT):
        check_like_cpython(tree, mapped, filename)
        return scopes if scopes is not None else analyse(tree)
