"""User-visible defaults and environment variables, defined once: the CLI, the JIT, the caches and the README test read them here."""
from __future__ import annotations

# Chosen by measurement (bench/threshold.md, docs/jit.md): compiling costs ~2-20 ms per loop, an
# interpreted iteration ~1-3 us, so 1000 back-edges bounds compile time near the time already spent.
DEFAULT_JIT_THRESHOLD = 1000
DEFAULT_BACKEND = "cranelift"  # the backend names: tauraro.backends.base.BACKEND_CHOICES

# Tiers (docs/tiers.md): 0 keeps every frame in the register VM; 1 also translates hot functions to host code
# (tauraro/baseline.py). Native loops (tier 2) are the --backend's business.
DEFAULT_TIER = 1
TIERS = (0, 1)

ENV_BACKEND = "TAURARO_BACKEND"
ENV_TIER = "TAURARO_TIER"
ENV_JIT_THRESHOLD = "TAURARO_JIT_THRESHOLD"
ENV_CACHE_DIR = "TAURARO_CACHE_DIR"  # caches: $TAURARO_CACHE_DIR/bytecode (codecache.py), .../wasm (cranelift)
ENV_DATA_HOME = "XDG_DATA_HOME"  # REPL history: $XDG_DATA_HOME/tauraro/history
ENV_PATH = "TAURARO_PATH"  # extra directories searched for user modules after the main file's directory
