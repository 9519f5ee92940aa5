"""Seeded generator of random, valid, terminating Tauraro programs aimed at the loop JIT."""
from __future__ import annotations

import random
from dataclasses import dataclass, field

# Constants that sit on the JIT's edges: i64 limits, 2**53 (exact floats), shift widths.
EDGE_INTS = [
    2**63 - 1, 2**63 - 2, 2**63 - 100, -(2**63), -(2**63) + 1, -(2**63) + 50, 2**63, 2**64, -(2**64),
    2**62, -(2**62), 2**53, 2**53 + 1, -(2**53) - 1, 2**32, 2**31 - 1, 3037000499, 3037000500,
    9223372036854775000, -9223372036854775000, 4611686018427387903,
]
SMALL_INTS = [0, 1, 2, 3, 4, 5, 7, 8, 10, 13, 16, 31, 63, 64, 100, 255, 1000, 4096,
              -1, -2, -3, -5, -7, -8, -13, -100]
FLOATS = ["0.0", "-0.0", "0.5", "1.5", "-2.25", "3.0", "0.1", "-1e-05", "1e-300", "1e+300", "-1e+300",
          "1.7976931348623157e+308", "1e+16", "9007199254740993.0", "2.5e+15", "1e309", "-1e309",
          "1e309 - 1e309", "7.0", "-3.5", "100.0", "1e-320"]
SHIFT_COUNTS = [0, 1, 2, 3, 5, 8, 13, 31, 32, 62, 63, 64, 65, 70]
MODULI = ["1000003", "97", "7", "-7", "65536", "9223372036854775807", "-9223372036854775808", "2147483647",
          "1000000007", "3"]
MASKS = ["255", "65535", "4294967295", "9223372036854775807", "18446744073709551615", "1023"]
# Hausa spellings the generator may use instead of Python keywords (tauraro/keywords.tsv).
ALIASES = {
    "def": ["aiki"], "if": ["idan"], "elif": ["kokuma idan"], "else": ["akasi"], "while": ["yayinda"],
    "for": ["duk"], "in": ["cikin"], "return": ["maido"], "break": ["tsaya"], "continue": ["cigaba"],
    "try": ["gwada"], "except": ["kama"], "finally": ["karshe"], "raise": ["jefa"], "pass": ["wuce"],
    "global": ["duniya"], "and": ["dakuma"], "or": ["ko"], "not": ["ba"], "True": ["gaskiyane"],
    "False": ["karyane"],
}
RISKY_EXCEPTIONS = ["ZeroDivisionError", "TypeError", "ValueError", "OverflowError", "IndexError", "NameError"]
STATEMENT_BUDGET = 2500  # worst-case statement executions of a whole program
# Helpers the language-feature statements use: a generator, yield from, context managers (one
# suppresses ZeroDivisionError), a decorator forwarding *args/**kwargs.
LANG_PRELUDE = """\
def _gen(n):
    i = 0
    while i < n:
        yield i
        i += 1
def _gen_from(n):
    r = yield from _gen(n)
    return r
class _Ctx:
    def __init__(self, tag):
        self.tag = tag
    def __enter__(self):
        return self.tag
    def __exit__(self, t, v, tb):
        return False
class _Quiet(_Ctx):
    def __exit__(self, t, v, tb):
        return t is ZeroDivisionError
def _deco(f):
    def wrapper(*args, **kwargs):
        return f(*args, **kwargs)
    return wrapper
"""


@dataclass
class Expr:
    """Generated expression text with what the taming rules need: polynomial degree and bit growth."""

    text: str
    deg: int = 0
    grow: int = 0
    atom: bool = False

    def paren(self) -> str:
        return self.text if self.atom else f"({self.text})"


@dataclass
class Func:
    """A generated function the later code may call."""

    name: str
    nparams: int
    cost: int
    returns_int: bool


@dataclass
class Scope:
    """Variables visible to the code being generated, by kind, and where that code sits."""

    ints: list[str] = field(default_factory=list)
    floats: list[str] = field(default_factory=list)
    bools: list[str] = field(default_factory=list)
    morphs: list[str] = field(default_factory=list)
    lists: list[str] = field(default_factory=list)
    flists: list[str] = field(default_factory=list)
    strs: list[str] = field(default_factory=list)
    readonly: list[str] = field(default_factory=list)  # loop variables and counters: read, never assigned
    # Names bound for sure from here on in this block (a loop's variable or counter after the loop,
    # a temporary first assigned inside a loop): read, never assigned. Copied per nested block.
    known: list[str] = field(default_factory=list)
    # Names that may be unbound (a loop variable after a loop that may not have run, a loop
    # temporary after its loop): read only under `try/except NameError`. One list per function.
    maybe: list[str] = field(default_factory=list)
    global_ints: list[str] = field(default_factory=list)  # module ints a function may read
    funcs: list[Func] = field(default_factory=list)
    in_function: bool = False
    returns_int: bool = True
    loop_depth: int = 0
    mult: int = 1  # how often one statement here may run (product of enclosing loop counts)
    catching: frozenset[str] = frozenset()
    pure: bool = False  # only what the JIT compiles natively: numbers, branches, loops (no calls, lists, ...)
    depth: int = 0  # block nesting


