"""Shared reason enums: why compiled code exited (ExitReason) and why a compile was aborted (AbortReason)."""
from __future__ import annotations

from enum import Enum


class ExitReason(str, Enum):
    """Why compiled code left through a snapshot; stats, logs, dumps and the IR text all use these values."""

    LOOP_EXIT = "loop_exit"  # the loop condition became false: the normal way out
    BREAK = "break"  # a `break` statement
    RETURN = "return"  # a `return` inside the loop
    GUARD_TYPE = "guard_type"  # a slot's tag was not the type the loop was compiled for
    GUARD_VALUE = "guard_value"  # a speculated condition (guard.true/guard.false) failed
    OVERFLOW = "overflow"  # an i64 result would not fit: the interpreter continues with a big int
    ZERO_DIV = "zero_div"  # division or modulo by zero: the interpreter raises ZeroDivisionError
    SHIFT = "shift"  # negative shift count: the interpreter raises ValueError
    RANGE = "range"  # a float->int or int->float conversion out of the exact range
    DOMAIN = "domain"  # a math domain/range error (sqrt(-1), log(0), exp(1000)): the interpreter raises
    UNSUPPORTED = "unsupported"  # the translator met something it does not compile: resume in the interpreter
    INTERRUPT = "interrupt"  # the header interrupt flag was set (Ctrl-C) and seen at a back-edge poll

    def __str__(self) -> str:
        return self.value


class AbortReason(str, Enum):
    """Why a hot loop was not compiled at all (the translator, the passes or a backend gave up)."""

    UNSUPPORTED_OP = "unsupported_op"  # a bytecode the translator cannot express in the IR
    UNSUPPORTED_TYPE = "unsupported_type"  # a live value whose type has no IR type (str, list, object...)
    UNSTABLE_TYPE = "unstable_type"  # a slot's type changes around the loop
    TOO_LARGE = "too_large"  # the loop exceeds the translator's size limits
    TOO_MANY_EXITS = "too_many_exits"  # the loop kept deoptimising and was blacklisted
    CALL = "call"  # the loop calls a function that is not compiled (calls are reserved)
    GENERATOR = "generator"  # yield/await inside the loop
    EXCEPTION = "exception"  # try/except/with inside the loop
    VERIFY = "verify"  # the verifier rejected the IR (a compiler bug: reported, never silent)
    BACKEND = "backend"  # the backend failed to compile the IR
    BACKEND_MISSING = "backend_missing"  # the selected backend or its package is not installed

    def __str__(self) -> str:
        return self.value
