"""The precheck's verdict against CPython's: a program it lets skip CPython's compile-time check must compile
under CPython without error or warning; one CPython rejects is reported with CPython's message and line."""
from __future__ import annotations

import ast
import itertools
import random
import textwrap
import warnings
from collections import Counter
from pathlib import Path

import pytest

from tauraro.compiler import compile_source
from tauraro.errors import TauraroSyntaxError
from tauraro.frontend import to_python
from tauraro.precheck import MAX_BLOCKS, precheck
from tests.fuzz.mutate import mutate

PROGRAMS = sorted((Path(__file__).parent / "programs").rglob("*.tr"))

# Statements and expressions around every construct CPython's compiler judges, both sides of each rule.
SNIPPETS = [
    "pass", "return", "return 1", "break", "continue", "yield", "yield 1", "x = yield", "yield from y", "await z",
    "x = await z", "global x", "nonlocal x", "x = 1\nglobal x", "global x\nx = 1", "global x, x", "print(x)\nglobal x",
    "global x\nx: int = 1", "x: int\nglobal x", "global x\nx: int", "nonlocal x\nglobal x", "global x\nnonlocal x",
    "del x\nglobal x", "for x in y:\n    global x", "import x\nglobal x", "x += 1\nglobal x", "global y\nx = y",
    "def x():\n    pass\nglobal x", "class x:\n    pass\nglobal x", "[x for x in y]\nglobal x",
    "[(x := 1) for y in z]\nglobal x", "lambda: x\nglobal x", "global x\ndef g():\n    global x\n    x = 1", "from m import *", "from m import a",
    "from __future__ import annotations", "from __future__ import braces", "x: int = 1", "x.y: int = 1",
    "x: (yield) = 1", "a, *b = c", "*b, = c", "*a, *b = c", "[*a, *b] = c", "print(*a)", "x = [*a, *b]",
    "x = *a,", "f(a=1, a=2)", "f(a=1, **k)", "f(**k, **k)", "1(2)", "(1, 2)(3)", "[x](1)", "(lambda: 1)()",
    "f(x)(y)", "[1][0]", "'a'['b']", "'a'[0]", "(1)[0]", "{1}[0]", "x[0][1]", "f()[0]", "'abc'[1:]", "[1, 2][i]",
    "(1, 2)['a']", "'abc'[1.5]", "'abc'[-1]", "[1][None]", "f'{x}'[0]", "f'{x}'['a']", "{1: 2}['a']", "b'x'[0]",
    "'a'[x:y]", "(1 + 2)[0]", "('a' + 'b')[0]", "'a'[1 + 1]", "'a'['b' + 'c']", "(1, 2)[f()]", "[x for x in y][0]",
    "[x for x in y]['a']", "'abc'[True]", "(1, 2)[(1, 2)]", "'ab'[f'{x}']", "[1][[1]]", "(a, b)[0]", "x is 1", "x is None",
    "x is -1", "x is ()", "x is not 'a'", "x is y.z", "1 is x", "x == 1 is y", "x is (1 + 2)", "assert (x, 1)",
    "assert x, 1", "assert ()", "assert (x)", "(x := 1)", "[y := 1 for z in w]", "[z for z in (y := w)]",
    "[await q for q in w]", "[q async for q in w]", "async for a in b:\n    pass", "async with a:\n    pass",
    "__debug__ = 1", "x = __debug__", "__\uff44ebug__ = 1", "x.__debug__ = 1", "f(__debug__=1)", "def h(a, a):\n    pass", "def h(a, *, b, **a):\n    pass",
    "lambda a, a: 0", "lambda a, b: 0", "class D(x=1, x=2):\n    pass", "class D(B, x=1):\n    pass",
    "match x:\n    case 1:\n        pass", "try:\n    pass\nexcept:\n    pass\nexcept E:\n    pass",
    "try:\n    pass\nexcept E:\n    pass\nexcept:\n    pass", "try:\n    pass\nexcept* E:\n    pass",
    "del x", "x = lambda: (yield)", "x = (yield)", "x = [(yield) for q in w]", "x = ((yield) for q in w)",
    "def h(x=(yield)):\n    pass", "for i in x:\n    pass\nelse:\n    break", "while x:\n    continue",
    "try:\n    pass\nfinally:\n    continue", "with a, b:\n    break", "def h():\n    return 1",
    "async def h():\n    yield 1\n    return 2", "async def h():\n    return 2", "async def h():\n    return",
    "def h():\n    yield from x", "async def h():\n    yield from x", "class E:\n    return 1",
    "class E:\n    x = [y for y in z]", "x = f'{a!r:>{w}}'", "import m as __debug__",
]
CONTEXTS = [
    "{s}", "def f():\n    {s}", "async def f():\n    {s}", "for i in x:\n    {s}", "while x:\n    {s}\nelse:\n    {s}",
    "class C:\n    {s}", "def g():\n    class C:\n        {s}", "for i in x:\n    def f():\n        {s}",
    "try:\n    {s}\nexcept E:\n    {s}\nfinally:\n    {s}", "with a as b, c:\n    {s}",
    "def f():\n    for i in x:\n        pass\n    else:\n        {s}", "def f(x):\n    def g():\n        {s}",
    "async def f():\n    for i in x:\n        {s}", "def f(x, *y, **z):\n    {s}", "class C:\n    x = 1\n    {s}",
]


