"""The register bytecode: every opcode defined once in OPCODES; code objects and the disassembler derive from it."""
from __future__ import annotations

from bisect import bisect_right
from typing import Any, NamedTuple

from .record import field, record

# Operand kinds: r register, k constant index, n name index, j jump target (pc), i immediate int, - unused.
OPERAND_KINDS = {"r": "register", "k": "constant", "n": "name", "j": "jump target", "i": "immediate", "-": "unused"}


class OpInfo(NamedTuple):
    """One opcode: its name, the kinds of operands a, b, c, what it does, and the generic op it specialises."""

    name: str
    operands: str  # three kind letters for a, b, c
    doc: str
    quickens: str | None = None  # the generic opcode this one is a quickened form of
    flow: str = "next"  # normal-flow successors: "next" pc+1; "jump" the j operand; "branch" both; "stop" none
    operand_type: type | None = None  # a quickened form's operand type (both operands are of it)
    numbers_like: str | None = None  # on two ints or two floats it computes what this op does (in-place ops)
    calls: bool = False  # calls the object in register b (a callee or a method's receiver): arbitrary code runs
    # Tier 1 (tauraro/baseline.py): the host statement(s) of this op, over its operands as host locals
    # ({a}/{b}/{c} registers, {kb} constant b); "@name" names a template method; "" runs the op's VM
    # handler on scratch registers. Quickened forms use their generic op's template; flow ops are structure.
    baseline: str = ""


def _binary(name: str, sym: str) -> OpInfo:
    return OpInfo(name, "rrr", f"R[a] = R[b] {sym} R[c]", baseline=f"{{a}} = {{b}} {sym} {{c}}")


def _inplace(name: str, sym: str) -> OpInfo:
    return OpInfo(name, "rrr", f"R[a] = R[b] {sym}= R[c] (in-place protocol)", numbers_like="Binary" + name[7:],
                  baseline=f"_Bv = {{b}}\n_Bv {sym}= {{c}}\n{{a}} = _Bv")


