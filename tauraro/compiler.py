"""Compiler: checked Python AST -> register bytecode (CodeObject), one code object per scope."""
from __future__ import annotations

import ast
import gc
import math
from dataclasses import dataclass, field
from typing import Callable

from .bytecode import CodeObject, ExceptEntry, Instr, LoopInfo
from .errors import TauraroSyntaxError
from .frontend import FRONT_END_RECURSION_LIMIT, MappedSource, parse, recursion_limit
from .scopes import Scope, analyse

BINOPS = {
    ast.Add: "Add", ast.Sub: "Sub", ast.Mult: "Mul", ast.Div: "Div", ast.FloorDiv: "FloorDiv",
    ast.Mod: "Mod", ast.Pow: "Pow", ast.LShift: "LShift", ast.RShift: "RShift", ast.BitAnd: "And",
    ast.BitOr: "Or", ast.BitXor: "Xor", ast.MatMult: "MatMul",
}
COMPARES = {
    ast.Lt: "CompareLessRR", ast.LtE: "CompareLessEqualRR", ast.Gt: "CompareGreaterRR",
    ast.GtE: "CompareGreaterEqualRR", ast.Eq: "CompareEqualRR", ast.NotEq: "CompareNotEqualRR",
    ast.Is: "CompareIsRR", ast.IsNot: "CompareIsNotRR", ast.In: "CompareInRR", ast.NotIn: "CompareNotInRR",
}
UNARY = {ast.USub: "UnaryNeg", ast.UAdd: "UnaryPos", ast.Not: "UnaryNot", ast.Invert: "UnaryInvert"}
CONVERSIONS = {-1: 0, ord("s"): 1, ord("r"): 2, ord("a"): 3}
NO_VALUE = -1


@dataclass
class Block:
    """A compile-time block on the unwind stack: loop, finally or except."""

    kind: str  # "loop", "finally", "except"
    breaks: list[int] = field(default_factory=list)
    continue_pc: int = 0
    loop_id: int = 0
    finalbody: list[ast.stmt] | None = None
    protect: list | None = None  # the open protected ranges to pause around inlined cleanup code


_EXPR_METHODS: dict[type, Callable[..., int]] = {}  # node class -> FunctionCompiler.expr_X


