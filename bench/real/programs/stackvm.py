"""An interpreter for a small Forth-like stack language: words, definitions, loops, and a compiler.

Source text is split into words; `: name ... ;` definitions are compiled to lists of closures and
literal pushes with resolved branch offsets for IF/ELSE/THEN, BEGIN/UNTIL and DO/LOOP (with I
and J). Built-in words are registered by a decorator with their stack effect, checked for
underflow. Programs compute primes, gcds, Collatz lengths, Fibonacci numbers and a small sort
on an array in the VM's memory; the host checks a few results with plain Python.
Usage: stackvm.py [REPETITIONS]
"""
from __future__ import annotations

import math
import sys
from typing import Callable, Dict, List, Tuple

DEFAULT_SIZE = 24  # repetitions of the program suite


class ForthError(Exception):
    pass


class StackUnderflow(ForthError):
    pass


Op = Tuple[str, object]  # ("call", fn), ("lit", n), ("branch", offset), ("zbranch", offset), ...


class VM:
    BUILTINS: Dict[str, Tuple[int, Callable[[VM], None]]] = {}

    def __init__(self) -> None:
        self.stack: List[int] = []
        self.rstack: List[int] = []
        self.words: Dict[str, List[Op]] = {}
        self.memory: List[int] = [0] * 1024
        self.here = 0
        self.output: List[str] = []
        self.steps = 0

    @classmethod
    def builtin(cls, name: str, pops: int = 0) -> Callable[[Callable[[VM], None]], Callable[[VM], None]]:
        def register(fn: Callable[[VM], None]) -> Callable[[VM], None]:
            cls.BUILTINS[name] = (pops, fn)
            return fn
        return register

    def pop(self) -> int:
        return self.stack.pop()

    def push(self, v: int) -> None:
        self.stack.append(v)

    # ------------------------------------------------------------------ compiling
    def compile_words(self, tokens: List[str]) -> List[Op]:
        code: List[Op] = []
        pending: List[Tuple[str, int]] = []  # open control structures: (kind, index)
        for tok in tokens:
            up = tok.upper()
            if up == "IF":
                pending.append(("if", len(code)))
                code.append(("zbranch", 0))
            elif up == "ELSE":
                kind, at = pending.pop()
                if kind != "if":
                    raise ForthError("ELSE without IF")
                pending.append(("else", len(code)))
                code.append(("branch", 0))
                code[at] = ("zbranch", len(code) - at)
            elif up == "THEN":
                kind, at = pending.pop()
                if kind not in ("if", "else"):
                    raise ForthError("THEN without IF")
                code[at] = (code[at][0], len(code) - at)
            elif up == "BEGIN":
                pending.append(("begin", len(code)))
            elif up == "UNTIL":
                kind, at = pending.pop()
                if kind != "begin":
                    raise ForthError("UNTIL without BEGIN")
                code.append(("zbranch", at - len(code)))
            elif up == "DO":
                code.append(("do", None))
                pending.append(("do", len(code)))
            elif up == "LOOP":
                kind, at = pending.pop()
                if kind != "do":
                    raise ForthError("LOOP without DO")
                code.append(("loop", at - len(code)))
                code[at - 1] = ("do", len(code) - (at - 1))  # DO skips the loop when start >= limit
            elif up in self.words:
                code.append(("word", up))
            elif up in self.BUILTINS:
                code.append(("call", self.BUILTINS[up]))
            else:
                try:
                    code.append(("lit", int(tok)))
                except ValueError:
                    raise ForthError(f"unknown word {tok!r}") from None
        if pending:
            raise ForthError(f"unclosed {pending[-1][0].upper()}")
        return code

    @staticmethod
    def tokenize(source: str) -> List[str]:
        """The words of the source, without ( comments )."""
        tokens: List[str] = []
        in_comment = False
        for tok in source.split():
            if in_comment:
                in_comment = tok != ")"
            elif tok == "(":
                in_comment = True
            else:
                tokens.append(tok)
        return tokens

    def run(self, source: str) -> None:
        tokens = self.tokenize(source)
        i = 0
        while i < len(tokens):
            if tokens[i] == ":":
                end = tokens.index(";", i)
                name = tokens[i + 1].upper()
                self.words[name] = self.compile_words(tokens[i + 2:end])
                i = end + 1
            else:
                end = i
                while end < len(tokens) and tokens[end] != ":":
                    end += 1
                self.execute(self.compile_words(tokens[i:end]))
                i = end

    # ------------------------------------------------------------------ executing
    def execute(self, code: List[Op]) -> None:
        pc = 0
        stack = self.stack
        while pc < len(code):
            kind, arg = code[pc]
            self.steps += 1
            if kind == "lit":
                stack.append(arg)  # type: ignore[arg-type]
            elif kind == "call":
                pops, fn = arg  # type: ignore[misc]
                if len(stack) < pops:
                    raise StackUnderflow(f"{fn.__name__} needs {pops} values, stack has {len(stack)}")
                fn(self)
            elif kind == "word":
                self.execute(self.words[arg])  # type: ignore[index]
            elif kind == "zbranch":
                if stack.pop() == 0:
                    pc += arg  # type: ignore[operator]
                    continue
            elif kind == "branch":
                pc += arg  # type: ignore[operator]
                continue
            elif kind == "do":
                start, limit = stack.pop(), stack.pop()
                if start >= limit:
                    pc += arg  # type: ignore[operator]
                    continue
                self.rstack += [limit, start]
            elif kind == "loop":
                self.rstack[-1] += 1
                if self.rstack[-1] < self.rstack[-2]:
                    pc += arg  # type: ignore[operator]
                    continue
                del self.rstack[-2:]
            pc += 1


