"""The register VM: per-instruction handler closures, quickening, calls, exceptions, hot-loop hooks.

Each instruction is turned into a closure `handler(R) -> next_pc` over its operands (R is the frame's
register list). The dispatch loop is `while pc >= 0: pc = handlers[pc](R)`; -1 means return, -2 yield.
Handlers are built from HANDLER_FACTORIES, one per opcode of bytecode.OPCODES (checked at import).
"""
from __future__ import annotations

import operator
import sys
import types
from types import MethodType
from typing import Any, Callable

from .baseline import host_function, instantiate
from .bytecode import OPCODES, QUICK_TYPES, QUICKENED, CodeObject, Instr
from .errors import TauraroRuntimeError
from .matching import match
from .modules import ModuleSystem, frame_builtins, init_main
from .runtime import NOT_NATIVE, UNBOUND, Cell, Frame, Function, make_builtins, make_generator

# CPython 3.11's recursion rule, measured against python3 (tests/test_recursion.py checks it live): a
# thread's depth counts every Python frame (the module's, each function, method, lambda, comprehension,
# class body and running generator-expression frame) plus each call of an object without vectorcall
# (a class defined in the program, an exception class); entering one more when the depth is already
# sys.getrecursionlimit() (1000) raises RecursionError. So `f(998)` recursing to f(0) from module level
# runs (999 frames + the module's = 1000) and f(999) fails. Levels CPython's own builtins add while they run
# (print, str(), sorted(key=...)) are not modelled: such a recursion may fail one or two levels later here.
RECURSION_LIMIT = 1000
RECURSION_MESSAGE = "maximum recursion depth exceeded"
CALL_RECURSION_MESSAGE = "maximum recursion depth exceeded while calling a Python object"
# Creating a class object nests two calls in CPython 3.11 (the metaclass through tp_call, then
# object.__init_subclass__), each a level checked with CALL_RECURSION_MESSAGE.
CLASS_CREATION_LEVELS = 2
_HEAPTYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: classes created at run time have no vectorcall in 3.11
BASELINE_KINDS = frozenset({"function", "lambda", "comprehension", "genexpr"})  # code kinds tier 1 may translate
RETURN = -1
YIELD = -2
ADAPTIVE_TRIES = 16  # executions of a generic op before it settles without quickening
MAX_DEQUICKEN = 4  # flips between generic and quickened before an op stays generic

Handler = Callable[[list], int]
Factory = Callable[["VM", CodeObject, int, Instr], Handler]
HANDLER_FACTORIES: dict[str, Factory] = {}


def handler(*names: str) -> Callable[[Factory], Factory]:
    def register(factory: Factory) -> Factory:
        for n in names:
            assert n in OPCODES, n
            HANDLER_FACTORIES[n] = factory
        return factory
    return register


class CodeRuntime:
    """Per code object state of one VM: handlers, the generic op of each pc, quickening counters."""

    __slots__ = ("handlers", "generic", "flips", "loop_counts", "nregs", "fill", "ret", "resume", "code", "quiet",
                 "entry", "base", "calls", "positional")

    def __init__(self, vm: VM, code: CodeObject) -> None:
        self.code = code
        self.generic = [ins.op for ins in code.instrs]
        self.flips = [0] * len(code.instrs)
        self.loop_counts = [0] * len(code.loops)
        self.nregs = code.nregs
        self.ret = code.nregs
        self.resume = code.nregs + 1
        self.fill = [UNBOUND] * (code.nregs - len(code.params)) + [None, None]
        self.handlers = [vm.make_handler(code, pc) for pc in range(len(code.instrs))]
        self.quiet: set[int] = set()  # handler pcs whose caught exceptions the JIT no longer wants to hear of
        # The JIT's function entry (jit/functions.py): called at every plain call with the caller's
        # registers and argument span; returns the result, or NOT_NATIVE to interpret the call.
        self.entry = vm.jit.function_entry(vm, code) if vm.jit is not None else None
        self.base = None  # the prototype of its baseline host functions (tier 1), once translated
        # positional parameters only (a generator's too): arguments bind without the generic binder
        self.positional = not (code.kwonlycount or code.varargs or code.varkw)
        # >= 0: not translated yet (negative: never, tier 0, or already decided)
        self.calls = 0 if vm.tier >= 1 and code.kind in BASELINE_KINDS else -sys.maxsize