_OPS: list[OpInfo] = [
    OpInfo("Nop", "---", "do nothing", baseline='pass'),
    OpInfo("LoadConst", "rk-", "R[a] = consts[b]", baseline='{a} = {kb}'),
    OpInfo("Move", "rr-", "R[a] = R[b] (locals live in registers: this is LoadFast/StoreFast)", baseline='{a} = {b}'),
    OpInfo("CheckBound", "rn-", "raise UnboundLocalError if local R[a] (named names[b]) is unassigned", baseline='@check_bound'),
    OpInfo("DeleteFast", "rn-", "unbind local R[a] (named names[b]); error if already unbound", baseline='@check_bound_delete'),
    OpInfo("LoadGlobal", "rn-", "R[a] = globals[names[b]], else builtins, else NameError", baseline='@global_load'),
    OpInfo("StoreGlobal", "rn-", "globals[names[b]] = R[a]", baseline='@global_store'),
    OpInfo("DeleteGlobal", "-n-", "del globals[names[b]]", baseline='@global_delete'),
    OpInfo("LoadName", "rn-", "R[a] = class namespace, globals or builtins [names[b]] (class bodies)"),
    OpInfo("StoreName", "rn-", "class namespace[names[b]] = R[a] (class bodies)"),
    OpInfo("MakeCell", "rr-", "R[a] = a new cell holding R[b] (R[b] may be unbound)", baseline='@make_cell'),
    OpInfo("LoadDeref", "rrn", "R[a] = contents of cell R[b] (variable names[c]); NameError if empty", baseline='@load_deref'),
    OpInfo("StoreDeref", "rr-", "contents of cell R[a] = R[b]", baseline='{a}.contents = {b}'),
    _binary("BinaryAddRR", "+"),
    _binary("BinarySubRR", "-"),
    _binary("BinaryMulRR", "*"),
    _binary("BinaryDivRR", "/"),
    _binary("BinaryFloorDivRR", "//"),
    _binary("BinaryModRR", "%"),
    _binary("BinaryPowRR", "**"),
    _binary("BinaryLShiftRR", "<<"),
    _binary("BinaryRShiftRR", ">>"),
    _binary("BinaryAndRR", "&"),
    _binary("BinaryOrRR", "|"),
    _binary("BinaryXorRR", "^"),
    _binary("BinaryMatMulRR", "@"),
    _inplace("InplaceAddRR", "+"),
    _inplace("InplaceSubRR", "-"),
    _inplace("InplaceMulRR", "*"),
    _inplace("InplaceDivRR", "/"),
    _inplace("InplaceFloorDivRR", "//"),
    _inplace("InplaceModRR", "%"),
    _inplace("InplacePowRR", "**"),
    _inplace("InplaceLShiftRR", "<<"),
    _inplace("InplaceRShiftRR", ">>"),
    _inplace("InplaceAndRR", "&"),
    _inplace("InplaceOrRR", "|"),
    _inplace("InplaceXorRR", "^"),
    _inplace("InplaceMatMulRR", "@"),
    OpInfo("UnaryNeg", "rr-", "R[a] = -R[b]", baseline='{a} = -{b}'),
    OpInfo("UnaryPos", "rr-", "R[a] = +R[b]", baseline='{a} = +{b}'),
    OpInfo("UnaryNot", "rr-", "R[a] = not R[b]", baseline='{a} = not {b}'),
    OpInfo("UnaryInvert", "rr-", "R[a] = ~R[b]", baseline='{a} = ~{b}'),
    OpInfo("CompareLessRR", "rrr", "R[a] = R[b] < R[c]", baseline='{a} = {b} < {c}'),
    OpInfo("CompareLessEqualRR", "rrr", "R[a] = R[b] <= R[c]", baseline='{a} = {b} <= {c}'),
    OpInfo("CompareGreaterRR", "rrr", "R[a] = R[b] > R[c]", baseline='{a} = {b} > {c}'),
    OpInfo("CompareGreaterEqualRR", "rrr", "R[a] = R[b] >= R[c]", baseline='{a} = {b} >= {c}'),
    OpInfo("CompareEqualRR", "rrr", "R[a] = R[b] == R[c]", baseline='{a} = {b} == {c}'),
    OpInfo("CompareNotEqualRR", "rrr", "R[a] = R[b] != R[c]", baseline='{a} = {b} != {c}'),
    OpInfo("CompareIsRR", "rrr", "R[a] = R[b] is R[c]", baseline='{a} = {b} is {c}'),
    OpInfo("CompareIsNotRR", "rrr", "R[a] = R[b] is not R[c]", baseline='{a} = {b} is not {c}'),
    OpInfo("CompareInRR", "rrr", "R[a] = R[b] in R[c]", baseline='{a} = {b} in {c}'),
    OpInfo("CompareNotInRR", "rrr", "R[a] = R[b] not in R[c]", baseline='{a} = {b} not in {c}'),
    OpInfo("Jump", "j--", "pc = a", flow="jump"),
    OpInfo("JumpIfTrue", "rj-", "if R[a] is truthy: pc = b", flow="branch"),
    OpInfo("JumpIfFalse", "rj-", "if R[a] is falsy: pc = b", flow="branch"),
    OpInfo("JumpBack", "ji-", "loop back-edge of loop b to its header a; counts towards hot-loop detection", flow="jump"),
    OpInfo("SetupLoop", "ijj", "marks the start of loop a; its header is at b, its PopBlock at c", baseline='pass'),
    OpInfo("PopBlock", "i--", "marks the normal exit of loop a (else clause and break target follow)", baseline='pass'),
    OpInfo("GetIter", "rr-", "R[a] = iter(R[b])", baseline='{a} = _Biter({b})'),
    OpInfo("GetAIter", "rr-", "R[a] = R[b].__aiter__() ('async for'; TypeError like CPython)"),
    OpInfo("GetANext", "rr-", "R[a] = the awaitable of R[b].__anext__() ('async for')"),
    OpInfo("ForIter", "rrj", "R[a] = next(R[b]), or pc = c when the iterator is exhausted", flow="branch"),
    OpInfo("UnpackSequence", "rri", "R[a..a+c-1] = the c items of R[b] (ValueError like Python otherwise)", baseline='@unpack'),
    OpInfo("CallFunction", "rri", "R[a] = R[b](R[b+1], ..., R[b+c])", calls=True, baseline='@call'),
    OpInfo("CallFunctionKw", "rrk", "R[a] = R[b](positional..., name=value...) with (argc, kwnames) = consts[c]", calls=True, baseline='@call_kw'),
    OpInfo("CallMethod", "rrk", "R[a] = R[b].name(R[b+1], ..., R[b+argc]) with (name, argc, kwnames) = consts[c]", calls=True, baseline='@call_method'),
    OpInfo("CallFunctionEx", "rri", "R[a] = R[b](*R[b+1]) (c = 0) or R[b](*R[b+1], **R[b+2]) (c = 1)", calls=True),
    OpInfo("ReturnValue", "r--", "return R[a] from the current function", flow="stop"),
    OpInfo("YieldValue", "rr-", "suspend the generator frame producing R[a]; on resume R[b] = the value sent",
           baseline="@yield"),
    OpInfo("YieldFrom", "rri", "delegate to R[a] (c = 0: iter(R[a]), yield from; c = 1: its awaitable, await); "
                               "R[b] = the delegate's return value", baseline="@yield_from"),
    OpInfo("SetupWith", "rri", "enter context manager R[b]: R[a] = its bound __exit__, R[a+1] = __enter__() "
                               "(c = 1: async, R[a+1] = the awaitable of __aenter__())"),
    OpInfo("WithExit", "rrr", "R[a] = R[b](None, None, None) (c < 0) or R[b](type(e), e, e.__traceback__), e = R[c]"),
    OpInfo("ListExtend", "rr-", "R[a].extend(R[b]) (star unpacking in displays and calls)"),
    OpInfo("SetUpdate", "rr-", "R[a].update(R[b]) (star unpacking in set displays)"),
    OpInfo("DictUpdate", "rr-", "R[a].update(R[b]) ('**' in dict displays; TypeError like CPython)"),
    OpInfo("DictMerge", "rri", "R[a] |= R[b] for '**' in a call to R[c] (duplicate keywords are a TypeError)"),
    OpInfo("ListToTuple", "rr-", "R[a] = tuple(R[b])", baseline='{a} = _Btuple({b})'),
    OpInfo("UnpackEx", "rri", "R[a..] = R[b] unpacked around a starred target: c = before + 256 * after"),
    OpInfo("MatchPattern", "rrk", "R[a] = whether R[b] matches the pattern of consts[c] = (pattern, first value "
                                  "register, values, captures) (tauraro/matching.py); captures in R[a+1...]"),
    OpInfo("DeleteDeref", "rn-", "empty cell R[a] (variable names[b]); NameError if already empty"),
    OpInfo("DeleteName", "-n-", "del class namespace[names[b]] (class bodies)"),
    OpInfo("BuildList", "rri", "R[a] = [R[b], ..., R[b+c-1]]", baseline='@build_list'),
    OpInfo("BuildTuple", "rri", "R[a] = (R[b], ..., R[b+c-1])", baseline='@build_tuple'),
    OpInfo("BuildSet", "rri", "R[a] = {R[b], ..., R[b+c-1]}", baseline='@build_set'),
    OpInfo("BuildDict", "rri", "R[a] = {R[b]: R[b+1], ...} with c key/value pairs", baseline='@build_dict'),
    OpInfo("BuildSlice", "rri", "R[a] = slice(R[b], ..., R[b+c-1]) with c in (2, 3)"),
    OpInfo("BuildString", "rri", "R[a] = ''.join(R[b], ..., R[b+c-1]) (f-strings)", baseline='@build_string'),
    OpInfo("FormatValue", "rri", "R[a] = format(conversion(R[b]), spec); c = conversion*2 + has_spec, spec in R[b+1]"),
    OpInfo("ListAppend", "rr-", "R[a].append(R[b]) (comprehensions)", baseline='{a}.append({b})'),
    OpInfo("SetAdd", "rr-", "R[a].add(R[b]) (comprehensions)", baseline='{a}.add({b})'),
    OpInfo("MapAdd", "rrr", "R[a][R[b]] = R[c] (comprehensions)", baseline='{a}[{b}] = {c}'),
    OpInfo("SubscrLoad", "rrr", "R[a] = R[b][R[c]]", baseline='{a} = {b}[{c}]'),
    OpInfo("SubscrStore", "rrr", "R[a][R[b]] = R[c]", baseline='{a}[{b}] = {c}'),
    OpInfo("SubscrDelete", "rr-", "del R[a][R[b]]", baseline='del {a}[{b}]'),
    OpInfo("LoadAttr", "rrn", "R[a] = R[b].names[c]", baseline='@attr_load'),
    OpInfo("StoreAttr", "rnr", "R[a].names[b] = R[c]", baseline='@attr_store'),
    OpInfo("DeleteAttr", "rn-", "del R[a].names[b]"),
    OpInfo("MakeFunction", "rkr", "R[a] = function of code consts[b]; R[c...] = defaults, keyword-only defaults, "
                                  "the annotations dict (if any), cells"),
    OpInfo("MakeClass", "rkr", "R[a] = class from body code consts[b]; R[c] = bases tuple, R[c+1] = keywords "
                               "dict, cells in R[c+2...]"),
    OpInfo("ImportModule", "rn-", "R[a] = the module names[b] (leading dots: relative; see tauraro/modules.py)"),
    OpInfo("ImportFrom", "rrn", "R[a] = attribute names[c] of module R[b] ('*': all public names into the globals)"),
    OpInfo("Raise", "rr-", "raise R[a] (a < 0: re-raise the exception being handled) from R[b] (b < 0: no cause)", flow="stop"),
    OpInfo("RaiseAssert", "r--", "raise AssertionError(R[a]) (a < 0: no message)", flow="stop"),
    OpInfo("ExceptMatch", "rrr", "R[a] = isinstance(R[b], R[c]) for an except clause (TypeError if R[c] is no class)"),
    OpInfo("PushExcept", "r--", "enter an except block handling R[a] (for bare raise)"),
    OpInfo("PopExcept", "---", "leave the innermost except block"),
    OpInfo("ExceptStarMatch", "rrr", "except*: R[a] = the part of the exception left in state R[b] that matches "
                                     "R[c] (None: no match); R[b] becomes the state on first use"),
    OpInfo("ExceptStarReraise", "rr-", "after except* clauses: raise what is left in state R[a] combined with what "
                                       "the handlers raised (list R[b]) as CPython does; nothing left: go on"),
    OpInfo("Reraise", "r--", "re-raise R[a] keeping its traceback (end of finally / unmatched except)", flow="stop"),
    # Quickened forms: the interpreter rewrites a generic op into one of these after seeing the types it
    # names, and back when the guess fails. They are the type profile the JIT reads.
    OpInfo("FastIntAdd", "rrr", "R[a] = R[b] + R[c] for two ints", "BinaryAddRR", operand_type=int),
    OpInfo("FastIntSub", "rrr", "R[a] = R[b] - R[c] for two ints", "BinarySubRR", operand_type=int),
    OpInfo("FastIntMul", "rrr", "R[a] = R[b] * R[c] for two ints", "BinaryMulRR", operand_type=int),
    OpInfo("FastIntFloorDiv", "rrr", "R[a] = R[b] // R[c] for two ints", "BinaryFloorDivRR", operand_type=int),
    OpInfo("FastIntMod", "rrr", "R[a] = R[b] % R[c] for two ints", "BinaryModRR", operand_type=int),
    OpInfo("FastFloatAdd", "rrr", "R[a] = R[b] + R[c] for two floats", "BinaryAddRR", operand_type=float),
    OpInfo("FastFloatSub", "rrr", "R[a] = R[b] - R[c] for two floats", "BinarySubRR", operand_type=float),
    OpInfo("FastFloatMul", "rrr", "R[a] = R[b] * R[c] for two floats", "BinaryMulRR", operand_type=float),
    OpInfo("FastFloatDiv", "rrr", "R[a] = R[b] / R[c] for two floats", "BinaryDivRR", operand_type=float),
    OpInfo("FastIntLess", "rrr", "R[a] = R[b] < R[c] for two ints", "CompareLessRR", operand_type=int),
    OpInfo("FastIntLessEqual", "rrr", "R[a] = R[b] <= R[c] for two ints", "CompareLessEqualRR", operand_type=int),
    OpInfo("FastIntGreater", "rrr", "R[a] = R[b] > R[c] for two ints", "CompareGreaterRR", operand_type=int),
    OpInfo("FastIntGreaterEqual", "rrr", "R[a] = R[b] >= R[c] for two ints", "CompareGreaterEqualRR", operand_type=int),
    OpInfo("FastIntEqual", "rrr", "R[a] = R[b] == R[c] for two ints", "CompareEqualRR", operand_type=int),
    OpInfo("FastIntNotEqual", "rrr", "R[a] = R[b] != R[c] for two ints", "CompareNotEqualRR", operand_type=int),
    OpInfo("FastFloatLess", "rrr", "R[a] = R[b] < R[c] for two floats", "CompareLessRR", operand_type=float),
    OpInfo("FastFloatGreater", "rrr", "R[a] = R[b] > R[c] for two floats", "CompareGreaterRR", operand_type=float),
    OpInfo("FastForIterRange", "rrj", "ForIter over a range iterator", "ForIter", flow="branch"),
    OpInfo("FastForIterList", "rrj", "ForIter over a list iterator", "ForIter", flow="branch"),
]

