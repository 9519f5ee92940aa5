"""The one table of JIT reasons: each has a stable code (logs, stats, dumps, IR text) and a plain explanation.

* ExitReason: why compiled code left through a snapshot.
* AbortReason: why a hot loop was not compiled at all.
* Unsupported: what a loop does that compiled code does not do (the translator ends that path with
  an exit to the interpreter, reason UNSUPPORTED, and --jit-log names it with its line).
* GiveUp: why the driver stopped entering a compiled loop (blacklisted it) at run time.

Explanations are templates (`str.format` fields in braces) written for a user who wants to know
what to change: they say what the loop does that the JIT does not compile, not how the JIT works.
`--jit-log` and `--stats` print them; `describe()` gives the code and the text together.
"""
from __future__ import annotations

from enum import Enum
from typing import Any

# What compiled loops keep natively; the explanations below refer to it.
NATIVE_VALUES = "ints that fit in 64 bits, floats, bools and lists of them"
NATIVE_CALLS = "range, len, abs, min, max, int, float, bool, round and math functions"


class Reason(str, Enum):
    """A reason: the member's value is its code; `text` is the explanation template."""

    text: str

    def __new__(cls, code: str, text: str) -> Reason:
        obj = str.__new__(cls, code)
        obj._value_ = code
        obj.text = text
        return obj

    def __str__(self) -> str:
        return self.value

    def explain(self, **fields: Any) -> str:
        """The explanation with its fields filled in (missing fields print as '?')."""
        return self.text.format_map(_Fields(fields))


class _Fields(dict):
    def __missing__(self, key: str) -> str:
        return "?"


class ExitReason(Reason):
    """Why compiled code left through a snapshot; stats, logs, dumps and the IR text all use these codes."""

    LOOP_EXIT = ("loop_exit", "the loop ended normally (its condition became false or its range ran out)")
    BREAK = ("break", "a break statement left the loop")
    RETURN = ("return", "a return statement inside the loop")
    GUARD_TYPE = ("guard_type", "a variable held another type than the loop was compiled for")
    GUARD_VALUE = ("guard_value", "a condition the compiled code relied on did not hold")
    OVERFLOW = ("overflow", "an int result did not fit in 64 bits: the interpreter continues with a big int")
    ZERO_DIV = ("zero_div", "a division or modulo by zero: the interpreter raises ZeroDivisionError")
    SHIFT = ("shift", "a shift by a negative count: the interpreter raises ValueError")
    RANGE = ("range", "a number outside the range compiled code handles exactly (an int beyond 2**53 meeting "
                      "a float, a float too big for int(), a list index out of range)")
    DOMAIN = ("domain", "a math function got an argument outside its domain (sqrt(-1), log(0), exp(1000)): "
                        "the interpreter raises")
    UNSUPPORTED = ("unsupported", "the loop reached code the JIT does not compile (see the side-exit lines of "
                                  "--jit-log)")
    INTERRUPT = ("interrupt", "Ctrl-C")
    CALL = ("call", "a compiled call did not return natively (the recursion limit, or the callee left compiled "
                    "code): the interpreter runs the whole call again")


class AbortReason(Reason):
    """Why a hot loop was not compiled at all (the translator, the passes or a backend gave up)."""

    NO_ITERATION = ("no_iteration", "no iteration can run in compiled code: {detail}")
    SMALL = ("small", "entering compiled code would cost more than a call of this function saves: {detail}")
    ARGUMENTS = ("arguments", "it is called with {detail} arguments; compiled functions take ints, floats and "
                              "bools")
    NO_RETURN = ("no_return", "no path through the function returns an int, float or bool in compiled code: {detail}")
    EXCEPTIONS = ("exceptions", "{detail}")
    SHORT_RANGE = ("short_range", "{detail}")
    UNSUPPORTED_OP = ("unsupported_op", "the {backend} backend cannot compile an operation of this loop ({detail})")
    UNSUPPORTED_TYPE = ("unsupported_type", "a value of this loop has no native form ({detail})")
    TOO_LARGE = ("too_large", "the loop is too large to compile ({detail})")
    VERIFY = ("verify", "{detail} (an internal error: the JIT built invalid code; please report it)")
    BACKEND = ("backend", "{detail} (an internal error of the {backend} backend; please report it)")


class Unsupported(Reason):
    """What a loop does that compiled code does not: the path leaves to the interpreter there."""

    BYTECODE = ("bytecode", "{what}; compiled loops do arithmetic and comparisons on " + NATIVE_VALUES)
    VALUE = ("value", "uses {name}, which holds {kind}; compiled loops keep only " + NATIVE_VALUES)
    UNBOUND = ("unbound", "reads {name}, which may not be assigned yet")
    GLOBAL_STORE = ("global_store", "stores {kind} in global {name}; compiled loops keep only " + NATIVE_VALUES)
    OPERATOR = ("operator", "computes {op} on {kind}; compiled loops do {op} only on {native}")
    POWER = ("power", "computes ** with the exponent {name}; compiled loops raise ints only to a constant "
                      "power from 0 to 8")
    ITERATE = ("iterate", "loops over {kind}; compiled for-loops iterate over range() only")
    RANGE_ARGS = ("range_args", "calls range() with {detail}; compiled loops take int bounds and a constant "
                                "nonzero step")
    ATTRIBUTE = ("attribute", "reads attribute .{attr} of {kind}; compiled loops read only math constants")
    SUBSCRIPT = ("subscript", "indexes {name}, which holds {kind}; compiled loops index only lists of "
                              "ints, floats or bools, by an int")
    LIST_STORE = ("list_store", "stores {kind} into list {name}; compiled loops store only ints, floats and "
                                "bools into lists")
    CALL = ("call", "calls {name}(), {kind}; compiled loops call only " + NATIVE_CALLS)
    RETURN_TYPE = ("return_type", "returns {kind}; a compiled function returns the one type it was compiled for")
    UNIT_STORE = ("unit_store", "stores into global {name}; compiled functions have no effects (leaving compiled "
                                "code runs the whole call again in the interpreter)")
    CALL_ARGS = ("call_args", "calls {name}() with {kind}; compiled loops pass only " + NATIVE_VALUES)


