"""Scope analysis: which names are locals, cells, free variables, globals or class-namespace names."""
from __future__ import annotations

import ast

from .astwalk import FastVisitor
from .record import field, record

FUNCTION_NODES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp,
                  ast.GeneratorExp)
COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


@record
class Scope:
    """Names of one module, class or function-like scope, resolved as Python resolves them."""

    kind: str  # "module", "class", "function"
    node: ast.AST | None
    parent: Scope | None
    params: list[str] = field(default_factory=list)
    bound: list[str] = field(default_factory=list)  # in first-binding order
    used: set[str] = field(default_factory=set)
    declared_global: set[str] = field(default_factory=set)
    declared_nonlocal: set[str] = field(default_factory=set)
    children: list[Scope] = field(default_factory=list)
    cells: set[str] = field(default_factory=set)
    frees: list[str] = field(default_factory=list)
    locals: list[str] = field(default_factory=list)
    # Set views of bound, locals and frees: membership tests stay O(1) in scopes with many names.
    bound_set: set[str] = field(default_factory=set)
    local_set: set[str] = field(default_factory=set)
    free_set: set[str] = field(default_factory=set)
    generator: bool = False  # the function contains yield / yield from
    annotated: bool = False  # a module or class body annotates a name (CPython then makes __annotations__)
    has_await: bool = False

    def bind(self, name: str) -> None:
        if name not in self.bound_set:
            self.bound_set.add(name)
            self.bound.append(name)

    def kind_of(self, name: str) -> str:
        """'local', 'cell', 'free', 'global' or 'name' (class namespace lookup)."""
        if self.kind == "module":
            return "global"
        if self.kind == "class":
            if name in self.declared_global:
                return "global"
            if name in self.free_set and (name not in self.bound_set or name in self.declared_nonlocal):
                return "free"
            return "name"  # bound here: a free variable of the same name only passes through to methods
        if name in self.free_set:
            return "free"
        if name in self.cells:
            return "cell"
        if name in self.local_set:
            return "local"
        return "global"


