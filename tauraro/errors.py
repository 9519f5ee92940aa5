"""User-facing error types: everything the CLI turns into a one-line message and an exit status."""
from __future__ import annotations


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
        return format_exception_line(self.exc)

    def format(self) -> str:
        lines = ["Traceback (most recent call last):"]
        for filename, line, func in self.traceback:
            lines.append(f'  File "{filename}", line {line}, in {func}')
        lines.append(self.final_line())
        return "\n".join(lines)


class InternalJitError(Exception):
    """A bug inside the JIT (e.g. a trap in compiled code): named loop, never a process crash."""


def format_exception_line(exc: BaseException) -> str:
    """The last line CPython prints for an uncaught exception, e.g. 'ValueError: bad'."""
    cls = type(exc)
    name = cls.__qualname__
    module = cls.__module__
    if module not in ("builtins", "__main__", "tauraro.runtime"):
        name = f"{module}.{name}"
    text = str(exc)
    if isinstance(exc, KeyError) and len(exc.args) == 1:
        text = repr(exc.args[0])
    return f"{name}: {text}" if text else name
