"""IR text form: a printer and a parser that round-trip exactly.

Grammar (one item per line; `;` starts a comment except on the `loop` line, where it holds the
slot names)::

    loop NAME "LOCATION" [pc=ENTRY_PC] slots=N [; s0=NAME s1="name with spaces" ...]
    block NAME[(%p: TYPE, ...)]:
      [%v =] OPCODE [ATTR ...] [OPERAND, ...] [, TARGET(ARGS) ...] [!SNAPSHOT]
    snapshot N pc=PC reason=REASON line=LINE: [sK=%v | sK=TYPE:LITERAL ...]

Attributes print by kind: slot `s3`, type `i64`, int `-5`, float `repr(x)` (`inf`, `-0.0`; a NaN
other than Python's own prints its bits as `nan:0x7ff8000000000001`), bool `true`/`false`, name
`sin`. Targets print as `block` or `block(%a, %b)`. Example::

    %t = add.i64 %a, %b !2
    br %c, body, done(%i)
"""
from __future__ import annotations

import re
from typing import Any

from .ir import (
    CANONICAL_NAN_BITS,
    OPS,
    AttrKind,
    Block,
    Const,
    IRError,
    LoopFunction,
    Op,
    Snapshot,
    Target,
    Type,
    Value,
    make_op,
)
from .layout import bits_to_float, float_to_bits
from .reasons import ExitReason

# -- printing ----------------------------------------------------------------------------------------


def format_float(x: float) -> str:
    """repr(x), except that non-canonical NaNs print their bits so they survive a round trip."""
    if x != x:
        bits = float_to_bits(x) & 0xFFFFFFFFFFFFFFFF
        if bits != CANONICAL_NAN_BITS & 0xFFFFFFFFFFFFFFFF:
            return f"nan:0x{bits:016x}"
    return repr(x)


def format_attr(kind: AttrKind, value: Any) -> str:
    if kind is AttrKind.SLOT:
        return f"s{value}"
    if kind is AttrKind.FLOAT:
        return format_float(value)
    if kind is AttrKind.BOOL:
        return "true" if value else "false"
    return str(value)


def format_const(c: Const) -> str:
    if c.type is Type.F64:
        return f"f64:{format_float(c.value)}"  # type: ignore[arg-type]
    if c.type is Type.BOOL:
        return f"bool:{'true' if c.value else 'false'}"
    return f"{c.type}:{c.value}"


def format_target(t: Target) -> str:
    if not t.args:
        return t.block.name
    return f"{t.block.name}({', '.join(map(repr, t.args))})"


def format_op(op: Op) -> str:
    """One op as a line of text (without indentation)."""
    words = [op.opcode]
    if op.result is not None:
        words.insert(0, f"%{op.result.name} =")
    words += [format_attr(kind, op.attrs.get(name)) for name, kind in op.opdef.attrs]
    items = [repr(v) for v in op.args] + [format_target(t) for t in op.targets]
    if items:
        words.append(", ".join(items))
    if op.snapshot is not None:
        words.append(f"!{op.snapshot}")
    return " ".join(words)


def format_block_header(blk: Block) -> str:
    if not blk.params:
        return f"block {blk.name}:"
    params = ", ".join(f"%{p.name}: {p.type}" for p in blk.params)
    return f"block {blk.name}({params}):"


def format_snapshot(index: int, snap: Snapshot) -> str:
    head = f"snapshot {index} pc={snap.resume_pc} reason={snap.reason.value} line={snap.line}:"
    entries = []
    for slot in sorted(snap.slots):
        v = snap.slots[slot]
        entries.append(f"s{slot}={format_const(v) if isinstance(v, Const) else repr(v)}")
    return " ".join([head, *entries])


_RAW_NAME = re.compile(r'[^\s"]+')


def format_header(fn: LoopFunction) -> str:
    import json  # on use: the JIT's import at the first hot loop is on a program's time

    words = ["loop", fn.name, json.dumps(fn.location)]
    if fn.entry_pc is not None:
        words.append(f"pc={fn.entry_pc}")
    words.append(f"slots={fn.nslots}")
    if fn.slot_names:
        names = [
            f"s{slot}={name if _RAW_NAME.fullmatch(name) else json.dumps(name)}"
            for slot, name in sorted(fn.slot_names.items())
        ]
        words += [";", *names]
    return " ".join(words)


