"""Tier 1, the baseline compiler: a code object's register bytecode becomes one host Python function.

Design (issue 13; docs/tiers.md). Values in the VM are already host objects, so each instruction is one
or a few host statements: registers become host locals `_Rn`, each op is expanded from its `baseline`
template in the opcode table (bytecode.OPCODES; an op without one runs its own VM handler on a scratch
register list, so its semantics stay defined once), and control flow is recovered from the reducible
bytecode: loops (the compiler's SetupLoop markers) become `while True:`, a conditional branch becomes
`if/else` whose arms end at the branch's immediate post-dominator, a jump to the loop header
`continue`, a jump to the loop's follow `break`, an exception-table entry a `try` statement. The
function is compiled once with compile(): its globals are the module's namespace (whose `__builtins__`
is the VM's builtins), so global names are the host's cached LOAD_GLOBALs; its parameter list is the
Tauraro signature, and each `def` makes a host function object from it, so the host calls it (bound
methods, dunders, __init__) without a Python-level __get__/__call__ on the path.

Exactness: the prologue counts the VM's recursion depth exactly as VM.call does (raising before the
frame's traceback wrapper, as the VM raises in the caller), the wrapper records the frame in the
exception's Tauraro traceback with the line of the instruction that raised (host line -> pc -> source
line), handlers do what VM.execute does when it catches, and frame builtins (locals(), dir(), ...) see
a baseline frame through FRAMES.

What is not translated stays in the VM (reason under --jit-log, counted in the stats): modules and
class bodies (they run once), coroutines and asynchronous generators, generators with exception
handlers, and control flow the structurer does not recover.
"""
from __future__ import annotations

import keyword
import re
import sys
from types import CellType, CodeType, FunctionType
from typing import Any

from .bytecode import GENERIC_OF, OPCODES, CodeObject, liveness, register_effects, successors
from .runtime import NOT_NATIVE, UNBOUND, Cell, Function, parameter_list

# A code object is translated at its first `def` (MakeFunction): its functions are then host function
# objects, so host code (methods bound by the host, operators calling dunders, classes calling
# __init__) calls them without a Python-level __get__ or __call__. Translating costs ~1-3 ms per
# function (the real programs translate 6-60); the VM's type feedback is for its loops, which under a
# JIT count in the VM's counters and leave for the VM when hot (loop_head).
# Host code of every baseline function -> its Tauraro code object (frame builtins read baseline frames).
FRAMES: dict[CodeType, CodeObject] = {}
# Emitted instructions per bytecode instruction before a function is left to the VM (tail duplication
# of short-circuit conditions is bounded by it).
GROWTH = 4
_DONE = object()
_STAY = object()  # a hot loop the JIT gave up on: the baseline function goes on running it
_FOLLOW = object()  # native code ran a loop to its normal exit: the baseline function goes on after it
_HELPER = re.compile(r"^_[RB]")


class Unsupported(Exception):
    """The code object stays in the VM; the message says why."""


def _reg(r: int) -> str:
    return f"_R{r}"


def _span(start: int, count: int) -> str:
    return ", ".join(_reg(r) for r in range(start, start + count))


def _ident(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name) and not _HELPER.match(name)