class ScopeBuilder(FastVisitor):
    """Collects bindings and uses per scope; `resolve` then decides cells and free variables."""

    def __init__(self) -> None:
        self.scopes: dict[ast.AST, Scope] = {}
        self.current: Scope | None = None

    def build(self, tree: ast.Module) -> dict[ast.AST, Scope]:
        root = Scope("module", tree, None)
        self.scopes[tree] = root
        self.current = root
        for stmt in tree.body:
            self.visit(stmt)
        self._resolve(root)
        return self.scopes

    def _enter(self, kind: str, node: ast.AST, params: list[str]) -> Scope:
        scope = Scope(kind, node, self.current, params=list(params))
        for p in params:
            scope.bind(p)
        self.current.children.append(scope)
        self.scopes[node] = scope
        return scope

    def _in_scope(self, scope: Scope, nodes: list[ast.AST]) -> None:
        saved, self.current = self.current, scope
        for n in nodes:
            self.visit(n)
        self.current = saved

    def _bind_name(self, name: str) -> None:
        self.current.bind(name)

    @staticmethod
    def _params(args: ast.arguments) -> list[str]:
        """Parameter names in CPython's co_varnames order: positional, keyword-only, *args, **kwargs."""
        names = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
        if args.vararg:
            names.append(args.vararg.arg)
        if args.kwarg:
            names.append(args.kwarg.arg)
        return names

    def _signature_parts(self, args: ast.arguments, annotated: list[ast.AST | None]) -> None:
        """Defaults and annotations are evaluated where the function is defined."""
        for d in args.defaults + [d for d in args.kw_defaults if d is not None]:
            self.visit(d)
        for a in args.posonlyargs + args.args + [args.vararg] + args.kwonlyargs + [args.kwarg]:
            if a is not None and a.annotation is not None:
                self.visit(a.annotation)
        for a in annotated:
            if a is not None:
                self.visit(a)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        for d in node.decorator_list:
            self.visit(d)
        self._signature_parts(node.args, [node.returns])
        self._bind_name(node.name)
        scope = self._enter("function", node, self._params(node.args))
        self._in_scope(scope, node.body)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._signature_parts(node.args, [])
        scope = self._enter("function", node, self._params(node.args))
        self._in_scope(scope, [node.body])

    def visit_Yield(self, node: ast.Yield) -> None:
        self.current.generator = True
        self.generic_visit(node)

    visit_YieldFrom = visit_Yield

    def visit_Await(self, node: ast.Await) -> None:
        self.current.has_await = True
        self.generic_visit(node)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        name = node.target.id
        scope = self.current
        while isinstance(scope.node, COMPREHENSIONS):  # PEP 572: binds in the enclosing function
            scope.used.add(name)
            scope = scope.parent
        scope.bind(name)

    def visit_MatchAs(self, node: ast.MatchAs) -> None:
        if node.name:
            self._bind_name(node.name)
        self.generic_visit(node)

    def visit_MatchStar(self, node: ast.MatchStar) -> None:
        if node.name:
            self._bind_name(node.name)

    def visit_MatchMapping(self, node: ast.MatchMapping) -> None:
        if node.rest:
            self._bind_name(node.rest)
        self.generic_visit(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for d in node.decorator_list:
            self.visit(d)
        for b in node.bases:
            self.visit(b)
        for k in node.keywords:
            self.visit(k.value)
        self._bind_name(node.name)
        scope = self._enter("class", node, [])
        self._in_scope(scope, node.body)

    def _comprehension(self, node: ast.AST, parts: list[ast.AST]) -> None:
        gens = node.generators
        self.visit(gens[0].iter)
        scope = self._enter("function", node, [".0"])
        saved, self.current = self.current, scope
        for i, gen in enumerate(gens):
            if i:
                self.visit(gen.iter)
            self.visit(gen.target)
            for cond in gen.ifs:
                self.visit(cond)
        for p in parts:
            self.visit(p)
        self.current = saved

    def visit_ListComp(self, node: ast.ListComp) -> None:
        self._comprehension(node, [node.elt])

    visit_SetComp = visit_ListComp
    visit_GeneratorExp = visit_ListComp

    def visit_DictComp(self, node: ast.DictComp) -> None:
        self._comprehension(node, [node.key, node.value])

    def visit_Name(self, node: ast.Name) -> None:
        name = node.id
        if node.ctx.__class__ is ast.Load:
            self.current.used.add(name)
            if name == "super" and self.current.kind == "function":
                self.current.used.add("__class__")
        else:
            scope = self.current  # scope.bind(name), inlined: a binding per assignment
            if name not in scope.bound_set:
                scope.bound_set.add(name)
                scope.bound.append(name)

    def visit_Global(self, node: ast.Global) -> None:
        self.current.declared_global.update(node.names)

    def visit_Nonlocal(self, node: ast.Nonlocal) -> None:
        self.current.declared_nonlocal.update(node.names)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._bind_name((alias.asname or alias.name).split(".")[0])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for alias in node.names:
            self._bind_name(alias.asname or alias.name)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.name:
            self._bind_name(node.name)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        if isinstance(node.target, ast.Name):
            self.current.used.add(node.target.id)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.simple and isinstance(node.target, ast.Name):
            self.current.annotated = True
        self.visit(node.target)
        if self.current.kind != "function":  # module and class annotations are evaluated
            self.visit(node.annotation)
        if node.value is not None:
            self.visit(node.value)

    def visit_arguments(self, node: ast.arguments) -> None:  # annotations are not evaluated
        pass

    # --- resolution -------------------------------------------------------------------------------
    def _resolve(self, scope: Scope) -> None:
        if scope.kind == "function":
            scope.locals = [n for n in scope.bound
                            if n not in scope.declared_global and n not in scope.declared_nonlocal]
            scope.local_set = set(scope.locals)
        for child in scope.children:
            self._resolve(child)
        if scope.kind == "module":
            return
        wanted = scope.used | scope.declared_nonlocal | scope.bound_set
        child_needs: set[str] = set()
        for child in scope.children:
            child_needs |= set(child.frees)
        wanted |= child_needs
        for name in sorted(wanted):
            if scope.kind == "function" and (name in scope.local_set or name in scope.declared_global):
                continue
            if (scope.kind == "class" and name in scope.bound_set and name not in scope.declared_nonlocal
                    and name not in child_needs):
                continue
            if name in scope.declared_global:
                continue
            if self._provided_by_enclosing(scope, name):
                scope.frees.append(name)
                scope.free_set.add(name)
        for child in scope.children:
            for name in child.frees:
                if scope.kind == "function" and name in scope.local_set:
                    scope.cells.add(name)
                if scope.kind == "class" and name == "__class__":
                    scope.cells.add(name)

    @staticmethod
    def _provided_by_enclosing(scope: Scope, name: str) -> bool:
        parent = scope.parent
        while parent is not None and parent.kind != "module":
            if parent.kind == "class":
                if name == "__class__" and scope.parent is parent:
                    return True
            elif name in parent.local_set:
                return True
            elif name in parent.declared_global:
                return False
            parent = parent.parent
        return False


def analyse(tree: ast.Module) -> dict[ast.AST, Scope]:
    """Scope for every module, class and function-like node of the tree."""
    return ScopeBuilder().build(tree)
