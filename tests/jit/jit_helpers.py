"""Helpers for the JIT-core tests: run one op on the IR interpreter, build small functions."""
from __future__ import annotations

import functools
from typing import Any

from tauraro.backends.conformance import op_case
from tauraro.backends.ir.interp import IRInterpreter
from tauraro.jit.layout import LinearMemory

EXITED = object()
_MEMORY = LinearMemory(1 << 16)
_FRAME = _MEMORY.alloc_frame(8)


@functools.cache
def _prepared(opcode: str, attrs: tuple) -> tuple[IRInterpreter, int]:
    case = op_case(opcode, dict(attrs))
    return IRInterpreter(case.fn, _MEMORY), len(case.fn.snapshots) - 1


def run_op(opcode: str, *args: Any, **attrs: Any) -> Any:
    """The op's result on the IR interpreter, or EXITED if it left through its guard's snapshot."""
    interp, ok_exit = _prepared(opcode, tuple(sorted(attrs.items())))
    for slot, v in enumerate(args):
        assert _MEMORY.write_value(_FRAME, slot, v)
    n = interp.run(_FRAME)
    if n != ok_exit:
        assert n == 1, f"{opcode}{args}: unexpected exit {n}"
        return EXITED
    result = _MEMORY.read_value(_FRAME, len(args))
    return result


# -- random well-formed functions: the one generator lives in tauraro.backends.irgen --------------------

from tauraro.backends.irgen import random_function, random_inputs  # noqa: E402, F401 - re-exported for the tests