def binary(name: str, fn: Callable[[int, int], int]) -> None:
    def op(vm: VM) -> None:
        b, a = vm.stack.pop(), vm.stack.pop()
        vm.stack.append(fn(a, b))
    op.__name__ = name
    VM.builtin(name, 2)(op)


for _name, _fn in {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
                   "/": lambda a, b: a // b, "MOD": lambda a, b: a % b, "=": lambda a, b: -int(a == b),
                   "<": lambda a, b: -int(a < b), ">": lambda a, b: -int(a > b), "AND": lambda a, b: a & b,
                   "OR": lambda a, b: a | b, "MAX": max, "MIN": min}.items():
    binary(_name, _fn)


@VM.builtin("DUP", 1)
def dup(vm: VM) -> None:
    vm.stack.append(vm.stack[-1])


@VM.builtin("DROP", 1)
def drop(vm: VM) -> None:
    vm.stack.pop()


@VM.builtin("SWAP", 2)
def swap(vm: VM) -> None:
    vm.stack[-1], vm.stack[-2] = vm.stack[-2], vm.stack[-1]


@VM.builtin("OVER", 2)
def over(vm: VM) -> None:
    vm.stack.append(vm.stack[-2])


@VM.builtin("ROT", 3)
def rot(vm: VM) -> None:
    vm.stack.append(vm.stack.pop(-3))


@VM.builtin("I")
def loop_i(vm: VM) -> None:
    vm.stack.append(vm.rstack[-1])


@VM.builtin("J")
def loop_j(vm: VM) -> None:
    vm.stack.append(vm.rstack[-3])


@VM.builtin("@", 1)
def fetch(vm: VM) -> None:
    vm.stack.append(vm.memory[vm.stack.pop()])


@VM.builtin("!", 2)
def store(vm: VM) -> None:
    addr = vm.stack.pop()
    vm.memory[addr] = vm.stack.pop()


@VM.builtin(".", 1)
def emit_number(vm: VM) -> None:
    vm.output.append(str(vm.stack.pop()))


PROGRAM = """
( number theory )
: SQUARE DUP * ;
: GCD BEGIN SWAP OVER MOD DUP 0 = UNTIL DROP ;
: PRIME? ( n -- flag ) DUP 2 < IF DROP 0 ELSE
    1 SWAP DUP 2 DO DUP I MOD 0 = IF SWAP DROP 0 SWAP THEN LOOP DROP THEN ;
: COUNT-PRIMES ( n -- count ) 0 SWAP 2 DO I PRIME? IF 1 + THEN LOOP ;
: COLLATZ ( n -- steps ) 0 SWAP BEGIN DUP 1 > IF DUP 2 MOD IF 3 * 1 + ELSE 2 / THEN SWAP 1 + SWAP 0
    ELSE -1 THEN UNTIL DROP ;
: FIB ( n -- f ) 0 1 ROT 0 DO SWAP OVER + LOOP DROP ;
( an insertion sort of memory cells 0..n-1 )
: FILL ( n -- ) 0 DO I 7919 * 1000 MOD I ! LOOP ;
: SORT ( n -- ) 1 DO I BEGIN DUP 1 - @ OVER @ > IF
    DUP @ OVER 1 - @ 2 PICK ! OVER 1 - ! 1 - DUP 0 = ELSE -1 THEN UNTIL DROP LOOP ;
: CHECKSUM ( n -- sum ) 0 SWAP 0 DO I @ I 1 + * + LOOP ;
"""


@VM.builtin("PICK", 1)
def pick(vm: VM) -> None:
    n = vm.stack.pop()
    vm.stack.append(vm.stack[-1 - n])


def suite(vm: VM, scale: int) -> List[int]:
    vm.run(f"{200 + scale} COUNT-PRIMES .")
    vm.run("1071 462 GCD . 832040 514229 GCD .")
    vm.run(" ".join(f"{n} COLLATZ ." for n in range(1, 60)))
    vm.run("60 FIB .")
    vm.run(f"{60 + scale} FILL {60 + scale} SORT {60 + scale} CHECKSUM .")
    values = [int(s) for s in vm.output]
    vm.output.clear()
    return values


def main(repetitions: int) -> None:
    vm = VM()
    vm.run(PROGRAM)
    checksum = 0
    for rep in range(repetitions):
        results = suite(vm, rep % 5)
        if rep == 0:
            print("results:", " ".join(map(str, results[:5])), "...", results[-2], results[-1])
            expected_primes = sum(1 for n in range(2, 200) if all(n % d for d in range(2, math.isqrt(n) + 1)))
            if results[0] != expected_primes or results[1] != math.gcd(1071, 462):
                raise AssertionError(f"VM results are wrong: {results[:2]}")
            cells = sorted(i * 7919 % 1000 for i in range(60))
            if vm.memory[:60] != cells:
                raise AssertionError("the VM's sort is wrong")
        for v in results:
            checksum = (checksum * 131 + v) % 1_000_000_007
    for bad in ("1 +", "FOO", ": X IF ;", "1 0 /"):
        try:
            VM().run(bad)
        except (ForthError, ZeroDivisionError, IndexError) as e:
            print(f"{bad!r}: {type(e).__name__}: {e}")
    print(f"steps executed: {vm.steps}")
    print(f"checksum {checksum}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SIZE)