class GiveUp(Reason):
    """Why the driver stopped entering a loop's compiled code (blacklisted it) while the program ran."""

    NOT_COMPILED = ("not_compiled", "it could not be compiled: {detail}")
    TYPES_CHANGE = ("types_change", "it was entered with {count} different combinations of variable types")
    SHORT = ("short", "it ran {average:.1f} iterations per entry on average over {entries} entries; entering "
                      "compiled code costs about as much as {entry_cost} interpreted instructions")
    EXIT_STORM = ("exit_storm", "compiled code kept leaving at line {line} after {average:.1f} iterations per "
                                "entry on average: {exit}")
    LIST_COPIES = ("list_copies", "copying lists in and out of compiled code ({elements} elements for "
                                  "{iterations} iterations) costs more than it saves")
    ENTRY_FAILED = ("entry_failed", "its compiled code could not be entered {count} times: {detail}")


def describe(reason: Reason, **fields: Any) -> str:
    """`code: explanation`, the form --jit-log and --stats print."""
    return f"{reason.value}: {reason.explain(**fields)}"


# What each bytecode the translator does not compile does, in user terms (Unsupported.BYTECODE).
# Keys are generic opcode names of bytecode.OPCODES (quickened forms map to theirs); checked below.
BYTECODE_WHAT: dict[str, str] = {
    "CallFunctionKw": "calls a function with keyword arguments",
    "CallMethod": "calls method .{method}()",
    "BuildList": "builds a list",
    "BuildTuple": "builds a tuple",
    "BuildSet": "builds a set",
    "BuildDict": "builds a dict",
    "BuildSlice": "takes a slice",
    "BuildString": "builds an f-string",
    "FormatValue": "formats a value in an f-string",
    "ListAppend": "appends in a comprehension",
    "SetAdd": "adds in a set comprehension",
    "MapAdd": "stores in a dict comprehension",
    "SubscrDelete": "deletes an item",
    "StoreAttr": "assigns attribute .{attr}",
    "DeleteAttr": "deletes attribute .{attr}",
    "MakeFunction": "defines a function or lambda",
    "MakeClass": "defines a class",
    "ImportModule": "imports a module",
    "Raise": "raises an exception",
    "RaiseAssert": "fails an assert",
    "ExceptMatch": "handles an exception",
    "PushExcept": "handles an exception",
    "PopExcept": "handles an exception",
    "Reraise": "handles an exception",
    "UnpackSequence": "unpacks a sequence",
    "DeleteFast": "deletes a variable",
    "DeleteGlobal": "deletes a global",
    "LoadName": "runs a class body",
    "StoreName": "runs a class body",
    "MakeCell": "uses a variable of an enclosing function (a closure)",
    "LoadDeref": "reads a variable of an enclosing function (a closure)",
    "StoreDeref": "assigns a variable of an enclosing function (a closure)",
    "YieldValue": "yields (a generator: the loop suspends there, so it runs in the interpreter)",
    "YieldFrom": "delegates with 'yield from' or 'await' (the loop suspends there)",
    "CallFunctionEx": "calls a function with *args or **kwargs",
    "SetupWith": "enters a 'with' block",
    "WithExit": "leaves a 'with' block",
    "ListExtend": "unpacks with * in a display or call",
    "SetUpdate": "unpacks with * in a set display",
    "DictUpdate": "unpacks with ** in a dict display",
    "DictMerge": "passes **kwargs",
    "ListToTuple": "unpacks with * in a tuple",
    "UnpackEx": "unpacks into a starred target",
    "DeleteDeref": "deletes a variable of an enclosing function",
    "DeleteName": "runs a class body",
    "MatchPattern": "matches a 'match' pattern",
    "GetAIter": "runs 'async for'",
    "GetANext": "runs 'async for'",
    "ExceptStarMatch": "handles an exception with except*",
    "ExceptStarReraise": "handles an exception with except*",
    "CompareIsRR": "compares with 'is'",
    "CompareIsNotRR": "compares with 'is not'",
    "CompareInRR": "tests membership with 'in'",
    "CompareNotInRR": "tests membership with 'not in'",
    "BinaryMatMulRR": "computes @",
    "InplaceMatMulRR": "computes @=",
}


def bytecode_what(code: Any, ins: Any) -> str:
    """What an instruction the translator does not model does, in user terms (BYTECODE_WHAT)."""
    from ..bytecode import GENERIC_OF

    generic = GENERIC_OF.get(ins.op, ins.op)
    text = BYTECODE_WHAT.get(generic, f"runs '{generic}'")
    fields = {}
    if generic == "CallMethod":
        fields["method"] = code.consts[ins.c][0]
    elif generic in ("StoreAttr", "DeleteAttr"):
        fields["attr"] = code.names[ins.b]
    return text.format(**fields)


def _check_bytecode_table() -> None:
    from ..bytecode import OPCODES

    unknown = sorted(set(BYTECODE_WHAT) - set(OPCODES))
    assert not unknown, f"BYTECODE_WHAT names unknown opcodes: {unknown}"


_check_bytecode_table()