class ProgramGenerator:
    """Builds one program from a seed: the same seed always gives the same text."""

    def __init__(self, seed: int, budget: int = STATEMENT_BUDGET) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.budget = budget
        self.lines: list[str] = []
        self.indent = 0
        self.alias_rate = 0.0 if self.rng.random() < 0.85 else self.rng.choice([0.3, 1.0])
        self.names = 0
        self.uses_math = self.rng.random() < 0.3
        # Language features beyond loops (generators, with, decorators, star calls, match) come from a
        # second stream, so the programs of seeds without them are the same as before they existed.
        self.lang_rng = random.Random(seed * 7919 + 1)
        self.lang = self.lang_rng.random() < 0.35
        # Recursive functions (issue 14: function units, native recursion, exits at depth) come from a
        # third stream, appended after everything else: the rest of a seed's program is unchanged.
        self.rec_rng = random.Random(seed * 104729 + 7)
        self.recursive = self.rec_rng.random() < 0.3
        # A range iterator the program holds and compiled loops share (`for x in it`), a fourth stream.
        self.iter_rng = random.Random(seed * 1299709 + 11)
        self.shared_iter = self.iter_rng.random() < 0.25

    def lang_chance(self, p: float) -> bool:
        return self.lang and self.lang_rng.random() < p

    # --- text ------------------------------------------------------------------------------------
    def kw(self, word: str) -> str:
        if self.alias_rate and word in ALIASES and self.rng.random() < self.alias_rate:
            return self.rng.choice(ALIASES[word])
        return word

    def emit(self, text: str) -> None:
        self.lines.append("    " * self.indent + text)

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def pick(self, seq: list):
        return self.rng.choice(seq)

    # --- constants -----------------------------------------------------------------------------------
    def int_const(self) -> Expr:
        r = self.rng.random()
        if r < 0.6:
            v = self.pick(SMALL_INTS)
        elif r < 0.8:
            v = self.rng.randint(-50, 200)
        else:
            v = self.pick(EDGE_INTS)
        return Expr(str(v), 0, 0, atom=v >= 0)

    def small_int(self) -> int:
        return self.pick([1, 2, 3, 5, 7, 11, 13, 16, -1, -3, -7, 100])

    def float_const(self) -> Expr:
        text = self.pick(FLOATS)
        return Expr(text, 0, 0, atom=text[0] != "-" and " " not in text)

    # --- expressions -------------------------------------------------------------------------------------
    def int_atom(self, s: Scope) -> Expr:
        pool = s.ints + s.readonly + s.global_ints + s.known
        if pool and self.chance(0.75):
            return Expr(self.pick(pool), 1, 0, atom=True)
        if s.bools and self.chance(0.1):
            return Expr(self.pick(s.bools), 1, 0, atom=True)
        return self.int_const()

    def nonzero(self, s: Scope, e: Expr) -> Expr:
        """A divisor built from `e` that is never zero."""
        form = self.rng.randrange(4)
        if form == 0:
            return Expr(f"({e.paren()} | 1)", e.deg, e.grow, atom=True)
        if form == 1:
            k = self.pick([3, 5, 7, 16])
            return Expr(f"({e.paren()} % {k} + 1)", 0, 0, atom=True)
        if form == 2:
            k = self.pick([2, 3, 7, 13])
            return Expr(f"({e.paren()} % {k} - {k})", 0, 0, atom=True)
        c = self.pick([1, 2, 3, 7, -1, -2, -7, 13, 1000, 2**62, -(2**63)])
        return Expr(str(c), 0, 0, atom=c >= 0)

    def int_expr(self, s: Scope, depth: int = 2) -> Expr:
        if depth <= 0 or self.chance(0.3):
            return self.int_atom(s)
        a = self.int_expr(s, depth - 1)
        r = self.rng.random()
        if r < 0.14:
            op = self.pick(["+", "-"])
            b = self.int_expr(s, depth - 1)
            return Expr(f"{a.paren()} {op} {b.paren()}", max(a.deg, b.deg), max(a.grow, b.grow) + 1)
        if r < 0.26:
            if self.chance(0.5):
                c = self.rng.choice([2, 3, 5, 7, 10, 13, -1, -3, 16])
                return Expr(f"{a.paren()} * {c}" if c > 0 else f"{a.paren()} * ({c})", a.deg,
                            a.grow + abs(c).bit_length())
            b = self.int_expr(s, depth - 1)
            return Expr(f"{a.paren()} * {b.paren()}", a.deg + b.deg, a.grow + b.grow + 64)
        if r < 0.40:
            op = self.pick(["//", "%"])
            risky = "ZeroDivisionError" in s.catching and self.chance(0.5) or self.chance(0.02)
            b = self.int_expr(s, depth - 1)
            if not risky:
                b = self.nonzero(s, b)
            if op == "%":
                return Expr(f"{a.paren()} % {b.paren()}", b.deg, b.grow)
            return Expr(f"{a.paren()} // {b.paren()}", a.deg, a.grow)
        if r < 0.50:
            if self.chance(0.6):
                k = self.pick(SHIFT_COUNTS)
                op = "<<" if k <= 3 or self.chance(0.3) else ">>"
                return Expr(f"{a.paren()} {op} {k}", a.deg, a.grow + (k if op == "<<" else 0))
            b = self.int_atom(s)
            if self.chance(0.1) and "ValueError" in s.catching:
                return Expr(f"{a.paren()} >> {b.paren()}", a.deg, a.grow)
            mask = self.pick([3, 7, 15])
            op = self.pick(["<<", ">>", ">>"])
            return Expr(f"{a.paren()} {op} ({b.paren()} & {mask})", a.deg, a.grow + (mask if op == "<<" else 0))
        if r < 0.62:
            op = self.pick(["&", "|", "^"])
            b = self.int_expr(s, depth - 1)
            bounded = op == "&" and (not a.deg or not b.deg)
            return Expr(f"{a.paren()} {op} {b.paren()}", 0 if bounded else max(a.deg, b.deg), max(a.grow, b.grow))
        if r < 0.70:
            op = self.pick(["-", "~", "abs"])
            if op == "abs":
                return Expr(f"abs({a.text})", a.deg, a.grow, atom=True)
            return Expr(f"{op}{a.paren()}", a.deg, a.grow)
        if r < 0.78:
            fn = self.pick(["min", "max"])
            b = self.int_expr(s, depth - 1)
            return Expr(f"{fn}({a.text}, {b.text})", max(a.deg, b.deg), max(a.grow, b.grow), atom=True)
        if r < 0.83 and (s.floats or self.chance(0.2)):
            f = self.float_expr(s, depth - 1)
            if "OverflowError" in s.catching or "ValueError" in s.catching or self.chance(0.05):
                fn = self.pick(["int", "int", "math.floor", "math.ceil"] if self.uses_math else ["int"])
                return Expr(f"{fn}({f.text})", 1, 1100, atom=True)
            return Expr(f"int(max(min({f.text}, 1e+18), -1e+18))", 1, 64, atom=True)
        if r < 0.88:
            cond = self.bool_expr(s, depth - 1)
            b = self.int_expr(s, depth - 1)
            return Expr(f"{a.paren()} if {cond.text} else {b.paren()}", max(a.deg, b.deg), max(a.grow, b.grow))
        if r < 0.92 and s.lists:
            return Expr(self.list_read(s), 1, 64, atom=True)
        if r < 0.95:
            k = self.pick([2, 2, 3])
            return Expr(f"{a.paren()} ** {k}", a.deg * k, a.grow * k + 64)
        return Expr(f"{a.paren()} + {self.int_const().paren()}", a.deg, a.grow + 1)

    def list_read(self, s: Scope) -> str:
        lst = self.pick(s.lists)
        if "IndexError" in s.catching and self.chance(0.3):
            return f"{lst}[{self.int_atom(s).text}]"
        idx = self.int_atom(s).paren()
        return f"{lst}[{idx} % len({lst})]" if self.chance(0.8) else f"{lst}[-1]"

    def float_atom(self, s: Scope) -> Expr:
        if s.floats and self.chance(0.7):
            return Expr(self.pick(s.floats), atom=True)
        if s.flists and self.chance(0.3):
            lst = self.pick(s.flists)
            return Expr(f"{lst}[{self.int_atom(s).paren()} % len({lst})]", atom=True)
        if self.chance(0.3):
            return Expr(f"float({self.int_atom(s).text})", atom=True)
        return self.float_const()

    def float_expr(self, s: Scope, depth: int = 2) -> Expr:
        if depth <= 0 or self.chance(0.3):
            return self.float_atom(s)
        a = self.float_expr(s, depth - 1)
        r = self.rng.random()
        if r < 0.35:
            op = self.pick(["+", "-", "*"])
            b = self.float_expr(s, depth - 1) if self.chance(0.7) else self.int_expr(s, depth - 1)
            return Expr(f"{a.paren()} {op} {b.paren()}")
        if r < 0.55:
            op = self.pick(["/", "//", "%"])
            b = self.float_expr(s, depth - 1) if self.chance(0.6) else self.int_expr(s, depth - 1)
            risky = "ZeroDivisionError" in s.catching and self.chance(0.6) or self.chance(0.02)
            if not risky:
                b = Expr(self.pick(["2.0", "-3.5", "0.25", "7", "1e-300", "1e+300", "-1e309"]), atom=True)
            return Expr(f"{a.paren()} {op} {b.paren()}")
        if r < 0.65:
            op = self.pick(["-", "abs"])
            return Expr(f"abs({a.text})", atom=True) if op == "abs" else Expr(f"-{a.paren()}")
        if r < 0.73:
            fn = self.pick(["min", "max"])
            b = self.float_expr(s, depth - 1)
            return Expr(f"{fn}({a.text}, {b.text})", atom=True)
        if r < 0.83 and self.uses_math:
            fn = self.pick(["math.sqrt(abs({}))", "math.sin({})", "math.cos({})", "math.atan({})",
                            "math.fabs({})", "math.exp(min({}, 700.0))", "math.log(abs({}) + 1.0)",
                            "math.tanh({})"])
            return Expr(fn.format(a.text), atom=True)
        if r < 0.88:
            cond = self.bool_expr(s, depth - 1)
            b = self.float_expr(s, depth - 1)
            return Expr(f"{a.paren()} if {cond.text} else {b.paren()}")
        if r < 0.94:  # int / int: exact only within 2**53, else the JIT leaves to the interpreter
            x, y = self.int_expr(s, depth - 1), self.int_expr(s, depth - 1)
            risky = "ZeroDivisionError" in s.catching and self.chance(0.5)
            return Expr(f"{x.paren()} / {(y if risky else self.nonzero(s, y)).paren()}")
        return Expr(f"{a.paren()} * {self.int_atom(s).paren()}")

    def compare(self, s: Scope, depth: int) -> Expr:
        op = self.pick(["<", "<=", ">", ">=", "==", "!="])
        r = self.rng.random()
        if r < 0.55:
            a, b = self.int_expr(s, depth), self.int_expr(s, depth)
        elif r < 0.75:
            a, b = self.float_expr(s, depth), self.float_expr(s, depth)
        elif r < 0.9:
            a, b = self.int_expr(s, depth), self.float_expr(s, depth)
        else:
            a = self.int_expr(s, depth)
            k = self.pick([2, 3, 5, 7])
            return Expr(f"{a.paren()} % {k} {self.pick(['==', '!='])} {self.rng.randrange(k)}")
        if self.chance(0.1):
            c = self.int_expr(s, depth)
            return Expr(f"{a.paren()} {op} {b.paren()} {self.pick(['<', '<=', '!='])} {c.paren()}")
        return Expr(f"{a.paren()} {op} {b.paren()}")

    def bool_expr(self, s: Scope, depth: int = 1) -> Expr:
        r = self.rng.random()
        if r < 0.15 and s.bools:
            v = self.pick(s.bools)
            return Expr(v if self.chance(0.7) else f"{self.kw('not')} {v}", atom=True)
        if r < 0.25 and s.readonly:
            v = self.pick(s.readonly)
            return Expr(f"{v} == {self.rng.randrange(0, 9)}")
        if r < 0.35 and depth > 0:
            a, b = self.bool_expr(s, depth - 1), self.bool_expr(s, depth - 1)
            return Expr(f"({a.text}) {self.kw(self.pick(['and', 'or']))} ({b.text})")
        if r < 0.38:
            return Expr(self.kw(self.pick(["True", "False"])), atom=True)
        if r < 0.45 and s.ints:
            return Expr(f"{self.kw('not')} {self.pick(s.ints)}")
        return self.compare(s, max(depth - 1, 0))

    # --- statements ------------------------------------------------------------------------------------
    def tame(self, s: Scope, e: Expr) -> str:
        """Keep ints from growing without bound in loops (exponential growth would never finish)."""
        if s.loop_depth == 0 and e.deg <= 1:
            return e.text
        if e.deg <= 1 and e.grow * s.mult <= 4000:
            return e.text
        form = self.rng.randrange(3)
        if form == 0:
            return f"{e.paren()} % {self.pick(MODULI)}"
        if form == 1:
            return f"{e.paren()} & {self.pick(MASKS)}"
        lo, hi = self.pick([(-(2**63), 2**63 - 1), (-1000, 1000), (0, 2**64), (-(2**62), 2**62)])
        return f"min(max({e.text}, {lo}), {hi})"

    def assign_int(self, s: Scope) -> None:
        v = self.pick(s.ints)
        r = self.rng.random()
        if r < 0.25:
            op = self.pick(["+=", "-=", "^=", "|="])
            e = self.int_expr(s, 1)
            if e.deg <= 1 and e.grow * s.mult <= 4000:
                self.emit(f"{v} {op} {e.text}")
                return
        if r < 0.35:
            op, rhs = self.pick([("*=", str(self.pick([2, 3, -1, 7]))), ("//=", str(self.pick([2, 3, -2, 7]))),
                                 ("%=", self.pick(MODULI)), (">>=", str(self.pick(SHIFT_COUNTS))),
                                 ("<<=", "1"), ("&=", self.pick(MASKS))])
            if op not in ("*=", "<<=") or s.mult * 3 <= 4000:
                self.emit(f"{v} {op} {rhs}")
                return
        e = self.int_expr(s, 2)
        self.emit(f"{v} = {self.tame(s, e)}")

    def assign_float(self, s: Scope) -> None:
        v = self.pick(s.floats)
        if self.chance(0.25):
            op = self.pick(["+=", "-=", "*="])
            self.emit(f"{v} {op} {self.float_expr(s, 1).text}")
        else:
            self.emit(f"{v} = {self.float_expr(s, 2).text}")

    def assign_bool(self, s: Scope) -> None:
        v = self.pick(s.bools)
        if self.chance(0.2):
            self.emit(f"{v} = {self.kw('not')} {v}")
        else:
            self.emit(f"{v} = {self.bool_expr(s, 1).text}")

    def morph_stmt(self, s: Scope) -> None:
        m = self.pick(s.morphs)
        r = self.rng.random()
        event = s.readonly and self.chance(0.6)
        cond = f"{self.pick(s.readonly)} == {self.rng.randrange(1, 6)}" if event else self.bool_expr(s, 0).text
        if r < 0.3:
            change = self.pick([f"{m} = {m} + 0.5", f"{m} = {m} / 2", f"{m} = float({m})", f"{m} = {m} * 1.5"])
        elif r < 0.5 and s.pure:
            change = self.pick([f"{m} = {m} > 0", f"{m} = {m} * 0.5"])
        elif r < 0.5:
            change = self.pick([f"{m} = str({m})", f"{m} = 'v' + str({m})"])
        elif r < 0.6:
            change = self.pick([f"{m} = {m} > 0", f"{m} = {m} + 9223372036854775807"])
        else:
            change = None
        if change:
            self.emit(f"{self.kw('if')} {cond}:")
            self.indent += 1
            self.emit(change)
            self.indent -= 1
            return
        if s.pure:
            self.emit(self.pick([f"{m} = {m} + {self.small_int()}", f"{m} = {m} - {self.int_atom(s).paren()}",
                                 f"{m} += 1", f"{m} = -{m}", f"{m} = {m} // 2", f"{m} = {m} % 1000"]))
            return
        safe = self.chance(0.6)
        arith = self.pick([f"{m} = {m} + {self.small_int()}", f"{m} = {m} * 3 - 1" if s.mult < 300 else f"{m} = {m} - 3",
                           f"{m} = {m} - {self.int_atom(s).paren()}", f"{m} += 1", f"{m} = -{m}",
                           f"{m} = {m} // 2", f"{m} = {m} % 1000"])
        if safe:
            self.emit(f"{self.kw('if')} isinstance({m}, str):")
            self.indent += 1
            self.emit(f"{m} = {m}[-20:] + 'z'")
            self.indent -= 1
            self.emit(f"{self.kw('else')}:")
            self.indent += 1
            self.emit(arith)
            self.indent -= 1
        elif "TypeError" in s.catching or self.chance(0.2):
            self.emit(arith)
        else:
            self.emit(f"{self.kw('try')}:")
            self.indent += 1
            self.emit(arith)
            self.indent -= 1
            self.emit(f"{self.kw('except')} TypeError:")
            self.indent += 1
            self.emit(f"{m} = len(str({m}))")
            self.indent -= 1

    def list_stmt(self, s: Scope) -> None:
        lst = self.pick(s.lists)
        r = self.rng.random()
        if r < 0.4:
            idx = self.int_atom(s).paren()
            val = self.int_expr(s, 1)
            if self.chance(0.08):
                other = self.float_atom(s).text if self.chance(0.7) else self.bool_expr(s, 0).text
                self.emit(f"{lst}[{idx} % len({lst})] = {other}")
            elif "IndexError" in s.catching and self.chance(0.3):
                self.emit(f"{lst}[{idx}] = {self.tame(s, val)}")
            else:
                self.emit(f"{lst}[{idx} % len({lst})] = {self.tame(s, val)}")
        elif r < 0.55 and s.mult <= 200 and not s.pure:
            self.emit(f"{lst}.append({self.tame(s, self.int_expr(s, 1))})")
        elif s.ints:
            v = self.pick(s.ints)
            self.emit(f"{v} = {self.tame(s, Expr(self.list_read(s) + ' + ' + self.int_atom(s).paren(), 1, 64))}")

    def str_stmt(self, s: Scope) -> None:
        v = self.pick(s.strs)
        src = self.pick(s.ints + s.floats + s.readonly + s.bools or ["0"])
        if s.mult > 200:
            self.emit(f"{v} = {v}[-30:] + str({src})[:5]")
        else:
            self.emit(f"{v} = {v} + str({src})[:12] + ','")

    def call_stmt(self, s: Scope) -> None:
        f = self.pick([f for f in s.funcs if f.cost * s.mult <= self.budget])
        self.budget -= f.cost * s.mult
        args = ", ".join(self.int_expr(s, 1).text for _ in range(f.nparams))
        call = f"{f.name}({args})"
        if self.lang_chance(0.3):
            call = f"{f.name}(*[{args}])" if f.nparams != 1 or self.lang_rng.random() < 0.5 else f"{f.name}(**{{'p0': {args}}})"
        targets = s.morphs if not f.returns_int else s.ints + s.morphs
        if not targets or self.chance(0.1):
            self.emit(f"print({call!r}, {call})" if self.chance(0.3) else call)
            return
        v = self.pick(targets)
        if v in s.morphs:
            self.emit(f"{v} = {call}")
        else:
            self.emit(f"{v} = {self.tame(s, Expr(f'{v} + {call}', 1, 64))}")

    def print_stmt(self, s: Scope) -> None:
        pool = s.ints + s.floats + s.bools + s.morphs + s.readonly + s.known
        if not pool:
            return
        names = self.rng.sample(pool, min(len(pool), self.rng.randint(1, 3)))
        self.emit(f"print({', '.join(names)})")

    def block(self, s: Scope, n: int, allow_empty: bool = False) -> None:
        start = len(self.lines)
        for _ in range(n):
            if self.budget < s.mult:
                break
            self.statement(s)
        if len(self.lines) == start and not allow_empty:
            self.emit(self.kw("pass"))

    def statement(self, s: Scope) -> None:
        self.budget -= s.mult
        r = self.rng.random()
        deep = s.depth >= 4
        if r < 0.10 and not deep:
            self.for_loop(s)
        elif r < 0.17 and not deep:
            self.while_loop(s)
        elif r < 0.27 and not deep:
            if not s.pure and self.lang_chance(0.3):
                self.match_chain(s)
            else:
                self.if_chain(s)
        elif r < 0.31 and not deep and not s.pure:
            if self.lang_chance(0.4):
                self.with_block(s)
            else:
                self.try_block(s)
        elif r < 0.41 and s.loop_depth and self.chance(0.6):
            self.loop_exit(s)
        elif r < 0.44 and s.in_function and s.loop_depth:
            self.emit(f"{self.kw('if')} {self.bool_expr(s, 1).text}:")
            self.indent += 1
            self.emit(f"{self.kw('return')} {self.return_expr(s)}")
            self.indent -= 1
        elif r < 0.455 and s.loop_depth and (s.catching or self.chance(0.3)):
            self.guarded_risky(s)
        elif r < 0.47 and s.loop_depth and s.catching and not s.pure:
            self.emit(f"{self.kw('if')} {self.bool_expr(s, 1).text}:")
            self.indent += 1
            exc = self.pick(sorted(s.catching))
            self.emit(f"{self.kw('raise')} {exc}('raised at depth {s.loop_depth}')")
            self.indent -= 1
        elif r < 0.53 and s.funcs and self.funcs_affordable(s) and not s.pure:
            self.call_stmt(s)
        elif r < 0.59 and s.morphs:
            self.morph_stmt(s)
        elif r < 0.65 and s.lists and (not s.pure or self.chance(0.5)):
            self.list_stmt(s)
        elif r < 0.67 and s.flists:
            lst = self.pick(s.flists)
            self.emit(f"{lst}[{self.int_atom(s).paren()} % len({lst})] = {self.float_expr(s, 1).text}")
        elif r < 0.68 and s.strs and not s.pure:
            self.str_stmt(s)
        elif r < 0.70 and (s.mult == 1 or s.mult <= 30 and self.chance(0.3)) and not s.pure:
            self.print_stmt(s)
        elif r < 0.73 and s.loop_depth:
            self.loop_temporary(s)
        elif r < 0.75 and s.maybe and not s.pure:
            self.read_after(s, self.pick(s.maybe), definitely=False)
        elif r < 0.80 and s.floats:
            self.assign_float(s)
        elif r < 0.86 and s.bools:
            self.assign_bool(s)
        elif s.ints:
            self.assign_int(s)
        else:
            self.emit(self.kw("pass"))

    def guarded_risky(self, s: Scope) -> None:
        """An op that can raise (zero divisor, negative shift, inf/nan conversion, sqrt of a negative)
        on a path that is rarely or never taken: hoisting it out of its branch would be a bug."""
        ints = s.ints + s.readonly + s.global_ints or ["0"]
        a, b = self.pick(ints), self.pick(ints)
        forms = [f"{a} // {b}", f"{a} % {b}", f"{a} >> {b}", f"{a} << ({b} % 70)", f"{a} / {b}"]
        if "NameError" in s.catching:
            forms.append(f"{a} + never_defined_{self.rng.randrange(3)}")
        if s.floats:
            f = self.pick(s.floats)
            forms += [f"int({f})", f"{a} // {f}", f"{f} % {f}"]
            if self.uses_math:
                forms += [f"math.sqrt({f})", f"math.floor({f})", f"math.log({f})"]
        target = self.pick(s.morphs) if s.morphs and self.chance(0.3) else None
        if target is None:
            if not s.ints:
                return
            target = self.pick(s.ints)
        rhs = self.pick(forms)
        if target in s.ints and ("/" in rhs.replace("//", "") or "sqrt" in rhs or "log" in rhs):
            rhs = f"int(max(min({rhs}, 1e+18), -1e+18))"
        elif target in s.ints and "<<" in rhs:
            rhs = f"({rhs}) % 1000003"
        if s.readonly and self.chance(0.6):
            cond = f"{self.pick(s.readonly)} == {self.pick([0, 1, 3, 7, 100])}"
        else:
            cond = self.bool_expr(s, 0).text
        self.emit(f"{self.kw('if')} {cond}:")
        self.indent += 1
        self.emit(f"{target} = {rhs}")
        self.indent -= 1

    def funcs_affordable(self, s: Scope) -> bool:
        cheapest = min(f.cost for f in s.funcs)
        return self.budget >= cheapest * s.mult

    def return_expr(self, s: Scope) -> str:
        if s.returns_int:
            return self.int_expr(s, 1).text
        return self.result_expr(s)

    def result_expr(self, s: Scope) -> str:
        pool = s.ints + s.floats + s.bools + s.morphs + s.readonly + s.known
        if not pool:
            return "0"
        return ", ".join(self.rng.sample(pool, min(len(pool), self.rng.randint(1, 3))))

    def loop_exit(self, s: Scope) -> None:
        word = self.kw(self.pick(["break", "continue", "break"]))
        self.emit(f"{self.kw('if')} {self.bool_expr(s, 1).text}:")
        self.indent += 1
        if self.chance(0.3) and s.ints:
            self.assign_int(s)
        self.emit(word)
        self.indent -= 1

    def iterations(self, s: Scope) -> int:
        choices = [0, 1, 2, 3, 4, 5, 7, 9, 12, 16, 25, 40, 64]
        affordable = [n for n in choices if n * s.mult * 3 <= self.budget] or [0, 1]
        weights = [1 if n < 2 else 3 for n in affordable]
        return self.rng.choices(affordable, weights)[0]

    def nested(self, s: Scope) -> Scope:
        """A scope for a block nested in `s`: what it binds for sure does not leak out."""
        inner = Scope(**{**s.__dict__})
        inner.known = list(s.known)
        return inner

    def loop_body(self, s: Scope, n: int, var: str | None) -> Scope:
        inner = self.nested(s)
        inner.readonly = s.readonly + ([var] if var else [])
        inner.loop_depth = s.loop_depth + 1
        inner.mult = s.mult * max(n, 1)
        inner.depth = s.depth + 1
        inner.pure = s.pure or self.chance(0.5)
        return inner

    def for_loop(self, s: Scope) -> None:
        var = f"i{s.loop_depth}"
        n = self.iterations(s)
        prebound = self.chance(0.4)  # else the variable may be unbound (or stale) when the loop starts
        if prebound:
            self.emit(f"{var} = {self.int_const().text}")
        r = self.rng.random()
        runs = n >= 1  # the header below runs at least once for sure
        if r < 0.45:
            head = f"range({n})"
        elif r < 0.6:
            start = self.pick([-5, -1, 1, 3, 10, -(2**63), 2**63 - 5, 2**53 - 2])
            head = f"range({start}, {start + n})"
        elif r < 0.72:
            step = self.pick([-1, -2, -3, 2, 3])
            start = self.pick([0, 10, -7, 2**63 - 1, -(2**63) + 20])
            stop = start + n * step
            head = f"range({start}, {stop}, {step})"
        elif r < 0.82 and s.ints + s.readonly:
            v = self.pick(s.ints + s.readonly)
            k = max(n, 1)
            head = f"range({v} % {k})"
            runs = False
        elif r < 0.9 and s.lists:
            iterable_list = self.pick(s.lists)
            head = f"{iterable_list}[:{n}]" if self.chance(0.7) else f"{iterable_list}[{n} // 2:{n}]"
            runs = False
        else:
            head = f"range({n})"
        if head == f"range({n})" and not s.pure and self.lang_chance(0.4):
            head = self.lang_rng.choice([f"_gen({n})", f"(_v for _v in range({n}))", f"_gen_from({n})"])
        self.emit(f"{self.kw('for')} {var} {self.kw('in')} {head}:")
        inner = self.loop_body(s, n, var)
        self.indent += 1
        self.block(inner, self.rng.randint(1, 5))
        self.indent -= 1
        self.loop_else(s, var, prebound or runs)
        self.after_loop(s, var, prebound or runs)

    def while_loop(self, s: Scope) -> None:
        k = f"k{s.loop_depth}"
        n = self.iterations(s)
        self.emit(f"{k} = 0")
        style = self.rng.randrange(3)
        inner = self.loop_body(s, n, k)
        if style == 0:
            self.emit(f"{self.kw('while')} {k} < {n}:")
        elif style == 1:
            self.emit(f"{self.kw('while')} {k} < {n} {self.kw('and')} ({self.bool_expr(s, 1).text}):")
        else:
            self.emit(f"{self.kw('while')} {self.kw('True')}:")
        self.indent += 1
        if style == 2:
            self.emit(f"{self.kw('if')} {k} >= {n}:")
            self.emit(f"    {self.kw('break')}")
        self.emit(f"{k} += 1")
        self.block(inner, self.rng.randint(1, 5))
        self.indent -= 1
        self.loop_else(s, k, True)
        self.after_loop(s, k, True)

    def loop_else(self, s: Scope, var: str, bound: bool) -> None:
        if self.chance(0.1) and s.ints:
            self.emit(f"{self.kw('else')}:")
            self.indent += 1
            self.assign_int(s)
            if self.chance(0.5):  # the loop ended without break: its variable's last value
                self.read_after(s, var, definitely=bound)
            self.indent -= 1

    def after_loop(self, s: Scope, var: str, bound: bool) -> None:
        """The loop's variable (or counter) after the loop: what the compiled loop left in it."""
        if bound:
            if var not in s.known:
                s.known.append(var)
        elif var not in s.maybe:
            s.maybe.append(var)
        if self.chance(0.5):
            self.read_after(s, var, definitely=bound)

    def read_after(self, s: Scope, var: str, definitely: bool) -> None:
        """Read `var` into the output or into an int variable; under try/except NameError when it
        may be unbound (not in pure code, which holds only what the JIT compiles natively)."""
        if not definitely and s.pure:
            return
        if s.ints and (s.pure or s.mult > 30 or self.chance(0.5)):
            a = self.pick(s.ints)
            stmt = f"{a} = {self.tame(s, Expr(f'{a} + {var} % 1000003', 1, 64))}"
        elif s.mult <= 30 and not s.pure:
            stmt = f"print('after', {var!r}, {var})"
        else:
            return
        if definitely:
            self.emit(stmt)
            return
        self.emit(f"{self.kw('try')}:")
        self.emit(f"    {stmt}")
        self.emit(f"{self.kw('except')} NameError:")
        self.emit(f"    print('unbound', {var!r})" if s.mult <= 30 else f"    {self.kw('pass')}")

    def loop_temporary(self, s: Scope) -> None:
        """A name first assigned inside a loop (unbound, or of another type, when the loop starts)."""
        self.names += 1
        name = f"t{self.names}"
        self.emit(f"{name} = {self.tame(s, self.int_expr(s, 2))}")
        s.known.append(name)
        s.maybe.append(name)

    def if_chain(self, s: Scope) -> None:
        self.emit(f"{self.kw('if')} {self.bool_expr(s, 1).text}:")
        self.branch(s)
        for _ in range(self.rng.choice([0, 0, 1, 2])):
            self.emit(f"{self.kw('elif')} {self.bool_expr(s, 1).text}:")
            self.branch(s)
        if self.chance(0.5):
            self.emit(f"{self.kw('else')}:")
            self.branch(s)

    def match_chain(self, s: Scope) -> None:
        """A match on a small int (literal, or-pattern with capture, guard, wildcard arms)."""
        k = self.lang_rng.choice([2, 3, 5])
        self.emit(f"match ({self.int_expr(s, 1).text}) % {k}:")
        self.indent += 1
        self.emit("case 0:")
        self.branch(s)
        self.emit(f"case 1 | {k - 1} as _m{s.depth}:")
        self.branch(s)
        if self.lang_rng.random() < 0.5:
            self.emit(f"case _ if {self.bool_expr(s, 1).text}:")
            self.branch(s)
        self.emit("case _:")
        self.branch(s)
        self.indent -= 1

    def with_block(self, s: Scope) -> None:
        """A with block whose body may break, continue, return or raise through __exit__."""
        name = "_Ctx" if self.lang_rng.random() < 0.7 else "_Quiet"
        self.emit(f"with {name}({s.depth}) as _c{s.depth}, _Ctx({s.depth + 1}):")
        self.branch(s)

    def branch(self, s: Scope) -> None:
        """One arm of an if chain (each arm its own scope: what one binds, another may not)."""
        inner = self.nested(s)
        inner.depth = s.depth + 1
        self.indent += 1
        self.block(inner, self.rng.randint(1, 3))
        self.indent -= 1

    def try_block(self, s: Scope) -> None:
        caught = self.rng.sample(RISKY_EXCEPTIONS, self.rng.randint(1, 3))
        inner = self.nested(s)
        inner.catching = s.catching | frozenset(caught)
        inner.depth = s.depth + 1
        self.emit(f"{self.kw('try')}:")
        self.indent += 1
        self.block(inner, self.rng.randint(1, 4))
        self.indent -= 1
        handler = self.nested(s)
        handler.depth = s.depth + 1
        spec = caught[0] if len(caught) == 1 else "(" + ", ".join(caught) + ")"
        name = f"e{s.depth}"
        self.emit(f"{self.kw('except')} {spec} as {name}:")
        self.indent += 1
        start = len(self.lines)
        if self.chance(0.5) and s.mult <= 30:
            self.emit(f"print('caught', type({name}).__name__, {name})")
        if s.maybe and self.chance(0.5):  # the loops the exception left: their variables' last values
            self.read_after(handler, self.pick(s.maybe), definitely=False)
        self.block(handler, self.rng.randint(0, 2), allow_empty=True)
        if len(self.lines) == start:
            self.emit(self.kw("pass"))
        self.indent -= 1
        if self.chance(0.15):
            self.emit(f"{self.kw('finally')}:")
            self.indent += 1
            self.block(handler, 1)
            self.indent -= 1

    # --- program --------------------------------------------------------------------------------------
    def declare(self, s: Scope, prefix: str) -> None:
        """Initialise a fresh set of variables of every kind (all defined before any loop runs)."""
        for i in range(self.rng.randint(1, 4)):
            name = f"{prefix}a{i}"
            s.ints.append(name)
            self.emit(f"{name} = {self.int_const().text}")
        for i in range(self.rng.randint(0, 3)):
            name = f"{prefix}f{i}"
            s.floats.append(name)
            self.emit(f"{name} = {self.float_const().text}")
        for i in range(self.rng.choice([0, 1, 1, 2])):
            name = f"{prefix}b{i}"
            s.bools.append(name)
            self.emit(f"{name} = {self.kw(self.pick(['True', 'False']))}")
        if self.chance(0.4):
            name = f"{prefix}m0"
            s.morphs.append(name)
            self.emit(f"{name} = {self.int_const().text}")
        if self.chance(0.35):
            name = f"{prefix}L"
            s.lists.append(name)
            mixed = self.chance(0.15)
            items = ", ".join(self.float_const().text if mixed and self.chance(0.3) else self.int_const().text
                              for _ in range(self.rng.randint(1, 6)))
            self.emit(f"{name} = [{items}]")
            if self.chance(0.3):  # a second name for the same list: writes through one, reads through the other
                s.lists.append(f"{prefix}La")
                self.emit(f"{prefix}La = {name}")
        if self.chance(0.2):
            name = f"{prefix}F"
            s.flists.append(name)
            items = ", ".join(self.float_const().text for _ in range(self.rng.randint(1, 4)))
            self.emit(f"{name} = [{items}]")
        if self.chance(0.25):
            name = f"{prefix}s"
            s.strs.append(name)
            self.emit(f"{name} = ''")

    def function(self, index: int, funcs: list[Func], global_ints: list[str], global_lists: list[str]) -> Func:
        nparams = self.rng.randint(0, 3)
        params = [f"p{i}" for i in range(nparams)]
        name = f"fn{index}"
        if self.lang_chance(0.4):
            self.emit("@_deco")
        self.emit(f"{self.kw('def')} {name}({', '.join(params)}):")
        self.indent += 1
        s = Scope(funcs=list(funcs), in_function=True, depth=1, returns_int=self.chance(0.7))
        writes_global = global_ints and self.chance(0.25)
        if writes_global:
            g = self.pick(global_ints)
            self.emit(f"{self.kw('global')} {g}")
        s.global_ints = list(global_ints)
        self.declare(s, "")
        if global_lists and self.chance(0.5):  # module lists a caller's compiled loop may have mirrored
            s.lists += global_lists
        s.ints += params
        before = self.budget
        self.budget = min(self.budget, self.rng.choice([60, 150, 400]))
        start_budget = self.budget
        self.block(s, self.rng.randint(2, 6))
        if writes_global:
            self.emit(f"{g} = ({g} + {self.pick(s.ints)}) % 1000003")
        self.emit(f"{self.kw('return')} {self.return_expr(s)}")
        self.indent -= 1
        cost = max(start_budget - self.budget, 1) + 2
        self.budget = before - 5
        return Func(name, nparams, cost, s.returns_int)

    def generate(self) -> str:
        if self.uses_math:
            self.emit("import math")
        if self.lang:
            self.lines += LANG_PRELUDE.splitlines()
        top = Scope()
        self.declare(top, "g")
        global_ints = list(top.ints)
        funcs: list[Func] = []
        for i in range(self.rng.choice([0, 1, 1, 2, 3])):
            funcs.append(self.function(i, funcs, global_ints, list(top.lists)))
        top.funcs = funcs
        self.block(top, self.rng.randint(2, 6))
        for f in funcs:
            if self.chance(0.5) and self.budget >= f.cost:
                args = ", ".join(self.int_expr(top, 1).text for _ in range(f.nparams))
                self.emit(f"print({f.name}({args}))")
        names = top.ints + top.floats + top.bools + top.morphs + top.lists + top.flists + top.known
        self.emit(f"print({', '.join(names)})")
        if self.recursive:
            self.recursion()
        for v in top.maybe[:4]:
            if v not in top.known:
                self.read_after(top, v, definitely=False)
        for v in top.strs:
            self.emit(f"print(len({v}), {v}[-60:])")
        if self.shared_iter:  # last: its names (it, sh, x, y, k) cannot shadow the program's
            self.shared_iterator()
        return "\n".join(self.lines) + "\n"