OPCODES: dict[str, OpInfo] = {op.name: op for op in _OPS}
assert len(OPCODES) == len(_OPS), "duplicate opcode name"
OPCODE_NAMES: list[str] = [op.name for op in _OPS]

# Derived sets: no `if op in (...)` chains elsewhere.
QUICKENED: dict[str, list[str]] = {}
for _op in _OPS:
    if _op.quickens:
        QUICKENED.setdefault(_op.quickens, []).append(_op.name)
GENERIC_OF: dict[str, str] = {op.name: op.quickens for op in _OPS if op.quickens}
JUMPS: frozenset[str] = frozenset(op.name for op in _OPS if "j" in op.operands)
CALLS: frozenset[str] = frozenset(op.name for op in _OPS if op.calls)  # callee/receiver in b
FLOWS = ("next", "jump", "branch", "stop")
assert all(op.flow in FLOWS and (op.flow in ("next", "stop") or "j" in op.operands) for op in _OPS)
QUICK_TYPES: dict[str, type] = {op.name: op.operand_type for op in _OPS if op.operand_type is not None}


class Instr:
    """One instruction: opcode name, operands a, b, c, and the source line it came from."""

    __slots__ = ("op", "a", "b", "c", "line")

    def __init__(self, op: str, a: int = 0, b: int = 0, c: int = 0, line: int = 0) -> None:
        assert op in OPCODES, op
        self.op = op
        self.a = a
        self.b = b
        self.c = c
        self.line = line

    def __repr__(self) -> str:
        return f"Instr({self.op}, {self.a}, {self.b}, {self.c}, line={self.line})"


