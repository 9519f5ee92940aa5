"""Bad-input fuzzing of the front end: token edits, truncations and random bytes/unicode in valid sources."""
from __future__ import annotations

import io
import random
import re
import tokenize
import warnings
from dataclasses import dataclass

from .runner import Outcome, run_cpython, run_tauraro

# What the front end must say about a source it rejects: one line `FILE:LINE:COL: error: MESSAGE`.
SYNTAX_MESSAGE_RE = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): error: (?P<msg>.+)$")
TOKENS = [
    "(", ")", "[", "]", "{", "}", ":", ",", ".", ";", "=", "==", "+", "-", "*", "/", "//", "%", "<<", ">>",
    "&", "|", "^", "~", "<", ">", "!=", "->", "@", "+=", "...", "lambda", "if", "else", "elif", "while",
    "for", "in", "def", "return", "break", "continue", "try", "except", "finally", "raise", "class", "global",
    "nonlocal", "del", "pass", "yield", "async", "await", "with", "import", "from", "as", "is", "not", "and",
    "or", "None", "True", "False", "assert", "match", "case", "type", "aiki", "idan", "kokuma", "akasi",
    "yayinda", "duk", "cikin", "maido", "tsaya", "cigaba", "gwada", "kama", "jefa", "shigoda", "daga",
    "dakuma", "ko", "ba", "babu", "x", "0", "1", "2.5", "0x", "1e", "'s'", '"', "'", "f'{", "}'", "\\",
    "#", "\n", "\t", "    ", "\r",
    # the syntax of issue 12: generators, with, decorators, star arguments, :=, match, async, except*
    ":=", "**", "yield from", "async with", "async for", "except*", "case _:", "case [x, *y]:", "@", "*args",
    "**kw", "/", "bayar", "tare", "daga",
]
ODD_CHARS = ["\x00", "\x0c", "\x1b", "\u00a0", "\u200b", "\ufeff", "\u2028", "é", "ß", "ƙ", "ɗ", "中", "😀",
             "\U0001d4b3", "\u0301", "\ud800", "\udfff", "\x7f", "\u202e", "\u0660", "²"]


@dataclass(frozen=True)
class Mutant:
    """A mutated source and how it was made."""

    source: str
    how: str


def _tokens(source: str) -> list[tuple[int, int]]:
    """(start, end) character offsets of the source's tokens (best effort on broken input)."""
    line_starts = [0]
    for line in source.splitlines(keepends=True):
        line_starts.append(line_starts[-1] + len(line))
    spans = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type in (tokenize.ENDMARKER, tokenize.DEDENT) or tok.start == tok.end:
                continue
            (sl, sc), (el, ec) = tok.start, tok.end
            if sl - 1 < len(line_starts) and el - 1 < len(line_starts):
                spans.append((line_starts[sl - 1] + sc, line_starts[el - 1] + ec))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        pass
    return spans


def mutate(source: str, rng: random.Random) -> Mutant:
    """One random edit (sometimes two or three) of `source`."""
    edits = []
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        source, how = _one_edit(source, rng)
        edits.append(how)
    return Mutant(source, "; ".join(edits))


