"""Tier transitions (docs/tiers.md): VM <-> baseline <-> native loops, checked against a live CPython run.

Each program runs under python3 and under tauraro.run at tier 0 (everything in the VM), tier 1 on interp
(VM + baseline) and tier 1 on the JIT backends at threshold 1 (VM + baseline + native loops): stdout,
the traceback (frames and lines, carets dropped) and the last error line must be CPython's.
"""
from __future__ import annotations

import io
import re
import subprocess
import sys
import textwrap

import pytest
from backend_matrix import ALL_BACKENDS, require_backend

import tauraro

CONFIGS = [("interp", 0), ("interp", 1)] + [(b, 1) for b in ALL_BACKENDS if b != "interp"]


def cpython(source: str, filename: str) -> tuple[str, str]:
    """CPython's stdout and traceback (without the caret lines 3.11 adds) for `source`."""
    with open(filename, "w", encoding="utf-8") as f:
        f.write(source)
    p = subprocess.run([sys.executable, filename], capture_output=True, text=True, timeout=120)
    tb = "\n".join(line for line in p.stderr.splitlines() if not re.fullmatch(r"\s*[~^]+\s*", line))
    return p.stdout, tb.strip()


def tauraro_run(source: str, filename: str, backend: str, tier: int) -> tuple[str, str]:
    out = io.StringIO()
    try:
        tauraro.run(source, backend=backend, filename=filename, stdout=out, tier=tier,
                    jit_threshold=None if backend == "interp" else 1)
    except tauraro.TauraroRuntimeError as e:
        return out.getvalue(), e.format().strip()
    return out.getvalue(), ""


PROGRAMS = {
    # The module (VM) calls baseline functions, which call back into code that stays in the VM
    # (a coroutine driven by hand) and into host code that calls them back (sorted, map).
    "vm_baseline_vm": """
        async def co(x):
            return x * 2
        def drive(x):
            c = co(x)
            try:
                c.send(None)
            except StopIteration as e:
                return e.value
        def key(v):
            return -drive(v)
        def top(xs):
            return sorted(xs, key=key), list(map(key, xs))
        for i in range(3):
            print(top([3, 1, 2]))
    """,
    # Exceptions in flight across tiers: raised in a baseline frame, caught in the VM (module), raised
    # in a VM frame (a generator with a handler), caught in a baseline frame; contexts and tracebacks.
    "exceptions_across_tiers": """
        def gen(n):
            try:
                yield 1
                yield 1 // n
            finally:
                print("gen finally")
        def use(n):
            try:
                return sum(gen(n))
            except ZeroDivisionError as e:
                print("baseline caught", e, repr(e.__context__))
                raise ValueError("wrapped") from e
        for n in (1, 0):
            try:
                print(use(n))
            except ValueError as e:
                print("module caught", e, type(e.__cause__).__name__)
        def inner(n):
            try:
                raise KeyError(n)
            except KeyError:
                return 1 / 0
        def outer(n):
            return inner(n)
        outer(3)
    """,
    # The recursion limit counted across tiers: baseline frames, VM frames (a function with a loop,
    # which stays in the VM under a JIT) and generator frames, at the exact boundary.
    "recursion_boundary": """
        def looped(n):
            for _ in range(1):
                pass
            return plain(n - 1)
        def plain(n):
            if n == 0:
                return 0
            return looped(n)
        print(plain(996))
        try:
            plain(997)
        except RecursionError as e:
            print("RecursionError", e)
        def deep(n):
            return n if n == 0 else deep(n - 1)
        print(deep(997))
        def nest(n):
            yield n
            if n:
                yield from nest(n - 1)
        print(sum(nest(300)))
        deep(998)
    """,
    # Classes defined in the program count a level per instantiation, beside their __init__ frame.
    "class_recursion_boundary": """
        class Node:
            def __init__(self, n):
                self.child = Node(n - 1) if n else None
        def build(n):
            return Node(n)
        for n in (496, 497, 498, 499, 500):
            try:
                build(n)
                print(n, "ok")
            except RecursionError as e:
                print(n, "RecursionError", e)
    """,
    # baseline caller -> VM callee whose loop goes native -> the loop deopts on a type change -> the
    # rest of the call finishes in the VM -> the value returns to the baseline caller.
    "native_deopt_returns_to_baseline": """
        def total(xs):
            t = 0
            for x in xs:
                t = t + x
            return t
        def caller(xs):
            return total(xs) * 2
        print(caller(list(range(100))))
        print(caller([1, 2, 3.5, 4] * 30))
        print(caller([1, 2] * 40 + [10 ** 30, 5]))
        print(caller(["a"] * 3 if False else [0.5] * 10))
    """,
    # Generators across tiers: a baseline generator delegating to another, sent values, close().
    "generators": """
        def echo():
            got = []
            while True:
                x = yield len(got)
                if x is None:
                    return got
                got.append(x)
        def relay():
            r = yield from echo()
            print("relay got", r)
            yield "done"
        for _ in range(2):
            g = relay()
            print(next(g), g.send("a"), g.send("b"), g.send(None))
            g.close()
        print(sum(x * x for x in range(10)), [y for y in (z + 1 for z in range(3))])
    """,
    # locals(), dir() and globals() see a baseline frame as the VM's.
    "frame_builtins": """
        def f(a, b=2):
            c = a * b
            return sorted(locals().items()), dir(), "f" in globals()
        print(f(1), f(2, 3))
    """,
}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
@pytest.mark.parametrize(("backend", "tier"), CONFIGS, ids=[f"{b}-tier{t}" for b, t in CONFIGS])
def test_transition(name: str, backend: str, tier: int, tmp_path) -> None:
    require_backend(backend)
    source = textwrap.dedent(PROGRAMS[name]).lstrip()
    filename = str(tmp_path / f"{name}.py")
    want_out, want_tb = cpython(source, filename)
    got_out, got_tb = tauraro_run(source, filename, backend, tier)
    assert got_out == want_out
    assert got_tb == want_tb


