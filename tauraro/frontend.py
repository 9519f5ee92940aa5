"""Front end: map Tauraro keyword aliases to Python tokens, parse with `ast`, reject unsupported constructs."""
from __future__ import annotations

import ast
import bisect
import contextlib
import re
import sys
from functools import cache
from importlib import resources
from typing import Iterator

from .astwalk import FastVisitor, child_fields
from .errors import TauraroSyntaxError
from .record import field, record
from .source import decode_source  # noqa: F401 - its home before source.py; the CLI and modules import it from there


@cache
def keyword_aliases() -> dict[tuple[str, ...], str]:
    """Alias word sequence -> Python keyword, read from the packaged keywords.tsv."""
    table: dict[tuple[str, ...], str] = {}
    text = resources.files("tauraro").joinpath("keywords.tsv").read_text(encoding="utf-8")
    for raw in text.splitlines():
        if not raw.strip() or raw.startswith("#"):
            continue
        alias, keyword = raw.split("\t")
        table[tuple(alias.split())] = keyword.strip()
    return table


Replacement = tuple[int, int, str]  # start and end offsets of an alias in the source, its keyword


@record
class LineMap:
    """Maps columns of one mapped (Python) line back to the user's Tauraro line."""

    new_starts: list[int] = field(default_factory=list)  # where each replaced keyword starts (new line)
    user_starts: list[int] = field(default_factory=list)  # where its alias started (user line)
    lengths: list[int] = field(default_factory=list)  # length of the keyword (new line)
    shifts: list[int] = field(default_factory=list)  # user_col - new_col just after the keyword

    def to_user(self, col: int) -> int:
        i = bisect.bisect_right(self.new_starts, col) - 1
        if i < 0:
            return col
        if col < self.new_starts[i] + self.lengths[i]:
            return self.user_starts[i] + (col - self.new_starts[i])
        return col + self.shifts[i]


@record
class MappedSource:
    """Python source produced from Tauraro source, with what error positions need to map columns back."""

    python: str
    user: str
    replacements: list[Replacement]  # the aliases replaced, in source order

    def user_col(self, line: int, col: int) -> int:
        m = self.line_maps().get(line)
        return m.to_user(col) if m else col

    def line_maps(self) -> dict[int, LineMap]:
        """Per mapped line with an alias, its column map (built on first use: only errors need it)."""
        maps = self.__dict__.get("_line_maps")
        if maps is None:
            maps = self.__dict__["_line_maps"] = _line_maps(self.user, self.replacements)
        return maps


# Python's line breaks (what ast numbers lines by): str.splitlines also splits at \x0c, \u2028, ... .
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# A string literal: an optional prefix (not the end of a name: `bar"x"` is the name bar, then "x"), then any
# of the four quote forms; an unterminated one does not match (the text is then scanned as code, and
# ast.parse reports it).
_STRING = (r"(?P<prefix>(?<!\w)[rRbBuUfF]{1,2}|)(?:"
           r"'''(?:[^'\\]|\\[\s\S]|'(?!''))*+'''"
           r'|"""(?:[^"\\]|\\[\s\S]|"(?!""))*+"""'
           r"|'(?:[^'\\\r\n]|\\(?:\r\n|[\s\S]))*+'"
           r'|"(?:[^"\\\r\n]|\\(?:\r\n|[\s\S]))*+")')
# Text an alias is never mapped in: comments, a float's trailing '.' (so `1. idan` is not an attribute) and
# the name after a '.' on the same logical line (an attribute: `obj.idan`), but not after '...' (Ellipsis).
_SKIPPED = r"\#[^\r\n]*+|(?<![\w.])\d[\d_]*+\.|(?<!\.)\.(?:[ \t\f]|\\\r?\n)*+[^\W\d]\w*+"
_BRACE = re.compile(r"\{\{|\}\}|\{|\}")