@record
class ExceptEntry:
    """Instructions in [start, end) that raise jump to `handler` with the exception in register `reg`."""

    start: int
    end: int
    handler: int
    reg: int
    handled_depth: int = 0  # how many except blocks were active at the try: restored on entry


@record
class LoopInfo:
    """A loop's markers: SetupLoop at `setup`, header at `header`, PopBlock at `pop`."""

    loop_id: int
    setup: int
    header: int
    pop: int
    line: int
    kind: str  # "while" or "for"


@record
class CodeObject:
    """A compiled function, class body, comprehension or module."""

    name: str
    qualname: str
    filename: str
    firstline: int
    kind: str  # "module", "function", "class", "lambda", "comprehension", "genexpr"
    instrs: list[Instr] = field(default_factory=list)
    consts: list[Any] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    nregs: int = 0
    params: list[str] = field(default_factory=list)  # parameter names, registers 0..len-1
    ndefaults: int = 0
    # The signature beyond plain positional parameters: params are the positional ones (posonly
    # first), then the keyword-only ones, then *args, then **kwargs, as CPython's co_varnames.
    argcount: int = 0  # positional parameters (including positional-only)
    posonlycount: int = 0
    kwonlycount: int = 0
    varargs: bool = False
    varkw: bool = False
    kwdefault_names: tuple[str, ...] = ()  # keyword-only parameters with a default, in MakeFunction order
    annotations: bool = False  # MakeFunction passes an annotations dict
    is_coroutine: bool = False
    simple: bool = True  # positional parameters only, not a generator or coroutine: the fast call paths apply
    docstring: object = None
    local_names: dict[int, str] = field(default_factory=dict)  # register -> local variable name
    cell_params: list[tuple[int, int]] = field(default_factory=list)  # (param reg, cell reg)
    free_regs: list[int] = field(default_factory=list)  # registers that receive the closure's cells
    except_table: list[ExceptEntry] = field(default_factory=list)
    loops: list[LoopInfo] = field(default_factory=list)
    is_generator: bool = False
    # Filled by the VM: per-instruction handlers, hot-loop counters.
    runtime: Any = None
    # The namespace its global names live in: an imported module's dict (None: the VM's main globals).
    globals: Any = None

    def register_name(self, reg: int) -> str:
        return self.local_names.get(reg, f"r{reg}")

    def line_of(self, pc: int) -> int:
        if 0 <= pc < len(self.instrs):
            return self.instrs[pc].line
        return self.firstline

    def handler_for(self, pc: int) -> ExceptEntry | None:
        for entry in self.except_table:  # innermost first
            if entry.start <= pc < entry.end:
                return entry
        return None

    def children(self) -> list[CodeObject]:
        return [c for c in self.consts if isinstance(c, CodeObject)]