def print_function(fn: LoopFunction) -> str:
    """The whole function as text (ends with a newline)."""
    lines = [format_header(fn)]
    for blk in fn.blocks:
        lines.append(format_block_header(blk))
        lines.extend(f"  {format_op(op)}" for op in blk.ops)
    lines.extend(format_snapshot(k, s) for k, s in enumerate(fn.snapshots))
    return "\n".join(lines) + "\n"


# -- structural equality -------------------------------------------------------------------------------


def structure(fn: LoopFunction) -> tuple:
    """A comparable nested tuple of everything in `fn` (floats by bits, values by name)."""

    def val(v: Value | Const) -> object:
        return ("const", *v.key()) if isinstance(v, Const) else (v.name, v.type)

    def attr(x: object) -> object:
        return ("f64", float_to_bits(x)) if isinstance(x, float) else x

    blocks = tuple(
        (
            blk.name,
            tuple(val(p) for p in blk.params),
            tuple(
                (
                    op.opcode,
                    val(op.result) if op.result is not None else None,
                    tuple(val(a) for a in op.args),
                    tuple(sorted((k, attr(x)) for k, x in op.attrs.items())),
                    op.snapshot,
                    tuple((t.block.name, tuple(val(a) for a in t.args)) for t in op.targets),
                )
                for op in blk.ops
            ),
        )
        for blk in fn.blocks
    )
    snaps = tuple(
        (s.resume_pc, tuple(sorted((k, val(v)) for k, v in s.slots.items())), s.reason, s.line)
        for s in fn.snapshots
    )
    header = (fn.name, fn.location, fn.nslots, tuple(sorted(fn.slot_names.items())), fn.entry_pc)
    return header, blocks, snaps


