"""A tokenizer, Pratt parser, pretty-printer and evaluator for a small expression language.

The language has integers, variables, arithmetic with precedence and right-associative power,
comparisons, `let x = e in e`, `if c then a else b`, one-argument lambdas `fn x => e` and calls.
Random programs are generated from a seeded source, printed, re-parsed (the tree must round-trip
exactly: dataclass equality), and evaluated with closures; evaluation errors are exceptions.
Usage: calc.py [PROGRAMS_IN_HUNDREDS]
"""
from __future__ import annotations

import random
import string
import sys
from dataclasses import dataclass
from typing import Callable, Dict, Iterator, List, NamedTuple, Optional, Union

DEFAULT_SIZE = 50  # hundreds of random programs

KEYWORDS = {"let", "in", "if", "then", "else", "fn"}
SYMBOLS = ["=>", "<=", ">=", "==", "!=", "+", "-", "*", "/", "%", "^", "(", ")", "<", ">", "="]


class Token(NamedTuple):
    kind: str  # "num", "name", "kw", "op", "end"
    text: str
    pos: int


class ParseError(Exception):
    def __init__(self, message: str, pos: int) -> None:
        super().__init__(f"{message} at offset {pos}")
        self.pos = pos


class EvalError(Exception):
    pass


class Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def __iter__(self) -> Iterator[Token]:
        return self

    def __next__(self) -> Token:
        text, n = self.text, len(self.text)
        while self.pos < n and text[self.pos].isspace():
            self.pos += 1
        start = self.pos
        if start >= n:
            if self.pos > n:
                raise StopIteration
            self.pos += 1
            return Token("end", "", start)
        ch = text[start]
        if ch.isdigit():
            while self.pos < n and text[self.pos].isdigit():
                self.pos += 1
            return Token("num", text[start:self.pos], start)
        if ch.isalpha() or ch == "_":
            while self.pos < n and (text[self.pos].isalnum() or text[self.pos] == "_"):
                self.pos += 1
            word = text[start:self.pos]
            return Token("kw" if word in KEYWORDS else "name", word, start)
        for sym in SYMBOLS:
            if text.startswith(sym, start):
                self.pos += len(sym)
                return Token("op", sym, start)
        raise ParseError(f"unexpected character {ch!r}", start)


@dataclass(frozen=True)
class Num:
    value: int


@dataclass(frozen=True)
class Var:
    name: str


@dataclass(frozen=True)
class Unary:
    op: str
    operand: Expr


@dataclass(frozen=True)
class Binary:
    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Let:
    name: str
    value: Expr
    body: Expr


@dataclass(frozen=True)
class If:
    cond: Expr
    then: Expr
    orelse: Expr


@dataclass(frozen=True)
class Lambda:
    param: str
    body: Expr


@dataclass(frozen=True)
class Call:
    func: Expr
    arg: Expr


Expr = Union[Num, Var, Unary, Binary, Let, If, Lambda, Call]

# Binding powers: (left, right). Right-associative operators bind tighter on their left.
INFIX = {"==": (10, 11), "!=": (10, 11), "<": (10, 11), ">": (10, 11), "<=": (10, 11), ">=": (10, 11),
         "+": (20, 21), "-": (20, 21), "*": (30, 31), "/": (30, 31), "%": (30, 31), "^": (51, 50)}
PREFIX_POWER = 40
CALL_POWER = 60


class Parser:
    def __init__(self, text: str) -> None:
        self.tokens = list(Lexer(text))
        self.i = 0

    def peek(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def expect(self, kind: str, text: Optional[str] = None) -> Token:
        tok = self.advance()
        if tok.kind != kind or (text is not None and tok.text != text):
            raise ParseError(f"expected {text or kind}, found {tok.text or 'end of input'!r}", tok.pos)
        return tok

    def parse(self) -> Expr:
        e = self.expression(0)
        self.expect("end")
        return e

    def expression(self, min_power: int) -> Expr:
        left = self.prefix()
        while True:
            tok = self.peek()
            if tok.kind == "op" and tok.text in INFIX:
                lp, rp = INFIX[tok.text]
                if lp < min_power:
                    break
                self.advance()
                left = Binary(tok.text, left, self.expression(rp))
            elif tok.kind in ("num", "name") or (tok.kind == "op" and tok.text == "("):
                if CALL_POWER < min_power:
                    break
                left = Call(left, self.expression(CALL_POWER + 1))
            else:
                break
        return left

    def prefix(self) -> Expr:
        tok = self.advance()
        if tok.kind == "num":
            return Num(int(tok.text))
        if tok.kind == "name":
            return Var(tok.text)
        if tok.kind == "op" and tok.text == "-":
            return Unary("-", self.expression(PREFIX_POWER))
        if tok.kind == "op" and tok.text == "(":
            e = self.expression(0)
            self.expect("op", ")")
            return e
        if tok.kind == "kw" and tok.text == "let":
            name = self.expect("name").text
            self.expect("op", "=")
            value = self.expression(0)
            self.expect("kw", "in")
            return Let(name, value, self.expression(0))
        if tok.kind == "kw" and tok.text == "if":
            cond = self.expression(0)
            self.expect("kw", "then")
            then = self.expression(0)
            self.expect("kw", "else")
            return If(cond, then, self.expression(0))
        if tok.kind == "kw" and tok.text == "fn":
            param = self.expect("name").text
            self.expect("op", "=>")
            return Lambda(param, self.expression(0))
        raise ParseError(f"unexpected {tok.text or 'end of input'!r}", tok.pos)


def show(e: Expr) -> str:
    """Print with parentheses around every compound subexpression: parse(show(e)) == e."""
    if isinstance(e, Num):
        return str(e.value)
    if isinstance(e, Var):
        return e.name
    if isinstance(e, Unary):
        return f"-{wrap(e.operand)}"
    if isinstance(e, Binary):
        return f"{wrap(e.left)} {e.op} {wrap(e.right)}"
    if isinstance(e, Let):
        return f"let {e.name} = {show(e.value)} in {show(e.body)}"
    if isinstance(e, If):
        return f"if {show(e.cond)} then {show(e.then)} else {show(e.orelse)}"
    if isinstance(e, Lambda):
        return f"fn {e.param} => {show(e.body)}"
    return f"{wrap(e.func)} {wrap(e.arg)}"


def wrap(e: Expr) -> str:
    return show(e) if isinstance(e, (Num, Var)) and not (isinstance(e, Num) and e.value < 0) else f"({show(e)})"


Value = Union[int, Callable[[int], int]]
OPS: Dict[str, Callable[[int, int], int]] = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
    "==": lambda a, b: int(a == b), "!=": lambda a, b: int(a != b), "<": lambda a, b: int(a < b),
    ">": lambda a, b: int(a > b), "<=": lambda a, b: int(a <= b), ">=": lambda a, b: int(a >= b),
}