def _recursion(g: ProgramGenerator) -> None:
    """A recursive function (linear with an int or float accumulator, or a two-way tree), called from
    a loop with depths and argument types that vary: compiled whole, it recurses natively, overflows
    i64 at depth (big ints), meets a zero divisor at depth or changes types; each must match CPython."""
    r, kw = g.rec_rng, g.kw
    kind = r.choice(["linear", "linear", "tree", "float", "divide"])
    a, b, c = r.randint(1, 5), r.randint(-3, 3), r.choice([7, 1000003, 2 ** 61 - 1, 0])
    g.emit(f"{kw('def')} rec(n, acc):")
    g.indent += 1
    g.emit(f"{kw('if')} n <= {r.choice([0, 0, 1])}:")
    g.emit(f"    {kw('return')} acc" + (f" % {c}" if c and kind == "linear" else ""))
    if kind == "linear":
        step = r.choice([f"acc * {a} + n", f"acc + n * {a}", f"acc - n + {b}", f"(acc ^ n) * {a + 1}"])
        g.emit(f"{kw('return')} rec(n - 1, {step}) + {b}")
    elif kind == "tree":
        g.emit(f"{kw('return')} rec(n - 1, acc + {a}) {r.choice(['+', '-', '*'])} rec(n - 2, acc - {b})")
    elif kind == "float":
        g.emit(f"{kw('return')} rec(n - 1, acc * {r.choice(['0.5', '1.5', '-1.25'])} + n) - {b}.25")
    else:
        g.emit(f"{kw('return')} rec(n - 1, acc) + 100 // (n - {r.randint(1, 30)})")
    g.indent -= 1
    depth = 12 if kind == "tree" else r.choice([5, 40, 150])
    g.emit("rt = []")
    g.emit(f"{kw('for')} i {kw('in')} range({r.randint(5, 40)}):")
    g.indent += 1
    arg = r.choice(["i", "i * 0.5", "i % 3 == 0", "i - 3", f"i * {2 ** r.choice([20, 40, 62])}"])
    g.emit(f"{kw('try')}:")
    g.emit(f"    rt.append(rec(i % {depth}, {arg}))")
    g.emit(f"{kw('except')} ZeroDivisionError {kw('as')} e:")
    g.emit("    rt.append(str(e))")
    g.indent -= 1
    g.emit("print(rt)")


