"""Every --dump kind x --backend x --target either prints that dump or fails up front with one line.

The matrix runs in-process (a tiny loop compiled at threshold 1); a refusal must be one line, come
before the program prints anything, and any backend it recommends must really produce the dump.
"""
from __future__ import annotations

import contextlib
import functools
import io
import re

import pytest
from backend_matrix import ALL_BACKENDS, backend_status
from corpus import Program, run_cli

import tauraro
from tauraro.backends.base import HOST_TARGET
from tauraro.cli import DUMP_KINDS

SOURCE = "s = 0\nfor i in range(60):\n    s += i * 3\nprint(s)\n"
TARGETS = [None, "host", "aarch64", "riscv64", "riscv", "x86_64"]
# What a dump of each kind looks like; asm is recognised by the target's register names.
KIND_MARKERS = {"bytecode": "LoadConst", "ir": "loop loop_", "ir-passes": "(after dce)", "snapshots": "exit 0:",
                "llvm": "define i64",
                "wat": "(module"}
ASM_MARKERS = {"x86-64": r"%r[a-z0-9]+", "aarch64": r"\b[xw]\d+\b", "riscv64": r"\ba[0-7]\b"}
USE_RE = re.compile(r"; use --backend (?P<names>\w+(?: or \w+)*)$")


@functools.cache
def cpython_output() -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(SOURCE, "<dump-test>", "exec"), {})  # the oracle: CPython runs the same source
    return out.getvalue()


@functools.cache
def attempt(backend: str, kind: str, target: str | None) -> tuple[str | None, str, str]:
    """(error message or None, program output, dump text) of one run."""
    out, dumps = io.StringIO(), io.StringIO()
    try:
        tauraro.run(SOURCE, backend, jit_threshold=1, stdout=out, dump={kind}, dump_stream=dumps, target=target)
    except tauraro.TauraroError as e:
        return str(e), out.getvalue(), dumps.getvalue()
    return None, out.getvalue(), dumps.getvalue()


def _available(backend: str) -> None:
    if backend_status(backend) is not None:
        pytest.skip(f"backend {backend} unavailable: {backend_status(backend)}")


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t or "no-target")
@pytest.mark.parametrize("kind", DUMP_KINDS)
@pytest.mark.parametrize("backend", ALL_BACKENDS)
def test_dump_works_or_refuses_in_one_line(backend: str, kind: str, target: str | None) -> None:
    _available(backend)
    error, output, text = attempt(backend, kind, target)
    if error is not None:
        assert "\n" not in error and error.startswith(("--dump", "--target")), error
        assert f"--dump {kind}" in error or f"--target {target}" in error, error
        assert output == "" and text == "", f"refused after running: {error}"
        m = USE_RE.search(error)
        # A recommended backend must do what this one refused: the dump kind, or asm for the target.
        retry = (kind, None) if error.startswith("--dump") else ("asm", target)
        for other in (m.group("names").split(" or ") if m else []):
            if backend_status(other) is None:
                assert attempt(other, *retry)[0] is None, (
                    f"{error!r} recommends {other}, which refuses too: {attempt(other, *retry)[0]}")
        return
    assert output == cpython_output()
    assert f"== {kind}" in text.lower() or kind == "bytecode", text[:300]
    assert f"(no {kind} dump" not in text, text[:300]
    if kind == "asm":
        arch = HOST_TARGET if target in (None, "host") else {"x86_64": "x86-64"}.get(target, target)
        assert re.search(ASM_MARKERS[arch], text), f"no {arch} code in:\n{text[:500]}"
        for other, pattern in ASM_MARKERS.items():
            if other != arch and other != "riscv64":  # riscv names (a0) are ordinary words elsewhere
                assert not re.search(pattern, text), f"{other} code in the {arch} dump:\n{text[:500]}"
    else:
        assert KIND_MARKERS[kind] in text, text[:300]
    if kind == "llvm" and target not in (None, "host", HOST_TARGET):
        assert 'target triple = "' + {"aarch64": "aarch64", "riscv64": "riscv64"}.get(target, "x86_64") in text


def test_the_reported_combinations() -> None:
    """The three from issue 10: a Python error text, a silent nothing, and a silent nothing."""
    expected_refusals = [("cranelift", "asm", "aarch64"), ("llvm", "asm", "riscv"), ("interp", "llvm", None)]
    for backend, kind, target in expected_refusals:
        if target == HOST_TARGET:  # cranelift emits this machine's code: on AArch64 it is no refusal
            continue
        if backend_status(backend) is None:
            error = attempt(backend, kind, target)[0]
            assert error is not None and "not supported" in error, (backend, kind, target, error)
    if backend_status("llvm") is None:
        assert attempt("llvm", "asm", "aarch64")[0] is None


def test_every_kind_has_a_producer() -> None:
    available = [b for b in ALL_BACKENDS if backend_status(b) is None]
    missing = [k for k in DUMP_KINDS if all(attempt(b, k, None)[0] is not None for b in available)]
    assert set(missing) <= {"llvm", "asm", "wat"} - ({"llvm", "asm"} if "llvm" in available else set()) - (
        {"wat"} if "cranelift" in available else set()), missing


@pytest.mark.slow
def test_cli_refusal_is_one_line_exit_2(tmp_path) -> None:
    path = tmp_path / "loop.tr"
    path.write_text(SOURCE, encoding="utf-8")
    actual = run_cli(Program(path), "--backend", "interp", "--dump", "llvm")
    assert actual.status == 2 and actual.stdout == "", actual
    assert re.fullmatch(r"tauraro: error: --dump llvm is not supported by the interp backend[^\n]*\n", actual.stderr)


def test_a_dump_whose_tool_is_missing_is_refused_up_front(monkeypatch) -> None:
    """cranelift's asm needs objdump: without it, a one-line refusal before anything runs."""
    if backend_status("cranelift") is not None:
        pytest.skip("cranelift unavailable")
    import tauraro.backends.base as base

    monkeypatch.setattr(base.shutil, "which", lambda name: None)
    out = io.StringIO()
    with pytest.raises(tauraro.TauraroError, match=r"^--dump asm on the cranelift backend needs the program 'objdump'"):
        tauraro.run(SOURCE, "cranelift", jit_threshold=1, stdout=out, dump={"asm"}, dump_stream=io.StringIO())
    assert out.getvalue() == ""