class VM:
    """Runs compiled Tauraro code with Python semantics; `jit` (optional) receives hot-loop events."""

    def __init__(self, filename: str = "<string>", stdout: Any = None, jit: Any = None, tier: int = 1,
                 stats: Any = None, log: Callable[[str], None] | None = None) -> None:
        self.filename = filename
        self.tier = tier  # 0: everything in the VM; 1: hot functions translated to host code (baseline.py)
        self.stats = stats
        self.log = log
        self.stdout = stdout
        self.globals: dict[str, Any] = {"__name__": "__main__"}
        self.builtins = make_builtins()
        self.modules = ModuleSystem(self, filename)
        self.builtins.update(frame_builtins(self))
        init_main(self, filename)
        self.depth = 0
        self.handled: list[BaseException] = []
        self.jit = jit
        # Each Tauraro call nests up to about eight host levels (execute, the call handler, call, and the
        # C levels of a builtin calling back, e.g. sorted(key=f)); leave room for RECURSION_LIMIT of them
        # so our own limit, with CPython's message, is the one that triggers.
        needed = 10 * RECURSION_LIMIT + 2000
        if sys.getrecursionlimit() < needed:
            sys.setrecursionlimit(needed)

    # --- running ---------------------------------------------------------------------------------
    def runtime(self, code: CodeObject) -> CodeRuntime:
        rt = code.runtime
        if rt is None:
            rt = code.runtime = CodeRuntime(self, code)
        return rt

    def run_module(self, code: CodeObject) -> Any:
        """Run module code; print and input see the program's stdout while it runs."""
        self.runtime(code)
        regs = [UNBOUND] * code.nregs + [None, None]
        saved = sys.stdout
        if self.stdout is not None:
            sys.stdout = self.stdout
        self.depth += 1  # the module's own frame counts towards the recursion limit, as in CPython
        _enter_exc_info(self)
        try:
            return self.execute(code, regs, 0)
        except Exception as e:  # noqa: BLE001 - every Tauraro exception is a host exception
            raise TauraroRuntimeError(e, self._traceback_of(e)) from None
        finally:
            _leave_exc_info(self)
            self.depth -= 1
            sys.stdout = saved

    @staticmethod
    def _traceback_of(e: BaseException) -> list[tuple[str, int, str]]:
        return list(reversed(getattr(e, "_tauraro_tb", [])))

    def execute(self, code: CodeObject, R: list, pc: int, thrown: BaseException | None = None,
                base: int = -1) -> Any:
        """Run `code` on registers R from `pc` until it returns (value) or yields (YIELD marker).
        `thrown`: raise it at pc first (generator.throw); `base`: the handled-exception stack depth
        this frame starts at (default: the current one)."""
        handlers = (code.runtime or self.runtime(code)).handlers
        handled = self.handled
        if base < 0:
            base = len(handled)
        while True:
            try:
                if thrown is not None:
                    e, thrown = thrown, None
                    raise e
                while pc >= 0:
                    pc = handlers[pc](R)
                return R[code.nregs] if pc == RETURN else _YIELDED
            except BaseException as e:
                if handled:
                    _set_context(e, handled[-1])
                entry = code.handler_for(pc)
                _add_traceback(e, code, pc, R)  # the frame that catches it is in its traceback too
                if entry is None:
                    del handled[base:]
                    raise
                del handled[base + entry.handled_depth:]
                R[entry.reg] = e
                pc = entry.handler
                if self.jit is not None and pc not in code.runtime.quiet:
                    self.jit.caught(code, pc)  # exceptions inside a loop: evidence against compiling it

    def resume(self, frame: Frame, pc: int, thrown: BaseException | None) -> tuple[int, Any, int]:
        """Run a generator or coroutine frame from pc (raising `thrown` there first) to its next yield.
        Returns (0, return value, -1), (1, value yielded, resume pc) or (2, delegate, resume pc) for
        yield from / await. The except blocks the frame is in are kept with it while it is suspended."""
        if self.depth >= RECURSION_LIMIT:
            raise RecursionError(RECURSION_MESSAGE)
        self.depth += 1
        handled = self.handled
        base = len(handled)
        if frame.handled:
            handled.extend(frame.handled)
        code, R = frame.code, frame.regs
        try:
            result = self.execute(code, R, pc, thrown, base)
        finally:
            self.depth -= 1
        if result is _YIELDED:
            frame.handled = handled[base:]
            del handled[base:]
            pc = R[code.nregs + 1]
            return (2 if code.instrs[pc - 1].op == "YieldFrom" else 1), R[code.nregs], pc
        del handled[base:]
        return 0, result, -1

    def call(self, func: Function, args: tuple, kwargs: dict | None = None) -> Any:
        code = func.code
        rt = code.runtime or self.runtime(code)
        nparams = len(code.params)
        if not kwargs and len(args) == nparams and rt.positional:
            R = [*args, *rt.fill]
        elif not kwargs and rt.positional and nparams - len(func.defaults) <= len(args) < nparams:
            R = [*args, *func.defaults[len(args) - nparams:], *rt.fill]
        else:
            R = func.bind(args, kwargs or {}) + rt.fill
        if code.free_regs:
            for reg, cell in zip(code.free_regs, func.cells):
                R[reg] = cell
        if code.is_generator or code.is_coroutine:
            return make_generator(self, code, R)
        if self.depth >= RECURSION_LIMIT:
            raise RecursionError(RECURSION_MESSAGE)
        self.depth += 1
        try:
            return self.execute(code, R, 0)
        finally:
            self.depth -= 1

    def call_host(self, f: Any, args: list, kwargs: dict | None = None) -> Any:
        """Call a non-Tauraro callable; a class call is one recursion level while it runs, as in CPython."""
        if type(f) is type and (f.__flags__ & _HEAPTYPE or issubclass(f, BaseException)):
            if self.depth >= RECURSION_LIMIT:
                raise RecursionError(CALL_RECURSION_MESSAGE)
            self.depth += 1
            try:
                return f(*args, **kwargs) if kwargs else f(*args)
            finally:
                self.depth -= 1
        return f(*args, **kwargs) if kwargs else f(*args)

    # --- handlers ---------------------------------------------------------------------------------
    def make_handler(self, code: CodeObject, pc: int) -> Handler:
        ins = code.instrs[pc]
        return HANDLER_FACTORIES[ins.op](self, code, pc, ins)

    def set_op(self, code: CodeObject, pc: int, op: str) -> None:
        """Rewrite the instruction at pc (quickening or de-quickening) and its handler."""
        code.instrs[pc].op = op
        code.runtime.handlers[pc] = self.make_handler(code, pc)

    def dequicken(self, code: CodeObject, pc: int) -> Handler:
        rt = code.runtime
        rt.flips[pc] += 1
        self.set_op(code, pc, rt.generic[pc])
        if rt.flips[pc] >= MAX_DEQUICKEN:
            rt.handlers[pc] = _settled(self, code, pc, code.instrs[pc])
        return rt.handlers[pc]


_YIELDED = object()

# sys.exc_info() and sys.exception() inside a Tauraro except block: the VM handles exceptions outside the
# host's except clauses, so while programs run these see the VM's handled-exception stack when the host
# has none (host code in its own except block still sees its own exception first).
_RUNNING: list[VM] = []
_HOST_EXC_INFO = sys.exc_info
_HOST_EXCEPTION = getattr(sys, "exception", None)


def _exc_info() -> tuple:
    info = _HOST_EXC_INFO()
    if info[0] is None and _RUNNING and _RUNNING[-1].handled:
        e = _RUNNING[-1].handled[-1]
        return type(e), e, e.__traceback__
    return info


def _exception() -> BaseException | None:
    return _exc_info()[1]


def _enter_exc_info(vm: VM) -> None:
    if not _RUNNING:
        sys.exc_info = _exc_info
        if _HOST_EXCEPTION is not None:
            sys.exception = _exception
    _RUNNING.append(vm)


def _leave_exc_info(vm: VM) -> None:
    if _RUNNING and _RUNNING[-1] is vm:
        _RUNNING.pop()
    if not _RUNNING:
        sys.exc_info = _HOST_EXC_INFO
        if _HOST_EXCEPTION is not None:
            sys.exception = _HOST_EXCEPTION


