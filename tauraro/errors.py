"""User-facing error types: everything the CLI turns into a one-line message and an exit status."""
from __future__ import annotations

import sys
from typing import Any


class TauraroError(Exception):
    """A usage or configuration error (bad backend name, missing package): exit status 2."""

    exit_status = 2


class TauraroSyntaxError(TauraroError):
    """A syntax error or an unsupported construct, located in the user's source."""

    def __init__(self, filename: str, line: int, col: int, message: str) -> None:
        self.filename = filename
        self.line = line
        self.col = col
        self.message = message
        super().__init__(self.format())

    def format(self) -> str:
        return f"{self.filename}:{self.line}:{self.col}: error: {self.message}"


class TauraroRuntimeError(Exception):
    """An uncaught Tauraro exception; carries the Tauraro traceback (exit status 1)."""

    exit_status = 1

    def __init__(self, exc: BaseException, traceback: list[tuple[str, int, str]]) -> None:
        self.exc = exc
        self.traceback = traceback
        super().__init__(str(exc))

    def final_line(self) -> str:
        """The last line of the report (the exception line, or its last note)."""
        return format_exception_only(self.exc)[-1]

    def format(self) -> str:
        """The report CPython prints: the chain of causes and contexts first, each with its frames
        (file, line, function, the source line), then this exception's."""
        return format_chain(self.exc, self.traceback)


class InternalJitError(Exception):
    """A bug inside the JIT (e.g. a trap in compiled code): named loop, never a process crash."""


def format_exception_only(exc: BaseException) -> list[str]:
    """The lines after the frames: for a SyntaxError its location and source line as CPython shows
    them (the host's own formatting), then the exception line, then any notes (add_note)."""
    if isinstance(exc, SyntaxError):
        import traceback  # only for this report: not imported by a run that raises nothing

        return [ln.rstrip("\n") for ln in traceback.format_exception_only(type(exc), exc)]
    notes = getattr(exc, "__notes__", None)
    extra = [str(n) for n in notes] if isinstance(notes, (list, tuple)) else []
    return [format_exception_line(exc), *extra]


def format_exception_line(exc: BaseException) -> str:
    """The last line CPython prints for an uncaught exception, e.g. 'ValueError: bad'."""
    cls = type(exc)
    name = cls.__qualname__
    module = cls.__module__
    if module not in ("builtins", "__main__", "tauraro.runtime"):
        name = f"{module}.{name}"
    text = str(exc)
    if isinstance(exc, SyntaxError) and exc.msg is not None:  # no "(file, line N)": those come above it
        text = str(exc.msg)
    if isinstance(exc, KeyError) and len(exc.args) == 1:
        text = repr(exc.args[0])
    return f"{name}: {text}" if text else name


CAUSE_HEADER = "\nThe above exception was the direct cause of the following exception:\n"
CONTEXT_HEADER = "\nDuring handling of the above exception, another exception occurred:\n"
REPEAT_LIMIT = 3  # identical consecutive frames CPython prints before "[Previous line repeated N more times]"


def frames_of(exc: BaseException) -> list[tuple[str, int, str]]:
    """The Tauraro frames an exception went through, outermost first (the VM records them innermost first)."""
    return list(reversed(getattr(exc, "_tauraro_tb", [])))


def format_chain(exc: BaseException, frames: list[tuple[str, int, str]] | None = None) -> str:
    chain: list[tuple[BaseException, str | None]] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    header: str | None = None
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append((current, header))
        if current.__cause__ is not None:
            current, header = current.__cause__, CAUSE_HEADER
        elif current.__context__ is not None and not current.__suppress_context__:
            current, header = current.__context__, CONTEXT_HEADER
        else:
            current = None
    lines: list[str] = []
    for i in range(len(chain) - 1, -1, -1):
        e, header = chain[i]
        lines.extend(format_frames(frames if i == 0 and frames is not None else frames_of(e)))
        lines.extend(format_exception_only(e))
        if header is not None:
            lines.append(header)
    return "\n".join(lines)


def format_frames(frames: list[tuple[str, int, str]]) -> list[str]:
    """'Traceback (most recent call last):' and one entry per frame with its source line, runs of the same
    frame collapsed as CPython does (none at all for an exception never raised: no header either)."""
    if not frames:
        return []
    lines = ["Traceback (most recent call last):"]
    last: Any = None
    count = 0
    for frame in frames:
        if frame == last:
            count += 1
            if count > REPEAT_LIMIT:
                continue
        else:
            _repeated(lines, count)
            last, count = frame, 1
        filename, line, func = frame
        lines.append(f'  File "{filename}", line {line}, in {func}')
        text = source_line(filename, line).strip()
        if text:
            lines.append(f"    {text}")
    _repeated(lines, count)
    return lines


def _repeated(lines: list[str], count: int) -> None:
    if count > REPEAT_LIMIT:
        n = count - REPEAT_LIMIT
        lines.append(f"  [Previous line repeated {n} more time{'s' if n > 1 else ''}]")


_SOURCES: dict[str, list[str]] = {}  # remembered program texts, by file name, as lines


def remember_source(filename: str, source: str) -> None:
    """Make a program's text what tracebacks quote for `filename` (also when it was not read from a file).
    Kept here, and in linecache only if something imported it already: importing linecache (and tokenize)
    costs ~1.5 ms at start-up, which a run that reports nothing does not pay."""
    if not filename.startswith("<"):
        lines = _SOURCES[filename] = source.splitlines(True)
        linecache = sys.modules.get("linecache")
        if linecache is not None:
            linecache.cache[filename] = (len(source), None, lines, filename)


def source_line(filename: str, line: int) -> str:
    """Line `line` of `filename` as tracebacks quote it: a remembered program's text, else linecache's."""
    lines = _SOURCES.get(filename)
    if lines is not None:
        return lines[line - 1] if 1 <= line <= len(lines) else ""
    import linecache

    return linecache.getline(filename, line)


def system_exit_status(e: BaseException) -> tuple[int, str | None]:
    """(exit status, message for stderr or None) of an uncaught SystemExit, as CPython exits on one."""
    code = e.code if isinstance(e, SystemExit) else None
    if code is None:
        return 0, None
    if isinstance(code, int):
        return code & 0xFF, None
    return 1, str(code)