class FunctionCompiler:
    """Compiles one scope (module, class body, function, lambda, comprehension) to a CodeObject."""

    def __init__(self, unit: Compiler, scope: Scope, code: CodeObject) -> None:
        self.unit = unit
        self.scope = scope
        self.code = code
        self.vars: dict[str, int] = {}
        self.top = 0
        self.nlocals = 0
        self.line = code.firstline
        self.blocks: list[Block] = []
        self.handler_depth = 0  # except blocks entered (for handled-exception stack depth)
        self.defined: set[str] | None = set()  # names definitely bound here (None: unreachable)
        self.const_index: dict[object, int] = {}  # const_key(value) -> index in code.consts
        self.name_index: dict[str, int] = {}  # name -> index in code.names
        self._setup_registers()

    # --- registers -----------------------------------------------------------------------------
    def _setup_registers(self) -> None:
        scope, code = self.scope, self.code
        if code.kind == "class":
            self._alloc_var(".ns")  # register 0 holds the class namespace dict
        for p in scope.params:
            self._alloc_var(p)
        code.params = list(scope.params)
        if scope.kind == "function":
            for name in scope.locals:
                if name not in self.vars:
                    self._alloc_var(name)
        for name in sorted(scope.cells):
            if name not in self.vars:
                self._alloc_var(name)
        for name in scope.frees:
            self._alloc_var(name)
            code.free_regs.append(self.vars[name])
        self.nlocals = self.top
        self.defined = set(scope.params)

    def _alloc_var(self, name: str) -> int:
        reg = self.top
        self.vars[name] = reg
        self.code.local_names[reg] = name
        self.top += 1
        self.code.nregs = max(self.code.nregs, self.top)
        return reg

    def alloc(self, n: int = 1) -> int:
        reg = self.top
        self.top = top = reg + n
        if top > self.code.nregs:
            self.code.nregs = top
        return reg

    def is_temp(self, reg: int) -> bool:
        return reg >= self.nlocals

    # --- emission -------------------------------------------------------------------------------
    def emit(self, op: str, a: int = 0, b: int = 0, c: int = 0) -> int:
        instrs = self.code.instrs
        instrs.append(Instr(op, a, b, c, self.line))
        return len(instrs) - 1

    def pc(self) -> int:
        return len(self.code.instrs)

    def patch(self, pc: int, target: int | None = None) -> None:
        ins = self.code.instrs[pc]
        target = self.pc() if target is None else target
        if ins.op in ("Jump", "JumpBack"):
            ins.a = target
        elif ins.op in ("JumpIfTrue", "JumpIfFalse"):
            ins.b = target
        else:  # ForIter
            ins.c = target

    def const(self, value: object) -> int:
        """The pool index of a constant, added once: a dict probe, so compile time stays linear."""
        key = const_key(value)
        index = self.const_index.get(key)
        if index is None:
            index = self.const_index[key] = len(self.code.consts)
            self.code.consts.append(value)
        return index

    def name(self, name: str) -> int:
        index = self.name_index.get(name)
        if index is None:
            index = self.name_index[name] = len(self.code.names)
            self.code.names.append(name)
        return index

    def error(self, node: ast.AST, message: str) -> TauraroSyntaxError:
        return self.unit.error(node, message)

    # --- statements ----------------------------------------------------------------------------
    def body(self, stmts: list[ast.stmt]) -> None:
        for s in stmts:
            self.stmt(s)

    def stmt(self, node: ast.stmt) -> None:
        self.line = node.lineno
        mark = self.top
        method = getattr(self, "stmt_" + type(node).__name__, None)
        if method is None:
            raise self.error(node, f"'{type(node).__name__}' statement is not supported")
        method(node)
        self.top = mark

    def stmt_Expr(self, node: ast.Expr) -> None:
        self.expr(node.value)

    def stmt_Pass(self, node: ast.Pass) -> None:
        pass

    def stmt_Assign(self, node: ast.Assign) -> None:
        if len(node.targets) == 1:
            self.assign(node.targets[0], node.value)
            return
        src = self.expr(node.value, self.alloc())
        for t in node.targets:
            self.store(t, src)

    def stmt_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.assign(node.target, node.value)

    def assign(self, target: ast.expr, value: ast.expr) -> None:
        if isinstance(target, ast.Name) and self.scope.kind_of(target.id) == "local":
            self.expr(value, self.vars[target.id])
            self.mark_defined(target.id)
            return
        if (isinstance(target, (ast.Tuple, ast.List)) and isinstance(value, (ast.Tuple, ast.List))
                and len(target.elts) == len(value.elts)):
            temps = [self.expr(v, self.alloc()) for v in value.elts]
            for t, r in zip(target.elts, temps):
                self.store(t, r)
            return
        self.store(target, self.expr(value))

    def mark_defined(self, name: str) -> None:
        if self.defined is not None:
            self.defined.add(name)

    def store(self, target: ast.expr, src: int) -> None:
        self.line = getattr(target, "lineno", self.line)
        if isinstance(target, ast.Name):
            self.store_name(target.id, src)
        elif isinstance(target, ast.Attribute):
            obj = self.expr(target.value)
            self.emit("StoreAttr", obj, self.name(target.attr), src)
        elif isinstance(target, ast.Subscript):
            obj = self.expr(target.value)
            key = self.expr(target.slice)
            self.emit("SubscrStore", obj, key, src)
        elif isinstance(target, (ast.Tuple, ast.List)):
            n = len(target.elts)
            first = self.alloc(n)
            self.emit("UnpackSequence", first, src, n)
            for i, t in enumerate(target.elts):
                self.store(t, first + i)
        else:
            raise self.error(target, "this assignment target is not supported")

    def store_name(self, name: str, src: int) -> None:
        kind = self.scope.kind_of(name)
        if kind == "local":
            if self.vars[name] != src:
                self.emit("Move", self.vars[name], src)
            self.mark_defined(name)
        elif kind in ("cell", "free"):
            self.emit("StoreDeref", self.vars[name], src)
        elif kind == "name":
            self.emit("StoreName", src, self.name(name))
        else:
            self.emit("StoreGlobal", src, self.name(name))

    def stmt_AugAssign(self, node: ast.AugAssign) -> None:
        op = "Inplace" + BINOPS[type(node.op)] + "RR"
        t = node.target
        if isinstance(t, ast.Name):
            if self.scope.kind_of(t.id) == "local":
                reg = self.load_name(t.id, t)
                rhs = self.expr(node.value)
                self.line = node.lineno
                self.emit(op, reg, reg, rhs)
                return
            cur = self.load_name(t.id, t, self.alloc())
            rhs = self.expr(node.value)
            self.line = node.lineno
            self.emit(op, cur, cur, rhs)
            self.store_name(t.id, cur)
        elif isinstance(t, ast.Attribute):
            obj = self.expr(t.value)
            cur = self.alloc()
            self.emit("LoadAttr", cur, obj, self.name(t.attr))
            rhs = self.expr(node.value)
            self.line = node.lineno
            self.emit(op, cur, cur, rhs)
            self.emit("StoreAttr", obj, self.name(t.attr), cur)
        elif isinstance(t, ast.Subscript):
            obj = self.expr(t.value)
            key = self.expr(t.slice)
            cur = self.alloc()
            self.emit("SubscrLoad", cur, obj, key)
            rhs = self.expr(node.value)
            self.line = node.lineno
            self.emit(op, cur, cur, rhs)
            self.emit("SubscrStore", obj, key, cur)
        else:
            raise self.error(t, "this augmented assignment target is not supported")

    def stmt_Delete(self, node: ast.Delete) -> None:
        for t in node.targets:
            self.line = t.lineno
            if isinstance(t, ast.Name):
                kind = self.scope.kind_of(t.id)
                if kind == "local":
                    self.emit("DeleteFast", self.vars[t.id], self.name(t.id))
                    if self.defined is not None:
                        self.defined.discard(t.id)
                elif kind == "global":
                    self.emit("DeleteGlobal", 0, self.name(t.id))
                else:
                    raise self.error(t, f"deleting variable '{t.id}' of this kind")
            elif isinstance(t, ast.Subscript):
                obj = self.expr(t.value)
                key = self.expr(t.slice)
                self.emit("SubscrDelete", obj, key)
            elif isinstance(t, ast.Attribute):
                obj = self.expr(t.value)
                self.emit("DeleteAttr", obj, self.name(t.attr))
            else:
                raise self.error(t, "this 'del' target is not supported")

    def stmt_Global(self, node: ast.Global) -> None:
        pass

    stmt_Nonlocal = stmt_Global

    def stmt_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            reg = self.alloc()
            self.emit("ImportModule", reg, self.name(alias.name))
            if alias.asname is None and "." in alias.name:  # `import a.b` binds the top package a
                self.emit("ImportModule", reg, self.name(alias.name.partition(".")[0]))
            self.store_name(alias.asname or alias.name.partition(".")[0], reg)

    def stmt_ImportFrom(self, node: ast.ImportFrom) -> None:
        # The module operand is the name with one leading dot per level (relative: tauraro/modules.py).
        mod = self.alloc()
        self.emit("ImportModule", mod, self.name("." * (node.level or 0) + (node.module or "")))
        for alias in node.names:
            reg = self.alloc()
            self.emit("ImportFrom", reg, mod, self.name(alias.name))
            if alias.name != "*":  # '*' stores every public name into the module's globals itself
                self.store_name(alias.asname or alias.name, reg)

    def stmt_If(self, node: ast.If) -> None:
        jf = self.test(node.test, jump_if=False)
        before = self._copy_defined()
        self.body(node.body)
        after_body = self.defined
        if node.orelse:
            jend = self.emit("Jump")
            for j in jf:
                self.patch(j)
            self.defined = before
            self.body(node.orelse)
            self.patch(jend)
            self.defined = _meet(after_body, self.defined)
        else:
            for j in jf:
                self.patch(j)
            self.defined = _meet(after_body, before)

    def _copy_defined(self) -> set[str] | None:
        return None if self.defined is None else set(self.defined)

    def _new_loop(self, kind: str, line: int) -> tuple[int, int]:
        loop_id = len(self.code.loops)
        setup = self.emit("SetupLoop", loop_id)
        self.code.loops.append(LoopInfo(loop_id, setup, 0, 0, line, kind))
        return loop_id, setup

    def _finish_loop(self, loop_id: int, setup: int, header: int, block: Block, orelse: list[ast.stmt],
                     before: set[str] | None, exits: list[int]) -> None:
        pop = self.pc()
        for j in exits:
            self.patch(j)
        self.emit("PopBlock", loop_id)
        info = self.code.loops[loop_id]
        info.header, info.pop = header, pop
        ins = self.code.instrs[setup]
        ins.b, ins.c = header, pop
        self.defined = _copy(before)
        self.body(orelse)
        self.defined = _meet(self.defined, before) if before is not None else self.defined
        for j in block.breaks:
            self.patch(j)

    def stmt_While(self, node: ast.While) -> None:
        loop_id, setup = self._new_loop("while", node.lineno)
        header = self.pc()
        exits = self.test(node.test, jump_if=False)
        before = self._copy_defined()
        block = self._loop_body(loop_id, header, node)
        self._finish_loop(loop_id, setup, header, block, node.orelse, before, exits)

    def _loop_body(self, loop_id: int, header: int, node: ast.While | ast.For) -> Block:
        """The body of a while/for loop and its back-edge; returns the loop's block (for its breaks)."""
        block = Block("loop", continue_pc=header, loop_id=loop_id)
        self.blocks.append(block)
        self.body(node.body)
        self.blocks.pop()
        self.line = node.lineno
        self.emit("JumpBack", header, loop_id)
        return block

    def stmt_For(self, node: ast.For) -> None:
        iterable = self.expr(node.iter)
        it = self.alloc()
        self.line = node.lineno
        self.emit("GetIter", it, iterable)
        loop_id, setup = self._new_loop("for", node.lineno)
        header = self.pc()
        before = self._copy_defined()
        fi = self._for_iter(node.target, it)
        block = self._loop_body(loop_id, header, node)
        self._finish_loop(loop_id, setup, header, block, node.orelse, before, [fi])

    def _for_iter(self, target: ast.expr, it: int) -> int:
        """ForIter into the loop target (straight into a local's register when it is one); returns its pc."""
        simple = isinstance(target, ast.Name) and self.scope.kind_of(target.id) == "local"
        dst = self.vars[target.id] if simple else self.alloc()
        fi = self.emit("ForIter", dst, it, 0)
        if simple:
            self.mark_defined(target.id)
        else:
            self.store(target, dst)
        return fi

    def stmt_Break(self, node: ast.Break) -> None:
        loop = self._unwind_to_loop(node)
        loop.breaks.append(self.emit("Jump"))
        self.defined = None

    def stmt_Continue(self, node: ast.Continue) -> None:
        loop = self._unwind_to_loop(node)
        self.emit("JumpBack", loop.continue_pc, loop.loop_id)
        self.defined = None

    def _unwind_to_loop(self, node: ast.stmt) -> Block:
        for i in range(len(self.blocks) - 1, -1, -1):
            if self.blocks[i].kind == "loop":
                self._emit_cleanups(i + 1)
                return self.blocks[i]
        raise self.error(node, "'break' outside loop")

    def _emit_cleanups(self, down_to: int) -> None:
        """Inline the finally bodies and except-block exits between the top block and `down_to`.

        The inlined code is not protected by the handlers of the blocks it leaves, so their ranges
        are paused around it and resumed afterwards."""
        saved_blocks, saved_depth = self.blocks, self.handler_depth
        paused = []
        for i in range(len(saved_blocks) - 1, down_to - 1, -1):
            for blk in saved_blocks[i:]:
                rec = blk.protect
                if rec is not None and rec[3] is not None:
                    if rec[3] < self.pc():
                        rec[2].append((rec[3], self.pc()))
                    rec[3] = None
                    paused.append(rec)
            blk = saved_blocks[i]
            self.blocks = saved_blocks[:i]
            if blk.kind == "except":
                self.emit("PopExcept")
                self.handler_depth -= 1
            elif blk.kind == "finally":
                saved_defined = self.defined
                self.body(blk.finalbody)
                self.defined = saved_defined
        self.blocks, self.handler_depth = saved_blocks, saved_depth
        for rec in paused:
            rec[3] = self.pc()

    def stmt_Return(self, node: ast.Return) -> None:
        if self.code.kind not in ("function", "lambda"):
            raise self.error(node, "'return' outside function")
        if node.value is None:
            reg = self.alloc()
            self.emit("LoadConst", reg, self.const(None))
        else:
            reg = self.expr(node.value)
        if any(b.kind in ("finally", "except") for b in self.blocks):
            if not self.is_temp(reg):
                tmp = self.alloc()
                self.emit("Move", tmp, reg)
                reg = tmp
            self._emit_cleanups(0)
        self.line = node.lineno
        self.emit("ReturnValue", reg)
        self.defined = None

    def stmt_Raise(self, node: ast.Raise) -> None:
        exc = self.expr(node.exc) if node.exc is not None else NO_VALUE
        cause = self.expr(node.cause) if node.cause is not None else NO_VALUE
        self.line = node.lineno
        self.emit("Raise", exc, cause)
        self.defined = None

    def stmt_Assert(self, node: ast.Assert) -> None:
        jt = self.test(node.test, jump_if=True)
        msg = self.expr(node.msg) if node.msg is not None else NO_VALUE
        self.line = node.lineno
        self.emit("RaiseAssert", msg)
        for j in jt:
            self.patch(j)

    # --- try ------------------------------------------------------------------------------------
    def _protect(self, handler_reg: int) -> list:
        """Open a protected range: [handler_pc, reg, closed ranges, open start, nesting, handled depth]."""
        depth = sum(1 for b in self.blocks if b.protect is not None)
        return [None, handler_reg, [], self.pc(), depth, self.handler_depth]

    def _close(self, rec: list) -> None:
        if rec[3] is not None and rec[3] < self.pc():
            rec[2].append((rec[3], self.pc()))
        rec[3] = None
        self.unit.pending_protect.setdefault(id(self.code), []).append(rec)

    def stmt_Try(self, node: ast.Try) -> None:
        fin_reg = self.alloc() if node.finalbody else None
        fin_rec = None
        if node.finalbody:
            fin_rec = self._protect(fin_reg)
            self.blocks.append(Block("finally", finalbody=node.finalbody, protect=fin_rec))
        before = self._copy_defined()
        if node.handlers:
            exc_reg = self.alloc()
            exc_rec = self._protect(exc_reg)
            self.blocks.append(Block("try", protect=exc_rec))
            self.body(node.body)
            self.blocks.pop()
            self._close(exc_rec)
            self.body(node.orelse)
            jend = [self.emit("Jump")]
            exc_rec[0] = self.pc()
            self.defined = _copy(before)
            jend += self._handlers(node.handlers, exc_reg)
            for j in jend:
                self.patch(j)
            self.defined = _copy(before) if self.defined is not None else None
        else:
            self.body(node.body)
        if node.finalbody:
            self.blocks.pop()
            self._close(fin_rec)
            self.body(node.finalbody)  # normal path
            jend = self.emit("Jump")
            fin_rec[0] = self.pc()
            saved = self.defined
            self.defined = _copy(before)
            self.body(node.finalbody)
            self.emit("Reraise", fin_reg)
            self.defined = saved
            self.patch(jend)

    def _handlers(self, handlers: list[ast.ExceptHandler], exc: int) -> list[int]:
        self.emit("PushExcept", exc)
        self.handler_depth += 1
        ends = []
        for h in handlers:
            self.line = h.lineno
            skip = None
            if h.type is not None:
                t = self.expr(h.type)
                m = self.alloc()
                self.emit("ExceptMatch", m, exc, t)
                skip = self.emit("JumpIfFalse", m, 0)
            if h.name:
                self.store_name(h.name, exc)
            self.blocks.append(Block("except"))
            self.body(h.body)
            self.blocks.pop()
            self.emit("PopExcept")
            if h.name:
                self._unbind(h.name)
            ends.append(self.emit("Jump"))
            if skip is not None:
                self.patch(skip)
        self.emit("PopExcept")
        self.emit("Reraise", exc)
        self.handler_depth -= 1
        return ends

    def _unbind(self, name: str) -> None:
        kind = self.scope.kind_of(name)
        if kind == "local":
            none = self.alloc()
            self.emit("LoadConst", none, self.const(None))
            self.emit("Move", self.vars[name], none)
            self.emit("DeleteFast", self.vars[name], self.name(name))
            if self.defined is not None:
                self.defined.discard(name)
        elif kind == "global":
            self.emit("DeleteGlobal", 0, self.name(name))

    # --- definitions ----------------------------------------------------------------------------
    def stmt_FunctionDef(self, node: ast.FunctionDef) -> None:
        reg = self.make_function(node, node.name, node.args, node.body)
        self.line = node.lineno
        self.store_name(node.name, reg)

    def make_function(self, node: ast.AST, name: str, args: ast.arguments, body: list[ast.stmt]) -> int:
        defaults = args.defaults
        scope = self.unit.scopes[node]
        kind = "lambda" if isinstance(node, ast.Lambda) else "function"
        code = self.unit.compile_scope(node, scope, name, self._qualname(name), kind, body)
        code.ndefaults = len(defaults)
        first = self.alloc(len(defaults) + len(scope.frees))
        for i, d in enumerate(defaults):
            self.expr(d, first + i)
        self._load_cells(scope, first + len(defaults))
        dst = self.alloc()
        self.line = node.lineno
        self.emit("MakeFunction", dst, self.const(code), first)
        return dst

    def _qualname(self, name: str) -> str:
        if self.code.kind == "module":
            return name
        if self.code.kind == "class":
            return f"{self.code.qualname}.{name}"
        return f"{self.code.qualname}.<locals>.{name}"

    def _load_cells(self, scope: Scope, first: int) -> None:
        for i, free in enumerate(scope.frees):
            self.emit("Move", first + i, self.vars[free])

    def stmt_ClassDef(self, node: ast.ClassDef) -> None:
        scope = self.unit.scopes[node]
        code = self.unit.compile_scope(node, scope, node.name, self._qualname(node.name), "class", node.body)
        first = self.alloc(1 + len(scope.frees))
        if node.bases:
            self.expr(node.bases[0], first)
        else:
            self.emit("LoadConst", first, self.const(None))
        self._load_cells(scope, first + 1)
        dst = self.alloc()
        self.line = node.lineno
        self.emit("MakeClass", dst, self.const(code), first)
        self.store_name(node.name, dst)

    # --- conditions -----------------------------------------------------------------------------
    def test(self, node: ast.expr, jump_if: bool) -> list[int]:
        """Emit a test of `node`; returns jumps taken when its truth equals `jump_if` (to patch)."""
        self.line = getattr(node, "lineno", self.line)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return self.test(node.operand, not jump_if)
        if isinstance(node, ast.BoolOp):
            is_and = isinstance(node.op, ast.And)
            if is_and != jump_if:  # and/jump-if-false or or/jump-if-true: any operand decides
                jumps = []
                for v in node.values:
                    jumps += self.test(v, jump_if)
                return jumps
            skips = []
            for v in node.values[:-1]:
                skips += self.test(v, not jump_if)
            jumps = self.test(node.values[-1], jump_if)
            for s in skips:
                self.patch(s)
            return jumps
        mark = self.top
        reg = self.expr(node)
        self.top = mark
        return [self.emit("JumpIfTrue" if jump_if else "JumpIfFalse", reg, 0)]

    # --- expressions ----------------------------------------------------------------------------
    def expr(self, node: ast.expr, dst: int | None = None) -> int:
        """Evaluate `node`; the result is in `dst` if given, else in the returned register."""
        line = getattr(node, "lineno", None)
        if line is not None:
            self.line = line
        method = _EXPR_METHODS.get(node.__class__)  # a dict probe, not a getattr of a built name per node
        if method is None:
            method = getattr(FunctionCompiler, "expr_" + type(node).__name__, None)
            if method is None:
                raise self.error(node, f"'{type(node).__name__}' expressions are not supported")
            _EXPR_METHODS[node.__class__] = method
        return method(self, node, dst)

    def target(self, dst: int | None) -> int:
        return self.alloc() if dst is None else dst

    def expr_Constant(self, node: ast.Constant, dst: int | None) -> int:
        dst = self.target(dst)
        self.emit("LoadConst", dst, self.const(node.value))
        return dst

    def expr_Name(self, node: ast.Name, dst: int | None) -> int:
        return self.load_name(node.id, node, dst)

    def load_name(self, name: str, node: ast.AST, dst: int | None = None) -> int:
        kind = self.scope.kind_of(name)
        if kind == "local":
            reg = self.vars[name]
            if self.defined is not None and name not in self.defined:
                self.emit("CheckBound", reg, self.name(name))
                self.mark_defined(name)
            if dst is None or dst == reg:
                return reg
            self.emit("Move", dst, reg)
            return dst
        dst = self.target(dst)
        if kind in ("cell", "free"):
            self.emit("LoadDeref", dst, self.vars[name], self.name(name))
        elif kind == "name":
            self.emit("LoadName", dst, self.name(name))
        else:
            self.emit("LoadGlobal", dst, self.name(name))
        return dst

    def _two_operands(self, op: str, node: ast.expr, left: ast.expr, right: ast.expr, dst: int | None) -> int:
        """Evaluate `left` and `right` into registers, then `op dst, left, right` at node's line."""
        dst = self.target(dst)
        mark = self.top
        a = self.expr(left)
        b = self.expr(right)
        self.top = mark
        self.line = node.lineno
        self.emit(op, dst, a, b)
        return dst

    def expr_BinOp(self, node: ast.BinOp, dst: int | None) -> int:
        return self._two_operands("Binary" + BINOPS[type(node.op)] + "RR", node, node.left, node.right, dst)

    def expr_UnaryOp(self, node: ast.UnaryOp, dst: int | None) -> int:
        if (isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant)
                and type(node.operand.value) in (int, float)):
            return self.expr_Constant(ast.Constant(-node.operand.value, lineno=node.lineno), dst)
        dst = self.target(dst)
        mark = self.top
        src = self.expr(node.operand)
        self.top = mark
        self.line = node.lineno
        self.emit(UNARY[type(node.op)], dst, src)
        return dst

    def _private_target(self, dst: int | None) -> tuple[int, int | None]:
        """A temp to build a multi-step result in; the caller moves it into a local `dst` at the end."""
        if dst is not None and self.is_temp(dst):
            return dst, None
        return self.alloc(), dst

    def _finish_private(self, reg: int, final: int | None) -> int:
        if final is not None:
            self.emit("Move", final, reg)
            return final
        return reg

    def expr_BoolOp(self, node: ast.BoolOp, dst: int | None) -> int:
        reg, final = self._private_target(dst)
        op = "JumpIfFalse" if isinstance(node.op, ast.And) else "JumpIfTrue"
        jumps = []
        for v in node.values[:-1]:
            self.expr(v, reg)
            jumps.append(self.emit(op, reg, 0))
        self.expr(node.values[-1], reg)
        for j in jumps:
            self.patch(j)
        return self._finish_private(reg, final)

    def expr_IfExp(self, node: ast.IfExp, dst: int | None) -> int:
        reg, final = self._private_target(dst)
        jf = self.test(node.test, jump_if=False)
        self.expr(node.body, reg)
        jend = self.emit("Jump")
        for j in jf:
            self.patch(j)
        self.expr(node.orelse, reg)
        self.patch(jend)
        return self._finish_private(reg, final)

    def expr_Compare(self, node: ast.Compare, dst: int | None) -> int:
        if len(node.ops) == 1:
            return self._two_operands(COMPARES[type(node.ops[0])], node, node.left, node.comparators[0], dst)
        reg, final = self._private_target(dst)
        left = self.expr(node.left, self.alloc())
        jumps = []
        for i, (op, comp) in enumerate(zip(node.ops, node.comparators)):
            right = self.expr(comp, self.alloc())
            self.line = node.lineno
            self.emit(COMPARES[type(op)], reg, left, right)
            if i < len(node.ops) - 1:
                jumps.append(self.emit("JumpIfFalse", reg, 0))
            left = right
        for j in jumps:
            self.patch(j)
        return self._finish_private(reg, final)

    def _build(self, op: str, elts: list[ast.expr], dst: int | None) -> int:
        first = self.alloc(len(elts))
        for i, e in enumerate(elts):
            self.expr(e, first + i)
        dst = self.target(dst)
        self.emit(op, dst, first, len(elts))
        return dst

    def expr_List(self, node: ast.List, dst: int | None) -> int:
        return self._build("BuildList", node.elts, dst)

    def expr_Tuple(self, node: ast.Tuple, dst: int | None) -> int:
        if all(isinstance(e, ast.Constant) for e in node.elts):
            dst = self.target(dst)
            self.emit("LoadConst", dst, self.const(tuple(e.value for e in node.elts)))
            return dst
        return self._build("BuildTuple", node.elts, dst)

    def expr_Set(self, node: ast.Set, dst: int | None) -> int:
        return self._build("BuildSet", node.elts, dst)

    def expr_Dict(self, node: ast.Dict, dst: int | None) -> int:
        if any(k is None for k in node.keys):
            raise self.error(node, "'**' in dict displays")
        items = [x for kv in zip(node.keys, node.values) for x in kv]
        first = self.alloc(len(items))
        for i, e in enumerate(items):
            self.expr(e, first + i)
        dst = self.target(dst)
        self.emit("BuildDict", dst, first, len(node.keys))
        return dst

    def expr_Slice(self, node: ast.Slice, dst: int | None) -> int:
        parts = [node.lower, node.upper] + ([node.step] if node.step is not None else [])
        first = self.alloc(len(parts))
        for i, p in enumerate(parts):
            if p is None:
                self.emit("LoadConst", first + i, self.const(None))
            else:
                self.expr(p, first + i)
        dst = self.target(dst)
        self.emit("BuildSlice", dst, first, len(parts))
        return dst

    def expr_Subscript(self, node: ast.Subscript, dst: int | None) -> int:
        return self._two_operands("SubscrLoad", node, node.value, node.slice, dst)

    def expr_Attribute(self, node: ast.Attribute, dst: int | None) -> int:
        dst = self.target(dst)
        mark = self.top
        obj = self.expr(node.value)
        self.top = mark
        self.line = node.lineno
        self.emit("LoadAttr", dst, obj, self.name(node.attr))
        return dst

    def expr_JoinedStr(self, node: ast.JoinedStr, dst: int | None) -> int:
        first = self.alloc(len(node.values))
        for i, v in enumerate(node.values):
            self.expr(v, first + i)
        dst = self.target(dst)
        self.emit("BuildString", dst, first, len(node.values))
        return dst

    def expr_FormattedValue(self, node: ast.FormattedValue, dst: int | None) -> int:
        first = self.alloc(2)
        self.expr(node.value, first)
        if node.format_spec is not None:
            self.expr(node.format_spec, first + 1)
        dst = self.target(dst)
        flags = CONVERSIONS[node.conversion] * 2 + (node.format_spec is not None)
        self.emit("FormatValue", dst, first, flags)
        return dst

    def expr_Call(self, node: ast.Call, dst: int | None) -> int:
        func = node.func
        nargs = len(node.args) + len(node.keywords)
        kwnames = tuple(k.arg for k in node.keywords)
        if isinstance(func, ast.Attribute):
            base = self.alloc(1 + nargs)
            self.expr(func.value, base)
            self._args(node, base + 1)
            dst = self.target(dst)
            self.line = node.lineno
            self.emit("CallMethod", dst, base, self.const((func.attr, len(node.args), kwnames)))
            return dst
        if (isinstance(func, ast.Name) and func.id == "super" and not node.args and not node.keywords
                and self.scope.kind_of("super") == "global" and "__class__" in self.scope.frees):
            return self._zero_arg_super(node, dst)
        base = self.alloc(1 + nargs)
        self.expr(func, base)
        self._args(node, base + 1)
        dst = self.target(dst)
        self.line = node.lineno
        if kwnames:
            self.emit("CallFunctionKw", dst, base, self.const((len(node.args), kwnames)))
        else:
            self.emit("CallFunction", dst, base, len(node.args))
        return dst

    def _args(self, node: ast.Call, first: int) -> None:
        for i, a in enumerate(node.args):
            self.expr(a, first + i)
        for i, k in enumerate(node.keywords):
            self.expr(k.value, first + len(node.args) + i)

    def _zero_arg_super(self, node: ast.Call, dst: int | None) -> int:
        if not self.code.params:
            raise self.error(node, "super() without arguments needs a method with a first argument")
        base = self.alloc(3)
        self.emit("LoadGlobal", base, self.name("super"))
        self.emit("LoadDeref", base + 1, self.vars["__class__"], self.name("__class__"))
        first_param = self.code.params[0]
        self.load_name(first_param, node, base + 2)
        dst = self.target(dst)
        self.emit("CallFunction", dst, base, 2)
        return dst

    def expr_Lambda(self, node: ast.Lambda, dst: int | None) -> int:
        reg = self.make_function(node, "<lambda>", node.args, [ast.Return(node.body, lineno=node.lineno,
                                                                              col_offset=node.col_offset)])
        if dst is not None:
            self.emit("Move", dst, reg)
            return dst
        return reg

    def _comprehension(self, node: ast.AST, dst: int | None) -> int:
        names = {ast.ListComp: "<listcomp>", ast.SetComp: "<setcomp>", ast.DictComp: "<dictcomp>",
                 ast.GeneratorExp: "<genexpr>"}
        scope = self.unit.scopes[node]
        kind = "genexpr" if isinstance(node, ast.GeneratorExp) else "comprehension"
        name = names[type(node)]
        code = self.unit.compile_scope(node, scope, name, self._qualname(name), kind, node)
        first = self.alloc(len(scope.frees))
        self._load_cells(scope, first)
        base = self.alloc(2)
        self.line = node.lineno
        self.emit("MakeFunction", base, self.const(code), first)
        iterable = self.expr(node.generators[0].iter)
        self.line = node.lineno
        self.emit("GetIter", base + 1, iterable)
        dst = self.target(dst)
        self.emit("CallFunction", dst, base, 1)
        return dst

    expr_ListComp = _comprehension
    expr_SetComp = _comprehension
    expr_DictComp = _comprehension
    expr_GeneratorExp = _comprehension

    def comprehension_body(self, node: ast.AST) -> None:
        """Body of a comprehension scope: register 0 is the first iterator ('.0')."""
        self.line = node.lineno
        is_gen = isinstance(node, ast.GeneratorExp)
        acc = None
        if not is_gen:
            acc = self.alloc()
            op = {ast.ListComp: "BuildList", ast.SetComp: "BuildSet", ast.DictComp: "BuildDict"}[type(node)]
            self.emit(op, acc, 0, 0)
        self._comp_level(node, 0, acc, self.vars[".0"])
        if is_gen:
            none = self.alloc()
            self.emit("LoadConst", none, self.const(None))
            self.emit("ReturnValue", none)
        else:
            self.emit("ReturnValue", acc)

    def _comp_level(self, node: ast.AST, level: int, acc: int | None, it: int | None) -> None:
        gen = node.generators[level]
        if it is None:
            iterable = self.expr(gen.iter)
            it = self.alloc()
            self.emit("GetIter", it, iterable)
        loop_id, setup = self._new_loop("for", gen.iter.lineno)
        header = self.pc()
        fi = self._for_iter(gen.target, it)
        for cond in gen.ifs:
            mark = self.top
            reg = self.expr(cond)
            self.top = mark
            skip = self.emit("JumpIfTrue", reg, 0)
            self.emit("JumpBack", header, loop_id)
            self.patch(skip)
        if level + 1 < len(node.generators):
            mark = self.top
            self._comp_level(node, level + 1, acc, None)
            self.top = mark
        else:
            mark = self.top
            self.line = node.lineno
            if isinstance(node, ast.GeneratorExp):
                self.emit("YieldValue", self.expr(node.elt))
            elif isinstance(node, ast.DictComp):
                k = self.expr(node.key)
                v = self.expr(node.value)
                self.emit("MapAdd", acc, k, v)
            else:
                self.emit("ListAppend" if isinstance(node, ast.ListComp) else "SetAdd", acc, self.expr(node.elt))
            self.top = mark
        self.emit("JumpBack", header, loop_id)
        self._finish_loop(loop_id, setup, header, Block("loop"), [], self._copy_defined(), [fi])

    def prologue(self) -> None:
        """Create the cells of captured locals (copying parameters into theirs)."""
        for name in sorted(self.scope.cells):
            reg = self.vars[name]
            src = reg if name in self.scope.params else NO_VALUE
            self.emit("MakeCell", reg, src)


