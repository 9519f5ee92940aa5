"""Shared fixtures: the CPython oracle (cached per test session) and backend availability."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/ helpers: backends, corpus

from backend_matrix import describe_backends  # noqa: E402
from corpus import CPythonOracle  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "slow: extra JIT-threshold runs of loop-heavy programs and CLI subprocesses "
        "(deselect with -m 'not slow')")


def pytest_report_header(config):
    try:
        return ["tauraro backends: " + "; ".join(describe_backends())]
    except Exception as e:  # the header must never break the run
        return [f"tauraro backends: cannot check ({type(e).__name__}: {e})"]


@pytest.fixture(scope="session")
def oracle(tmp_path_factory) -> CPythonOracle:
    """Call with a Program to get CPython's Outcome; each program runs once per session.

    Under pytest-xdist the workers share one cache directory (the parent of their base temp dirs).
    """
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    cache_dir = Path(base) / "cpython-oracle"
    cache_dir.mkdir(parents=True, exist_ok=True)
    return CPythonOracle(cache_dir)