class _Emitter:
    """Writes one code object's body as host statements (lines with the pc they came from)."""

    def __init__(self, vm: Any, code: CodeObject, ops: list[str]) -> None:
        self.vm = vm
        self.code = code
        self.ops = ops
        self.lines: list[tuple[int, str, int]] = []  # (indent, text, pc)
        self.consts: dict[str, Any] = {}
        self.globals_stored: set[str] = set()
        self.uses_scratch = False
        self.pending: tuple[int, str, int] | None = None  # (register, expression, pc that reads it)
        self.budget = GROWTH * len(code.instrs) + 64
        self.threshold = max(1, getattr(vm.jit, "threshold", 1000) or 1000)
        self.ntry = 0
        self.entries = code.except_table
        self.cover: list[tuple[int, ...]] = [tuple(k for k, e in enumerate(code.except_table) if e.start <= pc < e.end)
                                             for pc in range(len(code.instrs) + 1)]
        self._loops(code)
        self._postdominators(code)

    # ---- analysis ----------------------------------------------------------------------------------
    def _loops(self, code: CodeObject) -> None:
        n = len(code.instrs)
        preds: list[list[int]] = [[] for _ in range(n + 1)]
        self.succ: list[list[int]] = []
        self.leaders = {entry.handler for entry in code.except_table}
        for pc, ins in enumerate(code.instrs):
            s = [t for t in successors(ins, pc) if t <= n]
            self.succ.append(s)
            if s != [pc + 1]:
                self.leaders.update(s)
                self.leaders.add(pc + 1)
            for t in s:
                preds[t].append(pc)
        self.loop_at_setup = {}
        self.body: dict[int, set[int]] = {}
        self.follow: dict[int, int | None] = {}
        self.uncounted: set[int] = set()  # loops whose back-edges do not count for the JIT (loop_head)
        self.header_loop = {}
        for loop in code.loops:
            if code.instrs[loop.setup].op != "SetupLoop" or loop.header != loop.setup + 1:
                raise Unsupported("loop markers out of place")
            body = {loop.header}
            work = [p for p in preds[loop.header] if p > loop.setup and p != loop.setup]
            while work:
                p = work.pop()
                if p not in body:
                    body.add(p)
                    work.extend(q for q in preds[p] if q != loop.setup)
            exits = [t for p in body for t in self.succ[p] if t not in body]
            self.loop_at_setup[loop.setup] = loop
            self.body[loop.loop_id] = body
            self.follow[loop.loop_id] = max(exits) if exits else None
            self.header_loop[loop.header] = loop

    def _postdominators(self, code: CodeObject) -> None:
        """Immediate post-dominator of every pc (None: only the function's exit), Cooper-Harvey-Kennedy
        on the reverse CFG; returns and raises flow to a virtual exit n."""
        n = len(code.instrs)
        exit_ = n
        rsucc: list[list[int]] = [[] for _ in range(n + 1)]  # reverse edges: node -> its predecessors... in reverse
        for pc in range(n):
            outs = self.succ[pc] or [exit_]
            for t in outs:
                rsucc[t].append(pc)
        order: list[int] = []
        seen = [False] * (n + 1)
        stack = [(exit_, iter(rsucc[exit_]))]
        seen[exit_] = True
        while stack:
            node, it = stack[-1]
            for nxt in it:
                if not seen[nxt]:
                    seen[nxt] = True
                    stack.append((nxt, iter(rsucc[nxt])))
                    break
            else:
                stack.pop()
                order.append(node)
        rpo = order[::-1]
        index = {node: i for i, node in enumerate(rpo)}
        ipdom: list[int | None] = [None] * (n + 1)
        ipdom[exit_] = exit_

        def intersect(a: int, b: int) -> int:
            while a != b:
                while index[a] > index[b]:
                    a = ipdom[a]
                while index[b] > index[a]:
                    b = ipdom[b]
            return a

        changed = True
        while changed:
            changed = False
            for node in rpo[1:]:
                new = None
                for s in (self.succ[node] or [exit_]) if node < n else []:
                    if ipdom[s] is None:
                        continue
                    new = s if new is None else intersect(s, new)
                if new is not None and ipdom[node] != new:
                    ipdom[node] = new
                    changed = True
        self.ipdom = [None if (d is None or d == exit_) else d for d in ipdom[:n]]

    # ---- writing -----------------------------------------------------------------------------------
    def put(self, indent: int, text: str, pc: int) -> None:
        self.lines.append((indent, text, pc))

    def const(self, value: Any) -> str:
        name = f"_Bk{len(self.consts)}"
        self.consts[name] = value
        return name

    def emit(self, pc: int, stop: int | None, loops: tuple, indent: int, enter: bool = False,
             tries: tuple = ()) -> None:
        """Statements from pc until control reaches `stop` (then falls off the end of what was written)
        or leaves by return, raise, break or continue. `tries`: the exception-table entries whose `try`
        statement encloses what is written."""
        code, n = self.code, len(self.code.instrs)
        while True:
            self.budget -= 1
            if self.budget < 0:
                raise Unsupported("control flow too tangled (tail duplication over budget)")
            if loops:
                inner = loops[-1]
                if pc == inner.header and not enter:
                    self.put(indent, "continue", pc)
                    return
                if pc == self.follow[inner.loop_id]:
                    self.put(indent, "break", pc)
                    return
                if any(pc == L.header or pc == self.follow[L.loop_id] for L in loops[:-1]):
                    raise Unsupported("jump to an enclosing loop")
            enter = False
            if pc == stop:
                return
            if pc >= n:
                raise Unsupported("falls off the end of the code")
            cover = self.cover[pc]
            if not set(tries) <= set(cover):
                raise Unsupported("control leaves a protected range other than at its end")
            new = [k for k in cover if k not in tries]
            if new:
                if any(self.entries[k].start != pc for k in new):
                    raise Unsupported("jump into the middle of a protected range")
                outer = max(new, key=lambda k: (self.entries[k].end, -k))
                self.try_statement(pc, outer, stop, loops, indent, tries)
                return
            ins = code.instrs[pc]
            op = self.ops[pc]
            info = OPCODES[op]
            if self.pending is not None and self.pending[2] != pc:
                raise Unsupported("internal: a folded value was not used")  # deferrable() rules this out
            if op in ("LoadConst", "Move") and self.deferrable(pc, ins):
                value = self.const(code.consts[ins.b]) if op == "LoadConst" else self.use(ins.b)
                self.pending = (ins.a, value, pc + 1)
                pc += 1
                continue
            if op == "SetupLoop":
                loop = self.loop_at_setup[pc]
                self.loop_head(loop, indent, tries)
                self.block(loop.header, None, (*loops, loop), indent + 1, enter=True, tries=tries)
                follow = self.follow[loop.loop_id]
                if follow is None:
                    return
                pc = follow
                continue
            if info.flow == "jump":
                if op == "JumpBack":
                    self.back_edge(pc, ins, indent)
                target = ins.a
                if target <= pc and not (loops and target == loops[-1].header):
                    raise Unsupported("backward jump that is not a loop's continue")
                pc = target
                continue
            if info.flow == "branch":
                self.branch(pc, ins, op, stop, loops, indent, tries)
                return
            if op == "ReturnValue":
                self.put(indent, f"return {self.use(ins.a)}", pc)
                self.pending = None
                return
            self.instruction(pc, ins, op, indent)
            if info.flow == "stop":
                return
            pc += 1

    def loop_head(self, loop: Any, indent: int, tries: tuple) -> None:
        """`while True:` (under a JIT, not inside a try statement: see back_edge)."""
        if tries or self.code.is_generator:
            # Leaving for the VM mid-call would have to rebuild the try statements' (or the suspended
            # generator's) state there: such a loop stays baseline code and is never compiled, which is
            # still the faster choice (before: the whole function stayed in the VM, 4-10x slower).
            self.uncounted.add(loop.loop_id)
        self.put(indent, "while True:", loop.setup)

    def back_edge(self, pc: int, ins: Any, indent: int) -> None:
        """Under a JIT, a JumpBack counts in the counter the VM's back-edge handler of the same loop counts
        in (jit/hot.py) and, at the threshold, hands the frame to the JIT as that handler would (leave():
        the registers live at the header, rebuilt from the host locals) and the rest of the call runs in
        the VM: the same loops compile after the same iterations as when the VM ran them (bench/kernels)."""
        loop_id, header = ins.b, ins.a
        if self.vm.jit is None or loop_id in self.uncounted:
            return
        counts = self.vm.jit.counters.setdefault((id(self.code), loop_id), [0])
        counter = self.const(counts) + "[0]"
        live = liveness(self.code)
        regs = ", ".join(_reg(r) if live.is_live(header, r) else "_BU" for r in range(self.code.nregs))
        self.put(indent, f"{counter} += 1", pc)
        self.put(indent, f"if {counter} >= {self.threshold}:", pc)
        self.put(indent + 1, f"{counter} = 0", pc)
        follow = self.follow.get(loop_id)
        self.put(indent + 1, f"_BL = [{regs}{',' if regs else ''} None, None]", pc)
        self.put(indent + 1, f"_Bo = _Bleave({loop_id}, {header}, _BL, {follow})", pc)
        self.put(indent + 1, "if _Bo is not _BSTAY:", pc)
        if follow is not None:
            # Native code ran the loop to its normal exit: the registers live there come back from the
            # frame list and this function goes on after the loop (the VM runs only the other exits).
            back = [r for r in range(self.code.nregs) if live.is_live(follow, r)]
            self.put(indent + 2, "if _Bo is _BFOLLOW:", pc)
            if back:
                self.put(indent + 3, f"{', '.join(_reg(r) for r in back)}, = "
                                     f"{', '.join(f'_BL[{r}]' for r in back)},", pc)
            self.put(indent + 3, "break", pc)
        self.put(indent + 2, "return _Bo", pc)

    def block(self, pc: int, stop: int | None, loops: tuple, indent: int, enter: bool = False,
              tries: tuple = ()) -> None:
        """emit() as the body of a compound statement (`pass` when control goes straight to stop)."""
        before = len(self.lines)
        self.emit(pc, stop, loops, indent, enter, tries)
        if len(self.lines) == before:
            self.put(indent, "pass", pc)

    def merge_point(self, merge: int | None, stop: int | None, loops: tuple, tries: tuple) -> int | None:
        """`merge` if the code after a compound statement can start there, else None (each arm then
        runs on to `stop` by itself, duplicating what follows)."""
        if merge is None:
            return None
        if loops and merge not in self.body[loops[-1].loop_id]:
            return None  # the arms leave the loop body (break, continue): nothing follows in it
        if not set(tries) <= set(self.cover[merge]):
            return None  # past the end of the enclosing try body: that is its else clause's code
        if stop is not None and merge > stop and not loops:
            return None
        return merge

    def try_statement(self, pc: int, k: int, stop: int | None, loops: tuple, indent: int, tries: tuple) -> None:
        """The protected range of exception-table entry k as `try:`, its handler after it (outside the
        host's except clause, so host chaining does not add a __context__ the VM would not), the code
        after the range as the `else:` of the handler test."""
        entry = self.entries[k]
        inside = range(entry.start, entry.end)
        exits = {t for p in inside for t in self.succ[p] if t not in inside}
        if loops:
            exits -= {loops[-1].header, self.follow[loops[-1].loop_id]}
        if len(exits) > 1:
            raise Unsupported("a protected range with several exits")
        after = exits.pop() if exits else None
        merge = None
        if after is not None:
            merge = self.merge_point(self.common_postdominator(after, entry.handler), stop, loops, tries)
        arm_stop = merge if merge is not None else stop
        self.ntry += 1
        x = f"_Bx{self.ntry}"
        self.put(indent, f"{x} = None", pc)
        self.put(indent, "try:", pc)
        self.block(pc, after, loops, indent + 1, tries=(*tries, k))
        self.put(indent, "except BaseException as _Be:", entry.handler)
        self.put(indent + 1, f"{x} = _Be", entry.handler)
        self.put(indent, f"if {x} is not None:", entry.handler)
        self.put(indent + 1, f"_Bcatch({x}, _BLINES, _BNAME, _BFILE, _Bbase + {entry.handled_depth})", entry.handler)
        self.put(indent + 1, f"{_reg(entry.reg)} = {x}", entry.handler)
        self.put(indent + 1, f"{x} = None", entry.handler)
        self.block(entry.handler, arm_stop, loops, indent + 1, tries=tries)
        if after is not None:
            self.put(indent, "else:", pc)
            self.block(after, arm_stop, loops, indent + 1, tries=tries)
        if merge is not None:
            self.emit(merge, stop, loops, indent, tries=tries)

    def common_postdominator(self, a: int, b: int) -> int | None:
        chain = set()
        while a is not None:
            chain.add(a)
            a = self.ipdom[a]
        while b is not None and b not in chain:
            b = self.ipdom[b]
        return b

    def branch(self, pc: int, ins: Any, op: str, stop: int | None, loops: tuple, indent: int,
               tries: tuple = ()) -> None:
        merge = self.merge_point(self.ipdom[pc], stop, loops, tries)
        arm_stop = merge if merge is not None else stop
        if op == "JumpIfFalse":
            self.put(indent, f"if {self.use(ins.a)}:", pc)
            self.pending = None
            self.block(pc + 1, arm_stop, loops, indent + 1, tries=tries)
            self.put(indent, "else:", pc)
            self.block(ins.b, arm_stop, loops, indent + 1, tries=tries)
        elif op == "JumpIfTrue":
            self.put(indent, f"if {self.use(ins.a)}:", pc)
            self.pending = None
            self.block(ins.b, arm_stop, loops, indent + 1, tries=tries)
            self.put(indent, "else:", pc)
            self.block(pc + 1, arm_stop, loops, indent + 1, tries=tries)
        else:  # ForIter and its quickened forms: the target is written on the fall-through edge only
            self.put(indent, f"_Bv = _Bnext({self.use(ins.b)}, _BDONE)", pc)
            self.pending = None
            self.put(indent, "if _Bv is _BDONE:", pc)
            self.block(ins.c, arm_stop, loops, indent + 1, tries=tries)
            self.put(indent, "else:", pc)
            self.put(indent + 1, f"{_reg(ins.a)} = _Bv", pc)
            self.block(pc + 1, arm_stop, loops, indent + 1, tries=tries)
        if merge is not None:
            self.emit(merge, stop, loops, indent, tries=tries)

    def instruction(self, pc: int, ins: Any, op: str, indent: int) -> None:
        """One straight-line instruction: its template, or its VM handler on the scratch registers."""
        template = OPCODES[op].baseline or OPCODES.get(GENERIC_OF.get(op, ""), OPCODES[op]).baseline
        text = None
        if template.startswith("@"):
            text = getattr(self, "t_" + template[1:])(pc, ins)
        elif template:
            text = self.fill(template, ins)
        if text is None:
            text = self.generic(pc, ins)
        self.pending = None
        for line in text.split("\n"):
            self.put(indent, line, pc)

    def fill(self, template: str, ins: Any) -> str:
        code = self.code
        values = {"a": self.use(ins.a), "b": self.use(ins.b), "c": self.use(ins.c)}
        if "{kb}" in template:
            values["kb"] = self.const(code.consts[ins.b])
        if "{nb}" in template:
            values["nb"] = repr(code.names[ins.b])
        if "{nc}" in template:
            values["nc"] = repr(code.names[ins.c])
        return template.format(**values)

    def generic(self, pc: int, ins: Any) -> str:
        """The op's own VM handler on a scratch register list: the registers it reads are copied in, the
        ones it writes copied back (bytecode.register_effects)."""
        if ins.op in ("LoadName", "StoreName", "DeleteName"):
            raise Unsupported(f"{ins.op} outside a function frame")
        reads, writes = register_effects(ins, self.code)
        handler = self.const(self.vm.make_handler(self.code, pc))
        self.uses_scratch = True
        out = [f"_BS[{r}] = {self.use(r)}" for r in reads]
        out.append(f"{handler}(_BS)")
        out += [f"{_reg(r)} = _BS[{r}]" for r in writes]
        return "\n".join(out)

    # ---- templates that need more than operand substitution ("@name" in the opcode table) ------------
    def use(self, r: int) -> str:
        """How an instruction reads register r: the expression deferred into it, or the local."""
        pending = self.pending
        return pending[1] if pending is not None and pending[0] == r else _reg(r)

    def deferrable(self, pc: int, ins: Any) -> bool:
        """Whether LoadConst/Move at pc can be folded into the instruction after it: that one is in the
        same basic block, reads the register (without writing it), and nothing reads it afterwards."""
        nxt = pc + 1
        if nxt >= len(self.code.instrs) or nxt in self.leaders:
            return False
        after = self.code.instrs[nxt]
        reads, writes = register_effects(after, self.code)
        if ins.a not in reads or ins.a in writes:
            return False
        live = liveness(self.code)
        return not any(live.is_live(s, ins.a) for s in successors(after, nxt))

    def t_global_load(self, pc: int, ins: Any) -> str | None:
        name = self.code.names[ins.b]
        return f"{_reg(ins.a)} = {name}" if _ident(name) else None

    def t_global_store(self, pc: int, ins: Any) -> str | None:
        name = self.code.names[ins.b]
        if not _ident(name):
            return None
        self.globals_stored.add(name)
        return f"{name} = {self.use(ins.a)}"

    def t_global_delete(self, pc: int, ins: Any) -> str | None:
        name = self.code.names[ins.b]
        if not _ident(name):
            return None
        self.globals_stored.add(name)
        return f"del {name}"

    def t_attr_load(self, pc: int, ins: Any) -> str | None:
        name = self.code.names[ins.c]
        return f"{_reg(ins.a)} = {self.use(ins.b)}.{name}" if _ident(name) and not name.startswith("__") else None

    def t_attr_store(self, pc: int, ins: Any) -> str | None:
        name = self.code.names[ins.b]
        return f"{self.use(ins.a)}.{name} = {self.use(ins.c)}" if _ident(name) and not name.startswith("__") else None

    def t_unpack(self, pc: int, ins: Any) -> str:
        if ins.c == 0:
            return f"[] = {self.use(ins.b)}"
        targets = _span(ins.a, ins.c)
        return f"{targets}{',' if ins.c == 1 else ''} = {self.use(ins.b)}"

    def uses(self, start: int, count: int) -> str:
        return ", ".join(self.use(r) for r in range(start, start + count))

    def t_call(self, pc: int, ins: Any) -> str:
        args = self.uses(ins.b + 1, ins.c)
        a = _reg(ins.a)
        return "\n".join([
            f"_Bf = {self.use(ins.b)}",
            "_Bt = _Btype(_Bf)",
            "if _Bt is _BF or _Bt is _Btype and _Bf not in _Bplain:",
            f"    {a} = _Bslow(_Bf{''.join(', ' + x for x in args.split(', ') if x)})",
            "else:",
            f"    {a} = _Bf({args})",
        ])

    def t_call_method(self, pc: int, ins: Any) -> str | None:
        name, npos, kwnames = self.code.consts[ins.c]
        if not _ident(name) or name.startswith("__") or not all(_ident(k) for k in kwnames):
            return None
        args = [self.use(r) for r in range(ins.b + 1, ins.b + 1 + npos)]
        kw = [f"{k}={self.use(ins.b + 1 + npos + i)}" for i, k in enumerate(kwnames)]
        return f"{_reg(ins.a)} = {self.use(ins.b)}.{name}({', '.join(args + kw)})"

    def t_call_kw(self, pc: int, ins: Any) -> str:
        npos, kwnames = self.code.consts[ins.c]
        pos = self.uses(ins.b + 1, npos)
        kw = ", ".join(f"{k!r}: {self.use(ins.b + 1 + npos + i)}" for i, k in enumerate(kwnames))
        return f"{_reg(ins.a)} = _Bhost({self.use(ins.b)}, [{pos}], {{{kw}}})"

    def t_build_set(self, pc: int, ins: Any) -> str:
        return f"{_reg(ins.a)} = {{{self.uses(ins.b, ins.c)}}}" if ins.c else f"{_reg(ins.a)} = _Bset()"

    def t_build_tuple(self, pc: int, ins: Any) -> str:
        return f"{_reg(ins.a)} = ({self.uses(ins.b, ins.c)}{',' if ins.c == 1 else ''})"

    def t_build_dict(self, pc: int, ins: Any) -> str:
        items = ", ".join(f"{self.use(ins.b + 2 * i)}: {self.use(ins.b + 2 * i + 1)}" for i in range(ins.c))
        return f"{_reg(ins.a)} = {{{items}}}"

    def t_build_string(self, pc: int, ins: Any) -> str:
        return f"{_reg(ins.a)} = ''.join(({self.uses(ins.b, ins.c)}{',' if ins.c == 1 else ''}))"

    def t_check_bound(self, pc: int, ins: Any) -> str:
        name = self.const(self.code.names[ins.b])
        return f"if {_reg(ins.a)} is _BU:\n    raise _Bunbound({name})"

    def resume_depth(self) -> list[str]:
        """After a yield: the frame runs again one level above its (new) consumer, as VM.resume counts."""
        return ["_Bd = _BV.depth", f"if _Bd >= {_limit()}:", "    raise _BRecursionError(_BRMSG)", "_BV.depth = _Bd + 1"]

    def t_yield(self, pc: int, ins: Any) -> str:
        # _Bd = -1 while suspended: an exception thrown in at the yield (close(), throw()) leaves the
        # consumer's depth as it is (the finally restores only a depth this frame set).
        return "\n".join(["_BV.depth = _Bd", "_Bd = -1", f"{_reg(ins.b)} = yield {self.use(ins.a)}",
                          *self.resume_depth()])

    def t_yield_from(self, pc: int, ins: Any) -> str:
        if ins.c:
            raise Unsupported("await outside a coroutine")
        return "\n".join(["_BV.depth = _Bd", "_Bd = -1", f"{_reg(ins.b)} = yield from {self.use(ins.a)}",
                          *self.resume_depth()])

    def t_check_bound_delete(self, pc: int, ins: Any) -> str:
        return self.t_check_bound(pc, ins) + f"\n{_reg(ins.a)} = _BU"

    def t_build_list(self, pc: int, ins: Any) -> str:
        return f"{_reg(ins.a)} = [{self.uses(ins.b, ins.c)}]"

    def t_load_deref(self, pc: int, ins: Any) -> str:
        name = self.const(self.code.names[ins.c])
        free = ins.b in self.code.free_regs
        return (f"_Bv = {self.use(ins.b)}.contents\nif _Bv is _BU:\n    raise _Bderef({name}, {free})\n"
                f"{_reg(ins.a)} = _Bv")

    def t_make_cell(self, pc: int, ins: Any) -> str:
        return f"{_reg(ins.a)} = _BCell({self.use(ins.b) if ins.b >= 0 else '_BU'})"