def const_key(value: object) -> object:
    """Constants with equal keys share a pool slot: same type and value, recursively through tuples (so
    (1,), (True,) and (1.0,) stay apart), 0.0 apart from -0.0, a NaN or a code object only with itself."""
    t = type(value)
    if t is float:
        return (t, value, math.copysign(1.0, value))
    if t is complex:
        return (t, const_key(value.real), const_key(value.imag))
    if t is tuple or t is frozenset:
        return (t, tuple(const_key(v) for v in value))
    if t is CodeObject:
        return (t, id(value))
    return (t, value)


def _meet(a: set[str] | None, b: set[str] | None) -> set[str] | None:
    if a is None:
        return b
    if b is None:
        return a
    return a & b


def _copy(s: set[str] | None) -> set[str] | None:
    return None if s is None else set(s)


class Compiler:
    """Compiles a whole program; owns the scope table and the source for error positions."""

    def __init__(self, tree: ast.Module, mapped: MappedSource, filename: str) -> None:
        self.tree = tree
        self.mapped = mapped
        self.filename = filename
        self.scopes = analyse(tree)
        self.pending_protect: dict[int, list] = {}  # id(code object) -> its closed protected ranges

    def error(self, node: ast.AST, message: str) -> TauraroSyntaxError:
        line = getattr(node, "lineno", 1)
        col = getattr(node, "col_offset", 0)
        return TauraroSyntaxError(self.filename, line, self.mapped.user_col(line, col) + 1, message)

    def compile_module(self) -> CodeObject:
        code = CodeObject("<module>", "<module>", self.filename, 1, "module")
        fc = FunctionCompiler(self, self.scopes[self.tree], code)
        fc.body(self.tree.body)
        none = fc.alloc()
        fc.emit("LoadConst", none, fc.const(None))
        fc.emit("ReturnValue", none)
        self._finish(code)
        return code

    def compile_scope(self, node: ast.AST, scope: Scope, name: str, qualname: str, kind: str,
                      body: list[ast.stmt] | ast.AST) -> CodeObject:
        code = CodeObject(name, qualname, self.filename, getattr(node, "lineno", 1), kind)
        fc = FunctionCompiler(self, scope, code)
        fc.line = code.firstline
        fc.prologue()
        if kind in ("comprehension", "genexpr"):
            code.is_generator = kind == "genexpr"
            fc.comprehension_body(body)
        elif kind == "class":
            fc.body(body)
            ret = fc.alloc()
            if "__class__" in scope.cells:
                fc.emit("Move", ret, fc.vars["__class__"])
            else:
                fc.emit("LoadConst", ret, fc.const(None))
            fc.emit("ReturnValue", ret)
        else:
            fc.body(body)
            if not code.instrs or code.instrs[-1].op != "ReturnValue" or kind == "function":
                none = fc.alloc()
                fc.emit("LoadConst", none, fc.const(None))
                fc.emit("ReturnValue", none)
        self._finish(code)
        return code

    def _finish(self, code: CodeObject) -> None:
        """Turn the protected ranges of this code object into its exception table, innermost first."""
        mine = self.pending_protect.pop(id(code), [])
        entries = []
        for handler, reg, ranges, _open, depth, hdepth in mine:
            for start, end in ranges:
                entries.append((depth, ExceptEntry(start, end, handler, reg, hdepth)))
        entries.sort(key=lambda e: -e[0])
        code.except_table = [e for _, e in entries]


def compile_source(source: str, filename: str = "<string>") -> CodeObject:
    """Parse, check and compile a Tauraro program to its module code object."""
    # The front end allocates millions of objects and frees none of them until it is done, so the cyclic
    # collector's passes over them are pure overhead: 20-45% of compile time on large sources (bench.compile).
    enabled = gc.isenabled()
    gc.disable()
    try:
        tree, mapped = parse(source, filename)
        with recursion_limit(FRONT_END_RECURSION_LIMIT):
            return Compiler(tree, mapped, filename).compile_module()
    except RecursionError:  # nesting CPython accepts but deeper than our passes allow: say so, no traceback
        raise TauraroSyntaxError(filename, 1, 1, "too deeply nested to compile") from None
    finally:
        if enabled:
            gc.enable()
