"""`python -m bench.codemem`: memory compiled loops keep, per loop (RSS growth over thousands of compiled loops).

A generated program defines N functions, each with its own hot loop (distinct constants, so no two
compile to the same code and the module cache is off), and calls each once at JIT threshold 1:
N loops compile. Each configuration runs in a fresh process: RSS is read after a warm-up run and
again after the program ran (its result, hence its code objects and compiled loops, still alive);
the same program on `interp` gives the baseline. Retained bytes per loop = (RSS growth on the
backend - RSS growth on interp) / N. With `--budget` the compiled-code budget evicts the least
recently used loops beyond it (tauraro/jit/budget.py), so growth should flatten.

    python -m bench.codemem --loops 3000 --backends llvm,cranelift --budget 4M
    python -m bench.codemem --loops 3000 --tauraro /path/to/older/checkout   # before/after
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def program(n: int) -> str:
    parts = [f"def f{k}(n):\n    s = {k}\n    for i in range(n):\n        s += i * {k + 1}\n    return s\n\n\n"
             for k in range(n)]
    parts.append("t = 0\n")
    parts += [f"t += f{k}(3)\n" for k in range(n)]
    parts.append("print(t)\n")
    return "".join(parts)


CHILD = r"""
import gc, io, json, sys
import tauraro
def rss():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) * 1024
backend, n, budget = sys.argv[1], int(sys.argv[2]), sys.argv[3] or None
sys.path.append(sys.argv[4])
from bench.codemem import program
opts = {} if backend == "interp" else {"jit_threshold": 1, "use_cache": False, "jit_code_budget": budget}
tauraro.run(program(5), backend=backend, stdout=io.StringIO(), **opts)
source = program(n)
gc.collect()
before = rss()
result = tauraro.run(source, backend=backend, stdout=io.StringIO(), **opts)
gc.collect()
after = rss()
s = result.stats
print(json.dumps({"growth": after - before, "compiled": s.loops_compiled,
                  "live": getattr(s, "live_compiled_loops", s.loops_compiled), "evictions": getattr(s, "evictions", 0)}))
"""


def measure(backend: str, n: int, budget: str | None, tree: Path = REPO) -> dict:
    env = dict(os.environ, PYTHONPATH=str(tree) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    # cwd outside any checkout: `python -c` puts the cwd first on sys.path
    out = subprocess.run([sys.executable, "-c", CHILD, backend, str(n), budget or "", str(REPO)], capture_output=True,
                         text=True, env=env, check=True, cwd=tempfile.gettempdir())
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.codemem", description=__doc__.splitlines()[0])
    ap.add_argument("--loops", type=int, default=3000)
    ap.add_argument("--backends", default="llvm,cranelift")
    ap.add_argument("--budget", default=None, help="also run with this --jit-code-budget (e.g. 4M)")
    ap.add_argument("--tauraro", type=Path, default=REPO,
                    help="source tree to import tauraro from (e.g. an older checkout, for before/after)")
    args = ap.parse_args(argv)
    base = measure("interp", args.loops, None, args.tauraro)
    print(f"interp: RSS growth {base['growth'] / 2**20:.1f} MiB for {args.loops} functions (baseline)\n")
    print("| backend | budget | loops compiled | kept at the end | evictions | RSS growth over interp | per loop |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for backend in args.backends.split(","):
        for budget in [None] + ([args.budget] if args.budget else []):
            r = measure(backend, args.loops, budget, args.tauraro)
            extra = r["growth"] - base["growth"]
            print(f"| {backend} | {budget or 'default'} | {r['compiled']} | {r['live']} | {r['evictions']} | "
                  f"{extra / 2**20:.1f} MiB | {extra / max(1, r['compiled']) / 1024:.1f} KiB |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
