"""A reducer for failing programs: delete and unwrap statements, simplify expressions, shrink constants."""
from __future__ import annotations

import ast
import copy
import time
from collections.abc import Callable, Iterator

from tauraro.frontend import to_python

Predicate = Callable[[str], bool]
STATEMENT_LISTS = ("body", "orelse", "finalbody")


def _statement_lists(tree: ast.AST) -> Iterator[list[ast.stmt]]:
    for node in ast.walk(tree):
        for name in STATEMENT_LISTS:
            stmts = getattr(node, name, None)
            if isinstance(stmts, list) and stmts and isinstance(stmts[0], ast.stmt):
                yield stmts
        if isinstance(node, ast.Try):
            for h in node.handlers:
                yield h.body


def _fix_empty(tree: ast.AST) -> None:
    """Bodies that became empty get `pass` (orelse/finalbody may stay empty, except a try needs one)."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.For, ast.While, ast.If, ast.Try,
                             ast.ExceptHandler, ast.ClassDef)) and not node.body:
            node.body = [ast.Pass()]
        if isinstance(node, ast.Try) and not node.handlers and not node.finalbody:
            node.finalbody = [ast.Pass()]


def _render(tree: ast.Module) -> str | None:
    tree = copy.deepcopy(tree)
    _fix_empty(tree)
    ast.fix_missing_locations(tree)
    try:
        text = ast.unparse(tree) + "\n"
        compile(text, "<reduce>", "exec")
    except (SyntaxError, ValueError, RecursionError):
        return None
    return text


class Reducer:
    """Greedy fixpoint reduction of a Python-syntax program under a predicate."""

    def __init__(self, predicate: Predicate, time_budget: float = 120.0) -> None:
        self.predicate = predicate
        self.deadline = time.monotonic() + time_budget
        self.tests = 0
        self.seen: set[str] = set()

    def expired(self) -> bool:
        return time.monotonic() > self.deadline

    def accept(self, tree: ast.Module) -> str | None:
        text = _render(tree)
        if text is None or text in self.seen:
            return None
        self.seen.add(text)
        self.tests += 1
        return text if self.predicate(text) else None

    def reduce(self, source: str) -> str:
        tree = ast.parse(to_python(source))
        best = _render(tree) or source
        changed = True
        while changed and not self.expired():
            changed = False
            for edit in (self._delete_chunks, self._unwrap, self._simplify_expressions, self._shrink_constants):
                result = edit(ast.parse(best))
                if result is not None:
                    best, changed = result, True
        return best

    # Each pass tries candidates in order and returns the first smaller program that still fails.
    def _delete_chunks(self, tree: ast.Module) -> str | None:
        best = None
        n = 0
        for stmts in list(_statement_lists(tree)):
            size = len(stmts)
            chunk = size
            while chunk >= 1 and not self.expired():
                start = 0
                while start < len(stmts) and not self.expired():
                    saved = stmts[start:start + chunk]
                    del stmts[start:start + chunk]
                    text = self.accept(tree)
                    if text is not None:
                        best = text
                        n += 1
                        continue  # keep the deletion; try the same position again
                    stmts[start:start] = saved
                    start += chunk
                chunk //= 2
        return best if n else None

    def _unwrap(self, tree: ast.Module) -> str | None:
        for stmts in list(_statement_lists(tree)):
            for i, node in enumerate(list(stmts)):
                if self.expired():
                    return None
                options: list[list[ast.stmt]] = []
                if isinstance(node, (ast.If, ast.For, ast.While)):
                    options = [node.body, node.orelse]
                elif isinstance(node, ast.Try):
                    options = [node.body + node.finalbody] + [h.body for h in node.handlers]
                for body in options:
                    if not body:
                        continue
                    stmts[i:i + 1] = body
                    text = self.accept(tree)
                    if text is not None:
                        return text
                    stmts[i:i + len(body)] = [node]
        return None

    def _simplify_expressions(self, tree: ast.Module) -> str | None:
        for holder, key, value in _expression_sites(tree):
            if self.expired():
                return None
            for replacement in _smaller_expressions(value):
                _put(holder, key, replacement)
                text = self.accept(tree)
                if text is not None:
                    return text
            _put(holder, key, value)
        return None

    def _shrink_constants(self, tree: ast.Module) -> str | None:
        for node in ast.walk(tree):
            if self.expired():
                return None
            if not (isinstance(node, ast.Constant) and type(node.value) in (int, float)):
                continue
            original = node.value
            for smaller in _smaller_numbers(original):
                node.value = smaller
                text = self.accept(tree)
                if text is not None:
                    return text
            node.value = original
        return None


def _expression_sites(tree: ast.AST) -> list[tuple[object, str | int, ast.expr]]:
    """(holder, field name or list index, expression) of every compound, loaded expression."""
    sites: list[tuple[object, str | int, ast.expr]] = []
    for parent in ast.walk(tree):
        for name, value in ast.iter_fields(parent):
            if name in ("func", "targets", "target", "ctx"):
                continue
            values = list(enumerate(value)) if isinstance(value, list) else [(name, value)]
            holder = value if isinstance(value, list) else parent
            for key, v in values:
                if isinstance(v, ast.expr) and not isinstance(v, (ast.Name, ast.Constant)):
                    sites.append((holder, key, v))
    return sites


def _put(holder: object, key: str | int, value: ast.expr) -> None:
    if isinstance(key, int):
        holder[key] = value  # type: ignore[index]
    else:
        setattr(holder, key, value)


def _smaller_expressions(e: ast.expr) -> list[ast.expr]:
    out: list[ast.expr] = []
    if isinstance(e, ast.BinOp):
        out += [e.left, e.right]
    elif isinstance(e, ast.UnaryOp):
        out.append(e.operand)
    elif isinstance(e, ast.BoolOp):
        out += e.values
    elif isinstance(e, ast.Compare):
        out.append(e.left)
        if len(e.ops) > 1:
            out.append(ast.Compare(e.left, e.ops[:1], e.comparators[:1]))
    elif isinstance(e, ast.IfExp):
        out += [e.body, e.orelse, e.test]
    elif isinstance(e, ast.Call):
        out += [a for a in e.args if isinstance(a, ast.expr)]
    elif isinstance(e, ast.Subscript):
        out.append(e.value)
    out += [ast.Constant(0), ast.Constant(1)]
    return [copy.deepcopy(x) for x in out]


def _smaller_numbers(v: int | float) -> list[int | float]:
    if type(v) is float:
        return [x for x in (0.0, 1.0, float(int(v)) if abs(v) < 1e18 else 1e18) if x != v and abs(x) <= abs(v)]
    out = [0, 1, v // 2, v - 1 if v > 0 else v + 1]
    return [x for x in dict.fromkeys(out) if abs(x) < abs(v)]


def reduce_program(source: str, predicate: Predicate, time_budget: float = 120.0) -> str:
    """The smallest program the greedy passes reach from `source` for which `predicate` stays true."""
    return Reducer(predicate, time_budget).reduce(source)