def format_operand(code: CodeObject, kind: str, value: int) -> str:
    if kind == "r":
        return code.register_name(value) if value >= 0 else "-"
    if kind == "k":
        const = code.consts[value]
        if isinstance(const, CodeObject):
            return f"<code {const.qualname}>"
        return repr(const)
    if kind == "n":
        return code.names[value]
    if kind == "j":
        return f"->{value}"
    return str(value)


def disassemble(code: CodeObject, *, recursive: bool = True) -> str:
    """Human-readable listing of a code object (and the code objects it contains)."""
    out = [f"== {code.kind} {code.qualname} ({code.filename}:{code.firstline}) "
           f"regs={code.nregs} params={code.params}"]
    last_line = None
    for pc, ins in enumerate(code.instrs):
        info = OPCODES[ins.op]
        shown = [format_operand(code, k, v) for k, v in zip(info.operands, (ins.a, ins.b, ins.c)) if k != "-"]
        line = f"{ins.line:>5}" if ins.line != last_line else "     "
        last_line = ins.line
        out.append(f"{line} {pc:>5}  {ins.op:<22} {', '.join(shown)}")
    for e in code.except_table:
        out.append(f"  except [{e.start}, {e.end}) -> {e.handler} exc in {code.register_name(e.reg)}")
    text = "\n".join(out)
    if recursive:
        for child in code.children():
            text += "\n\n" + disassemble(child)
    return text


