"""Tauraro JIT: Python-syntax language with Hausa keyword aliases, a register VM and a loop JIT."""
from __future__ import annotations

from .errors import TauraroError, TauraroRuntimeError, TauraroSyntaxError

__version__ = "0.1.0"
__all__ = ["run", "RunResult", "TauraroError", "TauraroRuntimeError", "TauraroSyntaxError", "__version__"]


def run(source, backend="cranelift", *, filename="<string>", jit_threshold=None, stdout=None, **options):
    """Run Tauraro source; return a RunResult (`.globals`, `.stats`). See tauraro.api.run."""
    from .api import run as _run

    return _run(source, backend, filename=filename, jit_threshold=jit_threshold, stdout=stdout, **options)


def __getattr__(name):
    if name == "RunResult":
        from .api import RunResult

        return RunResult
    raise AttributeError(name)
