"""Backend registry and the ir backend: lazy loading, one-line TauraroErrors, compile/run/release/dump."""
from __future__ import annotations

import pytest

from tauraro.backends import base
from tauraro.backends.base import Backend, get_backend
from tauraro.backends.conformance import _counting_loop, prepare_window
from tauraro.errors import TauraroError


def test_ir_backend_is_always_available():
    backend = get_backend("ir")
    assert backend is get_backend("ir") and isinstance(backend, Backend)
    assert (backend.name, backend.native, backend.polls_interrupt_flag) == ("ir", False, True)
    assert "ir" in base.available_backends()


def test_unknown_backend_is_a_one_line_tauraro_error():
    with pytest.raises(TauraroError) as info:
        get_backend("gpu")
    assert "\n" not in str(info.value) and "unknown JIT backend 'gpu'" in str(info.value)


def test_missing_package_and_module_are_tauraro_errors(monkeypatch):
    monkeypatch.setitem(base.BACKENDS, "fake", base.BackendSpec("tauraro.backends.nope", "Nope", ("no_such_pkg_xyz",)))
    with pytest.raises(TauraroError, match="needs the Python package 'no_such_pkg_xyz'"):
        get_backend("fake")
    monkeypatch.setitem(base.BACKENDS, "fake", base.BackendSpec("tauraro.backends.nope", "Nope"))
    with pytest.raises(TauraroError, match="cannot import tauraro.backends.nope"):
        get_backend("fake")
    monkeypatch.setitem(base.BACKENDS, "fake", base.BackendSpec("tauraro.backends.ir", "Nope"))
    with pytest.raises(TauraroError, match="defines no Nope"):
        get_backend("fake")


def test_alias_resolves():
    assert base.canonical_name("wasm") == "cranelift"


def test_ir_backend_runs_releases_and_dumps():
    backend = get_backend("ir")
    fn = _counting_loop("loop", poll=True)
    mem = backend.make_memory(1 << 14)
    loop = backend.compile(fn, mem)
    frame = mem.alloc_frame(fn.nslots)
    prepare_window(mem, frame, fn.nslots, (0, 10), interrupt=False)
    n = loop.run(frame)
    assert fn.snapshots[n].reason.value == "loop_exit"
    assert mem.read_value(frame, 0) == 10 and mem.read_value(frame, 2) == sum(i * 0.5 for i in range(10))
    assert mem.iterations(frame) == 10 and mem.exit_number(frame) == n
    assert mem.read_value(frame, 3) is True
    assert mem.read_value(frame, 1) == 10  # not in the exit snapshot: untouched
    prepare_window(mem, frame, fn.nslots, (0, 10), interrupt=True)
    n = loop.run(frame)
    assert fn.snapshots[n].reason.value == "interrupt" and mem.read_value(frame, 0) == 1
    assert "loop loop" in loop.dump("ir")
    with pytest.raises(ValueError):
        loop.dump("asm")
    loop.release()
    with pytest.raises(RuntimeError):
        loop.run(frame)