@cache
def _scanner() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """(the source scanner, a quick test for any alias word), built from the alias table. The scanner
    matches strings (group 's'), text never mapped (no group) and aliases (group 'alias')."""
    keys = sorted(keyword_aliases(), key=lambda k: (-len(k), -len(" ".join(k))))  # longest match first
    alts = "|".join(r"[ \t\f]+".join(map(re.escape, k)) for k in keys)
    # The lookahead on the possible first characters lets the regex engine skip other positions fast
    # (measured: 3-30x less time than trying every alternative's lookbehind at every position).
    first = "".join(sorted({re.escape(k[0][0]) for k in keys} | set("rRbBuUfF'\"#0123456789.")))
    scanner = re.compile(rf"(?=[{first}])(?:(?P<s>{_STRING})|{_SKIPPED}|(?P<alias>(?<!\w)(?:{alts})(?!\w)))")
    words = "|".join(sorted({re.escape(k[0]) for k in keys}, key=len, reverse=True))
    # A quick test: no lookbehind, so `xidan` also passes it (the scanner then decides), 10x faster.
    return scanner, re.compile(rf"(?:{words})(?!\w)")


def _alias_replacements(source: str) -> list[Replacement]:
    """Every alias outside strings, comments and attribute names, and inside the replacement fields of
    f-strings, in source order. One regular-expression pass: linear in the source (tokenize was 4x
    CPython's whole compile time)."""
    if _scanner()[1].search(source) is None:
        return []
    out: list[Replacement] = []
    _scan(source, 0, len(source), out)
    return out


@cache
def _single_word_aliases() -> dict[str, str]:
    return {k[0]: v for k, v in keyword_aliases().items() if len(k) == 1}


def _scan(text: str, pos: int, end: int, out: list[Replacement]) -> None:
    scanner, any_alias = _scanner()
    aliases = keyword_aliases()
    single = _single_word_aliases()
    for m in scanner.finditer(text, pos, end):
        kind = m.lastgroup
        if kind == "alias":
            word = m.group()
            kw = single.get(word)
            out.append((m.start(), m.end(), kw if kw is not None else aliases[tuple(word.split())]))
        elif kind == "s" and "f" in m.group("prefix").lower():
            body = m.start() + len(m.group("prefix"))
            quote = 3 if text.startswith(text[body] * 3, body) and m.end() - body >= 6 else 1
            if any_alias.search(text, body + quote, m.end() - quote):
                _fstring_fields(text, body + quote, m.end() - quote, out)


def _fstring_fields(text: str, pos: int, end: int, out: list[Replacement]) -> None:
    """Aliases in the replacement fields of an f-string body; its literal parts and {{ }} stay as written."""
    while True:
        m = _BRACE.search(text, pos, end)
        if m is None:
            return
        pos = _field(text, m.end(), end, out) if m.group() == "{" else m.end()


def _field(text: str, pos: int, end: int, out: list[Replacement]) -> int:
    """One replacement field from just after its '{': the expression, a '!x' conversion, a ':spec' with
    nested fields; returns the position after its '}'. (3.11: no backslash or comment in an expression.)"""
    expr_end = _expression_end(text, pos, end)
    _scan(text, pos, expr_end, out)
    pos = expr_end
    if pos < end and text[pos] == "!":
        while pos < end and text[pos] not in ":}":
            pos += 1
    if pos < end and text[pos] == ":":
        pos += 1
        while pos < end and text[pos] != "}":
            pos = _field(text, pos + 1, end, out) if text[pos] == "{" else pos + 1
    return pos + 1


def _expression_end(text: str, pos: int, end: int) -> int:
    """Where a replacement field's expression ends: '}', '!' (not '!='), ':' outside brackets and strings."""
    depth = 0
    while pos < end:
        c = text[pos]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            if depth == 0:
                return pos
            depth -= 1
        elif c in "'\"":
            quote = c * 3 if text.startswith(c * 3, pos) else c
            close = text.find(quote, pos + len(quote), end)
            if close < 0:
                return end
            pos = close + len(quote)
            continue
        elif depth == 0 and (c == ":" or (c == "!" and not text.startswith("=", pos + 1))):
            return pos
        pos += 1
    return end


def line_starts(text: str) -> list[int]:
    """Offset of the first character of each line (line 1 first), with Python's line breaks."""
    return [0] + [m.end() for m in _LINE_BREAK.finditer(text)]


