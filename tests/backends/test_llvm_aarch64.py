"""LLVM backend on AArch64: assembly on any host, and the emulated check (qemu) when the cross tools are installed."""
from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

pytest.importorskip("llvmlite", reason="the LLVM backend needs llvmlite")

ROOT = Path(__file__).resolve().parents[2]


def _check_module():
    spec = importlib.util.spec_from_file_location("aarch64_check", ROOT / "ci" / "aarch64_check.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["aarch64_check"] = module
    spec.loader.exec_module(module)
    return module


def test_aarch64_assembly_on_any_host():
    from tauraro.backends.conformance import cases
    from tauraro.backends.llvm.engine import aarch64_asm

    case = next(c for c in cases() if c.name == "loop_poll")
    asm = aarch64_asm(case.fn)
    assert "ldar" in asm or "ldr" in asm  # the interrupt flag load
    assert "ret" in asm and "%rsp" not in asm


def test_dump_asm_target_aarch64():
    from tauraro.backends.base import get_backend
    from tauraro.backends.conformance import cases

    backend = get_backend("llvm")
    case = next(c for c in cases() if c.name == "op_floordiv_i64")
    loop = backend.compile(case.fn, backend.make_memory(1 << 16))
    try:
        text = loop.dump("asm", target="aarch64")
        assert "sdiv" in text
    finally:
        loop.release()


@pytest.mark.skipif(shutil.which("qemu-aarch64-static") is None or shutil.which("aarch64-linux-gnu-gcc") is None,
                    reason="needs qemu-aarch64-static and aarch64-linux-gnu-gcc (ci/aarch64-emulated.sh installs them)")
def test_emulated_aarch64_matches_interpreter_and_x86(tmp_path):
    check = _check_module()
    loops = check.conformance_loops(limit=24) + check.random_loops(7, 40)
    programs = sorted((ROOT / "tests" / "programs").glob("loop_*.tr"))[:4] + [ROOT / "bench" / "kernels" / "collatz.tr"]
    loops += check.program_loops([p for p in programs if p.exists()], per_loop=2)
    total, problems = check.check(loops, keep=tmp_path)
    assert total > 1000
    assert not problems, "\n".join(problems[:20])