def _unbound(name: str) -> UnboundLocalError:
    return UnboundLocalError(f"cannot access local variable '{name}' where it is not associated with a value")


def _deref_error(name: str, free: bool) -> Exception:
    if free:
        return NameError(f"cannot access free variable '{name}' where it is not associated with a value"
                         " in enclosing scope")
    return _unbound(name)


def _traceback(e: BaseException, lines: list[int], name: str, filename: str) -> None:
    """The baseline frame's entry in e's Tauraro traceback (vm._add_traceback's rule: one entry per frame)."""
    tb = e.__traceback__
    if tb is None:
        return
    try:
        entries = e.__dict__.setdefault("_tauraro_tb", [])
    except (AttributeError, TypeError):
        return
    frame = tb.tb_frame
    if entries and e.__dict__.get("_tauraro_frame") is frame:
        return
    e._tauraro_frame = frame
    entries.append((filename, lines[tb.tb_lineno], name))


def reason_against(vm: Any, code: CodeObject) -> str | None:
    """Why `code` stays in the VM (None: it can be translated)."""
    if code.kind not in ("function", "lambda", "comprehension", "genexpr"):
        return f"a {code.kind} body runs once"
    if code.is_coroutine:
        return "coroutines and asynchronous generators stay in the VM"
    if code.except_table and code.is_generator:
        return "a generator with exception handlers stays in the VM"
    G = vm.globals if code.globals is None else code.globals
    if G.get("__builtins__") is not vm.builtins:
        return "its module's __builtins__ is not the VM's builtins"
    return None


