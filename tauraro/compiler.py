"""Compiler: checked Python AST -> register bytecode (CodeObject), one code object per scope."""
from __future__ import annotations

import ast
import gc
import math
from typing import Callable

from .bytecode import CodeObject, ExceptEntry, Instr, LoopInfo
from .errors import TauraroSyntaxError
from .frontend import FRONT_END_RECURSION_LIMIT, MappedSource, parse, recursion_limit
from .precheck import scopes_after_check
from .record import field, record
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
BINARY_OPS = {k: "Binary" + v + "RR" for k, v in BINOPS.items()}  # op class -> the opcode of `a op b`
UNARY = {ast.USub: "UnaryNeg", ast.UAdd: "UnaryPos", ast.Not: "UnaryNot", ast.Invert: "UnaryInvert"}
CONVERSIONS = {-1: 0, ord("s"): 1, ord("r"): 2, ord("a"): 3}
NO_VALUE = -1


@record
class Block:
    """A compile-time block on the unwind stack: loop, finally or except."""

    kind: str  # "loop", "finally", "except"
    breaks: list[int] = field(default_factory=list)
    continue_pc: int = 0
    loop_id: int = 0
    finalbody: list[ast.stmt] | None = None
    protect: list | None = None  # the open protected ranges to pause around inlined cleanup code
    cleanup: Callable[[], None] | None = None  # emits a finally block's code when it is not finalbody (with)


