"""The optimisation pipeline: optimize(fn) runs the passes in order, verifying between them when asked."""
from __future__ import annotations

import time
from collections.abc import Callable

from .ir import LoopFunction
from .passes import constfold, cse, dce, guardelim, licm
from .verify import verify as verify_fn
from .verify import verify_enabled

Pass = Callable[[LoopFunction], LoopFunction]

# Order: fold constants first (exposes more equal expressions and known branches), merge
# duplicates (so facts and invariance are found once), drop provably dead guards (on the
# loop condition facts that CSE has made explicit), hoist what is left invariant, fold what
# hoisting exposed, and finally delete dead code and compact the snapshots (exit numbers).
PASSES: tuple[tuple[str, Pass], ...] = (
    ("constfold", constfold.run),
    ("cse", cse.run),
    ("guardelim", guardelim.run),
    ("licm", licm.run),
    ("constfold", constfold.run),
    ("dce", dce.run),
)


def optimize(fn: LoopFunction, *, verify: bool = False, timings: dict[str, float] | None = None,
             after_pass: Callable[[str, LoopFunction], None] | None = None) -> LoopFunction:
    """Run every pass on `fn` in place and return it.

    verify=True (or TAURARO_JIT_VERIFY=1) runs the verifier before the first pass and after each
    one, so a VerifyError names the pass that broke the IR. Seconds per pass are appended to
    ``fn.pass_timings`` and, if given, added into ``timings`` (pass name -> total seconds).
    ``after_pass(name, fn)``, if given, sees the IR after each pass (``--dump ir-passes``).
    """
    check = verify or verify_enabled()
    if check:
        _verify_after(fn, "input")
    for name, run in PASSES:
        start = time.perf_counter()
        fn = run(fn)
        elapsed = time.perf_counter() - start
        fn.pass_timings.append((name, elapsed))
        if timings is not None:
            timings[name] = timings.get(name, 0.0) + elapsed
        if check:
            _verify_after(fn, name)
        if after_pass is not None:
            after_pass(name, fn)
    return fn


def _verify_after(fn: LoopFunction, stage: str) -> None:
    try:
        verify_fn(fn)
    except Exception as e:
        e.add_note(f"(verifier ran after: {stage})")
        raise
