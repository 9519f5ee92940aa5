"""Every backend: ops with constant operands (what each lowering folds or specialises) match the IR interpreter."""
from __future__ import annotations

import pytest

from tauraro.backends.base import BACKENDS
from tauraro.backends.conformance import (
    BINARY_OPS,
    UNARY_OPS,
    all_const_cases,
    check_backend,
    const_operand_cases,
    unary_const_cases,
)
from tauraro.errors import TauraroError


@pytest.fixture(scope="module", params=list(BACKENDS))
def backend(request):
    from tauraro.backends.base import get_backend

    try:
        get_backend(request.param)
    except TauraroError as e:
        pytest.skip(str(e))
    if request.param == "cranelift":
        from tauraro.backends.wasm import WasmBackend

        return WasmBackend(use_cache=False)  # thousands of one-off modules: keep them out of the cache
    return get_backend(request.param)


def _check(backend, cases) -> None:
    problems = []
    for case in cases:
        problems += check_backend(backend, case)
    assert not problems, "\n".join(problems[:10])


@pytest.mark.parametrize("opcode", BINARY_OPS)
def test_one_constant_operand(backend, opcode):
    _check(backend, const_operand_cases(opcode))


@pytest.mark.parametrize("opcode", BINARY_OPS)
def test_all_constant_operands(backend, opcode):
    _check(backend, all_const_cases(opcode))


@pytest.mark.parametrize("opcode", UNARY_OPS)
def test_unary_constant_operand(backend, opcode):
    _check(backend, unary_const_cases(opcode))