def _set_context(e: BaseException, handling: BaseException, force: bool = False) -> None:
    """CPython's implicit chaining: an exception raised while another is handled gets it as __context__
    (set where it is raised: once as it propagates, always by a `raise` statement), without a cycle."""
    if e is handling or (e.__context__ is not None and not force):
        return
    probe = handling
    while probe is not None:  # cut the chain where it would come back to e, as CPython does
        nxt = probe.__context__
        if nxt is e:
            probe.__context__ = None
            break
        probe = nxt
    e.__context__ = handling


def _add_traceback(e: BaseException, code: CodeObject, pc: int, R: list) -> None:
    try:
        tb = e.__dict__.setdefault("_tauraro_tb", [])
    except (AttributeError, TypeError):
        return
    if tb and e.__dict__.get("_tauraro_frame") is R:  # caught in this frame, then re-raised: one entry
        return
    e._tauraro_frame = R
    name = code.name if code.kind != "module" else "<module>"
    tb.append((code.filename, code.line_of(pc), name))


# ==== generic operations ================================================================================
BINARY_FUNCS = {
    "Add": operator.add, "Sub": operator.sub, "Mul": operator.mul, "Div": operator.truediv,
    "FloorDiv": operator.floordiv, "Mod": operator.mod, "Pow": operator.pow, "LShift": operator.lshift,
    "RShift": operator.rshift, "And": operator.and_, "Or": operator.or_, "Xor": operator.xor,
    "MatMul": operator.matmul,
}
INPLACE_FUNCS = {
    "Add": operator.iadd, "Sub": operator.isub, "Mul": operator.imul, "Div": operator.itruediv,
    "FloorDiv": operator.ifloordiv, "Mod": operator.imod, "Pow": operator.ipow, "LShift": operator.ilshift,
    "RShift": operator.irshift, "And": operator.iand, "Or": operator.ior, "Xor": operator.ixor,
    "MatMul": operator.imatmul,
}
COMPARE_FUNCS = {
    "CompareLessRR": operator.lt, "CompareLessEqualRR": operator.le, "CompareGreaterRR": operator.gt,
    "CompareGreaterEqualRR": operator.ge, "CompareEqualRR": operator.eq, "CompareNotEqualRR": operator.ne,
    "CompareIsRR": operator.is_, "CompareIsNotRR": operator.is_not,
    "CompareInRR": lambda a, b: a in b, "CompareNotInRR": lambda a, b: a not in b,
}


def generic_function(op: str) -> Callable[[Any, Any], Any]:
    if op.startswith("Binary"):
        return BINARY_FUNCS[op[6:-2]]
    if op.startswith("Inplace"):
        return INPLACE_FUNCS[op[7:-2]]
    return COMPARE_FUNCS[op]


def quicken_candidates(op: str) -> list[str]:
    """Quickened forms of a generic op; in-place ops on ints and floats behave like the binary op."""
    return QUICKENED.get(OPCODES[op].numbers_like or op, [])


