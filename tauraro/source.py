"""Reading a source file as CPython reads a script (PEP 263 coding declarations, BOM, NUL bytes), without the front end."""
from __future__ import annotations

import bisect
import os
import re

from .errors import TauraroSyntaxError

_BOM = b"\xef\xbb\xbf"
_CODING = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")
_BLANK_OR_COMMENT = re.compile(rb"^[ \t\f]*(?:[#\r\n]|$)")
_ASCII_PROBE = "#-coding: x = 'a'; print(1)\n"


def decode_source(data: bytes, filename: str) -> str:
    """The text of a source file, decoded as CPython decodes a script (PEP 263: UTF-8 unless a coding
    declaration in the first two lines says otherwise; a UTF-8 BOM is dropped), with universal newlines.
    Undecodable bytes, a bad declaration or a NUL byte raise TauraroSyntaxError naming the line and the
    message CPython gives."""
    bom = data.startswith(_BOM)
    if bom:
        data = data[len(_BOM):]
    declared, line = _coding_declaration(data)
    encoding = "utf-8" if declared is None else _normal_encoding(declared)
    if declared is not None:
        if bom and encoding != "utf-8":
            raise TauraroSyntaxError(filename, line, 1, f"encoding problem: {encoding} with BOM")
        try:
            ascii_compatible = _ASCII_PROBE.encode("ascii").decode(encoding) == _ASCII_PROBE
        except (LookupError, UnicodeError):
            ascii_compatible = False
        if not ascii_compatible:
            raise TauraroSyntaxError(filename, line, 1, f"encoding problem: {declared.decode('ascii', 'replace')}")
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as e:
        raise _undecodable(data, e, filename, declared, bom) from None
    nul = text.find("\x00")
    if nul >= 0:
        from .frontend import line_starts

        starts = line_starts(text)
        at = bisect.bisect_right(starts, nul)
        raise TauraroSyntaxError(filename, at, nul - starts[at - 1] + 1, "source code cannot contain null bytes")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _coding_declaration(data: bytes) -> tuple[bytes | None, int]:
    """(the encoding named by a coding declaration on line 1 or 2, its line); line 2 only counts after a
    blank or comment line 1, as in CPython."""
    lines = data.split(b"\n", 2)[:2]
    for number, text in enumerate(lines, 1):
        m = _CODING.match(text)
        if m:
            return m.group(1), number
        if not _BLANK_OR_COMMENT.match(text):
            break
    return None, 0


def _normal_encoding(declared: bytes) -> str:
    """CPython's normalisation of a declared name (utf-8-*, latin-1-*, ... )."""
    name = declared.decode("ascii", "replace").lower().replace("_", "-")
    if name == "utf-8" or name.startswith("utf-8-"):
        return "utf-8"
    if name in ("latin-1", "iso-8859-1", "iso-latin-1") or name.startswith(("latin-1-", "iso-8859-1-",
                                                                              "iso-latin-1-")):
        return "iso-8859-1"
    return name


def _undecodable(data: bytes, e: UnicodeDecodeError, filename: str, declared: bytes | None,
                 bom: bool) -> TauraroSyntaxError:
    line = data.count(b"\n", 0, e.start) + 1
    line_start = data.rfind(b"\n", 0, e.start) + 1
    col = len(data[line_start:e.start].decode("utf-8", "replace")) + 1
    if declared is None and not bom:
        byte = data[e.start:e.start + 1]
        where = filename if filename.startswith("<") else os.path.abspath(filename)  # as CPython names it
        message = (f"Non-UTF-8 code starting with '\\x{byte.hex()}' in file {where} on line {line}, "
                   "but no encoding declared; see https://peps.python.org/pep-0263/ for details")
    elif declared is None or _normal_encoding(declared) == "utf-8":
        # CPython decodes string literals one by one: it counts the position from the literal's start.
        quote = max(data.rfind(b'"', line_start, e.start), data.rfind(b"'", line_start, e.start))
        position = e.start - (quote + 1 if quote >= 0 else line_start)
        message = (f"(unicode error) 'utf-8' codec can't decode byte 0x{data[e.start]:02x} in position "
                   f"{position}: {e.reason}")
    else:
        message = f"encoding problem: {declared.decode('ascii', 'replace')}"
    return TauraroSyntaxError(filename, line, col, message)