# --- aliases a module uses as names ----------------------------------------------------------------
# The rule (README, "Keyword aliases and names"): a single-word alias that the module binds or passes as a
# name anywhere -- an assignment, annotation or `:=` target, a keyword argument or parameter default
# (`word =`), a def/class name, a parameter, an import or `as` name, a for target, a global/nonlocal name -- is a name
# everywhere in that module; other aliases are keywords. A word bound as a name and also written where
# only the keyword fits (followed by a name: `func main():`, `catch ValueError:`) is an error.
_BINDING_KEYWORDS = frozenset({"def", "class", "as", "import", "for", "global", "nonlocal", "lambda"})
# (`=` then `}`, `!` or `:` is an f-string's self-documenting `{word=}`, not a binding.)
_PARAM_SCAN = 2000  # characters searched back for the '(' of a parameter list (keeps the pass linear)
_NEXT_TOKEN = re.compile(r"(?:[ \t\f]|\\\r?\n)*+(?:(?P<assign>=(?!=)(?![ \t\f]*[}!:])|:=)|(?P<name>[^\W\d]\w*+)"
                         r"|(?P<colon>:))?")
# Keywords a statement can start with, then ':' (`else:`): for the others, `word: T` starting a line is
# an annotated assignment (`func: Callable`), so the word is a name.
_COLON_KEYWORDS = frozenset({"else", "try", "finally", "except", "lambda"})
# The name before an alias, read backwards: a match at the start of the reversed text, not a search that tries every
# position of the window (that search was 30% of map_aliases on alias-dense sources). The leading "\n?" is
# the forward pattern's "$" (r"(?<![\w.])([^\W\d]\w*)(?:[ \t\f]|\\\r?\n)*+$", kept in the tests as the
# reference), which also matches before a final newline.
_PREV_WORD_REVERSED = re.compile(r"\n?(?:[ \t\f]|\n\r?\\)*+(\w+)")
_DIGIT = re.compile(r"\d")


def _prev_word(before: str) -> str | None:
    """The name that ends `before` (blanks and line continuations after it allowed), as a backward search would find it."""
    rev = before[::-1]
    m = _PREV_WORD_REVERSED.match(rev)
    if m is None or rev[m.end():m.end() + 1] == ".":
        return None
    word = m.group(1)[::-1]
    return None if _DIGIT.match(word) else word


class AliasConflict(SyntaxError):
    """A keyword alias the module also uses as a name, written where only the keyword fits."""

    def __init__(self, offset: int, message: str) -> None:
        super().__init__(message)
        self.offset_in_source = offset


@cache
def _keyword_words() -> tuple[frozenset[str], frozenset[str]]:
    """(words that are Python keywords or aliases of one, words that introduce a name binding)."""
    import keyword

    single = {k[0]: v for k, v in keyword_aliases().items() if len(k) == 1}
    binders = {w for w, v in single.items() if v in _BINDING_KEYWORDS} | _BINDING_KEYWORDS
    return frozenset(keyword.kwlist) | frozenset(w for k in keyword_aliases() for w in k), frozenset(binders)


def _def_aliases() -> str:
    return "|".join(sorted({k[0] for k, v in keyword_aliases().items() if len(k) == 1 and v == "def"} | {"def"}))


@cache
def _def_before_paren() -> re.Pattern[str]:
    return re.compile(rf"(?<!\w)(?:{_def_aliases()})[ \t\f]+[^\W\d]\w*[ \t\f]*$")


def _binds_name(source: str, start: int, end: int, keyword: str) -> bool:
    """Whether the word at [start, end) is written as a name being bound or passed by name."""
    m = _NEXT_TOKEN.match(source, end)
    if m.group("assign"):
        return True
    before = source[max(0, start - 64):start]
    if m.group("colon") and keyword not in _COLON_KEYWORDS and before.rstrip(" \t\f").endswith(("\n", ";")):
        return True
    if m.group("colon") and keyword not in _COLON_KEYWORDS and start <= 64 and not before.strip(" \t\f"):
        return True
    prev = _prev_word(before)
    if prev is not None and prev in _keyword_words()[1]:
        return True
    stripped = before.rstrip(" \t\f")
    if stripped.endswith(("(", ",", "*")):
        return _in_parameter_list(source, start)
    return False


def _in_parameter_list(source: str, pos: int) -> bool:
    """Whether pos is directly inside the parentheses of `def NAME(...)` (searched back a bounded way)."""
    depth = 0
    lo = max(0, pos - _PARAM_SCAN)
    i = pos - 1
    while i >= lo:
        c = source[i]
        if c in ")]}":
            depth += 1
        elif c in "([{":
            if depth == 0:
                return c == "(" and _def_before_paren().search(source, max(0, i - 200), i) is not None
            depth -= 1
        i -= 1
    return False


