"""The compiled-code budget: the memory compiled loops keep is bounded; the least recently entered go first.

Every compiled loop (each type variant of a loop) is charged its estimated retained memory: the
machine code the backend reports (`CompiledLoop.code_bytes`) plus the bookkeeping the driver and the
backend keep for it (exit plans, the IR for dumps and messages), estimated per IR op and snapshot.
When a new compile brings the total over the budget, the least recently entered loops are evicted:
their code and frame window are freed and their back-edges count again, so a loop that gets hot
again compiles again. Eviction happens only between entries, in the driver: compiled code never
calls back into Python, so no evicted code is running, and nothing else refers to it.

The default (DEFAULT_BUDGET, 64 MiB) holds ~1,200-2,400 compiled loops of that size, far more than
any program of the test corpus and benchmarks compiles (at most a few dozen); the option `--jit-code-budget BYTES` (suffixes K, M, G), the
environment variable TAURARO_JIT_CODE_BUDGET and `tauraro.run(..., jit_code_budget=BYTES)` set it.
Figures (bench/codemem.py, RSS growth over thousands of compiled loops) are in bench/results.md.
"""
from __future__ import annotations

import os
from collections import OrderedDict
from typing import Any

from ..errors import TauraroError

DEFAULT_BUDGET = 64 << 20
MIN_BUDGET = 1 << 10
# Bookkeeping per compiled loop besides its machine code (the IR kept for dumps and messages, the
# exit plans, the backend's objects), fitted to bench/codemem.py: 1,000 loops of 17 ops and 6
# snapshots kept 28 KiB each on llvm (4 KiB of it the code mapping) and 54 KiB on cranelift
# (13.7 KB module image, 9.6 KB Store): 10,000 + 17 * 400 + 6 * 1,300 = 24.6 KB besides the code.
BYTES_PER_LOOP = 10000
BYTES_PER_OP = 400
BYTES_PER_SNAPSHOT = 1300
_SUFFIXES = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


def parse_bytes(text: str) -> int:
    """'64M' -> 67108864; a plain number is bytes. ValueError for anything else."""
    text = text.strip().lower().removesuffix("b").removesuffix("i")
    scale = _SUFFIXES.get(text[-1:], 1)
    number = text[:-1] if scale != 1 else text
    value = int(float(number) * scale)
    if value < 0 or not number:
        raise ValueError(text)
    return value


def code_budget(option: Any = None) -> int:
    """The budget in bytes: the run option, else TAURARO_JIT_CODE_BUDGET, else DEFAULT_BUDGET."""
    source, value = "jit_code_budget", option
    if value is None:
        source, value = "TAURARO_JIT_CODE_BUDGET", os.environ.get("TAURARO_JIT_CODE_BUDGET")
    if value is None or value == "":
        return DEFAULT_BUDGET
    try:
        budget = value if isinstance(value, int) else parse_bytes(str(value))
    except ValueError:
        raise TauraroError(f"{source} must be a number of bytes (suffixes K, M, G), not {value!r}") from None
    if budget < MIN_BUDGET:
        raise TauraroError(f"{source} must be at least {MIN_BUDGET} bytes")
    return budget


def retained_bytes(compiled: Any, nops: int, nsnapshots: int) -> int:
    """What keeping one compiled loop costs (see the module docstring)."""
    return (getattr(compiled, "code_bytes", 0) + BYTES_PER_LOOP + BYTES_PER_OP * nops
            + BYTES_PER_SNAPSHOT * nsnapshots)


class CodeBudget:
    """The compiled variants in least-recently-entered order and their total retained bytes."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.bytes = 0
        self._lru: OrderedDict[int, Any] = OrderedDict()  # id(variant) -> variant

    def __len__(self) -> int:
        return len(self._lru)

    def add(self, variant: Any) -> list[Any]:
        """Charge a new variant; returns the variants to evict (oldest first, never the new one)."""
        self._lru[id(variant)] = variant
        self.bytes += variant.retained_bytes
        victims = []
        excess = self.bytes - self.limit
        for old in self._lru.values():
            if excess <= 0:
                break
            if old is not variant:
                victims.append(old)
                excess -= old.retained_bytes
        return victims

    def touch(self, variant: Any) -> None:
        """The variant is being entered: it becomes the most recently used."""
        self._lru.move_to_end(id(variant))

    def remove(self, variant: Any) -> None:
        if self._lru.pop(id(variant), None) is not None:
            self.bytes -= variant.retained_bytes