# -- parsing -------------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<nan>-?nan:0x[0-9a-fA-F]+)
    | (?P<val>%[\w.]+)
    | (?P<snap>![0-9]+)
    | (?P<punct>[,():])
    | (?P<word>[^\s,():;"%!]+)
    )""",
    re.VERBOSE,
)
_HEADER = re.compile(r'loop\s+(\S+)\s+("(?:[^"\\]|\\.)*")(?:\s+pc=(-?\d+))?\s+slots=(\d+)\s*(?:;(.*))?$')
_SLOT_NAME = re.compile(r'\s*s(\d+)=("(?:[^"\\]|\\.)*"|[^\s"]+)')
_BLOCK = re.compile(r"block\s+([\w.]+)\s*(?:\((.*)\))?\s*:$")
_PARAM = re.compile(r"\s*%([\w.]+)\s*:\s*(\w+)\s*$")
_SNAPSHOT = re.compile(r"snapshot\s+(\d+)\s+pc=(-?\d+)\s+reason=(\w+)\s+line=(-?\d+):(.*)$")
_DEF = re.compile(r"%([\w.]+)\s*=\s*([\w.]+)")


def tokenize(text: str, lineno: int) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise IRError(f"line {lineno}: cannot read {text[pos:].strip()!r}")
        tokens.append((m.lastgroup, m.group(m.lastgroup)))  # type: ignore[arg-type]
        pos = m.end()
    return tokens


def parse_float(text: str) -> float:
    if text.lstrip("-").startswith("nan:"):
        return bits_to_float(int(text.split(":", 1)[1], 16))
    try:
        return float(text)
    except ValueError:
        raise IRError(f"bad float {text!r}") from None


def parse_attr(kind: AttrKind, text: str) -> Any:
    if kind is AttrKind.SLOT:
        if not re.fullmatch(r"s\d+", text):
            raise IRError(f"expected a slot like s3, got {text!r}")
        return int(text[1:])
    if kind is AttrKind.TYPE:
        return Type.parse(text)
    if kind is AttrKind.INT:
        try:
            return int(text)
        except ValueError:
            raise IRError(f"bad int {text!r}") from None
    if kind is AttrKind.FLOAT:
        return parse_float(text)
    if kind is AttrKind.BOOL:
        if text not in ("true", "false"):
            raise IRError(f"expected true or false, got {text!r}")
        return text == "true"
    return text


def parse_const(text: str) -> Const:
    type_text, _, literal = text.partition(":")
    ty = Type.parse(type_text)
    kind = {Type.I64: AttrKind.INT, Type.F64: AttrKind.FLOAT, Type.BOOL: AttrKind.BOOL}.get(ty)
    if kind is None:
        raise IRError(f"no constants of type {ty}")
    return Const(ty, parse_attr(kind, literal))


class _Parser:
    def __init__(self, text: str) -> None:
        self.lines = [(n, _strip_comment(line)) for n, line in enumerate(text.splitlines(), 1)]
        self.values: dict[str, Value] = {}
        self.fn: LoopFunction | None = None

    def parse(self) -> LoopFunction:
        body = [(n, line) for n, line in self.lines if line.strip()]
        if not body:
            raise IRError("empty IR text")
        self.fn = self._header(*body[0])
        self._declare(body[1:])
        snapshot_lines = []
        current: Block | None = None
        for n, line in body[1:]:
            stripped = line.strip()
            if stripped.startswith("block "):
                current = self.fn.block(_BLOCK.match(stripped).group(1))  # type: ignore[union-attr]
            elif stripped.startswith("snapshot "):
                snapshot_lines.append((n, stripped))
            elif current is None:
                raise IRError(f"line {n}: op outside a block: {stripped!r}")
            else:
                self._wrap(n, lambda cur=current, s=stripped: cur.append(self._op(s)))
        for n, line in snapshot_lines:
            self._wrap(n, lambda s=line: self._snapshot(s))
        return self.fn

    def _wrap(self, n: int, action: Any) -> Any:
        try:
            return action()
        except IRError as e:
            if str(e).startswith("line "):
                raise
            raise IRError(f"line {n}: {e}") from None

    def _header(self, n: int, line: str) -> LoopFunction:
        import json

        m = _HEADER.match(line.strip())
        if m is None:
            raise IRError(f"line {n}: expected 'loop NAME \"LOCATION\" [pc=N] slots=N', got {line.strip()!r}")
        name, loc, pc, nslots, names = m.groups()
        slot_names = {}
        for sm in _SLOT_NAME.finditer(names or ""):
            text = sm.group(2)
            slot_names[int(sm.group(1))] = json.loads(text) if text.startswith('"') else text
        return LoopFunction(name, json.loads(loc), int(nslots), slot_names, int(pc) if pc is not None else None)

    def _declare(self, body: list[tuple[int, str]]) -> None:
        """Create every block, block parameter, result value and snapshot placeholder up front."""
        fn = self.fn
        assert fn is not None
        nsnap = 0
        for n, line in body:
            stripped = line.strip()
            if stripped.startswith("block "):
                self._wrap(n, lambda s=stripped: self._declare_block(s))
            elif stripped.startswith("snapshot "):
                m = _SNAPSHOT.match(stripped)
                if m is None or int(m.group(1)) != nsnap:
                    raise IRError(f"line {n}: expected 'snapshot {nsnap} pc=.. reason=.. line=..:'")
                fn.snapshots.append(Snapshot(0))
                nsnap += 1
            else:
                m = _DEF.match(stripped)
                if m is not None:
                    opdef = OPS.get(m.group(2))
                    if opdef is None or opdef.result is None:
                        raise IRError(f"line {n}: {m.group(2)!r} is not an op with a result")
                    self._new_value(n, m.group(1), opdef.result)

    def _declare_block(self, line: str) -> None:
        m = _BLOCK.match(line)
        if m is None:
            raise IRError(f"bad block header {line!r}")
        blk = self.fn.add_block(m.group(1))  # type: ignore[union-attr]
        for part in filter(str.strip, (m.group(2) or "").split(",")):
            pm = _PARAM.match(part)
            if pm is None:
                raise IRError(f"bad block parameter {part.strip()!r}")
            v = self._new_value(0, pm.group(1), Type.parse(pm.group(2)))
            v.block = blk
            blk.params.append(v)

    def _new_value(self, n: int, name: str, ty: Type) -> Value:
        try:
            self.fn.claim_name(name)  # type: ignore[union-attr]
        except IRError as e:
            raise IRError(f"line {n}: {e}" if n else str(e)) from None
        v = Value(ty, name)
        self.values[name] = v
        return v

    def _value(self, token: str) -> Value:
        v = self.values.get(token[1:])
        if v is None:
            raise IRError(f"undefined value {token}")
        return v

    def _op(self, line: str) -> Op:
        fn = self.fn
        assert fn is not None
        result = None
        m = _DEF.match(line)
        if m is not None:
            result = self.values[m.group(1)]
            line = line[m.start(2) :]
        tokens = tokenize(line, 0)
        opcode = tokens[0][1]
        opdef = OPS.get(opcode)
        if opdef is None:
            raise IRError(f"unknown op {opcode!r}")
        pos = 1
        attrs = {}
        for name, kind in opdef.attrs:
            if pos >= len(tokens) or tokens[pos][0] not in ("word", "nan"):
                raise IRError(f"{opcode}: missing attribute {name}")
            attrs[name] = parse_attr(kind, tokens[pos][1])
            pos += 1
        args, targets, snapshot = self._items(opcode, tokens[pos:])
        return make_op(fn, opcode, args, attrs, snapshot, targets, result=result)

    def _items(self, opcode: str, tokens: list[tuple[str, str]]) -> tuple[list[Value], list[Target], int | None]:
        args: list[Value] = []
        targets: list[Target] = []
        snapshot = None
        pos = 0
        while pos < len(tokens):
            kind, text = tokens[pos]
            if kind == "val" and not targets:
                args.append(self._value(text))
                pos += 1
            elif kind == "word":
                pos = self._target(tokens, pos, targets)
            elif kind == "snap" and pos == len(tokens) - 1:
                return args, targets, int(text[1:])
            else:
                raise IRError(f"{opcode}: unexpected {text!r}")
            if pos < len(tokens) and tokens[pos] == ("punct", ","):
                pos += 1
        return args, targets, snapshot

    def _target(self, tokens: list[tuple[str, str]], pos: int, targets: list[Target]) -> int:
        try:
            blk = self.fn.block(tokens[pos][1])  # type: ignore[union-attr]
        except KeyError:
            raise IRError(f"unknown block {tokens[pos][1]!r}") from None
        pos += 1
        args = []
        if pos < len(tokens) and tokens[pos] == ("punct", "("):
            pos += 1
            while tokens[pos] != ("punct", ")"):
                if tokens[pos][0] != "val":
                    raise IRError(f"bad argument {tokens[pos][1]!r} to block {blk.name}")
                args.append(self._value(tokens[pos][1]))
                pos += 1
                if tokens[pos] == ("punct", ","):
                    pos += 1
            pos += 1
        targets.append(Target(blk, args))
        return pos

    def _snapshot(self, line: str) -> None:
        m = _SNAPSHOT.match(line)
        assert m is not None
        index, pc, reason, lineno, rest = m.groups()
        try:
            why = ExitReason(reason)
        except ValueError:
            raise IRError(f"unknown exit reason {reason!r}") from None
        slots: dict[int, Value | Const] = {}
        for entry in rest.split():
            em = re.fullmatch(r"s(\d+)=(\S+)", entry)
            if em is None:
                raise IRError(f"bad snapshot entry {entry!r}")
            text = em.group(2)
            slots[int(em.group(1))] = self._value(text) if text.startswith("%") else parse_const(text)
        self.fn.snapshots[int(index)] = Snapshot(int(pc), slots, why, int(lineno))  # type: ignore[union-attr]


def _strip_comment(line: str) -> str:
    if line.lstrip().startswith("loop "):
        return line
    return line.split(";", 1)[0]


def parse_function(text: str) -> LoopFunction:
    """Parse the text form back into a LoopFunction (IRError with a line number on bad input)."""
    return _Parser(text).parse()


def round_trips(fn: LoopFunction) -> bool:
    """True when printing, parsing and printing again gives the same text and structure."""
    text = print_function(fn)
    again = parse_function(text)
    return print_function(again) == text and structure(again) == structure(fn)