# ---- register effects and successors (used by liveness analysis and the JIT's region extraction) -----
# The default for an op whose operands are registers: `a` is written, `b` and `c` are read. Ops that
# deviate are listed here, each with a function giving (registers read, registers written).
def _span(start: int, count: int) -> list[int]:
    return list(range(start, start + count))


def _call_kw_span(ins: Instr, code: CodeObject) -> list[int]:
    npos, kwnames = code.consts[ins.c]
    return _span(ins.b, 1 + npos + len(kwnames))


def _call_method_span(ins: Instr, code: CodeObject) -> list[int]:
    _name, npos, kwnames = code.consts[ins.c]
    return _span(ins.b, 1 + npos + len(kwnames))


def _make_function_span(ins: Instr, code: CodeObject) -> list[int]:
    f = code.consts[ins.b]
    return _span(ins.c, f.ndefaults + len(f.kwdefault_names) + f.annotations + len(f.free_regs))


def _opt(*regs: int) -> list[int]:
    return [r for r in regs if r >= 0]


REGISTER_EFFECTS = {
    "CheckBound": lambda i, c: ([i.a], []),
    "DeleteFast": lambda i, c: ([i.a], [i.a]),
    "StoreGlobal": lambda i, c: ([i.a], []),
    "DeleteGlobal": lambda i, c: ([], []),
    "LoadGlobal": lambda i, c: ([], [i.a]),
    "LoadName": lambda i, c: ([0], [i.a]),
    "StoreName": lambda i, c: ([i.a, 0], []),
    "MakeCell": lambda i, c: (_opt(i.b), [i.a]),
    "LoadDeref": lambda i, c: ([i.b], [i.a]),
    "StoreDeref": lambda i, c: ([i.a, i.b], []),
    "LoadConst": lambda i, c: ([], [i.a]),
    "Move": lambda i, c: ([i.b], [i.a]),
    "Jump": lambda i, c: ([], []),
    "JumpBack": lambda i, c: ([], []),
    "JumpIfTrue": lambda i, c: ([i.a], []),
    "JumpIfFalse": lambda i, c: ([i.a], []),
    "SetupLoop": lambda i, c: ([], []),
    "PopBlock": lambda i, c: ([], []),
    "Nop": lambda i, c: ([], []),
    "GetIter": lambda i, c: ([i.b], [i.a]),
    "GetAIter": lambda i, c: ([i.b], [i.a]),
    "GetANext": lambda i, c: ([i.b], [i.a]),
    "UnpackSequence": lambda i, c: ([i.b], _span(i.a, i.c)),
    "CallFunction": lambda i, c: (_span(i.b, 1 + i.c), [i.a]),
    "CallFunctionKw": lambda i, c: (_call_kw_span(i, c), [i.a]),
    "CallMethod": lambda i, c: (_call_method_span(i, c), [i.a]),
    "ReturnValue": lambda i, c: ([i.a], []),
    "YieldValue": lambda i, c: ([i.a], [i.b]),
    "YieldFrom": lambda i, c: ([i.a], [i.b]),
    "CallFunctionEx": lambda i, c: (_span(i.b, 2 + i.c), [i.a]),
    "SetupWith": lambda i, c: ([i.b], [i.a, i.a + 1]),
    "WithExit": lambda i, c: (_opt(i.b, i.c), [i.a]),
    "ListExtend": lambda i, c: ([i.a, i.b], []),
    "SetUpdate": lambda i, c: ([i.a, i.b], []),
    "DictUpdate": lambda i, c: ([i.a, i.b], []),
    "DictMerge": lambda i, c: ([i.a, i.b, i.c], []),
    "ListToTuple": lambda i, c: ([i.b], [i.a]),
    "UnpackEx": lambda i, c: ([i.b], _span(i.a, (i.c & 255) + (i.c >> 8) + 1)),
    "DeleteDeref": lambda i, c: ([i.a], []),
    "MatchPattern": lambda i, c: ([i.b, *_span(c.consts[i.c][1], c.consts[i.c][2])], _span(i.a, 1 + c.consts[i.c][3])),
    "DeleteName": lambda i, c: ([0], []),
    "ExceptStarMatch": lambda i, c: ([i.b, i.c], [i.a, i.b]),
    "ExceptStarReraise": lambda i, c: ([i.a, i.b], []),
    "BuildDict": lambda i, c: (_span(i.b, 2 * i.c), [i.a]),
    "FormatValue": lambda i, c: ([i.b, i.b + 1] if i.c & 1 else [i.b], [i.a]),
    "ListAppend": lambda i, c: ([i.a, i.b], []),
    "SetAdd": lambda i, c: ([i.a, i.b], []),
    "MapAdd": lambda i, c: ([i.a, i.b, i.c], []),
    "SubscrStore": lambda i, c: ([i.a, i.b, i.c], []),
    "SubscrDelete": lambda i, c: ([i.a, i.b], []),
    "LoadAttr": lambda i, c: ([i.b], [i.a]),
    "StoreAttr": lambda i, c: ([i.a, i.c], []),
    "DeleteAttr": lambda i, c: ([i.a], []),
    "MakeFunction": lambda i, c: (_make_function_span(i, c), [i.a]),
    "MakeClass": lambda i, c: (_span(i.c, 2 + len(c.consts[i.b].free_regs)), [i.a]),
    "ImportModule": lambda i, c: ([], [i.a]),
    "ImportFrom": lambda i, c: ([i.b], [i.a]),
    "Raise": lambda i, c: (_opt(i.a, i.b), []),
    "RaiseAssert": lambda i, c: (_opt(i.a), []),
    "PushExcept": lambda i, c: ([i.a], []),
    "PopExcept": lambda i, c: ([], []),
    "Reraise": lambda i, c: ([i.a], []),
}
for _name in ("BuildList", "BuildTuple", "BuildSet", "BuildSlice", "BuildString"):
    REGISTER_EFFECTS[_name] = lambda i, c: (_span(i.b, i.c), [i.a])