@cache
def _binding_candidates() -> re.Pattern[str]:
    """_may_bind for a whole text at once: where a single-word alias is followed by '=' (or starts a line and
    is followed by ':'), or is preceded by '(', ',', '*', a line continuation or a blank line, or a binding
    keyword. Each alternative consumes only up to the word, never past it, so no candidate hides another."""
    words = "|".join(sorted(map(re.escape, _single_word_aliases()), key=len, reverse=True))
    binders = "|".join(sorted(map(re.escape, _keyword_words()[1]), key=len, reverse=True))
    first = "".join(sorted({re.escape(w[0]) for w in (*_single_word_aliases(), *_keyword_words()[1])}))
    blanks = r"(?:[ \t\f]|\\\r?\n)*+"
    return re.compile(rf"(?=[{first}(,*\\\n;])(?:(?<!\w)(?P<a>{words})(?={blanks}:?=)"
                      rf"|[\n;][ \t\f]*+(?P<d>{words})(?={blanks}:)"
                      rf"|(?:[(,*]|\\\r?\n|\n[ \t\f]*+\r?\n)(?=[ \t\f]*+(?P<b>{words})(?!\w))"
                      rf"|(?<!\w)(?:{binders})(?=[^\S\r]*+(?P<c>{words})(?!\w)))")


def _candidate_starts(source: str) -> set[int]:
    # (prefixed by a line break: the first line starts like any other; offsets then shift by one)
    return {m.start(m.lastgroup) - 1 for m in _binding_candidates().finditer("\n" + source)}


_ASSIGN_OR_COLON_NEXT = re.compile(r"(?:[ \t\f]|\\\r?\n)*+:?=?")


@cache
def _binder_suffixes() -> tuple[str, ...]:
    return tuple(_keyword_words()[1])


def _may_bind(source: str, start: int, end: int) -> bool:
    """A quick test that holds wherever _binds_name does (it reads the same text, less precisely): the word
    is followed by '=' (or starts a line and is followed by ':'), or preceded by '(', ',', '*' or a binding
    keyword. 5-10x cheaper than _binds_name, which then decides for the few words that pass."""
    after = _ASSIGN_OR_COLON_NEXT.match(source, end).group()
    if after.endswith("="):
        return True
    before = source[max(0, start - 64):start]
    if after.endswith(":") and (not before.strip(" \t\f") or before.rstrip(" \t\f").endswith(("\n", ";"))):
        return True
    before = before.rstrip(" \t\f")
    if before.endswith("\n"):  # _prev_word allows one line break right before the word
        before = before[:-1].rstrip(" \t\f")
    # (a line continuation or another line break: _prev_word may read on past them, so let it decide)
    return before.endswith(("(", ",", "*", "\\", "\\\r", "\n")) or before.endswith(_binder_suffixes())


def _names_kept(source: str, reps: list[Replacement]) -> list[Replacement]:
    """The replacements left once aliases the module uses as names are kept as names (see the rule above)."""
    bound: dict[str, int] = {}
    # Alias-dense text (Hausa throughout): one regex pass over it costs less than a test per alias (measured).
    dense = _candidate_starts(source) if len(reps) * 16 > len(source) else None
    for start, end, kw in reps:
        if not (start in dense if dense is not None else _may_bind(source, start, end)):
            continue
        word = source[start:end]
        if word not in bound and word.isidentifier() and _binds_name(source, start, end, kw):
            bound[word] = start
    if not bound:
        return reps
    keywords = _keyword_words()[0]
    kept = []
    for start, end, kw in reps:
        word = source[start:end]
        if word not in bound:
            kept.append((start, end, kw))
            continue
        nxt = _NEXT_TOKEN.match(source, end).group("name")
        if nxt is not None and nxt not in keywords:
            line = source.count("\n", 0, bound[word]) + 1
            raise AliasConflict(start, f"'{word}' is a name in this module (bound on line {line}), so it cannot "
                                       f"also stand for the keyword '{kw}' here: write '{kw}' or rename the name")
    return kept


