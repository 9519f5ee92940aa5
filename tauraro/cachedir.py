"""The cache directory both caches share (compiled bytecode, cranelift modules): where it is and how it is trimmed."""
from __future__ import annotations

import os
import time

from .settings import ENV_CACHE_DIR


def cache_root() -> str:
    """$TAURARO_CACHE_DIR, else ~/.cache/tauraro; each cache keeps its own subdirectory."""
    return os.environ.get(ENV_CACHE_DIR) or os.path.join(os.path.expanduser("~"), ".cache", "tauraro")


def trim(directory: str, suffix: str, max_bytes: int) -> int:
    """Trim the `suffix` entries of `directory` to 3/4 of max_bytes if they hold more (oldest first) and drop
    temp files a killed writer left; returns how many entries went. Never raises for a racing or unreadable
    directory (another process may trim at the same time)."""
    removed = 0
    try:
        entries = []
        now = time.time()
        with os.scandir(directory) as it:
            for entry in it:
                st = entry.stat()
                if entry.name.startswith(".tmp-") and now - st.st_mtime > 3600:
                    os.unlink(entry.path)
                elif entry.name.endswith(suffix):
                    entries.append((st.st_mtime, st.st_size, entry.path))
        total = sum(size for _, size, _ in entries)
        if total <= max_bytes:
            return 0
        for _, size, path in sorted(entries):
            os.unlink(path)
            removed += 1
            total -= size
            if total <= max_bytes * 3 // 4:
                break
    except OSError:
        pass
    return removed