for _name in ("UnaryNeg", "UnaryPos", "UnaryNot", "UnaryInvert"):
    REGISTER_EFFECTS[_name] = lambda i, c: ([i.b], [i.a])
for _name in ("ForIter", *QUICKENED["ForIter"]):
    REGISTER_EFFECTS[_name] = lambda i, c: ([i.b], [i.a])
for _info in _OPS:
    if _info.name not in REGISTER_EFFECTS:
        assert _info.operands == "rrr", f"{_info.name} needs an explicit register-effect rule"
        REGISTER_EFFECTS[_info.name] = lambda i, c: ([i.b, i.c], [i.a])


def register_effects(ins: Instr, code: CodeObject) -> tuple[list[int], list[int]]:
    """(registers read, registers written) by one instruction."""
    return REGISTER_EFFECTS[ins.op](ins, code)


def successors(ins: Instr, pc: int) -> list[int]:
    """Normal-flow successor pcs of the instruction at pc (exception edges not included), from its flow."""
    info = OPCODES[ins.op]
    flow = info.flow
    if flow == "next":
        return [pc + 1]
    if flow == "stop":
        return []
    target = getattr(ins, "abc"[info.operands.index("j")])
    return [target] if flow == "jump" else [pc + 1, target]


# Ops whose register write happens only on the fall-through edge: an exhausted ForIter jumps away
# and leaves its target as it was (CPython: the loop variable keeps its last value after the loop).
DEFS_ON_FALLTHROUGH: frozenset[str] = frozenset(op.name for op in _OPS if op.operands == "rrj")
# Blocks up to this many instructions keep their per-pc live sets once asked (the JIT asks about
# every pc of a loop); longer ones are straight-line code (big literals) walked per query.
CACHED_BLOCK_LEN = 256


def _bits(regs: list[int]) -> int:
    out = 0
    for r in regs:
        out |= 1 << r
    return out


def bits_to_set(bits: int) -> frozenset[int]:
    """The register numbers of a bit set (bit r set = register r)."""
    out = []
    while bits:
        low = bits & -bits
        out.append(low.bit_length() - 1)
        bits ^= low
    return frozenset(out)


