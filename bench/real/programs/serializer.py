"""A JSON encoder and decoder written by hand, checked against the standard json module.

Random documents (nested dicts and lists of strings with escapes and non-ASCII text, ints,
floats, booleans and null) are encoded by a recursive encoder with an indent option, decoded by a
recursive-descent decoder that tracks line and column for its error messages, and compared with
the originals and with json.dumps/json.loads. A few broken inputs must fail with a clear error.
Usage: serializer.py [DOCUMENTS_IN_TENS]
"""
from __future__ import annotations

import io
import json
import math
import random
import sys
from typing import Any, Callable, Dict, List, Optional, Tuple

DEFAULT_SIZE = 1000  # tens of documents

ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}
UNESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", "/": "/", "\\": "\\", '"': '"'}


class DecodeError(ValueError):
    def __init__(self, message: str, text: str, pos: int) -> None:
        line = text.count("\n", 0, pos) + 1
        col = pos - (text.rfind("\n", 0, pos) + 1) + 1
        super().__init__(f"{message}: line {line} column {col} (char {pos})")


class Encoder:
    def __init__(self, indent: Optional[int] = None, sort_keys: bool = False) -> None:
        self.indent = indent
        self.sort_keys = sort_keys
        self.handlers: Dict[type, Callable[[Any, io.StringIO, int], None]] = {
            dict: self._object, list: self._array, tuple: self._array, str: self._string,
            bool: self._bool, int: self._int, float: self._float, type(None): self._null,
        }

    def encode(self, value: Any) -> str:
        out = io.StringIO()
        self._value(value, out, 0)
        return out.getvalue()

    def _value(self, value: Any, out: io.StringIO, level: int) -> None:
        handler = self.handlers.get(type(value))
        if handler is None:
            raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")
        handler(value, out, level)

    def _newline(self, out: io.StringIO, level: int) -> None:
        if self.indent is not None:
            out.write("\n" + " " * (self.indent * level))

    def _object(self, value: dict, out: io.StringIO, level: int) -> None:
        if not value:
            out.write("{}")
            return
        out.write("{")
        items = sorted(value.items()) if self.sort_keys else value.items()
        for i, (k, v) in enumerate(items):
            if i:
                out.write(",")
                if self.indent is None:
                    out.write(" ")
            self._newline(out, level + 1)
            self._string(k, out, level)
            out.write(": ")
            self._value(v, out, level + 1)
        self._newline(out, level)
        out.write("}")

    def _array(self, value: list, out: io.StringIO, level: int) -> None:
        if not value:
            out.write("[]")
            return
        out.write("[")
        for i, v in enumerate(value):
            if i:
                out.write(",")
                if self.indent is None:
                    out.write(" ")
            self._newline(out, level + 1)
            self._value(v, out, level + 1)
        self._newline(out, level)
        out.write("]")

    @staticmethod
    def _string(value: str, out: io.StringIO, level: int) -> None:
        out.write('"')
        for ch in value:
            if ch in ESCAPES:
                out.write(ESCAPES[ch])
            elif ord(ch) < 0x20 or ord(ch) > 0x7E:
                code = ord(ch)
                if code > 0xFFFF:
                    code -= 0x10000
                    out.write(f"\\u{0xD800 | (code >> 10):04x}\\u{0xDC00 | (code & 0x3FF):04x}")
                else:
                    out.write(f"\\u{code:04x}")
            else:
                out.write(ch)
        out.write('"')

    @staticmethod
    def _bool(value: bool, out: io.StringIO, level: int) -> None:
        out.write("true" if value else "false")

    @staticmethod
    def _int(value: int, out: io.StringIO, level: int) -> None:
        out.write(str(value))

    @staticmethod
    def _float(value: float, out: io.StringIO, level: int) -> None:
        if math.isnan(value) or math.isinf(value):
            raise ValueError("Out of range float values are not JSON compliant")
        out.write(repr(value))

    @staticmethod
    def _null(value: None, out: io.StringIO, level: int) -> None:
        out.write("null")