def signature(code: CodeObject) -> tuple[str, list[str]]:
    """The host parameter list of `code` (CPython binds the arguments, with CPython's messages) and the
    host name of each parameter register."""
    params = code.params
    if code.kind in ("comprehension", "genexpr"):
        names = [f"_Bp{i}" for i in range(len(params))]  # '.0': only called by the code that made it
    elif all(_ident(p) for p in params):
        names = list(params)
    else:
        raise Unsupported("a parameter name the host cannot take")
    parts = parameter_list(code, names)
    return ", ".join(parts), names


def translate(vm: Any, code: CodeObject) -> Any:
    """The prototype host function of `code`: its signature is the Tauraro one; instantiate() makes the
    function object of each `def` execution (defaults, closure cells) from it."""
    reason = reason_against(vm, code)
    if reason is not None:
        raise Unsupported(reason)
    sig, names = signature(code)
    rt = code.runtime
    ops = list(rt.generic) if rt is not None else [ins.op for ins in code.instrs]
    em = _Emitter(vm, code, ops)
    em.emit(0, None, (), 2)
    cells = [f"_BC{i}" for i in range(len(code.free_regs))]
    live_in = liveness(code).live(0)
    init = sorted(r for r in live_in if r >= len(code.params) and r not in code.free_regs)
    name = code.name if code.kind != "module" else "<module>"
    head = [(0, f"def _Bmake({', '.join([*em.consts, *HELPERS, *cells])}):", -1),
            (1, f"def _Bfn({sig}):", -1)]
    if em.globals_stored:
        head.append((2, "global " + ", ".join(sorted(em.globals_stored)), -1))
    if rt is not None and rt.entry is not None:
        # Under a JIT a plain function may be a function unit (jit/functions.py): its entry counts the call
        # (or runs it natively) before this frame counts a recursion level, as the VM's CallFunction does.
        args = names[:len(code.params)]
        head += [(2, "_Be = _Brt.entry", -1), (2, "if _Be is not None:", -1),
                 (3, f"_Br = _Be(({', '.join(args)}{',' if len(args) == 1 else ''}), 0, {len(args)})", -1),
                 (3, "if _Br is not _BNN:", -1), (4, "return _Br", -1)]
    head += [(2, "_Bd = _BV.depth", -1),
             (2, f"if _Bd >= {_limit()}:", -1),
             (3, "raise _BRecursionError(_BRMSG)", -1),
             (2, "_BV.depth = _Bd + 1", -1),
             (2, "try:", -1)]
    moves = [(_reg(r), n) for r, n in enumerate(names)] + [(_reg(r), c) for r, c in zip(code.free_regs, cells)]
    if moves:
        head.append((3, f"{', '.join(m[0] for m in moves)}, = {', '.join(m[1] for m in moves)},", -1))
    if init:
        head.append((3, " = ".join(_reg(r) for r in init) + " = _BU", -1))
    if em.uses_scratch:
        head.append((3, f"_BS = [_BU] * {code.nregs + 2}", -1))
    if code.except_table:
        head.append((3, "_Bbase = _Blen(_BV.handled)", -1))
    body = [(i + 1, t, pc) for i, t, pc in em.lines]
    tail = [(2, "except BaseException as _Be:", -1),
            (3, "_Bunwind(_Be, _BLINES, _BNAME, _BFILE, _Bbase)" if code.except_table
             else "_Btb(_Be, _BLINES, _BNAME, _BFILE)", -1),
            (3, "raise", -1),
            (2, "finally:", -1)]
    if code.is_generator:
        tail += [(3, "if _Bd >= 0:", -1), (4, "_BV.depth = _Bd", -1),
                 (2, "if False:", -1), (3, "yield", -1)]  # a generator even if no yield is reachable
    else:
        tail.append((3, "_BV.depth = _Bd", -1))
    tail.append((1, "return _Bfn", -1))
    all_lines = head + body + tail
    src = "\n".join("    " * i + t for i, t, _ in all_lines) + "\n"
    line_map = [code.firstline] + [code.line_of(pc) if pc >= 0 else code.firstline for _, _, pc in all_lines]
    G = vm.globals if code.globals is None else code.globals
    try:
        host = compile(src, code.filename, "exec")
    except (SyntaxError, RecursionError, MemoryError, ValueError) as e:
        raise Unsupported(f"host compile failed: {type(e).__name__}: {e}") from None
    ns: dict[str, Any] = {}
    exec(host, G, ns)  # noqa: S102 - our own generated code
    helpers = _helpers(vm, code, line_map, name, code.filename)
    fn = ns["_Bmake"](*em.consts.values(), *(helpers[h] for h in HELPERS), *[None] * len(cells))
    # The def is _Bfn (a Tauraro global may be called f); CPython's argument errors name co_qualname.
    host_code = fn.__code__.replace(co_name=code.name, co_qualname=code.qualname)
    fn.__code__ = host_code
    fn.__name__, fn.__qualname__ = code.name, code.qualname
    fn._Bcells = [host_code.co_freevars.index(c) for c in cells]
    FRAMES[host_code] = code
    return fn


