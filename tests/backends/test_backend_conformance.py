"""Backend conformance: every IR snippet runs on each available backend with the IR interpreter's exits and bytes."""
from __future__ import annotations

import shutil

import pytest

from tauraro.backends.base import BACKENDS
from tauraro.backends.conformance import cases, check_backend, reserved_case
from tauraro.errors import TauraroError

# Every registered backend; unavailable ones are skipped with the registry's reason.
BACKEND_NAMES = list(BACKENDS)
CASES = {c.name: c for c in cases()}


@pytest.fixture(params=BACKEND_NAMES)
def backend(request):
    from tauraro.backends.base import get_backend

    try:
        return get_backend(request.param)
    except TauraroError as e:
        pytest.skip(str(e))


@pytest.mark.parametrize("case_name", list(CASES))
def test_snippet_matches_ir_interpreter(backend, case_name):
    if CASES[case_name].lists and not backend.supports_lists:
        pytest.skip(f"backend {backend.name!r} declares supports_lists = False")
    problems = check_backend(backend, CASES[case_name])
    assert not problems, "\n".join(problems[:10])


def test_reserved_ops_raise_not_implemented_naming_the_op(backend):
    case = reserved_case()
    mem = backend.make_memory(1 << 16)
    with pytest.raises(NotImplementedError, match=r"call\.i64"):
        backend.compile(case.fn, mem).run(mem.alloc_frame(1))


def test_release_is_idempotent_and_blocks_run(backend):
    case = CASES["op_add_i64"]
    mem = backend.make_memory(1 << 16)
    loop = backend.compile(case.fn, mem)
    loop.release()
    loop.release()
    with pytest.raises(RuntimeError):
        loop.run(mem.alloc_frame(case.fn.nslots))


def test_capability_flags(backend):
    assert isinstance(backend.name, str) and isinstance(backend.native, bool)
    assert isinstance(backend.polls_interrupt_flag, bool)
    assert "ir" in backend.dump_kinds
    assert backend.target_dumps <= backend.dump_kinds and set(backend.dump_tools) <= backend.dump_kinds
    loop = backend.compile(CASES["op_add_i64"].fn, backend.make_memory(1 << 16))
    for kind in backend.dump_kinds:
        if shutil.which(backend.dump_tools.get(kind, "true")):
            assert loop.dump(kind)
    loop.release()