ProgramGenerator.recursion = _recursion


def _shared_iterator(g: ProgramGenerator) -> None:
    """A range iterator held in a variable and consumed by loops (`for x in it`, maybe nested on the same
    object), left by break, exhaustion or an exception, then read with next() and list(): a compiled
    loop must advance the program's object, not a copy."""
    r, kw = g.iter_rng, g.kw
    start, step = r.randint(-20, 20), r.choice([1, 1, 2, 3, -1, -2])
    stop = start + step * r.randint(0, 120)
    cut = r.randint(-5, 60)
    g.emit(f"{kw('def')} shared(start, stop):")
    g.indent += 1
    g.emit(f"it = iter(range(start, stop, {step}))")
    g.emit("sh = 0")
    g.emit(f"{kw('try')}:")
    g.indent += 1
    g.emit(f"{kw('for')} x {kw('in')} it:")
    g.indent += 1
    if r.random() < 0.4:
        g.emit(f"{kw('for')} y {kw('in')} it:")
        g.emit(f"    sh += x * y % {r.randint(2, 50)}")
        g.emit(f"    {kw('if')} y % {r.randint(2, 9)} == 0:")
        g.emit(f"        {kw('break')}")
    g.emit(f"sh += {r.choice(['x', 'x * 3', '100 // (x - ' + str(cut) + ')', 'x % 7 - 2'])}")
    g.emit(f"{kw('if')} x {r.choice(['==', '>=', '<='])} {cut}:")
    g.emit(f"    {kw('break')}")
    g.indent -= 2
    g.emit(f"{kw('except')} ZeroDivisionError:")
    g.emit("    sh = -sh")
    g.emit(f"{kw('return')} sh, next(it, None), list(it)[:5], sum(it)")
    g.indent -= 1
    g.emit(f"{kw('for')} k {kw('in')} range({r.randint(1, 6)}):")
    g.emit(f"    print(shared({start} + k, {stop} - k))")


ProgramGenerator.shared_iterator = _shared_iterator


def generate(seed: int) -> str:
    """The program of `seed` (deterministic across runs and machines)."""
    return ProgramGenerator(seed).generate()
