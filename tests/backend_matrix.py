"""The one list of Tauraro backends the test-suite knows, and which of them this machine can run."""
from __future__ import annotations

import functools

import pytest

from tauraro.backends.base import BACKENDS, INTERPRETER

ALL_BACKENDS = [INTERPRETER, *BACKENDS]  # the registry is the one list of backend names

# Backends whose absence is a failure, not a skip: every machine must be able to interpret.
REQUIRED_BACKENDS = frozenset({"interp"})

# JIT thresholds exercised per backend (None = the backend's default threshold).
JIT_THRESHOLDS = [1, 2, 7, None]


def thresholds(backend: str) -> list[int | None]:
    """The jit_threshold values to run a program with on `backend`."""
    return [None] if backend == "interp" else list(JIT_THRESHOLDS)


@functools.cache
def backend_status(backend: str) -> str | None:
    """None if `backend` runs a trivial program; otherwise the reason it is unavailable.

    Only a TauraroError (the documented "usage/configuration" error, e.g. a missing
    package) makes a backend unavailable. Any other exception is a bug and is left to
    surface in the tests themselves, so it is reported as available here.
    """
    import tauraro

    try:
        tauraro.run("pass", backend=backend)
    except tauraro.TauraroError as e:
        return f"{type(e).__name__}: {e}"
    except Exception:  # a bug, not unavailability: the real tests will show it
        return None
    return None


def available_backends() -> list[str]:
    """The backends of ALL_BACKENDS that this machine can run."""
    return [b for b in ALL_BACKENDS if backend_status(b) is None]


def describe_backends() -> list[str]:
    """One human-readable line per backend: available, or why not."""
    lines = []
    for b in ALL_BACKENDS:
        try:
            reason = backend_status(b)
        except Exception as e:  # e.g. tauraro itself failing to import
            reason = f"cannot check: {type(e).__name__}: {e}"
        lines.append(f"{b}: available" if reason is None else f"{b}: unavailable ({reason})")
    return lines


def require_backend(backend: str) -> None:
    """Skip (with the reason) when an optional backend cannot run here; fail for a required one."""
    reason = backend_status(backend)
    if reason is None:
        return
    if backend in REQUIRED_BACKENDS:
        pytest.fail(f"required backend {backend!r} is unavailable: {reason}", pytrace=False)
    pytest.skip(f"backend {backend!r} unavailable: {reason}")
