"""Measure what tauraro/jit/policy.py charges, in interpreted bytecode instructions (see its docstring)."""
from __future__ import annotations

import io
import time
from typing import Any

REPEAT = 5
INSTR_LOOP = "def f(n):\n    s = 0\n    for i in range(n):\n        s += i * 2 + 1\n    return s\nprint(f({n}))\n"
INSTRS_PER_ITERATION = 7  # ForIter, LoadConst, Mul, LoadConst, Add, InplaceAdd, JumpBack


def entry_program(n: int, extra: int) -> str:
    """An inner one-iteration loop entered n times from a loop that cannot compile (it calls g)."""
    names = [f"a{k}" for k in range(extra)]
    init = "".join(f"    {v} = {k + 1}\n" for k, v in enumerate(names))
    use = "".join(f" + {v}" for v in names)
    return (f"def g(x):\n    return x\n\n\ndef f(n):\n    s = 0\n{init}    for k in range(n):\n        g(k)\n"
            f"        for j in range(1):\n            s += j{use}\n    return s\n\n\nprint(f({n}))\n")


def best(source: str, backend: str, **kw: Any) -> tuple[float, Any]:
    import tauraro

    times, result = [], None
    for _ in range(REPEAT):
        t0 = time.perf_counter()
        result = tauraro.run(source, backend=backend, stdout=io.StringIO(), **kw)
        times.append(time.perf_counter() - t0)
    return min(times), result


def instruction_seconds() -> float:
    n = 200_000
    t1, _ = best(INSTR_LOOP.format(n=n), "interp")
    t2, _ = best(INSTR_LOOP.format(n=2 * n), "interp")
    return (t2 - t1) / (n * INSTRS_PER_ITERATION)


def entry_instructions(backend: str, extra: int, per_instr: float) -> float:
    """What one entry that runs a single iteration costs beyond interpreting it, in instructions."""
    from tauraro.jit import policy

    n = 20_000
    src = entry_program(n, extra)
    t_interp, _ = best(src, "interp")
    saved = policy.Ledger._charge
    policy.Ledger._charge = lambda self, amount: True  # keep entering: measure, do not judge
    try:
        t_jit, result = best(src, backend, jit_threshold=1)
    finally:
        policy.Ledger._charge = saved
    entries = max(1, result.stats.native_entries)
    inner_path = 4 + 2 * extra  # instructions of one interpreted inner iteration (ForIter ... JumpBack)
    return (t_jit - t_interp) / entries / per_instr + inner_path


def copy_instructions(per_instr: float) -> dict[str, float]:
    from tauraro.jit.layout import LIST_DIRTY, LinearMemory
    from tauraro.jit.lists import mirror_in, mirror_out, release

    out = {}
    n = 1_000_000
    for name, lst in (("ints", list(range(n))), ("floats", [i * 0.5 for i in range(n)]),
                      ("mixed", [i if i % 2 else i * 0.5 for i in range(n)])):
        memory = LinearMemory(64 << 20)
        times = []
        for _ in range(REPEAT):
            t0 = time.perf_counter()
            p = mirror_in(memory, lst)
            memory.words[(p + LIST_DIRTY) >> 3] = 1  # as if compiled code stored into it: written back too
            mirror_out(memory, p, lst)
            times.append(time.perf_counter() - t0)
            release(memory, p)
        out[name] = min(times) / n / per_instr
    return out


def calibrate() -> None:
    from tauraro.backends.base import available_backends

    per_instr = instruction_seconds()
    print(f"interpreted instruction: {per_instr * 1e6:.3f} us")
    for backend in [b for b in available_backends()]:
        e0 = entry_instructions(backend, 0, per_instr)
        e8 = entry_instructions(backend, 8, per_instr)
        print(f"{backend}: entry that runs one iteration {e0:.0f} instructions ({e0 * per_instr * 1e6:.1f} us); "
              f"per extra slot {(e8 - e0) / 8:.1f} instructions")
    for name, cost in copy_instructions(per_instr).items():
        print(f"copy in + write back, list of {name}: {cost:.2f} instructions per element")