def map_aliases(source: str) -> MappedSource:
    """Rewrite alias keywords to Python keywords; keep line numbers (column maps for errors come from the
    replacements, on first use). Aliases the module uses as names stay names (_names_kept)."""
    reps = _names_kept(source, _alias_replacements(source))
    if not reps:
        return MappedSource(source, source, [])
    pieces = []
    pos = 0
    for start, end, kw in reps:
        pieces.append(source[pos:start])
        pieces.append(kw)
        pos = end
    pieces.append(source[pos:])
    return MappedSource("".join(pieces), source, reps)


def _line_maps(source: str, reps: list[Replacement]) -> dict[int, LineMap]:
    starts = line_starts(source)
    line_maps: dict[int, LineMap] = {}
    line, shift = 0, 0  # shift: user_col - new_col after the edits so far on this line
    for start, end, kw in reps:
        at = bisect.bisect_right(starts, start)
        if at != line:
            line, shift = at, 0
            line_maps[line] = LineMap()
        lm = line_maps[line]
        col = start - starts[line - 1]
        lm.new_starts.append(col - shift)
        lm.user_starts.append(col)
        lm.lengths.append(len(kw))
        shift += (end - start) - len(kw)
        lm.shifts.append(shift)
    return line_maps


def to_python(source: str) -> str:
    """The Python program a Tauraro program stands for (what CPython runs as the oracle)."""
    return map_aliases(source).python


def _char_col(mapped: MappedSource, line: int, byte_col: int) -> int:
    """ast gives UTF-8 byte offsets; convert to a character column of the mapped line."""
    starts = line_starts(mapped.python)
    if 1 <= line <= len(starts):
        text = mapped.python[starts[line - 1]:starts[line] if line < len(starts) else len(mapped.python)]
        return len(text.encode("utf-8", "surrogatepass")[:byte_col].decode("utf-8", "replace"))
    return byte_col


# CPython checks the nesting depth of what it parses and compiles against 3x the recursion limit in force;
# `python3 prog.py` compiles under the default limit, so the front end does too (the VM raises the limit
# while programs run), and our own passes over the tree get room for that depth.
CPYTHON_RECURSION_LIMIT = 1000
FRONT_END_RECURSION_LIMIT = 20 * CPYTHON_RECURSION_LIMIT


@contextlib.contextmanager
def recursion_limit(limit: int) -> Iterator[None]:
    """Run with sys.getrecursionlimit() == limit (unchanged if the stack is already deeper than it)."""
    saved = sys.getrecursionlimit()
    try:
        sys.setrecursionlimit(limit)
    except RecursionError:
        pass
    try:
        yield
    finally:
        sys.setrecursionlimit(saved)


def parse(source: str, filename: str = "<string>", cpython_check: bool = True) -> tuple[ast.Module, MappedSource]:
    """Parse Tauraro source into a checked Python AST; raise TauraroSyntaxError with user positions.
    cpython_check=False leaves CPython's compile-time check to the caller (precheck.scopes_after_check)."""
    try:
        mapped = map_aliases(source)
    except AliasConflict as e:
        starts = line_starts(source)
        line = bisect.bisect_right(starts, e.offset_in_source)
        raise TauraroSyntaxError(filename, line, e.offset_in_source - starts[line - 1] + 1, e.msg) from None
    # CPython's bound counts the frames below the compile call: discounting ours, the deepest nesting
    # accepted is python3's within a few levels (2991 vs 2998 `not`s under `python -m tauraro`).
    with recursion_limit(CPYTHON_RECURSION_LIMIT + _stack_depth()):
        tree = _parse_like_cpython(mapped, filename)
    # Compiling a tree validates it first, counting each level several times (bound: ~1000 levels at the
    # default limit, 2986 from source): the parse above has bounded the depth already, so give it room.
    with recursion_limit(FRONT_END_RECURSION_LIMIT):
        if cpython_check:
            check_like_cpython(tree, mapped, filename)
        if SUBSET_CHECK_NEEDED:  # a walk of the whole tree (0.3-0.5x CPython's compile): only where it finds something
            SubsetChecker(filename, mapped).visit(tree)
    return tree, mapped


def _stack_depth() -> int:
    depth, frame = 0, sys._getframe()
    while frame is not None:
        depth, frame = depth + 1, frame.f_back
    return depth