def instantiate(proto: Any, code: CodeObject, defaults: tuple, cells: Any, kwdefaults: dict | None,
                annotations: dict | None) -> Any:
    """The host function object of one execution of `def` (MakeFunction): the prototype's code with
    this execution's defaults, keyword-only defaults, annotations and closure cells."""
    closure = proto.__closure__
    if cells:
        closure = list(closure)
        for index, cell in zip(proto._Bcells, cells):
            closure[index] = CellType(cell)
        closure = tuple(closure)
    fn = FunctionType(proto.__code__, proto.__globals__, code.name, defaults or None, closure)
    fn.__qualname__ = code.qualname
    fn.__doc__ = code.docstring
    if kwdefaults:
        fn.__kwdefaults__ = kwdefaults
    if annotations is not None:
        fn.__annotations__ = annotations
    return fn


def host_function(vm: Any, code: CodeObject) -> Any:
    """The prototype host function of `code` (translated at its first `def`), or None: it stays in the VM."""
    rt = code.runtime or vm.runtime(code)
    if rt.calls >= 0:
        tier_up(vm, code)
    return rt.base


HELPERS = ("_BV", "_BU", "_BF", "_Btype", "_Bcall", "_Bhost", "_Bslow", "_Bplain", "_Bnext", "_Biter", "_Btuple", "_BDONE", "_Bset", "_BCell",
           "_Bunbound", "_Bderef", "_Btb", "_BLINES", "_BNAME", "_BFILE", "_BRecursionError", "_BRMSG", "_Bcatch", "_Bunwind", "_Blen",
           "_Bleave", "_BSTAY", "_BFOLLOW", "_Brt", "_BNN")


