"""The real programs: where they live, their sizes, and what each uses (read from its own source)."""
from __future__ import annotations

import ast
import functools
import re
from dataclasses import dataclass
from pathlib import Path

PROGRAM_DIR = Path(__file__).resolve().parent / "programs"

# Every program has exactly one such line; sys.argv[1] overrides the size when given.
DEFAULT_SIZE_LINE = re.compile(r"^DEFAULT_SIZE = (\d+)  # (.+)$", re.MULTILINE)

# (quick size, test size) per program. Quick: ~0.1-0.3 s on CPython (`--quick`, a smoke test);
# test: the smallest size that still runs every part of the program (tests/test_bench_real.py).
SIZES: dict[str, tuple[int, int]] = {
    "bank": (5, 1), "calc": (5, 1), "chaos": (20, 2), "constraints": (10, 1), "crawler": (5, 1),
    "ecosystem": (10, 3), "fannkuch": (7, 5), "huffman": (4, 1), "lru": (15, 2), "lu": (40, 12),
    "nqueens": (8, 6), "pathfind": (2, 1), "pipeline": (8, 1), "raytrace": (40, 12), "records": (5, 1),
    "reversi": (2, 1), "scheduler": (5, 1), "serializer": (80, 5), "spectral_norm": (60, 20),
    "stackvm": (2, 1), "sudoku": (1, 1), "templates": (80, 5),
}


@dataclass(frozen=True)
class RealProgram:
    name: str
    quick: int
    test: int

    @property
    def path(self) -> Path:
        return PROGRAM_DIR / f"{self.name}.py"

    @functools.cached_property
    def source(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def lines(self) -> int:
        return len(self.source.splitlines())

    @functools.cached_property
    def _size_line(self) -> re.Match[str]:
        matches = list(DEFAULT_SIZE_LINE.finditer(self.source))
        if len(matches) != 1:
            raise ValueError(f"{self.path} must have exactly one line 'DEFAULT_SIZE = <int>  # <unit>'")
        return matches[0]

    @property
    def default(self) -> int:
        return int(self._size_line.group(1))

    @property
    def unit(self) -> str:
        return self._size_line.group(2)

    @property
    def title(self) -> str:
        doc = ast.get_docstring(ast.parse(self.source)) or self.name
        return doc.splitlines()[0].rstrip(".")

    def size(self, quick: bool) -> int:
        return self.quick if quick else self.default

    def sized_source(self, size: int) -> str:
        """The program with its default size set to `size` (for a runner that cannot pass arguments)."""
        m = self._size_line
        return self.source[:m.start(1)] + str(size) + self.source[m.end(1):]

    @functools.cached_property
    def features(self) -> tuple[list[str], list[str]]:
        """(standard-library modules imported, language features used), both sorted."""
        return uses(self.source)


def discover() -> list[RealProgram]:
    """Every program in PROGRAM_DIR, in name order; a program without sizes in SIZES is an error."""
    programs = []
    for path in sorted(PROGRAM_DIR.glob("*.py")):
        if path.stem not in SIZES:
            raise ValueError(f"{path}: add its quick and test sizes to bench/real/catalog.py SIZES")
        programs.append(RealProgram(path.stem, *SIZES[path.stem]))
    missing = set(SIZES) - {p.name for p in programs}
    if missing:
        raise ValueError(f"SIZES names programs that do not exist: {', '.join(sorted(missing))}")
    return programs


def select(names: list[str] | None) -> list[RealProgram]:
    programs = discover()
    if not names:
        return programs
    known = {p.name for p in programs}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown program(s): {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    return [p for p in programs if p.name in set(names)]


# What a construct is called in the reports, for the AST node types that mark it.
FEATURE_NODES: dict[str, tuple[type, ...]] = {
    "async": (ast.AsyncFunctionDef, ast.Await, ast.AsyncFor, ast.AsyncWith),
    "generators": (ast.Yield,),
    "yield from": (ast.YieldFrom,),
    "with": (ast.With,),
    "try/except": (ast.Try,),
    "raise from": (),  # detected below: a Raise with a cause
    "lambda": (ast.Lambda,),
    "comprehensions": (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp),
    "f-strings": (ast.JoinedStr,),
    "global": (ast.Global,),
    "nonlocal": (ast.Nonlocal,),
    "starred": (ast.Starred,),
    "walrus": (ast.NamedExpr,),
}


def uses(source: str) -> tuple[list[str], list[str]]:
    """The modules a program imports and the language features it uses, found in its AST."""
    tree = ast.parse(source)
    modules: set[str] = set()
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
        elif isinstance(node, ast.ClassDef):
            found.add("classes")
            if node.bases:
                found.add("inheritance")
            if node.keywords:
                found.add("class keywords")
            if node.decorator_list:
                found.add("class decorators")
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if node.decorator_list:
                found.add("decorators")
            a = node.args
            if a.vararg or a.kwarg:
                found.add("*args/**kwargs")
            if a.kwonlyargs:
                found.add("keyword-only args")
            if any(isinstance(n, (ast.FunctionDef, ast.Lambda)) for b in node.body for n in ast.walk(b)):
                found.add("closures")
        elif isinstance(node, ast.Raise) and node.cause is not None:
            found.add("raise from")
        for name, types in FEATURE_NODES.items():
            if types and isinstance(node, types):
                found.add(name)
    return sorted(modules), sorted(found)