def _parse_like_cpython(mapped: MappedSource, filename: str) -> ast.Module:
    try:
        return compile(mapped.python, filename, "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as e:  # IndentationError is a subclass
        line = e.lineno or 1
        col = e.offset or 1
        msg = e.msg
        raise TauraroSyntaxError(filename, line, mapped.user_col(line, col - 1) + 1, msg) from None
    except (ValueError, OverflowError, MemoryError, RecursionError) as e:
        raise TauraroSyntaxError(filename, 1, 1, str(e) or type(e).__name__) from None


def check_like_cpython(tree: ast.Module, mapped: MappedSource, filename: str) -> None:
    """CPython's own compiler finds the errors `ast.parse` lets through (duplicate arguments, misplaced
    global/nonlocal, 'continue' outside a loop, ...): let it, so they are reported exactly as CPython does.
    It compiles the tree already parsed: 0.55-0.85x the time of compiling the source again (measured)."""
    try:
        _compile_in_chunks(tree, filename)
    except SyntaxError as e:
        line = e.lineno or 1
        col = _char_col(mapped, line, (e.offset or 1) - 1)  # compiling a tree reports UTF-8 byte offsets
        raise TauraroSyntaxError(filename, line, mapped.user_col(line, col) + 1, e.msg) from None
    except (ValueError, OverflowError, MemoryError, RecursionError) as e:
        raise TauraroSyntaxError(filename, 1, 1, str(e) or type(e).__name__) from None


# Top-level statements per compile() call of the check. CPython's compile time grows faster than the
# module (measured on bench.compile's mixed shape: 0.9, 2.8, 16.6 s for 1.25, 2.5, 5 MB) while compiling
# the same statements 200 at a time stays linear (0.56, 1.17, 2.30 s).
CHECK_CHUNK = 200


def _compile_in_chunks(tree: ast.Module, filename: str) -> None:
    """compile() the module, CHECK_CHUNK top-level statements at a time. Only a top-level `global` or a
    __future__ import relates statements across chunks: with one, the module is compiled whole; and on
    an error it is too, so the error reported is the one CPython reports first."""
    body = tree.body
    if len(body) <= CHECK_CHUNK or any(_relates_statements(s) for s in body):
        compile(tree, filename, "exec", dont_inherit=True)
        return
    try:
        for i in range(0, len(body), CHECK_CHUNK):
            compile(ast.Module(body[i:i + CHECK_CHUNK], []), filename, "exec", dont_inherit=True)
    except SyntaxError:
        compile(tree, filename, "exec", dont_inherit=True)
        raise


def _relates_statements(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Global) or (isinstance(stmt, ast.ImportFrom) and stmt.module == "__future__")


class SubsetChecker(FastVisitor):
    """Rejects constructs outside the supported Tauraro subset, with a located message."""

    def __init__(self, filename: str, mapped: MappedSource) -> None:
        self.filename = filename
        self.mapped = mapped

    def fail(self, node: ast.AST, what: str) -> None:
        line = getattr(node, "lineno", 1)
        col = _char_col(self.mapped, line, getattr(node, "col_offset", 0))
        raise TauraroSyntaxError(self.filename, line, self.mapped.user_col(line, col) + 1,
                                 f"{what} is not supported")

    def generic_visit(self, node: ast.AST) -> None:
        name = UNSUPPORTED.get(type(node))
        if name:
            self.fail(node, name)
        super().generic_visit(node)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        if node.type_params if hasattr(node, "type_params") else False:
            self.fail(node, "a type parameter list")
        self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef



UNSUPPORTED: dict[type, str] = {
    ast.Set: None,  # supported; listed so the table names every construct considered
}
UNSUPPORTED = {k: v for k, v in UNSUPPORTED.items() if v}
# SubsetChecker.generic_visit sees only nodes with children (FastVisitor): every unsupported one has some.
assert all(child_fields(k) for k in UNSUPPORTED)
if hasattr(ast, "TypeAlias"):  # Python 3.12 syntax, not 3.11's
    UNSUPPORTED[ast.TypeAlias] = "'type' aliases"
# On a 3.11 host every construct the parser accepts is supported: the checker has nothing to find.
SUBSET_CHECK_NEEDED = bool(UNSUPPORTED) or "type_params" in ast.FunctionDef._fields