_EXPR_METHODS: dict[type, Callable[..., int]] = {}  # node class -> FunctionCompiler.expr_X
_STMT_METHODS: dict[type, Callable[..., None]] = {}  # node class -> FunctionCompiler.stmt_X


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
        method = _STMT_METHODS.get(node.__class__)
        if method is None:
            method = getattr(FunctionCompiler, "stmt_" + type(node).__name__, None)
            if method is None:
                raise self.error(node, f"'{type(node).__name__}' statement is not supported")
            _STMT_METHODS[node.__class__] = method
        method(self, node)
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
        if self.scope.kind == "function":
            return  # annotations of local variables are not evaluated
        if isinstance(node.target, ast.Name) and node.simple:
            self.line = node.lineno
            first = self.alloc(3)
            self._annotation(node.annotation, first)
            self.load_name("__annotations__", node, first + 1)
            self.emit("LoadConst", first + 2, self.const(node.target.id))
            self.emit("SubscrStore", first + 1, first + 2, first)
        elif not self.unit.future_annotations:
            self.expr(node.annotation)

    def assign(self, target: ast.expr, value: ast.expr) -> None:
        if target.__class__ is ast.Name:
            if self.scope.kind_of(target.id) == "local":
                self.expr(value, self.vars[target.id])
                self.mark_defined(target.id)
                return
            src = self.expr(value)
            self.line = getattr(target, "lineno", self.line)  # as store() does
            self.store_name(target.id, src)
            return
        if (isinstance(target, (ast.Tuple, ast.List)) and isinstance(value, (ast.Tuple, ast.List))
                and len(target.elts) == len(value.elts)
                and not any(isinstance(e, ast.Starred) for e in target.elts + value.elts)):
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
            stars = [i for i, e in enumerate(target.elts) if isinstance(e, ast.Starred)]
            if stars:
                self.emit("UnpackEx", first, src, stars[0] + 256 * (n - stars[0] - 1))
            else:
                self.emit("UnpackSequence", first, src, n)
            for i, t in enumerate(target.elts):
                self.store(t.value if isinstance(t, ast.Starred) else t, first + i)
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
            self.delete(t)

    def delete(self, t: ast.expr) -> None:
        self.line = t.lineno
        if isinstance(t, ast.Name):
            kind = self.scope.kind_of(t.id)
            if kind == "local":
                self.emit("DeleteFast", self.vars[t.id], self.name(t.id))
                if self.defined is not None:
                    self.defined.discard(t.id)
            elif kind == "global":
                self.emit("DeleteGlobal", 0, self.name(t.id))
            elif kind == "name":
                self.emit("DeleteName", 0, self.name(t.id))
            else:
                self.emit("DeleteDeref", self.vars[t.id], self.name(t.id))
        elif isinstance(t, ast.Subscript):
            obj = self.expr(t.value)
            key = self.expr(t.slice)
            self.line = t.lineno
            self.emit("SubscrDelete", obj, key)
        elif isinstance(t, ast.Attribute):
            obj = self.expr(t.value)
            self.line = t.lineno
            self.emit("DeleteAttr", obj, self.name(t.attr))
        elif isinstance(t, (ast.Tuple, ast.List)):
            for e in t.elts:
                self.delete(e)
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
        # CPython drops the iterator when the loop ends: a generator left by `break` is closed now.
        self.emit("LoadConst", it, self.const(None))

    def stmt_AsyncFor(self, node: ast.AsyncFor) -> None:
        """async for: await __anext__() each round; StopAsyncIteration from it ends the loop."""
        iterable = self.expr(node.iter)
        it = self.alloc()
        self.line = node.lineno
        self.emit("GetAIter", it, iterable)
        loop_id, setup = self._new_loop("for", node.lineno)
        header = self.pc()
        before = self._copy_defined()
        done = self._async_next(node.target, it)
        block = self._loop_body(loop_id, header, node)
        self._finish_loop(loop_id, setup, header, block, node.orelse, before, [done])

    def _async_next(self, target: ast.expr, it: int) -> int:
        """One round of an async iteration into target; returns the jump taken at StopAsyncIteration."""
        value = self.alloc(4)
        exc, match, cls = value + 1, value + 2, value + 3
        rec = self._protect(exc)
        self.emit("GetANext", value, it)
        self.emit("YieldFrom", value, value, 1)
        self._close(rec)
        skip = self.emit("Jump")
        rec[0] = self.pc()  # the handler: StopAsyncIteration ends the loop, anything else propagates
        self.emit("LoadGlobal", cls, self.name("StopAsyncIteration"))
        self.emit("ExceptMatch", match, exc, cls)
        done = self.emit("JumpIfTrue", match, 0)
        self.emit("Reraise", exc)
        self.patch(skip)
        self.store(target, value)
        return done

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
                if blk.cleanup is not None:
                    blk.cleanup()
                else:
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
        self._try(node, star=False)

    def _try(self, node: ast.Try, star: bool) -> None:
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
            jend += (self._star_handlers if star else self._handlers)(node.handlers, exc_reg)
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

    def stmt_TryStar(self, node: ast.Try) -> None:
        """try/except*: each clause takes the matching part of what is left; at the end what is left and
        what the handlers raised are raised together (VM: ExceptStarMatch, ExceptStarReraise)."""
        self._try(node, star=True)

    def _star_handlers(self, handlers: list[ast.ExceptHandler], exc: int) -> list[int]:
        state, raised, match, none, flag, inner = self.alloc(6), 0, 0, 0, 0, 0
        raised, match, none, flag, inner = state + 1, state + 2, state + 3, state + 4, state + 5
        self.emit("PushExcept", exc)
        self.handler_depth += 1
        self.emit("Move", state, exc)
        self.emit("BuildList", raised, 0, 0)
        self.emit("LoadConst", none, self.const(None))
        for h in handlers:
            self.line = h.lineno
            t = self.expr(h.type)
            self.emit("ExceptStarMatch", match, state, t)
            self.emit("CompareIsRR", flag, match, none)
            skip = self.emit("JumpIfTrue", flag, 0)
            rec = self._protect(inner)
            self.emit("PushExcept", match)
            self.handler_depth += 1
            if h.name:
                self.store_name(h.name, match)
            self.blocks.append(Block("except"))
            self.body(h.body)
            self.blocks.pop()
            self.emit("PopExcept")
            self.handler_depth -= 1
            self._close(rec)
            done = self.emit("Jump")
            rec[0] = self.pc()
            self.emit("ListAppend", raised, inner)
            self.patch(done)
            if h.name:
                self._unbind(h.name)
            self.patch(skip)
        self.emit("PopExcept")
        self.handler_depth -= 1
        self.line = handlers[-1].lineno
        self.emit("ExceptStarReraise", state, raised)
        return [self.emit("Jump")]

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
    def stmt_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        decorators = self._decorators(node)
        reg = self.make_function(node, node.name, node.args, node.body)
        reg = self._apply_decorators(decorators, reg, node)
        self.line = node.lineno
        self.store_name(node.name, reg)

    stmt_AsyncFunctionDef = stmt_FunctionDef

    def _decorators(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> list[int]:
        """Evaluate the decorator expressions first, top to bottom, as CPython does."""
        regs = []
        for d in node.decorator_list:
            regs.append(self.expr(d, self.alloc()))
        return regs

    def _apply_decorators(self, decorators: list[int], reg: int, node: ast.AST) -> int:
        for d, dnode in zip(reversed(decorators), reversed(node.decorator_list)):
            self.line = dnode.lineno
            base = self.alloc(2)
            self.emit("Move", base, d)
            self.emit("Move", base + 1, reg)
            out = self.alloc()
            self.emit("CallFunction", out, base, 1)
            reg = out
        return reg

    def make_function(self, node: ast.AST, name: str, args: ast.arguments, body: list[ast.stmt]) -> int:
        defaults = args.defaults
        kwdefaults = [(a.arg, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None]
        scope = self.unit.scopes[node]
        kind = "lambda" if isinstance(node, ast.Lambda) else "function"
        annotations = self._annotation_items(node, args)
        code = self.unit.compile_scope(node, scope, name, self._qualname(name), kind, body)
        code.ndefaults = len(defaults)
        code.kwdefault_names = tuple(n for n, _ in kwdefaults)
        code.annotations = bool(annotations)
        first = self.alloc(len(defaults) + len(kwdefaults) + code.annotations + len(scope.frees))
        for i, d in enumerate(defaults):
            self.expr(d, first + i)
        at = first + len(defaults)
        for i, (_, d) in enumerate(kwdefaults):
            self.expr(d, at + i)
        at += len(kwdefaults)
        if annotations:
            self._build_dict_of(annotations, at)
            at += 1
        self._load_cells(scope, at)
        dst = self.alloc()
        self.line = node.lineno
        self.emit("MakeFunction", dst, self.const(code), first)
        return dst

    def _annotation_items(self, node: ast.AST, args: ast.arguments) -> list[tuple[str, ast.expr]]:
        if isinstance(node, ast.Lambda):
            return []
        items = []
        for a in args.posonlyargs + args.args + [args.vararg] + args.kwonlyargs + [args.kwarg]:
            if a is not None and a.annotation is not None:
                items.append((a.arg, a.annotation))
        if node.returns is not None:
            items.append(("return", node.returns))
        return items

    def _annotation(self, ann: ast.expr, dst: int) -> None:
        if self.unit.future_annotations:
            self.emit("LoadConst", dst, self.const(ast.unparse(ann)))
        else:
            self.expr(ann, dst)

    def _build_dict_of(self, items: list[tuple[str, ast.expr]], dst: int) -> None:
        first = self.alloc(2 * len(items))
        for i, (k, v) in enumerate(items):
            self.emit("LoadConst", first + 2 * i, self.const(k))
            self._annotation(v, first + 2 * i + 1)
        self.emit("BuildDict", dst, first, len(items))

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
        decorators = self._decorators(node)
        scope = self.unit.scopes[node]
        code = self.unit.compile_scope(node, scope, node.name, self._qualname(node.name), "class", node.body)
        first = self.alloc(2 + len(scope.frees))
        self._sequence("tuple", node.bases, first)
        self._keywords(node.keywords, first + 1, None)
        self._load_cells(scope, first + 2)
        dst = self.alloc()
        self.line = node.lineno
        self.emit("MakeClass", dst, self.const(code), first)
        dst = self._apply_decorators(decorators, dst, node)
        self.line = node.lineno
        self.store_name(node.name, dst)

    # --- conditions -----------------------------------------------------------------------------
    def test(self, node: ast.expr, jump_if: bool) -> list[int]:
        """Emit a test of `node`; returns jumps taken when its truth equals `jump_if` (to patch)."""
        self.line = getattr(node, "lineno", self.line)
        cls = node.__class__
        if cls is ast.UnaryOp and node.op.__class__ is ast.Not:
            return self.test(node.operand, not jump_if)
        if cls is ast.BoolOp:
            is_and = node.op.__class__ is ast.And
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
        if dst is None:  # self.alloc(), inlined
            dst = self.top
            self.top = dst + 1
            if dst >= self.code.nregs:
                self.code.nregs = dst + 1
        value = node.value
        t = value.__class__
        index = self.const_index.get((t, value)) if t is int or t is str else None  # const()'s key for these
        if index is None:
            index = self.const(value)
        self.code.instrs.append(Instr("LoadConst", dst, index, 0, self.line))  # emit(), inlined: the commonest
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
        if dst is None:
            dst = self.alloc()
        mark = self.top
        # self.expr(left), self.expr(right), inlined: operands are most of the nodes of an expression
        line = getattr(left, "lineno", None)
        if line is not None:
            self.line = line
        method = _EXPR_METHODS.get(left.__class__)
        a = method(self, left, None) if method is not None else self.expr(left)
        line = getattr(right, "lineno", None)
        if line is not None:
            self.line = line
        method = _EXPR_METHODS.get(right.__class__)
        b = method(self, right, None) if method is not None else self.expr(right)
        self.top = mark
        self.line = line = node.lineno
        self.code.instrs.append(Instr(op, dst, a, b, line))  # emit(), inlined
        return dst

    def expr_BinOp(self, node: ast.BinOp, dst: int | None) -> int:
        return self._two_operands(BINARY_OPS[node.op.__class__], node, node.left, node.right, dst)

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
            return self._two_operands(COMPARES[node.ops[0].__class__], node, node.left, node.comparators[0], dst)
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

    def expr_List(self, node: ast.List, dst: int | None) -> int:
        reg, final = self._private_target(dst)
        self._sequence("list", node.elts, reg)
        return self._finish_private(reg, final)

    def expr_Tuple(self, node: ast.Tuple, dst: int | None) -> int:
        reg, final = self._private_target(dst)
        self._sequence("tuple", node.elts, reg)
        return self._finish_private(reg, final)

    def expr_Set(self, node: ast.Set, dst: int | None) -> int:
        reg, final = self._private_target(dst)
        self._sequence("set", node.elts, reg)
        return self._finish_private(reg, final)

    def expr_Dict(self, node: ast.Dict, dst: int | None) -> int:
        reg, final = self._private_target(dst)
        if any(k is None for k in node.keys):
            self._dict_with_unpacking(node, reg)
            return self._finish_private(reg, final)
        items = [x for kv in zip(node.keys, node.values) for x in kv]
        first = self.alloc(len(items))
        for i, e in enumerate(items):
            self.expr(e, first + i)
        self.emit("BuildDict", reg, first, len(node.keys))
        return self._finish_private(reg, final)

    def _dict_with_unpacking(self, node: ast.Dict, dst: int) -> None:
        self.emit("BuildDict", dst, 0, 0)
        pending: list[tuple[ast.expr, ast.expr]] = []

        def flush() -> None:
            if pending:
                mark = self.top
                first = self.alloc(2 * len(pending))
                for i, (k, v) in enumerate(pending):
                    self.expr(k, first + 2 * i)
                    self.expr(v, first + 2 * i + 1)
                tmp = self.alloc()
                self.emit("BuildDict", tmp, first, len(pending))
                self.emit("DictUpdate", dst, tmp)
                self.top = mark
                pending.clear()
        for k, v in zip(node.keys, node.values):
            if k is None:
                flush()
                mark = self.top
                r = self.expr(v)
                self.line = v.lineno
                self.emit("DictUpdate", dst, r)
                self.top = mark
            else:
                pending.append((k, v))
        flush()

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
        if (any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords)):
            return self._call_ex(node, dst)
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

    def _call_ex(self, node: ast.Call, dst: int | None) -> int:
        """A call with *args or **kwargs: the positional tuple and keyword dict are built, then one call."""
        has_kw = bool(node.keywords)
        base = self.alloc(2 + has_kw)
        self.expr(node.func, base)
        if len(node.args) == 1 and isinstance(node.args[0], ast.Starred):  # f(*x): the call converts x
            self.expr(node.args[0].value, base + 1)
        else:
            self._sequence("tuple", node.args, base + 1)
        if has_kw:
            self._keywords(node.keywords, base + 2, base)
        dst = self.target(dst)
        self.line = node.lineno
        self.emit("CallFunctionEx", dst, base, int(has_kw))
        return dst

    def _keywords(self, keywords: list[ast.keyword], dst: int, func: int | None) -> None:
        """The dict of a call's keywords (plain ones and **mappings, merged with CPython's errors);
        func None: class keywords."""
        merge = "DictUpdate" if func is None else "DictMerge"
        self.emit("BuildDict", dst, 0, 0)
        plain: list[ast.keyword] = []

        def flush() -> None:
            if plain:
                mark = self.top
                first = self.alloc(2 * len(plain))
                for i, k in enumerate(plain):
                    self.emit("LoadConst", first + 2 * i, self.const(k.arg))
                    self.expr(k.value, first + 2 * i + 1)
                tmp = self.alloc()
                self.emit("BuildDict", tmp, first, len(plain))
                self.emit(merge, dst, tmp, func or 0)
                self.top = mark
                plain.clear()
        for k in keywords:
            if k.arg is not None:
                plain.append(k)
                continue
            flush()
            mark = self.top
            v = self.expr(k.value)
            self.line = k.value.lineno
            self.emit(merge, dst, v, func or 0)
            self.top = mark
        flush()

    def _sequence(self, kind: str, elts: list[ast.expr], dst: int) -> None:
        """Build a list, tuple or set display into dst, with *unpacking (CPython's errors)."""
        if not any(isinstance(e, ast.Starred) for e in elts):
            op = {"list": "BuildList", "tuple": "BuildTuple", "set": "BuildSet"}[kind]
            if kind == "tuple" and elts and all(isinstance(e, ast.Constant) for e in elts):
                self.emit("LoadConst", dst, self.const(tuple(e.value for e in elts)))
                return
            first = self.alloc(len(elts))
            for i, e in enumerate(elts):
                self.expr(e, first + i)
            self.emit(op, dst, first, len(elts))
            return
        acc = dst if kind != "tuple" else self.alloc()
        i = 0
        while i < len(elts) and not isinstance(elts[i], ast.Starred):
            i += 1
        first = self.alloc(max(i, 1))
        for j in range(i):
            self.expr(elts[j], first + j)
        self.emit("BuildSet" if kind == "set" else "BuildList", acc, first, i)
        add = "SetUpdate" if kind == "set" else "ListExtend"
        for e in elts[i:]:
            mark = self.top
            if isinstance(e, ast.Starred):
                v = self.expr(e.value)
                self.line = e.lineno
                self.emit(add, acc, v)
            else:
                v = self.expr(e)
                one = self.alloc()
                self.emit("BuildTuple", one, v, 1)
                self.emit(add, acc, one)
            self.top = mark
        if kind == "tuple":
            self.emit("ListToTuple", dst, acc)

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
        self.emit("GetAIter" if node.generators[0].is_async else "GetIter", base + 1, iterable)
        dst = self.target(dst)
        self.emit("CallFunction", dst, base, 1)
        if code.is_coroutine and not isinstance(node, ast.GeneratorExp):  # an async comprehension is awaited
            self.emit("YieldFrom", dst, dst, 1)
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
            self.emit("GetAIter" if gen.is_async else "GetIter", it, iterable)
        loop_id, setup = self._new_loop("for", gen.iter.lineno)
        header = self.pc()
        fi = self._async_next(gen.target, it) if gen.is_async else self._for_iter(gen.target, it)
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
                self.emit("YieldValue", self.expr(node.elt), self.alloc())
            elif isinstance(node, ast.DictComp):
                k = self.expr(node.key)
                v = self.expr(node.value)
                self.emit("MapAdd", acc, k, v)
            else:
                self.emit("ListAppend" if isinstance(node, ast.ListComp) else "SetAdd", acc, self.expr(node.elt))
            self.top = mark
        self.emit("JumpBack", header, loop_id)
        self._finish_loop(loop_id, setup, header, Block("loop"), [], self._copy_defined(), [fi])

    # --- generators, coroutines, assignment expressions -------------------------------------------
    def expr_Yield(self, node: ast.Yield, dst: int | None) -> int:
        if node.value is None:
            v = self.alloc()
            self.emit("LoadConst", v, self.const(None))
        else:
            v = self.expr(node.value)
        dst = self.target(dst)
        self.line = node.lineno
        self.emit("YieldValue", v, dst)
        return dst

    def expr_YieldFrom(self, node: ast.YieldFrom, dst: int | None) -> int:
        v = self.expr(node.value)
        dst = self.target(dst)
        self.line = node.lineno
        self.emit("YieldFrom", v, dst, 0)
        return dst

    def expr_Await(self, node: ast.Await, dst: int | None) -> int:
        v = self.expr(node.value)
        dst = self.target(dst)
        self.line = node.lineno
        self.emit("YieldFrom", v, dst, 1)
        return dst

    def expr_NamedExpr(self, node: ast.NamedExpr, dst: int | None) -> int:
        reg = self.expr(node.value, self.alloc())
        self.line = node.lineno
        self.store_name(node.target.id, reg)
        if dst is not None:
            self.emit("Move", dst, reg)
            return dst
        return reg

    def expr_Starred(self, node: ast.Starred, dst: int | None) -> int:
        raise self.error(node, "can't use starred expression here")

    # --- match ----------------------------------------------------------------------------------
    def stmt_Match(self, node: ast.Match) -> None:
        """Each case: its value and class expressions into registers, one MatchPattern, then the captures
        are bound, the guard tested and the body run (tauraro/matching.py has the matching rules)."""
        subject = self.expr(node.subject, self.alloc())
        ends = []
        before = self._copy_defined()
        after: set[str] | None = None
        exhaustive = False
        for case in node.cases:
            mark = self.top
            self.line = case.pattern.lineno
            values: list[ast.expr] = []
            captures: list[str] = []
            pattern = self._pattern(case.pattern, values, captures)
            self.defined = _copy(before)
            skip = []
            if pattern == ("as", None, -1) or (pattern[0] == "as" and pattern[1] is None):
                if pattern[2] >= 0:
                    self.store_name(captures[0], subject)
                exhaustive = case.guard is None
            else:
                first = self.alloc(len(values))
                for i, v in enumerate(values):
                    self.expr(v, first + i)
                res = self.alloc(1 + len(captures))
                self.line = case.pattern.lineno
                self.emit("MatchPattern", res, subject, self.const((pattern, first, len(values), len(captures))))
                skip.append(self.emit("JumpIfFalse", res, 0))
                for i, name in enumerate(captures):
                    self.store_name(name, res + 1 + i)
            if case.guard is not None:
                skip += self.test(case.guard, jump_if=False)
            self.body(case.body)
            after = self.defined if after is None else _meet(after, self.defined)
            ends.append(self.emit("Jump"))
            for j in skip:
                self.patch(j)
            self.top = mark
            if exhaustive:
                break
        for j in ends:
            self.patch(j)
        self.defined = after if exhaustive else _meet(after, before)

    def _pattern(self, p: ast.pattern, values: list[ast.expr], captures: list[str]) -> tuple:
        def slot(name: str | None) -> int:
            if name is None:
                return -1
            if name not in captures:
                captures.append(name)
            return captures.index(name)

        def value(e: ast.expr) -> int:
            values.append(e)
            return len(values) - 1
        if isinstance(p, ast.MatchValue):
            return ("value", value(p.value))
        if isinstance(p, ast.MatchSingleton):
            return ("singleton", p.value)
        if isinstance(p, ast.MatchSequence):
            parts = tuple(self._pattern(q, values, captures) for q in p.patterns)
            star = next((i for i, q in enumerate(p.patterns) if isinstance(q, ast.MatchStar)), -1)
            return ("seq", parts, star)
        if isinstance(p, ast.MatchStar):
            return ("star", slot(p.name))
        if isinstance(p, ast.MatchMapping):
            items = tuple((value(k), self._pattern(q, values, captures)) for k, q in zip(p.keys, p.patterns))
            return ("map", items, slot(p.rest))
        if isinstance(p, ast.MatchClass):
            cls = value(p.cls)
            positional = tuple(self._pattern(q, values, captures) for q in p.patterns)
            keywords = tuple((k, self._pattern(q, values, captures)) for k, q in zip(p.kwd_attrs, p.kwd_patterns))
            return ("class", cls, positional, keywords)
        if isinstance(p, ast.MatchAs):
            sub = self._pattern(p.pattern, values, captures) if p.pattern is not None else None
            return ("as", sub, slot(p.name))
        if isinstance(p, ast.MatchOr):
            return ("or", tuple(self._pattern(q, values, captures) for q in p.patterns))
        raise self.error(p, f"'{type(p).__name__}' patterns are not supported")

    # --- with -------------------------------------------------------------------------------------
    def stmt_With(self, node: ast.With | ast.AsyncWith) -> None:
        before = self._copy_defined()
        self._with_item(node, 0, isinstance(node, ast.AsyncWith))
        self.defined = _meet(self.defined, before) if before is not None else self.defined

    stmt_AsyncWith = stmt_With

    def _with_exit(self, res: int, exit_reg: int, exc: int, is_async: bool, line: int) -> None:
        self.line = line
        self.emit("WithExit", res, exit_reg, exc)
        if is_async:
            self.emit("YieldFrom", res, res, 1)

    def _with_item(self, node: ast.With | ast.AsyncWith, i: int, is_async: bool) -> None:
        """One context manager: __enter__, the rest protected, __exit__ on every way out (CPython's
        arguments; a true result of __exit__ suppresses the exception)."""
        item = node.items[i]
        mgr = self.expr(item.context_expr)
        exit_reg = self.alloc(2)
        self.line = node.lineno
        self.emit("SetupWith", exit_reg, mgr, int(is_async))
        if is_async:
            self.emit("YieldFrom", exit_reg + 1, exit_reg + 1, 1)
        exc = self.alloc()
        res = self.alloc()
        rec = self._protect(exc)
        line = node.lineno
        self.blocks.append(Block("finally", protect=rec,
                                 cleanup=lambda: self._with_exit(res, exit_reg, -1, is_async, line)))
        if item.optional_vars is not None:
            self.store(item.optional_vars, exit_reg + 1)
        if i + 1 < len(node.items):
            self._with_item(node, i + 1, is_async)
        else:
            self.body(node.body)
        self.blocks.pop()
        self._close(rec)
        after_body = self.defined
        self._with_exit(res, exit_reg, -1, is_async, line)
        jend = self.emit("Jump")
        rec[0] = self.pc()
        self.emit("PushExcept", exc)
        self.handler_depth += 1
        self._with_exit(res, exit_reg, exc, is_async, line)
        suppress = self.emit("JumpIfTrue", res, 0)
        self.emit("PopExcept")
        self.emit("Reraise", exc)
        self.patch(suppress)
        self.emit("PopExcept")
        self.handler_depth -= 1
        self.patch(jend)
        self.defined = after_body

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


def _is_async_comprehension(node: ast.AST) -> bool:
    """An `async for` clause or an `await` in it (outside nested functions) makes a comprehension a
    coroutine (a generator expression: an asynchronous generator)."""
    if any(g.is_async for g in node.generators):
        return True
    todo = [node.elt] if not isinstance(node, ast.DictComp) else [node.key, node.value]
    for g in node.generators:
        todo += g.ifs + [g.iter]
    todo.remove(node.generators[0].iter)  # evaluated outside, in the enclosing scope
    while todo:
        n = todo.pop()
        if isinstance(n, ast.Await):
            return True
        if isinstance(n, (ast.Lambda, ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if isinstance(n, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            if not isinstance(n, ast.GeneratorExp) and _is_async_comprehension(n):
                return True  # a nested async comprehension is awaited here
            todo.append(n.generators[0].iter)  # evaluated in this scope
            continue
        todo.extend(ast.iter_child_nodes(n))
    return False


def _docstring(body: list[ast.stmt]) -> str | None:
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        value = body[0].value.value
        if isinstance(value, str):
            return value
    return None


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

    def __init__(self, tree: ast.Module, mapped: MappedSource, filename: str,
                 scopes: dict[ast.AST, Scope] | None = None) -> None:
        self.tree = tree
        self.mapped = mapped
        self.filename = filename
        self.scopes = analyse(tree) if scopes is None else scopes
        self.future_annotations = any(
            isinstance(s, ast.ImportFrom) and s.module == "__future__" and any(a.name == "annotations" for a in s.names)
            for s in tree.body)
        self.pending_protect: dict[int, list] = {}  # id(code object) -> its closed protected ranges

    def error(self, node: ast.AST, message: str) -> TauraroSyntaxError:
        line = getattr(node, "lineno", 1)
        col = getattr(node, "col_offset", 0)
        return TauraroSyntaxError(self.filename, line, self.mapped.user_col(line, col) + 1, message)

    def compile_module(self) -> CodeObject:
        code = CodeObject("<module>", "<module>", self.filename, 1, "module")
        fc = FunctionCompiler(self, self.scopes[self.tree], code)
        if fc.scope.annotated:
            ann = fc.alloc()
            fc.emit("BuildDict", ann, 0, 0)
            fc.emit("StoreGlobal", ann, fc.name("__annotations__"))
        fc.body(self.tree.body)
        none = fc.alloc()
        fc.emit("LoadConst", none, fc.const(None))
        fc.emit("ReturnValue", none)
        self._finish(code)
        return code

    def compile_scope(self, node: ast.AST, scope: Scope, name: str, qualname: str, kind: str,
                      body: list[ast.stmt] | ast.AST) -> CodeObject:
        code = CodeObject(name, qualname, self.filename, getattr(node, "lineno", 1), kind)
        self._signature(code, node, scope)
        fc = FunctionCompiler(self, scope, code)
        fc.line = code.firstline
        fc.prologue()
        if kind == "class" and scope.annotated:
            fc.line = code.firstline
            ann = fc.alloc()
            fc.emit("BuildDict", ann, 0, 0)
            fc.emit("StoreName", ann, fc.name("__annotations__"))
        if kind == "class" and code.docstring is not None:  # after __annotations__, as CPython orders them
            doc = fc.alloc()
            fc.emit("LoadConst", doc, fc.const(code.docstring))
            fc.emit("StoreName", doc, fc.name("__doc__"))
        if kind in ("comprehension", "genexpr"):
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

    @staticmethod
    def _signature(code: CodeObject, node: ast.AST, scope: Scope) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            args = node.args
            code.argcount = len(args.posonlyargs) + len(args.args)
            code.posonlycount = len(args.posonlyargs)
            code.kwonlycount = len(args.kwonlyargs)
            code.varargs = args.vararg is not None
            code.varkw = args.kwarg is not None
            code.is_generator = scope.generator
            code.is_coroutine = isinstance(node, ast.AsyncFunctionDef)
            if not isinstance(node, ast.Lambda):
                code.docstring = _docstring(node.body)
        elif isinstance(node, ast.ClassDef):
            code.docstring = _docstring(node.body)
        else:  # comprehensions: the one '.0' parameter
            code.argcount = 1
            code.is_generator = isinstance(node, ast.GeneratorExp)
            code.is_coroutine = _is_async_comprehension(node)
        code.simple = not (code.kwonlycount or code.varargs or code.varkw or code.is_generator
                           or code.is_coroutine)

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
        tree, mapped = parse(source, filename, cpython_check=False)
        scopes = scopes_after_check(tree, mapped, filename)
        with recursion_limit(FRONT_END_RECURSION_LIMIT):
            return Compiler(tree, mapped, filename, scopes).compile_module()
    except RecursionError:  # nesting CPython accepts but deeper than our passes allow: say so, no traceback
        raise TauraroSyntaxError(filename, 1, 1, "too deeply nested to compile") from None
    finally:
        if enabled:
            gc.enable()