class Decoder:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def error(self, message: str) -> DecodeError:
        return DecodeError(message, self.text, self.pos)

    def skip(self) -> None:
        text, pos = self.text, self.pos
        while pos < len(text) and text[pos] in " \t\n\r":
            pos += 1
        self.pos = pos

    def decode(self) -> Any:
        value = self.value()
        self.skip()
        if self.pos != len(self.text):
            raise self.error("Extra data")
        return value

    def value(self) -> Any:
        self.skip()
        if self.pos >= len(self.text):
            raise self.error("Expecting value")
        ch = self.text[self.pos]
        if ch == "{":
            return self.object()
        if ch == "[":
            return self.array()
        if ch == '"':
            return self.string()
        for word, result in (("true", True), ("false", False), ("null", None)):
            if self.text.startswith(word, self.pos):
                self.pos += len(word)
                return result
        return self.number()

    def object(self) -> dict:
        self.pos += 1
        result: dict = {}
        self.skip()
        if self.text.startswith("}", self.pos):
            self.pos += 1
            return result
        while True:
            self.skip()
            if not self.text.startswith('"', self.pos):
                raise self.error("Expecting property name enclosed in double quotes")
            key = self.string()
            self.skip()
            if not self.text.startswith(":", self.pos):
                raise self.error("Expecting ':' delimiter")
            self.pos += 1
            result[key] = self.value()
            self.skip()
            if self.text.startswith(",", self.pos):
                self.pos += 1
            elif self.text.startswith("}", self.pos):
                self.pos += 1
                return result
            else:
                raise self.error("Expecting ',' delimiter")

    def array(self) -> list:
        self.pos += 1
        result: list = []
        self.skip()
        if self.text.startswith("]", self.pos):
            self.pos += 1
            return result
        while True:
            result.append(self.value())
            self.skip()
            if self.text.startswith(",", self.pos):
                self.pos += 1
            elif self.text.startswith("]", self.pos):
                self.pos += 1
                return result
            else:
                raise self.error("Expecting ',' delimiter")

    def string(self) -> str:
        text = self.text
        self.pos += 1
        parts: List[str] = []
        while True:
            end = self.pos
            while end < len(text) and text[end] not in '"\\':
                end += 1
            parts.append(text[self.pos:end])
            if end >= len(text):
                self.pos = end
                raise self.error("Unterminated string")
            self.pos = end + 1
            if text[end] == '"':
                return "".join(parts)
            esc = text[self.pos:self.pos + 1]
            if esc == "u":
                code = int(text[self.pos + 1:self.pos + 5], 16)
                self.pos += 5
                if 0xD800 <= code < 0xDC00 and text.startswith("\\u", self.pos):
                    low = int(text[self.pos + 2:self.pos + 6], 16)
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    self.pos += 6
                parts.append(chr(code))
            elif esc in UNESCAPES:
                parts.append(UNESCAPES[esc])
                self.pos += 1
            else:
                raise self.error("Invalid \\escape")

    def number(self) -> Any:
        start = self.pos
        text = self.text
        while self.pos < len(text) and text[self.pos] in "+-0123456789.eE":
            self.pos += 1
        chunk = text[start:self.pos]
        if not chunk:
            raise self.error("Expecting value")
        try:
            return float(chunk) if any(c in chunk for c in ".eE") else int(chunk)
        except ValueError:
            self.pos = start
            raise self.error("Expecting value") from None


ALPHABET = "abcdefghij KLMNOP\"\\\n\t/éßж中€😀"


def random_document(rng: random.Random, depth: int) -> Any:
    kind = rng.randrange(10 if depth > 0 else 6)
    if kind == 0:
        return rng.randrange(-10**6, 10**6)
    if kind == 1:
        return round(rng.uniform(-1e3, 1e3), rng.randrange(0, 8))
    if kind == 2:
        return "".join(rng.choice(ALPHABET) for _ in range(rng.randrange(12)))
    if kind == 3:
        return rng.random() < 0.5
    if kind == 4:
        return None
    if kind == 5:
        return rng.random() * 10 ** rng.randrange(-20, 20)
    if kind < 8:
        return [random_document(rng, depth - 1) for _ in range(rng.randrange(5))]
    return {f"k{rng.randrange(100)}_{i}": random_document(rng, depth - 1) for i in range(rng.randrange(5))}


def roundtrip(doc: Any, encoder: Encoder) -> Tuple[str, Any]:
    text = encoder.encode(doc)
    back = Decoder(text).decode()
    if back != doc:
        raise AssertionError(f"round trip changed the document: {text[:80]}")
    return text, back


def main(tens: int) -> None:
    rng = random.Random(31337)
    compact, pretty = Encoder(), Encoder(indent=2, sort_keys=True)
    total_chars = 0
    checksum = 0
    for i in range(tens * 10):
        doc = {"id": i, "payload": random_document(rng, 5)}
        text, _ = roundtrip(doc, compact)
        if text != json.dumps(doc):
            raise AssertionError(f"compact encoding differs from json.dumps for document {i}")
        pretty_text, _ = roundtrip(doc, pretty)
        if pretty_text != json.dumps(doc, indent=2, sort_keys=True):
            raise AssertionError(f"pretty encoding differs from json.dumps for document {i}")
        if json.loads(text) != doc:
            raise AssertionError("json.loads disagrees")
        total_chars += len(text) + len(pretty_text)
        for ch in text:
            checksum = (checksum * 33 + ord(ch)) % 4_294_967_291
    for bad in ('{"a": 1,}', "[1, 2", '"abc', "[1 2]", '{"x" 1}', "tru"):
        try:
            Decoder(bad).decode()
            print(f"{bad!r}: accepted?!")
        except DecodeError as e:
            print(f"{bad!r}: {e}")
    try:
        compact.encode({"x": {1, 2}})
    except TypeError as e:
        print(f"TypeError: {e}")
    print(f"{tens * 10} documents, {total_chars} characters")
    print(f"checksum {checksum}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SIZE)
