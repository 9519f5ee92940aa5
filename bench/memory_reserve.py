"""What one JIT LinearMemory costs: address space and resident memory per instance, and growing one.

    python -m bench.memory_reserve [--count N] [--grow-mib M]

Creates N memories the way the backends do (``make_memory()``: an owned mapping for llvm and ir,
a wasmtime Memory for cranelift), reads VmSize and VmRSS from /proc/self/status before, while they
are alive and after they are dropped, and prints the cost per instance. Under qemu-user the
emulator's own bookkeeping for the guest's mappings is part of the process, so the same numbers
show what a reservation costs there (run it inside the root of ci/aarch64-full-emulated.sh).
Then one owned memory is grown to M MiB by allocations (as mirrored lists grow it).
"""
from __future__ import annotations

import argparse
import gc
import platform
import sys
import time
from collections.abc import Callable
from typing import Any

from tauraro.jit.layout import LinearMemory


def _status() -> dict[str, int]:
    """VmSize and VmRSS of this process in KiB."""
    out = {}
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmSize", "VmRSS"):
                out[key] = int(value.split()[0])
    return out


def per_instance(make: Callable[[], Any], count: int) -> dict[str, float]:
    """KiB of address space and resident memory per live instance, and resident KiB left per dropped one."""
    gc.collect()
    before = _status()
    objs = [make() for _ in range(count)]
    alive = _status()
    del objs
    gc.collect()
    after = _status()
    return {"virtual": (alive["VmSize"] - before["VmSize"]) / count,
            "resident": (alive["VmRSS"] - before["VmRSS"]) / count,
            "kept": (after["VmRSS"] - before["VmRSS"]) / count}


def grow(mib: int) -> tuple[float, int, dict[str, int]]:
    """Seconds to grow one owned memory to `mib` MiB in 1 MiB allocations; final size; status."""
    mem = LinearMemory()
    t0 = time.perf_counter()
    for _ in range(mib):
        p = mem.alloc(1 << 20)
        mem.write_bytes(p, b"\x01" * 64)
    return time.perf_counter() - t0, mem.size, _status()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--count", type=int, default=20, help="memories per measurement (default 20)")
    ap.add_argument("--grow-mib", type=int, default=256, help="grow one memory to this many MiB (default 256)")
    args = ap.parse_args(argv)
    print(f"{platform.machine()} Python {platform.python_version()}; {args.count} memories each")
    makers: dict[str, Callable[[], Any]] = {"owned (llvm, ir)": LinearMemory}
    try:
        from tauraro.backends.base import get_backend

        makers["wasmtime (cranelift)"] = get_backend("cranelift").make_memory
    except Exception as e:  # the wasm backend is optional
        print(f"cranelift: unavailable ({e})")
    print(f"{'memory':24} {'virtual KiB':>12} {'resident KiB':>13} {'kept KiB':>9}  (per instance)")
    for name, make in makers.items():
        r = per_instance(make, args.count)
        print(f"{name:24} {r['virtual']:12.0f} {r['resident']:13.0f} {r['kept']:9.0f}")
    seconds, size, status = grow(args.grow_mib)
    print(f"grow one owned memory to {args.grow_mib} MiB: {seconds * 1000:.1f} ms, size {size >> 20} MiB, "
          f"VmRSS {status['VmRSS'] >> 10} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