def test_tier_zero_keeps_every_frame_in_the_vm() -> None:
    src = "def f(x):\n    return x + 1\nprint(f(1), f(2))\n"
    zero = tauraro.run(src, backend="interp", tier=0, stdout=io.StringIO())
    one = tauraro.run(src, backend="interp", tier=1, stdout=io.StringIO())
    assert zero.stats.functions_baselined == 0
    assert one.stats.functions_baselined == 1


def test_unknown_tier_is_a_usage_error(monkeypatch) -> None:
    with pytest.raises(tauraro.TauraroError, match="unknown tier 5"):
        tauraro.run("pass", backend="interp", tier=5)
    monkeypatch.setenv("TAURARO_TIER", "0")
    assert tauraro.run("def f():\n    return 1\nf()\n", backend="interp").stats.functions_baselined == 0


def test_untranslatable_code_stays_in_the_vm_with_a_reason() -> None:
    src = "async def co():\n    return 1\nc = co()\ntry:\n    c.send(None)\nexcept StopIteration as e:\n    print(e.value)\n"
    out = io.StringIO()
    result = tauraro.run(src, backend="interp", stdout=out)
    assert out.getvalue() == "1\n"
    assert result.stats.baseline_rejects == {"coroutines and asynchronous generators stay in the VM": 1}


LOOPS_UNDER_JIT = """
def rejected(n):
    d = {}
    for i in range(n):
        d[i % 7] = d.get(i % 7, 0) + i
    return sorted(d.items())

def compiled(n):
    s = 0
    t = 1.5
    for i in range(n):
        s += i * i
    k = 0
    while k < n:
        k += 3
        t = t * 1.0001
    return s, i, k, t

def overflows(n):
    x = 1
    for i in range(n):
        x = x * 3 + 1
    for j in range(n):
        x -= j
    else:
        x += 1
    return x % 1000003, i, j

print(rejected(5000), compiled(5000), overflows(3000))
"""


@pytest.mark.parametrize("backend", ["ir", "cranelift", "llvm"])
def test_baseline_loop_leaves_for_the_vm_only_when_native_code_exits_early(backend: str, monkeypatch) -> None:
    """A hot baseline loop the JIT does not take goes on in its baseline function (the VM is ~5-10x
    slower); one native code runs to its normal exit goes on after the loop in the baseline function
    (the registers come back from the frame list); only an early exit (here: an int leaving i64)
    continues in the VM from the exit's pc."""
    require_backend(backend)
    from tauraro.vm import VM

    resumed: list[tuple[str, int]] = []
    execute = VM.execute

    def spy(self, code, R, pc, *args, **kwargs):
        if pc and code.kind == "function":
            resumed.append((code.name, pc))
        return execute(self, code, R, pc, *args, **kwargs)

    monkeypatch.setattr(VM, "execute", spy)
    out = io.StringIO()
    result = tauraro.run(LOOPS_UNDER_JIT, backend=backend, jit_threshold=100, stdout=out, tier=1)
    expected = subprocess.run([sys.executable, "-c", LOOPS_UNDER_JIT], capture_output=True, text=True).stdout
    assert out.getvalue() == expected
    assert result.stats.functions_baselined >= 3 and result.stats.loops_compiled >= 2
    names = {name for name, _pc in resumed}
    assert "rejected" not in names and "compiled" not in names, resumed