def evaluate(e: Expr, env: Dict[str, Value], depth: int = 0) -> Value:
    if depth > 200:
        raise EvalError("too deep")
    if isinstance(e, Num):
        return e.value
    if isinstance(e, Var):
        try:
            return env[e.name]
        except KeyError:
            raise EvalError(f"unbound variable {e.name}") from None
    if isinstance(e, Unary):
        return -number(evaluate(e.operand, env, depth + 1))
    if isinstance(e, Binary):
        a = number(evaluate(e.left, env, depth + 1))
        b = number(evaluate(e.right, env, depth + 1))
        if e.op in ("/", "%"):
            if b == 0:
                raise EvalError("division by zero")
            return a // b if e.op == "/" else a % b
        if e.op == "^":
            if not 0 <= b <= 8 or abs(a) > 10**6:
                raise EvalError("power out of range")
            return a ** b
        return OPS[e.op](a, b)
    if isinstance(e, Let):
        return evaluate(e.body, {**env, e.name: evaluate(e.value, env, depth + 1)}, depth + 1)
    if isinstance(e, If):
        branch = e.then if number(evaluate(e.cond, env, depth + 1)) else e.orelse
        return evaluate(branch, env, depth + 1)
    if isinstance(e, Lambda):
        def closure(arg: int, _e: Lambda = e, _env: Dict[str, Value] = env) -> int:
            return number(evaluate(_e.body, {**_env, _e.param: arg}, depth + 1))
        return closure
    f = evaluate(e.func, env, depth + 1)
    if not callable(f):
        raise EvalError("calling a number")
    return f(number(evaluate(e.arg, env, depth + 1)))


def number(v: Value) -> int:
    if callable(v):
        raise EvalError("a function used as a number")
    if abs(v) > 10**30:
        raise EvalError("overflow")
    return v


def random_expr(rng: random.Random, depth: int, names: List[str]) -> Expr:
    if depth <= 0 or rng.random() < 0.15:
        if names and rng.random() < 0.5:
            return Var(rng.choice(names))
        return Num(rng.randrange(0, 20))
    kind = rng.choices(["bin", "un", "let", "if", "call"], weights=[10, 1, 2, 2, 2])[0]
    if kind == "bin":
        return Binary(rng.choice(list(INFIX)), random_expr(rng, depth - 1, names), random_expr(rng, depth - 1, names))
    if kind == "un":
        return Unary("-", random_expr(rng, depth - 1, names))
    if kind == "let":
        name = rng.choice(string.ascii_lowercase[:6])
        return Let(name, random_expr(rng, depth - 1, names), random_expr(rng, depth - 1, names + [name]))
    if kind == "if":
        return If(*(random_expr(rng, depth - 1, names) for _ in range(3)))
    param = rng.choice("xyz")
    return Call(Lambda(param, random_expr(rng, depth - 1, names + [param])), random_expr(rng, depth - 1, names))


def main(hundreds: int) -> None:
    rng = random.Random(12345)
    results: Dict[str, int] = {"ok": 0}
    checksum = 0
    chars = 0
    for k in range(hundreds * 100):
        tree = random_expr(rng, 5, [])
        text = show(tree)
        chars += len(text)
        again = Parser(text).parse()
        if again != tree:
            raise AssertionError(f"round trip failed for {text!r}")
        try:
            value = number(evaluate(again, {}))
            results["ok"] += 1
            checksum = (checksum * 31 + value) % 1_000_000_007
        except EvalError as err:
            reason = str(err).split(" ")[0]
            results[reason] = results.get(reason, 0) + 1
        if k < 3:
            print(f"{text[:70]}{'...' if len(text) > 70 else ''}")
    for bad in ("1 +", "let = 3 in 4", "(1 + 2", "2 $ 3"):
        try:
            Parser(bad).parse()
        except ParseError as err:
            print(f"parse error: {err}")
    print(f"{hundreds * 100} programs, {chars} characters; outcomes {sorted(results.items())}")
    print(f"checksum {checksum}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SIZE)