def _settled(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    """A generic binary/compare handler that no longer tries to quicken."""
    fn = generic_function(ins.op)
    a, b, c, nxt = ins.a, ins.b, ins.c, pc + 1

    def h(R: list) -> int:
        R[a] = fn(R[b], R[c])
        return nxt
    return h


def _adaptive(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    fn = generic_function(ins.op)
    a, b, c, nxt = ins.a, ins.b, ins.c, pc + 1
    by_type = {QUICK_TYPES[q]: q for q in quicken_candidates(ins.op) if q in QUICK_TYPES}
    if not by_type:
        return _settled(vm, code, pc, ins)
    tries = [ADAPTIVE_TRIES]

    def h(R: list) -> int:
        x = R[b]
        y = R[c]
        R[a] = fn(x, y)
        t = type(x)
        if t is type(y) and t in by_type:
            vm.set_op(code, pc, by_type[t])
        else:
            tries[0] -= 1
            if tries[0] <= 0:
                code.runtime.handlers[pc] = _settled(vm, code, pc, ins)
        return nxt
    return h


for _op in OPCODES:
    if _op.startswith(("Binary", "Inplace")) or _op in COMPARE_FUNCS:
        HANDLER_FACTORIES[_op] = _adaptive


def _fast_binary(expr: str, typename: str) -> Factory:
    """A quickened handler: `expr` on two values of `typename`, else de-quicken and run generically."""
    src = f"""
def factory(vm, code, pc, ins):
    a, b, c, nxt = ins.a, ins.b, ins.c, pc + 1
    def h(R):
        x = R[b]
        y = R[c]
        if type(x) is {typename} is type(y):
            R[a] = {expr}
            return nxt
        return vm.dequicken(code, pc)(R)
    return h
"""
    ns: dict = {}
    exec(src, ns)
    return ns["factory"]


_FAST = {
    "FastIntAdd": "x + y", "FastIntSub": "x - y", "FastIntMul": "x * y", "FastIntFloorDiv": "x // y",
    "FastIntMod": "x % y", "FastFloatAdd": "x + y", "FastFloatSub": "x - y", "FastFloatMul": "x * y",
    "FastFloatDiv": "x / y", "FastIntLess": "x < y", "FastIntLessEqual": "x <= y", "FastIntGreater": "x > y",
    "FastIntGreaterEqual": "x >= y", "FastIntEqual": "x == y", "FastIntNotEqual": "x != y",
    "FastFloatLess": "x < y", "FastFloatGreater": "x > y",
}


def _on_first_use(expr: str, typename: str) -> Factory:
    """_fast_binary's factory, generated when first needed: generating all of them costs ~2 ms at every
    start-up, and a program needs only those of the operations it quickens."""
    made: list[Factory] = []

    def factory(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
        if not made:
            made.append(_fast_binary(expr, typename))
        return made[0](vm, code, pc, ins)
    return factory


for _name, _expr in _FAST.items():
    HANDLER_FACTORIES[_name] = _on_first_use(_expr, "int" if "Int" in _name else "float")


# ==== loads, stores, names ===============================================================================
@handler("Nop", "SetupLoop", "PopBlock")
def _nop(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    nxt = pc + 1
    return lambda R: nxt


@handler("LoadConst")
def _load_const(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    a, value, nxt = ins.a, code.consts[ins.b], pc + 1

    def h(R: list) -> int:
        R[a] = value
        return nxt
    return h


@handler("Move")
def _move(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    a, b, nxt = ins.a, ins.b, pc + 1

    def h(R: list) -> int:
        R[a] = R[b]
        return nxt
    return h


@handler("CheckBound")
def _check_bound(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    a, name, nxt = ins.a, code.names[ins.b], pc + 1

    def h(R: list) -> int:
        if R[a] is UNBOUND:
            raise UnboundLocalError(f"cannot access local variable '{name}' where it is not associated with a value")
        return nxt
    return h


@handler("DeleteFast")
def _delete_fast(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    a, name, nxt = ins.a, code.names[ins.b], pc + 1

    def h(R: list) -> int:
        if R[a] is UNBOUND:
            raise UnboundLocalError(f"cannot access local variable '{name}' where it is not associated with a value")
        R[a] = UNBOUND
        return nxt
    return h


def globals_of(vm: VM, code: CodeObject) -> dict[str, Any]:
    """The namespace a code object's global names live in: its module's (imported modules have their own)."""
    return vm.globals if code.globals is None else code.globals


def _name_error(name: str) -> NameError:
    return NameError(f"name '{name}' is not defined")


@handler("LoadGlobal")
def _load_global(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    a, name, nxt = ins.a, code.names[ins.b], pc + 1
    G, B = globals_of(vm, code), vm.builtins

    def h(R: list) -> int:
        try:
            R[a] = G[name]
        except KeyError:
            try:
                R[a] = B[name]
            except KeyError:
                raise _name_error(name) from None
        return nxt
    return h


@handler("StoreGlobal")
def _store_global(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    a, name, nxt = ins.a, code.names[ins.b], pc + 1
    G = globals_of(vm, code)

    def h(R: list) -> int:
        G[name] = R[a]
        return nxt
    return h


@handler("DeleteGlobal")
def _delete_global(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    name, nxt = code.names[ins.b], pc + 1
    G = globals_of(vm, code)

    def h(R: list) -> int:
        if name not in G:
            raise _name_error(name)
        del G[name]
        return nxt
    return h


@handler("LoadName")
def _load_name(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    a, name, nxt = ins.a, code.names[ins.b], pc + 1
    G, B = globals_of(vm, code), vm.builtins

    def h(R: list) -> int:
        ns = R[0]
        if name in ns:
            R[a] = ns[name]
        elif name in G:
            R[a] = G[name]
        elif name in B:
            R[a] = B[name]
        else:
            raise _name_error(name)
        return nxt
    return h


@handler("StoreName")
def _store_name(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    a, name, nxt = ins.a, code.names[ins.b], pc + 1

    def h(R: list) -> int:
        R[0][name] = R[a]
        return nxt
    return h


@handler("MakeCell")
def _make_cell(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    a, b, nxt = ins.a, ins.b, pc + 1

    def h(R: list) -> int:
        R[a] = Cell(R[b] if b >= 0 else UNBOUND)
        return nxt
    return h


@handler("LoadDeref")
def _load_deref(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    a, b, name, nxt = ins.a, ins.b, code.names[ins.c], pc + 1
    is_free = b in code.free_regs

    def h(R: list) -> int:
        v = R[b].contents
        if v is UNBOUND:
            if is_free:
                raise NameError(f"cannot access free variable '{name}' where it is not associated with a value"
                                " in enclosing scope")
            raise UnboundLocalError(f"cannot access local variable '{name}' where it is not associated with a value")
        R[a] = v
        return nxt
    return h


@handler("StoreDeref")
def _store_deref(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    a, b, nxt = ins.a, ins.b, pc + 1

    def h(R: list) -> int:
        R[a].contents = R[b]
        return nxt
    return h


# ==== unary ==============================================================================================
def _unary(fn: Callable[[Any], Any]) -> Factory:
    def factory(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
        a, b, nxt = ins.a, ins.b, pc + 1

        def h(R: list) -> int:
            R[a] = fn(R[b])
            return nxt
        return h
    return factory


HANDLER_FACTORIES["UnaryNeg"] = _unary(operator.neg)
HANDLER_FACTORIES["UnaryPos"] = _unary(operator.pos)
HANDLER_FACTORIES["UnaryNot"] = _unary(operator.not_)
HANDLER_FACTORIES["UnaryInvert"] = _unary(operator.invert)


# ==== jumps and loops ====================================================================================
@handler("Jump")
def _jump(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    target = ins.a
    return lambda R: target


@handler("JumpIfTrue")
def _jump_if_true(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    a, target, nxt = ins.a, ins.b, pc + 1

    def h(R: list) -> int:
        return target if R[a] else nxt
    return h


@handler("JumpIfFalse")
def _jump_if_false(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    a, target, nxt = ins.a, ins.b, pc + 1

    def h(R: list) -> int:
        return nxt if R[a] else target
    return h


@handler("JumpBack")
def _jump_back(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    target = ins.a
    if vm.jit is None:
        return lambda R: target
    return vm.jit.back_edge_handler(vm, code, pc, ins)


@handler("GetIter")
def _get_iter(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    a, b, nxt = ins.a, ins.b, pc + 1

    def h(R: list) -> int:
        R[a] = iter(R[b])
        return nxt
    return h


_DONE = object()


@handler("ForIter", "FastForIterRange", "FastForIterList")
def _for_iter(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    a, b, exit_pc, nxt = ins.a, ins.b, ins.c, pc + 1

    def h(R: list) -> int:
        v = next(R[b], _DONE)
        if v is _DONE:
            return exit_pc
        R[a] = v
        return nxt
    return h


@handler("UnpackSequence")
def _unpack(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    a, b, n, nxt = ins.a, ins.b, ins.c, pc + 1
    end = a + n
    unpack = _unpacker(n)

    def h(R: list) -> int:
        v = R[b]
        if (type(v) is tuple or type(v) is list) and len(v) == n:
            R[a:end] = v
        else:
            R[a:end] = unpack(v)
        return nxt
    return h


_UNPACKERS: dict[int, Callable] = {}


def _unpacker(n: int) -> Callable:
    """Let Python unpack: its error messages are then exactly the running CPython's."""
    if n not in _UNPACKERS:
        names = [f"v{i}" for i in range(n)]
        src = f"def unpack(v):\n    {', '.join(names)}{',' if n == 1 else ''} = v\n    return [{', '.join(names)}]\n"
        if n == 0:
            src = "def unpack(v):\n    [] = v\n    return []\n"
        ns: dict = {}
        exec(src, ns)
        _UNPACKERS[n] = ns["unpack"]
    return _UNPACKERS[n]


# ==== calls ==============================================================================================
@handler("CallFunction")
def _call(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    a, b, n, nxt = ins.a, ins.b, ins.c, pc + 1
    first, end = b + 1, b + 1 + n
    call, call_host = vm.call, vm.call_host

    execute = vm.execute

    def h(R: list) -> int:
        f = R[b]
        if type(f) is Function:
            fcode = f.code
            if f.plain and f.nparams == n:  # the common case, without the generic binding
                rt = fcode.runtime or vm.runtime(fcode)
                if rt.entry is not None:
                    result = rt.entry(R, first, end)
                    if result is not NOT_NATIVE:
                        R[a] = result
                        return nxt
                regs = R[first:end]
                regs += rt.fill
                if vm.depth >= RECURSION_LIMIT:
                    raise RecursionError(RECURSION_MESSAGE)
                vm.depth += 1
                try:
                    R[a] = execute(fcode, regs, 0)
                finally:
                    vm.depth -= 1
            else:
                R[a] = call(f, R[first:end])
        else:
            R[a] = call_host(f, R[first:end])
        return nxt
    return h


@handler("CallFunctionKw")
def _call_kw(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    a, b, nxt = ins.a, ins.b, pc + 1
    npos, kwnames = code.consts[ins.c]
    first, kwfirst = b + 1, b + 1 + npos

    call_host = vm.call_host

    def h(R: list) -> int:
        kwargs = {k: R[kwfirst + i] for i, k in enumerate(kwnames)}
        R[a] = call_host(R[b], R[first:kwfirst], kwargs)
        return nxt
    return h


@handler("CallMethod")
def _call_method(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    a, b, nxt = ins.a, ins.b, pc + 1
    name, npos, kwnames = code.consts[ins.c]
    first, kwfirst = b + 1, b + 1 + npos
    call = vm.call

    def h(R: list) -> int:
        obj = R[b]
        meth = getattr(obj, name)
        if kwnames:
            kwargs = {k: R[kwfirst + i] for i, k in enumerate(kwnames)}
            R[a] = meth(*R[first:kwfirst], **kwargs)
        elif type(meth) is MethodType and type(meth.__func__) is Function:
            R[a] = call(meth.__func__, (meth.__self__, *R[first:kwfirst]))
        else:
            R[a] = meth(*R[first:kwfirst])
        return nxt
    return h




@handler("ReturnValue")
def _return(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    a, ret = ins.a, code.nregs

    def h(R: list) -> int:
        R[ret] = R[a]
        return RETURN
    return h


@handler("YieldValue")
def _yield(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    a, ret, nxt = ins.a, code.nregs, pc + 1

    def h(R: list) -> int:
        R[ret] = R[a]
        R[ret + 1] = nxt
        return YIELD
    return h


# ==== containers =========================================================================================
def _builder(make: Callable[[list], Any]) -> Factory:
    def factory(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
        a, b, n, nxt = ins.a, ins.b, ins.c, pc + 1
        end = b + n

        def h(R: list) -> int:
            R[a] = make(R[b:end])
            return nxt
        return h
    return factory


HANDLER_FACTORIES["BuildList"] = _builder(list)
HANDLER_FACTORIES["BuildTuple"] = _builder(tuple)
HANDLER_FACTORIES["BuildSet"] = _builder(set)
HANDLER_FACTORIES["BuildSlice"] = _builder(lambda items: slice(*items))
HANDLER_FACTORIES["BuildString"] = _builder("".join)


@handler("BuildDict")
def _build_dict(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    a, b, n, nxt = ins.a, ins.b, ins.c, pc + 1

    def h(R: list) -> int:
        d = {}
        for i in range(b, b + 2 * n, 2):
            d[R[i]] = R[i + 1]
        R[a] = d
        return nxt
    return h


_CONVERT = {0: None, 1: str, 2: repr, 3: ascii}


@handler("FormatValue")
def _format_value(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    a, b, nxt = ins.a, ins.b, pc + 1
    convert = _CONVERT[ins.c >> 1]
    has_spec = ins.c & 1

    def h(R: list) -> int:
        v = R[b]
        if convert is not None:
            v = convert(v)
        R[a] = format(v, R[b + 1]) if has_spec else format(v)
        return nxt
    return h


@handler("ListAppend")
def _list_append(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    a, b, nxt = ins.a, ins.b, pc + 1

    def h(R: list) -> int:
        R[a].append(R[b])
        return nxt
    return h


@handler("SetAdd")
def _set_add(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    a, b, nxt = ins.a, ins.b, pc + 1

    def h(R: list) -> int:
        R[a].add(R[b])
        return nxt
    return h


@handler("MapAdd")
def _map_add(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    a, b, c, nxt = ins.a, ins.b, ins.c, pc + 1

    def h(R: list) -> int:
        R[a][R[b]] = R[c]
        return nxt
    return h


@handler("SubscrLoad")
def _subscr_load(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    a, b, c, nxt = ins.a, ins.b, ins.c, pc + 1

    def h(R: list) -> int:
        R[a] = R[b][R[c]]
        return nxt
    return h


@handler("SubscrStore")
def _subscr_store(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    a, b, c, nxt = ins.a, ins.b, ins.c, pc + 1

    def h(R: list) -> int:
        R[a][R[b]] = R[c]
        return nxt
    return h


@handler("SubscrDelete")
def _subscr_delete(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    a, b, nxt = ins.a, ins.b, pc + 1

    def h(R: list) -> int:
        del R[a][R[b]]
        return nxt
    return h


@handler("LoadAttr")
def _load_attr(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    a, b, name, nxt = ins.a, ins.b, code.names[ins.c], pc + 1

    def h(R: list) -> int:
        R[a] = getattr(R[b], name)
        return nxt
    return h


@handler("StoreAttr")
def _store_attr(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    a, name, c, nxt = ins.a, code.names[ins.b], ins.c, pc + 1

    def h(R: list) -> int:
        setattr(R[a], name, R[c])
        return nxt
    return h


@handler("DeleteAttr")
def _delete_attr(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    a, name, nxt = ins.a, code.names[ins.b], pc + 1

    def h(R: list) -> int:
        delattr(R[a], name)
        return nxt
    return h


# ==== functions, classes, modules ========================================================================
@handler("MakeFunction")
def _make_function(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    a, first, nxt = ins.a, ins.c, pc + 1
    fcode: CodeObject = code.consts[ins.b]
    nd, kwnames, nann, nf = fcode.ndefaults, fcode.kwdefault_names, int(fcode.annotations), len(fcode.free_regs)
    kw_at = first + nd
    ann_at = kw_at + len(kwnames)
    cells_at = ann_at + nann

    def h_full(R: list) -> int:
        kwdefaults = {k: R[kw_at + i] for i, k in enumerate(kwnames)} if kwnames else None
        defaults, cells, ann = tuple(R[first:kw_at]), tuple(R[cells_at:cells_at + nf]), R[ann_at] if nann else None
        proto = host_function(vm, fcode) if vm.tier else None
        if proto is not None:  # tier 1: a host function object (tauraro/baseline.py)
            R[a] = instantiate(proto, fcode, defaults, cells, kwdefaults, ann)
        else:
            R[a] = Function(vm, fcode, defaults, cells, kwdefaults, ann)
        return nxt
    return h_full


@handler("MakeClass")
def _make_class(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    a, first, nxt = ins.a, ins.c, pc + 1
    body: CodeObject = code.consts[ins.b]
    nf = len(body.free_regs)

    def h(R: list) -> int:
        R[a] = build_class(vm, body, R[first], R[first + 1], R[first + 2:first + 2 + nf])
        return nxt
    return h


def _implicit_methods(ns: Any) -> None:
    """type.__new__ makes a plain function __new__ a staticmethod and __init_subclass__ and
    __class_getitem__ classmethods; it only recognises host functions, so do it for ours."""
    for name, wrap in (("__new__", staticmethod), ("__init_subclass__", classmethod),
                       ("__class_getitem__", classmethod)):
        try:
            f = ns[name]
        except KeyError:
            continue
        if type(f) is Function:
            ns[name] = wrap(f)


def build_class(vm: VM, body: CodeObject, bases: tuple, keywords: dict, cells: list) -> Any:
    """CPython's __build_class__: resolve __mro_entries__, find the metaclass, __prepare__ the namespace,
    run the body in it, call the metaclass (which runs __set_name__ and __init_subclass__), fill the
    __class__ cell for zero-argument super()."""
    resolved = types.resolve_bases(bases)
    if vm.depth >= RECURSION_LIMIT:  # CPython calls the metaclass's __prepare__ first: a call level
        raise RecursionError(CALL_RECURSION_MESSAGE)
    meta, ns, kwds = types.prepare_class(body.name, resolved, keywords)
    ns["__module__"] = globals_of(vm, body).get("__name__")
    ns["__qualname__"] = body.qualname
    regs = [ns] + [UNBOUND] * (body.nregs - 1) + [None, None]
    for reg, cell in zip(body.free_regs, cells):
        regs[reg] = cell
    vm.depth += 1  # the class body is a frame
    try:
        class_cell = vm.execute(body, regs, 0)
    finally:
        vm.depth -= 1
    if resolved is not bases:
        ns["__orig_bases__"] = bases
    _implicit_methods(ns)
    if vm.depth + CLASS_CREATION_LEVELS > RECURSION_LIMIT:
        raise RecursionError(CALL_RECURSION_MESSAGE)
    vm.depth += 1
    try:
        cls = meta(body.name, resolved, ns, **kwds)
    finally:
        vm.depth -= 1
    if isinstance(class_cell, Cell):
        class_cell.contents = cls
    return cls


@handler("ImportModule")
def _import(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    a, name, nxt = ins.a, code.names[ins.b], pc + 1
    G = globals_of(vm, code)

    def h(R: list) -> int:
        R[a] = vm.modules.import_module(name, G)
        return nxt
    return h


@handler("ImportFrom")
def _import_from(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    a, b, name, nxt = ins.a, ins.b, code.names[ins.c], pc + 1
    G = globals_of(vm, code)

    def h(R: list) -> int:
        R[a] = vm.modules.import_from(R[b], name, G)
        return nxt
    return h


# ==== exceptions =========================================================================================
@handler("Raise")
def _raise(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    a, b = ins.a, ins.b

    def h(R: list) -> int:
        if a < 0:
            if not vm.handled:
                raise RuntimeError("No active exception to reraise")
            raise vm.handled[-1]
        exc = R[a]
        if isinstance(exc, type) and issubclass(exc, BaseException):
            exc = vm.call_host(exc, [])
        if isinstance(exc, BaseException):
            if hasattr(exc, "_tauraro_tb"):
                del exc._tauraro_tb
            if vm.handled:
                _set_context(exc, vm.handled[-1], force=True)
        if b >= 0:
            raise exc from R[b]
        raise exc
    return h


@handler("Reraise")
def _reraise(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    a = ins.a

    def h(R: list) -> int:
        raise R[a]
    return h


@handler("RaiseAssert")
def _raise_assert(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    a = ins.a

    def h(R: list) -> int:
        raise AssertionError(R[a]) if a >= 0 else AssertionError()
    return h


@handler("ExceptMatch")
def _except_match(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    a, b, c, nxt = ins.a, ins.b, ins.c, pc + 1

    def h(R: list) -> int:
        t = R[c]
        classes = t if isinstance(t, tuple) else (t,)
        if not all(isinstance(k, type) and issubclass(k, BaseException) for k in classes):
            raise TypeError("catching classes that do not inherit from BaseException is not allowed")
        R[a] = isinstance(R[b], t)
        return nxt
    return h


@handler("PushExcept")
def _push_except(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    a, nxt = ins.a, pc + 1
    handled = vm.handled

    def h(R: list) -> int:
        handled.append(R[a])
        return nxt
    return h


@handler("PopExcept")
def _pop_except(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    nxt = pc + 1
    handled = vm.handled

    def h(R: list) -> int:
        handled.pop()
        return nxt
    return h


# ==== calls with unpacking, generators, with, star unpacking ===============================================
def function_str(f: Any) -> str:
    """How CPython names a callable in call errors: 'module.qualname()' (no module for builtins)."""
    qualname = getattr(f, "__qualname__", None)
    if not isinstance(qualname, str):
        return f"{type(f).__name__} object"
    module = getattr(f, "__module__", None)
    if isinstance(module, str) and module != "builtins":
        return f"{module}.{qualname}()"
    return f"{qualname}()"


@handler("CallFunctionEx")
def _call_ex(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    a, b, has_kw, nxt = ins.a, ins.b, ins.c, pc + 1
    call, call_host = vm.call, vm.call_host

    def h(R: list) -> int:
        f, args = R[b], R[b + 1]
        kwargs = R[b + 2] if has_kw else None
        if type(args) is not tuple:
            try:
                args = tuple(args)
            except TypeError:
                if not _iterable(args):
                    raise TypeError(f"{function_str(f)} argument after * must be an iterable, "
                                    f"not {type(args).__name__}") from None
                raise
        if type(f) is Function:
            R[a] = call(f, args, kwargs)
        else:
            R[a] = call_host(f, args, kwargs)
        return nxt
    return h


def _iterable(v: Any) -> bool:
    t = type(v)
    return hasattr(t, "__iter__") or hasattr(t, "__getitem__")


@handler("YieldFrom")
def _yield_from(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    a, ret, nxt, is_await = ins.a, code.nregs, pc + 1, ins.c

    def h(R: list) -> int:
        R[ret] = awaitable_iter(R[a]) if is_await else R[a]
        R[ret + 1] = nxt
        return YIELD
    return h


def awaitable_iter(v: Any) -> Any:
    """The iterator `await v` delegates to, with CPython's errors for what cannot be awaited."""
    if isinstance(v, types.CoroutineType):
        if v.cr_running or v.cr_await is not None:
            raise RuntimeError("coroutine is being awaited already")
        return v.__await__()
    if isinstance(v, types.GeneratorType) and v.gi_code.co_flags & 0x100:  # CO_ITERABLE_COROUTINE
        return v
    meth = getattr(type(v), "__await__", None)
    if meth is None:
        raise TypeError(f"object {type(v).__name__} can't be used in 'await' expression")
    it = meth(v)
    if isinstance(it, types.CoroutineType) or not hasattr(type(it), "__next__"):
        what = "a coroutine" if isinstance(it, types.CoroutineType) else f"non-iterator of type '{type(it).__name__}'"
        raise TypeError(f"__await__() returned {what}")
    return it


@handler("GetAIter")
def _get_aiter(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    a, b, nxt = ins.a, ins.b, pc + 1

    def h(R: list) -> int:
        v = R[b]
        meth = getattr(type(v), "__aiter__", None)
        if meth is None:
            raise TypeError(f"'async for' requires an object with __aiter__ method, got {type(v).__name__}")
        it = meth(v)
        if getattr(type(it), "__anext__", None) is None:
            raise TypeError("'async for' received an object from __aiter__ that does not implement __anext__: "
                            f"{type(it).__name__}")
        R[a] = it
        return nxt
    return h


@handler("GetANext")
def _get_anext(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    a, b, nxt = ins.a, ins.b, pc + 1

    def h(R: list) -> int:
        it = R[b]
        R[a] = type(it).__anext__(it)
        return nxt
    return h


@handler("SetupWith")
def _setup_with(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    a, b, is_async, nxt = ins.a, ins.b, ins.c, pc + 1
    enter_name, exit_name = ("__aenter__", "__aexit__") if is_async else ("__enter__", "__exit__")
    protocol = "asynchronous context manager" if is_async else "context manager"

    def h(R: list) -> int:
        mgr = R[b]
        t = type(mgr)
        enter = getattr(t, enter_name, None)
        exit_ = getattr(t, exit_name, None)
        if enter is None:
            raise TypeError(f"'{t.__name__}' object does not support the {protocol} protocol")
        if exit_ is None:
            raise TypeError(f"'{t.__name__}' object does not support the {protocol} protocol "
                            f"(missed {exit_name} method)")
        R[a] = types.MethodType(exit_, mgr)
        value = vm.call_host(enter, [mgr]) if type(enter) is not Function else vm.call(enter, (mgr,))
        R[a + 1] = value
        return nxt
    return h


@handler("WithExit")
def _with_exit(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    a, b, c, nxt = ins.a, ins.b, ins.c, pc + 1

    def h(R: list) -> int:
        if c < 0:
            R[a] = R[b](None, None, None)
        else:
            e = R[c]
            R[a] = R[b](type(e), e, e.__traceback__)
        return nxt
    return h


@handler("ListExtend")
def _list_extend(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    a, b, nxt = ins.a, ins.b, pc + 1

    def h(R: list) -> int:
        v = R[b]
        try:
            it = iter(v)
        except TypeError:
            if not _iterable(v):
                raise TypeError(f"Value after * must be an iterable, not {type(v).__name__}") from None
            raise
        R[a].extend(it)
        return nxt
    return h


@handler("SetUpdate")
def _set_update(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    a, b, nxt = ins.a, ins.b, pc + 1

    def h(R: list) -> int:
        R[a].update(R[b])
        return nxt
    return h


def _mapping_items(v: Any) -> Any:
    if isinstance(v, dict):
        return v.items()
    keys = getattr(v, "keys", None)
    if keys is None:
        return None
    return [(k, v[k]) for k in keys()]


@handler("DictUpdate")
def _dict_update(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    a, b, nxt = ins.a, ins.b, pc + 1

    def h(R: list) -> int:
        v = R[b]
        items = _mapping_items(v)
        if items is None:
            raise TypeError(f"'{type(v).__name__}' object is not a mapping")
        R[a].update(items)
        return nxt
    return h


@handler("DictMerge")
def _dict_merge(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    a, b, c, nxt = ins.a, ins.b, ins.c, pc + 1

    def h(R: list) -> int:
        d, v = R[a], R[b]
        items = _mapping_items(v)
        if items is None:
            raise TypeError(f"{function_str(R[c])} argument after ** must be a mapping, not {type(v).__name__}")
        for k, x in items:
            if k in d:
                if not isinstance(k, str):
                    raise TypeError("keywords must be strings")
                raise TypeError(f"{function_str(R[c])} got multiple values for keyword argument '{k}'")
            d[k] = x
        return nxt
    return h


@handler("ListToTuple")
def _list_to_tuple(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    a, b, nxt = ins.a, ins.b, pc + 1

    def h(R: list) -> int:
        R[a] = tuple(R[b])
        return nxt
    return h


@handler("UnpackEx")
def _unpack_ex(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    a, b, nxt = ins.a, ins.b, pc + 1
    before, after = ins.c & 255, ins.c >> 8
    end = a + before + after + 1

    def h(R: list) -> int:
        v = R[b]
        try:
            items = list(v)
        except TypeError:
            if not _iterable(v):
                raise TypeError(f"cannot unpack non-iterable {type(v).__name__} object") from None
            raise
        if len(items) < before + after:
            raise ValueError(f"not enough values to unpack (expected at least {before + after}, got {len(items)})")
        stop = len(items) - after
        R[a:end] = [*items[:before], items[before:stop], *items[stop:]]
        return nxt
    return h


@handler("MatchPattern")
def _match_pattern(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    a, b, nxt = ins.a, ins.b, pc + 1
    pattern, first, nvalues, ncaptures = code.consts[ins.c]
    end = a + 1 + ncaptures

    def h(R: list) -> int:
        slots = [None] * ncaptures
        ok = match(pattern, R[b], R[first:first + nvalues], slots)
        R[a] = ok
        if ok:
            R[a + 1:end] = slots
        return nxt
    return h


@handler("DeleteDeref")
def _delete_deref(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    a, name, nxt = ins.a, code.names[ins.b], pc + 1
    is_free = a in code.free_regs

    def h(R: list) -> int:
        cell = R[a]
        if cell.contents is UNBOUND:
            if is_free:
                raise NameError(f"cannot access free variable '{name}' where it is not associated with a value"
                                " in enclosing scope")
            raise UnboundLocalError(f"cannot access local variable '{name}' where it is not associated with a value")
        cell.contents = UNBOUND
        return nxt
    return h


@handler("DeleteName")
def _delete_name(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    name, nxt = code.names[ins.b], pc + 1

    def h(R: list) -> int:
        try:
            del R[0][name]
        except KeyError:
            raise _name_error(name) from None
        return nxt
    return h


class _StarState:
    """The state of one try/except*: the exception caught, what no clause has matched yet, the matches."""

    __slots__ = ("orig", "rest", "matched")

    def __init__(self, orig: BaseException) -> None:
        self.orig = orig
        self.rest: BaseException | None = orig
        self.matched: list[BaseException] = []


@handler("ExceptStarMatch")
def _except_star_match(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    a, b, c, nxt = ins.a, ins.b, ins.c, pc + 1

    def h(R: list) -> int:
        state = R[b]
        if type(state) is not _StarState:
            state = R[b] = _StarState(state)
        t = R[c]
        classes = t if isinstance(t, tuple) else (t,)
        if not all(isinstance(k, type) and issubclass(k, BaseException) for k in classes):
            raise TypeError("catching classes that do not inherit from BaseException is not allowed")
        if any(issubclass(k, BaseExceptionGroup) for k in classes):
            raise TypeError("catching ExceptionGroup with except* is not allowed. Use except instead.")
        rest = state.rest
        matched = None
        if rest is None:
            pass
        elif not isinstance(rest, BaseExceptionGroup):  # a naked exception is wrapped when it matches
            if isinstance(rest, t):
                group = ExceptionGroup if isinstance(rest, Exception) else BaseExceptionGroup
                matched = group("", (rest,))
                state.rest = None
        else:
            matched, state.rest = rest.split(t)
        if matched is not None:
            state.matched.append(matched)
        R[a] = matched
        return nxt
    return h


@handler("ExceptStarReraise")
def _except_star_reraise(vm: VM, code: CodeObject, pc: int, ins: Instr) -> Handler:
    a, b, nxt = ins.a, ins.b, pc + 1

    def h(R: list) -> int:
        state, raised = R[a], R[b]
        if type(state) is not _StarState:  # no clause ran its match (cannot happen) : re-raise as is
            raise state
        combined = _prep_reraise_star(state, raised)
        if combined is None:
            return nxt
        raise combined
    return h


def _leaves(e: BaseException, out: set[int]) -> None:
    if isinstance(e, BaseExceptionGroup):
        for sub in e.exceptions:
            _leaves(sub, out)
    else:
        out.add(id(e))


# CPython before 3.11.4 wrapped a lone new exception raised in an except* clause in ExceptionGroup('', [e]);
# 3.11.4 raises it as is (gh-103590). The oracle is the running host, so its version decides.
_WRAP_LONE_NEW = sys.version_info < (3, 11, 4)


def _prep_reraise_star(state: _StarState, raised: list) -> BaseException | None:
    """CPython 3.11's _PyExc_PrepReraiseStar: exceptions re-raised by bare `raise` and the unmatched rest
    keep the original group's structure; new ones are grouped beside it (one alone is raised as is)."""
    excs = [e for e in raised if e is not None]
    if state.rest is not None:
        excs.append(state.rest)
    if not excs:
        return None
    orig = state.orig
    if not isinstance(orig, BaseExceptionGroup):
        return excs[0]
    new, ids = [], set()
    for e in excs:
        if e is state.rest or any(e is m for m in state.matched):
            _leaves(e, ids)
        else:
            new.append(e)
    reraised = orig.split(lambda leaf: id(leaf) in ids)[0] if ids else None
    if not new:
        return reraised
    if reraised is not None:
        new.append(reraised)
    if len(new) == 1 and not _WRAP_LONE_NEW:
        return new[0]
    return ExceptionGroup("", new) if all(isinstance(e, Exception) for e in new) else BaseExceptionGroup("", new)


_missing = set(OPCODES) - set(HANDLER_FACTORIES)
assert not _missing, f"opcodes without a VM handler: {sorted(_missing)}"