def _one_edit(source: str, rng: random.Random) -> tuple[str, str]:
    spans = _tokens(source) or [(0, len(source))]
    kind = rng.choice(["delete", "duplicate", "replace", "insert", "swap", "truncate", "char", "char",
                       "bytes", "indent"])
    a, b = rng.choice(spans)
    if kind == "delete":
        return source[:a] + source[b:], f"delete {source[a:b]!r} at {a}"
    if kind == "duplicate":
        return source[:b] + " " + source[a:b] + source[b:], f"duplicate {source[a:b]!r} at {a}"
    if kind == "replace":
        t = rng.choice(TOKENS)
        return source[:a] + t + source[b:], f"replace {source[a:b]!r} at {a} with {t!r}"
    if kind == "insert":
        t = rng.choice(TOKENS)
        sep = rng.choice(["", " "])
        return source[:a] + t + sep + source[a:], f"insert {t!r} at {a}"
    if kind == "swap" and len(spans) > 1:
        c, d = rng.choice(spans)
        if c < a:
            a, b, c, d = c, d, a, b
        if b <= c:
            return (source[:a] + source[c:d] + source[b:c] + source[a:b] + source[d:],
                    f"swap {source[a:b]!r} and {source[c:d]!r}")
    if kind == "truncate":
        cut = rng.randrange(len(source) + 1)
        return source[:cut], f"truncate at {cut}"
    if kind == "char":
        ch = rng.choice(ODD_CHARS)
        pos = rng.randrange(len(source) + 1)
        return source[:pos] + ch + source[pos:], f"insert {ch!r} at {pos}"
    if kind == "bytes":
        raw = bytes(rng.randrange(256) for _ in range(rng.randint(1, 6)))
        text = raw.decode("latin-1")
        pos = rng.randrange(len(source) + 1)
        return source[:pos] + text + source[pos:], f"insert bytes {raw!r} at {pos}"
    lines = source.split("\n")
    i = rng.randrange(len(lines))
    lines[i] = rng.choice(["", " ", "\t", "        "]) + lines[i].lstrip() if rng.random() < 0.5 else lines[i][1:]
    return "\n".join(lines), f"reindent line {i + 1}"


def cpython_compiles(source: str) -> bool | None:
    """True/False: CPython compiles the mapped source; None: it cannot even be mapped or encoded."""
    from tauraro.frontend import to_python

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(to_python(source), "<mutant>", "exec")
    except (SyntaxError, ValueError):
        return False
    except Exception:  # noqa: BLE001 - e.g. UnicodeEncodeError on lone surrogates
        return None
    return True


def front_end_problem(source: str) -> str | None:
    """None if Tauraro's front end handles `source` properly; otherwise what went wrong.

    Properly: compile_source either succeeds, or raises TauraroSyntaxError whose str is one line
    `FILE:LINE:COL: error: MESSAGE`; a source CPython compiles is rejected only as "not supported".
    """
    import traceback

    import tauraro
    from tauraro.compiler import compile_source

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarnings of odd literals are CPython's own output
            compile_source(source, "<mutant>")
    except tauraro.TauraroSyntaxError as e:
        text = str(e)
        if "\n" in text or "\r" in text or not SYNTAX_MESSAGE_RE.match(text):
            return f"syntax error message is not one line 'FILE:LINE:COL: error: MSG': {text!r}"
        if cpython_compiles(source) and "is not supported" not in text:
            return f"rejected a program CPython compiles: {text!r}"
        return None
    except Exception:  # noqa: BLE001 - exactly what this fuzzer looks for
        return "front end raised a Python exception:\n" + traceback.format_exc(limit=-6)
    if cpython_compiles(source) is False:
        return "accepted a program CPython rejects as a SyntaxError"
    return None


def run_problem(source: str, backend: str = "interp", threshold: int | None = None) -> str | None:
    """For a mutant both accept: run it (time-limited) and compare with CPython; None when they agree."""
    if "**" in source or cpython_compiles(source) is not True:
        return None  # '**' of mutated operands can make C-level work that no time limit interrupts
    expected = run_cpython(source, timeout=1.0)
    if expected.timeout:
        return None
    actual: Outcome = run_tauraro(source, backend, threshold, timeout=5.0)
    if actual.timeout:
        return None  # the mutant may loop forever; CPython only got 1 s
    if actual.crash:
        return "crash: " + actual.crash
    if "maximum recursion depth" in f"{actual.stdout}{actual.error}{expected.stdout}{expected.error}":
        # In-process, CPython runs under the host limit the VM raised (10x its own): recursion depths are
        # compared with a real python3 by the conformance programs (recursion_*), not here.
        return None
    if actual.error and actual.error.startswith("SyntaxError") and actual.error != expected.error:
        # (a SyntaxError CPython raises too comes from the program itself, e.g. from exec())
        return None if "is not supported" in actual.error else f"rejected: {actual.error}"
    if (actual.stdout, actual.error) != (expected.stdout, expected.error):
        return (f"differs from CPython: error {actual.error!r} vs {expected.error!r}; "
                f"stdout {actual.stdout[-200:]!r} vs {expected.stdout[-200:]!r}")
    return None