def _helpers(vm: Any, code: CodeObject, line_map: list[int], name: str, filename: str) -> dict[str, Any]:
    from .vm import _HEAPTYPE, CALL_RECURSION_MESSAGE, RECURSION_LIMIT, RECURSION_MESSAGE, _set_context

    handled = vm.handled

    def leave(loop_id: int, header: int, R: list, follow: int | None) -> Any:
        """A hot loop: the JIT gets the frame as from the VM's back-edge handler (jit/hot.py's cheap checks
        first). When it entered native code, the rest of this call runs in the VM from the pc the JIT
        returns; when it did not (the loop is rejected, blacklisted or not compiled yet), R is untouched
        and this function goes on running the loop itself (_STAY): a loop the JIT does not take never
        costs the VM's speed."""
        jit = vm.jit  # always jit/hot.py's HotCounter (api.make_jit)
        if jit._closed:
            return _STAY
        stats = jit.stats
        entries = stats.native_entries
        pc = jit.hot_loop(vm, code, loop_id, R, header)
        if stats.native_entries == entries:
            if pc == header:
                return _STAY
        elif pc == follow:
            return _FOLLOW
        try:
            return vm.execute(code, R, pc)
        except BaseException as e:
            e._tauraro_frame = sys._getframe(1)  # the VM recorded this frame: the baseline wrapper must not
            raise

    def catch(e: BaseException, lines: list[int], name: str, filename: str, floor: int) -> None:
        """What VM.execute does when an exception reaches a handler of this frame."""
        if handled:
            _set_context(e, handled[-1])
        _traceback(e, lines, name, filename)
        del handled[floor:]

    def unwind(e: BaseException, lines: list[int], name: str, filename: str, base: int) -> None:
        """What VM.execute does when an exception leaves a frame that may be in except blocks."""
        if handled:
            _set_context(e, handled[-1])
        _traceback(e, lines, name, filename)
        del handled[base:]

    call = vm.call

    def slow(f: Any, *args: Any) -> Any:
        """A call the baseline does not make directly: a Tauraro function without a host entry for this
        argument count, or a class that is not a builtin one (VM.call_host: a class defined in the
        program, or an exception class, is one recursion level while it runs)."""
        if type(f) is Function:
            return call(f, args)
        if f.__flags__ & _HEAPTYPE or issubclass(f, BaseException):
            depth = vm.depth
            if depth >= RECURSION_LIMIT:
                raise RecursionError(CALL_RECURSION_MESSAGE)
            vm.depth = depth + 1
            try:
                return f(*args)
            finally:
                vm.depth = depth
        return f(*args)

    return {"_BV": vm, "_BU": UNBOUND, "_BF": Function, "_Btype": type, "_Bcall": vm.call,
            "_Bhost": vm.call_host, "_Bslow": slow, "_Bplain": PLAIN_TYPES, "_Bnext": next, "_Biter": iter, "_Btuple": tuple, "_BDONE": _DONE, "_Bset": set, "_BCell": Cell,
            "_Bunbound": _unbound, "_Bderef": _deref_error, "_Btb": _traceback, "_BLINES": line_map,
            "_BNAME": name, "_BFILE": filename, "_BRecursionError": RecursionError, "_BRMSG": RECURSION_MESSAGE, "_Bcatch": catch, "_Bunwind": unwind,
            "_Blen": len, "_Bleave": leave, "_BSTAY": _STAY, "_BFOLLOW": _FOLLOW,
            "_Brt": code.runtime, "_BNN": NOT_NATIVE}


# Classes a baseline call calls directly: the builtins' own (no recursion level, VM.call_host).
PLAIN_TYPES = frozenset(v for v in vars(__import__("builtins")).values()
                        if type(v) is type and not v.__flags__ & (1 << 9) and not issubclass(v, BaseException))


def _limit() -> int:
    from .vm import RECURSION_LIMIT

    return RECURSION_LIMIT


def tier_up(vm: Any, code: CodeObject) -> None:
    """Translate `code` (at its first `def`); on failure it stays in the VM for good."""
    rt = code.runtime
    rt.calls = -sys.maxsize  # never asked again
    stats = vm.stats
    try:
        rt.base = translate(vm, code)
    except Unsupported as e:
        if stats is not None:
            stats.baseline_rejects[str(e)] += 1
        if vm.log is not None:
            vm.log(f"baseline: {code.qualname} ({code.filename}:{code.firstline}) stays in the VM: {e}")
        return
    if stats is not None:
        stats.functions_baselined += 1
    if vm.log is not None:
        vm.log(f"baseline: compiled {code.qualname} ({code.filename}:{code.firstline})")