class Liveness:
    """Registers live before each pc, as bit sets (Python ints: bit r = register r).

    Memory is linear in the code size: the fixpoint keeps one bit set per basic block, and the
    per-pc sets are materialised only for the blocks someone asks about (a hot loop's region and
    its exit targets), not for the whole code object. (The previous version kept a Python set per
    pc: 2.75 GB for an 8,000-element list literal beside a hot loop.)

    Rules: an op reads its registers before writing them; an op inside a try range also has an
    edge to its handler, on which it kills nothing (it may raise before writing) but the VM writes
    the handler's exception register; a DEFS_ON_FALLTHROUGH op (ForIter) writes its target only on
    the fall-through edge.
    """

    def __init__(self, code: CodeObject) -> None:
        self.code = code
        n = len(code.instrs)
        self._handler = self._handlers(code)
        leaders = {0}
        for pc, ins in enumerate(code.instrs):
            succ = successors(ins, pc)
            if succ != [pc + 1]:
                leaders.update(s for s in succ if s < n)
                leaders.add(pc + 1)
        for entry in code.except_table:
            leaders.add(entry.handler)
        self._starts = sorted(p for p in leaders if p < n)
        self._block_of_start = {start: k for k, start in enumerate(self._starts)}
        self._ends = self._starts[1:] + [n]
        self._live_in = [0] * len(self._starts)
        self._cache: dict[int, list[int]] = {}  # block -> live bit set per pc of the block
        self._solve()

    @staticmethod
    def _handlers(code: CodeObject) -> list[tuple[int, int]]:
        """(handler pc, exception register) of each pc ((-1, -1): none), innermost entry first as in
        CodeObject.handler_for."""
        handler = [(-1, -1)] * len(code.instrs)
        for entry in reversed(code.except_table):  # earlier (inner) entries overwrite later ones
            for pc in range(entry.start, min(entry.end, len(handler))):
                handler[pc] = (entry.handler, entry.reg)
        return handler

    def _live_of(self, pc: int) -> int:
        """Live-in of the block starting at pc (0 past the end)."""
        k = self._block_of_start.get(pc)
        return self._live_in[k] if k is not None else 0

    def _transfer(self, pc: int, after: int) -> int:
        """Live before pc, given `after`, the live set on its fall-through edge (the next pc in the block)."""
        code = self.code
        ins = code.instrs[pc]
        uses, defs = register_effects(ins, code)
        out = after & ~_bits(defs)
        if ins.op in DEFS_ON_FALLTHROUGH:
            out |= self._live_of(ins.c)  # exhausted: the target keeps its value
        handler, exc_reg = self._handler[pc]
        if handler >= 0:
            # The exception edge: the op may raise before writing anything, so nothing is killed
            # on it; the VM writes the exception register on the way to the handler.
            out |= self._live_of(handler) & ~(1 << exc_reg)
        return out | _bits(uses)

    def _block_out(self, k: int) -> int:
        """Live set after block k's last instruction on its normal edges (for a DEFS_ON_FALLTHROUGH
        op only the fall-through one: _transfer adds the other)."""
        end = self._ends[k]
        last = end - 1
        ins = self.code.instrs[last]
        out = 0
        for s in successors(ins, last):
            if s == last + 1 or ins.op not in DEFS_ON_FALLTHROUGH:
                out |= self._live_of(s)
        return out

    def _sweep(self, k: int, stop: int | None = None, keep: bool = False) -> list[int]:
        """Walk block k backwards from its end down to pc `stop` (default: its start); returns the
        live set before `stop`, or with `keep` the live set before every pc of the block."""
        start, end = self._starts[k], self._ends[k]
        stop = start if stop is None else stop
        kept = [0] * (end - start) if keep else []
        after = self._block_out(k)
        for pc in range(end - 1, stop - 1, -1):
            after = self._transfer(pc, after)
            if keep:
                kept[pc - start] = after
        return kept if keep else [after]

    def _solve(self) -> None:
        changed = True
        while changed:  # round-robin in reverse order: converges in loop-nesting-depth + 2 rounds
            changed = False
            for k in range(len(self._starts) - 1, -1, -1):
                new = self._sweep(k)[0]
                if new != self._live_in[k]:
                    self._live_in[k] = new
                    changed = True

    def bits(self, pc: int) -> int:
        """Registers live before pc as a bit set (0 for pcs past the end)."""
        if not 0 <= pc < len(self.code.instrs):
            return 0
        k = bisect_right(self._starts, pc) - 1
        start = self._starts[k]
        if self._ends[k] - start > CACHED_BLOCK_LEN:
            return self._sweep(k, pc)[0]  # a long straight-line block (a big literal): walk, keep nothing
        block = self._cache.get(k)
        if block is None:
            block = self._cache[k] = self._sweep(k, keep=True)
        return block[pc - start]

    def live(self, pc: int) -> frozenset[int]:
        """Registers live before pc."""
        return bits_to_set(self.bits(pc))

    def is_live(self, pc: int, reg: int) -> bool:
        return reg >= 0 and bool(self.bits(pc) >> reg & 1)


def liveness(code: CodeObject) -> Liveness:
    """The liveness of a code object (computed once per code object and cached on it)."""
    cached = getattr(code, "_liveness", None)
    if cached is None:
        cached = code._liveness = Liveness(code)
    return cached