def _in_context(context: str, snippet: str) -> str:
    lines = context.split("\n")
    out = []
    for line in lines:
        if "{s}" in line:
            indent = line[:line.index("{s}")]
            out.append(textwrap.indent(snippet, indent))
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def _nested(head: str, depth: int, body: str = "pass") -> str:
    return "".join("    " * d + head + "\n" for d in range(depth)) + "    " * depth + body + "\n"


DEEP = [
    _nested("for i in x:", MAX_BLOCKS - 2, "break"), _nested("for i in x:", 21, "break"),
    _nested("while x:", 30), _nested("if x:", 60), _nested("with a, b, c:", 6), _nested("with a, b, c:", 8),
    "with " + ", ".join(f"a{i}" for i in range(22)) + ":\n    pass\n",
    _nested("try:", 5, "pass\n" + "".join("    " * d + "except E:\n" + "    " * (d + 1) + "pass\n"
                                          for d in reversed(range(5)))),
    "x = " + "-" * 300 + "1\n", "x = " + "not " * 900 + "y\n", "x = " + "not " * 3100 + "y\n",
    "x = " + "+".join(["a"] * 2000) + "\n", "x = " + "+".join(["a"] * 3100) + "\n",
    "x = " + "(" * 190 + "a" + ")" * 190 + "\n", "x = " + "a." * 1200 + "b\n",
]


def _verdict(python: str) -> str | None:
    tree = ast.parse(python)
    return precheck(tree, python)[1]


def _cpython(python: str, on_warning: str = "error") -> BaseException | None:
    """What CPython's compile() raises for the source (None: it compiles cleanly), or with on_warning="error"
    the first warning its compiler adds to the parser's (the parser's own, e.g. "invalid decimal literal",
    are not the check's business: the front end's parse step emits them)."""
    try:
        with warnings.catch_warnings(record=True) as parsed:
            warnings.simplefilter("always")
            ast.parse(python)
        with warnings.catch_warnings(record=True) as compiled:
            warnings.simplefilter("always")
            compile(python, "prog.tr", "exec", dont_inherit=True)
    except (SyntaxError, RecursionError, MemoryError, ValueError) as e:
        return e
    if on_warning == "error":
        extra = Counter(str(w.message) for w in compiled) - Counter(str(w.message) for w in parsed)
        if extra:
            return SyntaxWarning(next(iter(extra)))
    return None


def _sources() -> list[str]:
    out = [_in_context(c, s) for c, s in itertools.product(CONTEXTS, SNIPPETS)] + DEEP
    rng = random.Random(1010)
    for path in PROGRAMS:
        text = path.read_text(encoding="utf-8")
        out.append(text)
        out += [mutate(text, rng).source for _ in range(6)]
    return out


@pytest.mark.filterwarnings("ignore::SyntaxWarning")  # odd literals in mutants, warned about by ast.parse
def test_a_program_the_precheck_passes_compiles_cleanly_under_cpython() -> None:
    skipped = judged = rejected = 0
    for source in _sources():
        try:
            python = to_python(source)
            ast.parse(python)
        except Exception:  # noqa: BLE001 - not a program the check is ever asked about
            continue
        if _verdict(python) is None:
            skipped += 1
            error = _cpython(python)
            assert error is None, f"precheck skipped CPython's check but CPython says {error!r} for:\n{python}"
        else:
            judged += 1
            rejected += _cpython(python) is not None
    # The comparison means something: both verdicts occur, and CPython rejects many of the judged programs.
    assert skipped > 500 and judged > 500 and rejected > 300, (skipped, judged, rejected)


@pytest.mark.parametrize("snippet", [s for s in SNIPPETS if s != "pass"])
def test_errors_cpython_finds_after_parsing_are_reported_as_cpython_reports_them(snippet: str) -> None:
    for context in CONTEXTS:
        python = _in_context(context, snippet)
        try:
            ast.parse(python)
        except SyntaxError:
            continue
        error = _cpython(python, "ignore")
        if not isinstance(error, SyntaxError):
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(TauraroSyntaxError) as info:
                compile_source(python, "prog.tr")
        assert (info.value.line, info.value.message) == (error.lineno, error.msg), python


def test_the_bench_shapes_skip_the_check() -> None:
    from bench.compile import SHAPES

    for shape, (generate, _unit, _sizes, quick) in SHAPES.items():
        python = to_python(generate(quick[0]))
        assert _verdict(python) is None, shape
