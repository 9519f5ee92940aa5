"""Native checks for one CI cell: every backend runs here, compiled loops really execute natively, outputs match CPython.

The test suite skips an optional backend (llvm, cranelift) whose package is missing; on a CI
runner that must never pass silently, so this check fails instead. It then runs the examples and
a few loop kernels on each JIT backend with a low threshold, requires that loops were compiled
and entered (native code for this machine's architecture), and compares stdout with CPython.
Usage: ``python ci/native_checks.py [--backends llvm,cranelift]``.
"""
from __future__ import annotations

import argparse
import io
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import tauraro  # noqa: E402
from tauraro.frontend import to_python  # noqa: E402

PROGRAMS = [
    "examples/sum.tr",
    "examples/primes.tr",
    "examples/mandelbrot.tr",
    "tests/programs/loop_overflow_add.tr",
    "tests/programs/loop_neg_divmod.tr",
    "tests/programs/loop_float_special.tr",
    "tests/programs/deopt_i64_boundary.tr",
    "tests/programs/deopt_float_inf_nan.tr",
]
NATIVE_BACKENDS = ["llvm", "cranelift"]


def cpython_stdout(path: Path) -> str:
    mapped = to_python(path.read_text(encoding="utf-8"))
    proc = subprocess.run([sys.executable, "-c", mapped], capture_output=True, text=True, timeout=300,
                          cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"CPython fails {path}:\n{proc.stderr}")
    return proc.stdout


def check_backend(backend: str, programs: list[Path], expected: dict[Path, str]) -> list[str]:
    problems = []
    for path in programs:
        out = io.StringIO()
        t0 = time.perf_counter()
        try:
            result = tauraro.run(path.read_text(encoding="utf-8"), backend=backend, filename=str(path),
                                 jit_threshold=10, stdout=out)
        except Exception as e:  # noqa: BLE001 - reported as a failed check
            problems.append(f"{backend} {path.relative_to(ROOT)}: {type(e).__name__}: {e}")
            continue
        st = result.stats
        status = "ok"
        if out.getvalue() != expected[path]:
            status = "OUTPUT DIFFERS FROM CPYTHON"
            problems.append(f"{backend} {path.relative_to(ROOT)}: stdout differs from CPython")
        elif st.loops_compiled < 1 or st.native_entries < 1:
            status = "NOT COMPILED"
            problems.append(f"{backend} {path.relative_to(ROOT)}: no loop compiled/entered (aborts: {st.aborts[:3]})")
        print(f"  {backend:<9} {path.relative_to(ROOT).as_posix():<42} {status:<8} loops={st.loops_compiled} "
              f"entries={st.native_entries} exits={st.exits_taken} {time.perf_counter() - t0:6.2f} s")
    return problems


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backends", default=",".join(NATIVE_BACKENDS), help="comma list of JIT backends to check")
    args = p.parse_args(argv)
    backends = [b for b in args.backends.split(",") if b]
    print(f"platform: {platform.system()} {platform.machine()}, Python {platform.python_version()}")
    problems = []
    for backend in ["interp", *backends]:
        try:
            tauraro.run("pass", backend=backend)
            print(f"backend {backend}: available")
        except tauraro.TauraroError as e:
            problems.append(f"backend {backend} is unavailable on this runner: {e}")
            print(f"backend {backend}: UNAVAILABLE ({e})")
    if "llvm" in backends and not problems:
        from tauraro.backends.llvm.engine import Engine

        engine = Engine()
        print(f"llvm: host triple {engine.triple}, cpu {engine.cpu}, loader {engine.loader}")
    programs = [ROOT / p for p in PROGRAMS]
    expected = {path: cpython_stdout(path) for path in programs}
    for backend in backends:
        if any(backend in msg for msg in problems if "unavailable" in msg):
            continue
        problems += check_backend(backend, programs, expected)
    if problems:
        print("\nnative checks FAILED:\n  " + "\n  ".join(problems))
        return 1
    print("\nnative checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
