"""Passes: golden text in -> text out (TAURARO_BLESS=1 rewrites), and semantic preservation on random loops."""
from __future__ import annotations

import math
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jit_helpers import random_function, random_inputs

from tauraro.backends.ir.interp import IRInterpreter
from tauraro.jit.irtext import parse_function, print_function
from tauraro.jit.layout import LinearMemory, Tag, frame_size
from tauraro.jit.passes import constfold, cse, dce, guardelim, licm
from tauraro.jit.pipeline import PASSES, optimize
from tauraro.jit.verify import verify

GOLDEN = Path(__file__).parent / "golden"
RUNNERS = {
    "constfold": constfold.run,
    "dce": dce.run,
    "cse": cse.run,
    "guardelim": guardelim.run,
    "licm": licm.run,
    "pipeline": lambda fn: optimize(fn, verify=True),
}
INPUTS = sorted(p.name for p in GOLDEN.glob("*.in.ir"))


@pytest.mark.parametrize("name", INPUTS)
def test_golden(name):
    pass_name = name.split("__")[0]
    source = (GOLDEN / name).read_text()
    fn = parse_function(source)
    verify(fn)
    result = print_function(RUNNERS[pass_name](fn))
    verify(fn)
    expected_path = GOLDEN / name.replace(".in.ir", ".out.ir")
    if os.environ.get("TAURARO_BLESS") == "1":
        expected_path.write_text(result)
    assert expected_path.exists(), f"no golden output {expected_path.name}: run with TAURARO_BLESS=1"
    assert result == expected_path.read_text()
    assert print_function(parse_function(result)) == result


def test_every_pass_has_a_golden_case():
    assert {name for name, _ in PASSES} <= {n.split("__")[0] for n in INPUTS}


def _outcome(fn, mem, frame, values):
    """(exit snapshot identity, slot contents, iterations) after running `fn` from `values`."""
    nslots = fn.nslots
    mem.write_bytes(frame, bytes(frame_size(nslots)))
    for slot, v in enumerate(values):
        if v == "wrong":
            mem.write_slot(frame, slot, 0x77, 0)
        else:
            mem.write_value(frame, slot, v)
    n = IRInterpreter(fn, mem).run(frame)
    snap = fn.snapshots[n]
    slots = []
    for slot in range(nslots):
        tag, payload = mem.read_slot(frame, slot)
        value = mem.read_value(frame, slot) if tag in (Tag.INT, Tag.FLOAT, Tag.BOOL) else (tag, payload)
        slots.append("nan" if isinstance(value, float) and math.isnan(value) else (type(value).__name__, repr(value)))
    return (snap.resume_pc, snap.reason, snap.line), slots, mem.iterations(frame), snap


def _check_equivalent(seed, transform):
    original = random_function(seed)
    optimised = transform(parse_function(print_function(original)))
    verify(optimised)
    mem = LinearMemory(1 << 14)
    frame = mem.alloc_frame(original.nslots)
    for values in random_inputs(original, seed):
        want = _outcome(original, mem, frame, values)
        got = _outcome(optimised, mem, frame, values)
        if got[:3] != want[:3] and got[3].resume_pc == optimised.entry_pc and not got[3].slots:
            continue  # a guard LICM hoisted to the preheader failed: the interpreter restarts the loop
        assert got[:3] == want[:3], (values, print_function(optimised))


@settings(max_examples=120, deadline=None)
@given(st.integers(0, 2**32), st.sampled_from(sorted(RUNNERS)))
def test_passes_preserve_behaviour_on_random_loops(seed, pass_name):
    _check_equivalent(seed, RUNNERS[pass_name])


def test_pipeline_records_timings():
    fn = random_function(7)
    timings: dict[str, float] = {}
    optimize(fn, timings=timings)
    assert [name for name, _ in fn.pass_timings] == [name for name, _ in PASSES]
    assert set(timings) == {name for name, _ in PASSES} and all(t >= 0 for t in timings.values())


def test_pipeline_verifies_between_passes(monkeypatch):
    from tauraro.jit import pipeline
    from tauraro.jit.verify import VerifyError

    def breaks_ir(fn):
        fn.blocks[-1].ops.clear()
        return fn

    monkeypatch.setattr(pipeline, "PASSES", (("breaker", breaks_ir),))
    with pytest.raises(VerifyError) as info:
        optimize(random_function(3), verify=True)
    assert "verifier ran after: breaker" in "".join(getattr(info.value, "__notes__", []))
    optimize(random_function(3))  # not verified: no error
    monkeypatch.setenv("TAURARO_JIT_VERIFY", "1")
    with pytest.raises(VerifyError):
        optimize(random_function(3))
