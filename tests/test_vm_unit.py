"""Unit tests that need no JIT: the opcode table and what derives from it, quickening, the CLI contract."""
from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time

import pytest

import tauraro
from tauraro.backends.base import BACKENDS, INTERPRETER
from tauraro.bytecode import GENERIC_OF, OPCODES, QUICKENED, disassemble, register_effects
from tauraro.compiler import compile_source
from tauraro.vm import HANDLER_FACTORIES, VM


def test_every_opcode_has_a_handler_and_valid_operands() -> None:
    assert set(HANDLER_FACTORIES) == set(OPCODES)
    for info in OPCODES.values():
        assert len(info.operands) == 3 and set(info.operands) <= set("rknji-")
        assert info.doc
        if info.quickens:
            assert info.quickens in OPCODES and info.name in QUICKENED[info.quickens]


def test_disassembler_shows_names_and_lines() -> None:
    code = compile_source("def f(a):\n    return a + 1\nprint(f(2))\n", "p.tr")
    text = disassemble(code)
    assert "== function f (p.tr:1)" in text
    assert "BinaryAddRR" in text and "ReturnValue" in text and "LoadGlobal" in text


def test_register_effects_cover_every_instruction() -> None:
    code = compile_source("xs = [i * 2 for i in range(5)]\nd = {k: v for k, v in zip(xs, xs)}\n", "p.tr")
    for c in [code, *code.children()]:
        for ins in c.instrs:
            uses, defs = register_effects(ins, c)
            assert all(0 <= r < c.nregs for r in uses + defs), ins


def _run_vm(src: str) -> tuple[VM, object]:
    code = compile_source(src, "q.tr")
    vm = VM(filename="q.tr", stdout=io.StringIO(), tier=0)  # quickening is the VM's: keep every frame there
    vm.run_module(code)
    return vm, code


def test_quickening_specialises_and_reverts() -> None:
    src = "def add(a, b):\n    return a + b\nfor i in range(50):\n    add(i, 1)\n"
    vm, code = _run_vm(src)
    func = vm.globals["add"]
    ops = [ins.op for ins in func.code.instrs]
    assert "FastIntAdd" in ops and GENERIC_OF["FastIntAdd"] == "BinaryAddRR"
    func(1.5, 2.0)  # a float pair: the int guard fails, the op goes back to generic then re-quickens
    assert "FastFloatAdd" in [ins.op for ins in func.code.instrs]
    assert func("a", "b") == "ab"  # still correct for any types


def test_quickened_op_stays_generic_after_repeated_flips() -> None:
    src = ("def add(a, b):\n    return a + b\n"
           "for i in range(40):\n    add(i, 1)\n    add(0.5, 0.25)\n")
    vm, _ = _run_vm(src)
    assert vm.globals["add"].code.instrs[0].op in ("BinaryAddRR", "FastIntAdd", "FastFloatAdd")
    assert vm.globals["add"](2, 3) == 5


def test_run_returns_globals_and_stats() -> None:
    result = tauraro.run("x = 6 * 7\ny = [x]\n", backend="interp", stdout=io.StringIO())
    assert result.globals["x"] == 42 and result.globals["y"] == [42]
    assert result.stats.to_json()["loops_compiled"] == 0


def test_unknown_backend_is_a_usage_error() -> None:
    with pytest.raises(tauraro.TauraroError, match="unknown backend"):
        tauraro.run("pass", backend="nope")


def _cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tauraro", *args], capture_output=True, text=True,
                          input=stdin, timeout=120)


def test_cli_stats_json_has_documented_keys(tmp_path) -> None:
    prog = tmp_path / "p.tr"
    prog.write_text("s = 0\nfor i in range(3000):\n    s += i\nprint(s)\n")
    out = tmp_path / "stats.json"
    r = _cli("run", str(prog), "--backend", "interp", "--stats-json", str(out), "--stats")
    assert r.returncode == 0 and r.stdout == "4498500\n"
    stats = json.loads(out.read_text())
    for key in ("backend", "loops_compiled", "functions_compiled", "compile_seconds", "exits_taken", "aborts"):
        assert key in stats
    assert stats["backend"] == "interp" and "tauraro stats" in r.stderr


def test_cli_forms_and_statuses(tmp_path) -> None:
    assert _cli("-c", "print(1 + 1)", "--backend", "interp").stdout == "2\n"
    r = _cli("-c", "print(1 +)", "--backend", "interp")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and ": error: " in r.stderr
    r = _cli("-c", "x = 1\nprint(x // 0)", "--backend", "interp")
    assert r.returncode == 1 and r.stderr.strip().endswith("ZeroDivisionError: integer division or modulo by zero")
    r = _cli("run", "--backend", "interp", "-", stdin="print('stdin ok')\n")
    assert r.stdout == "stdin ok\n"
    r = _cli("--backend", "interp", stdin="1 + 2\nidan 3 > 2:\n    print('yes')\n\n")
    assert r.returncode == 0 and r.stdout == "3\nyes\n"
    assert _cli("run", str(tmp_path / "missing.tr")).returncode == 2


@pytest.mark.parametrize("backend", [INTERPRETER, *BACKENDS])
def test_ctrl_c_stops_a_running_loop(tmp_path, backend: str) -> None:
    from backend_matrix import require_backend

    require_backend(backend)
    prog = tmp_path / "spin.tr"
    prog.write_text("print('go', flush=True)\ni = 0\nwhile True:\n    i = (i + 1) % 1000\n")
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    p = subprocess.Popen([sys.executable, "-m", "tauraro", "run", str(prog), "--backend", backend,
                          "--jit-threshold", "5"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=env)
    assert p.stdout.readline() == "go\n"
    time.sleep(1.0)  # let the loop get hot and compiled
    p.send_signal(signal.SIGINT)
    try:
        _out, err = p.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        pytest.fail(f"Ctrl-C did not stop the {backend} loop")
    assert p.returncode == 130
    assert err.strip().endswith("KeyboardInterrupt")
