"""On-disk cache of compiled wasm modules (Module.serialize), keyed by IR text, engine config and wasmtime version."""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import wasmtime

from ... import cachedir

MAGIC = b"TAURARO-CWASM-1\n"
DIGEST_SIZE = 32
MAX_BYTES = 64 << 20  # the directory is trimmed to 3/4 of this, least recently used entries first
EVICT_EVERY = 256  # stores between two size checks (the first store of a process checks too)


def default_cache_dir() -> Path:
    """$TAURARO_CACHE_DIR, else ~/.cache/tauraro; modules go to its `wasm` subdirectory."""
    return Path(cachedir.cache_root()) / "wasm"


class ModuleCache:
    """Serialized modules in files ``<key>.cwasm``: MAGIC, sha256 of the payload, the payload.

    wasmtime trusts serialized code (deserialising is unsafe in Rust terms), so every entry carries
    a digest checked before wasmtime sees it: a truncated or bit-flipped file is a miss, is deleted
    and gets rewritten. An entry from another wasmtime or engine config has another key; if one
    still fails to load it is treated the same way. Nothing here ever raises to the caller.
    """

    def __init__(self, directory: Path | str | None = None, max_bytes: int = MAX_BYTES) -> None:
        self.directory = Path(directory) if directory is not None else default_cache_dir()
        self.max_bytes = max_bytes
        self.errors = 0  # entries rejected (corrupt or incompatible) or writes that failed
        self.evicted = 0
        self._stores = 0

    @staticmethod
    def key(*parts: str) -> str:
        h = hashlib.sha256()
        for part in parts:
            data = part.encode()
            h.update(len(data).to_bytes(8, "little"))
            h.update(data)
        return h.hexdigest()

    def path(self, key: str) -> Path:
        return self.directory / f"{key}.cwasm"

    def load(self, engine: wasmtime.Engine, key: str) -> wasmtime.Module | None:
        path = self.path(key)
        try:
            data = path.read_bytes()
        except OSError:
            return None
        head = len(MAGIC) + DIGEST_SIZE
        payload = data[head:]
        if data[: len(MAGIC)] != MAGIC or len(data) <= head or hashlib.sha256(payload).digest() != data[len(MAGIC) : head]:
            self._reject(path)
            return None
        try:
            module = wasmtime.Module.deserialize(engine, payload)
        except Exception:  # noqa: BLE001 - any failure to load is a miss, never fatal
            self._reject(path)
            return None
        try:
            os.utime(path)  # recently used: eviction removes the oldest modification times first
        except OSError:
            pass
        return module

    def store(self, key: str, module: wasmtime.Module) -> None:
        try:
            payload = bytes(module.serialize())
            self.directory.mkdir(parents=True, exist_ok=True)
            # Write to a temporary file and rename: readers never see a partial entry.
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".cwasm")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(MAGIC + hashlib.sha256(payload).digest() + payload)
                os.replace(tmp, self.path(key))
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except Exception:  # noqa: BLE001 - a cache that cannot be written is just a slower run
            self.errors += 1
            return
        if self._stores % EVICT_EVERY == 0:
            self.evict()
        self._stores += 1

    def evict(self) -> None:
        """Trim the directory to 3/4 of max_bytes if it holds more (oldest first); drop stale temp files."""
        self.evicted += cachedir.trim(str(self.directory), ".cwasm", self.max_bytes)

    def _reject(self, path: Path) -> None:
        self.errors += 1
        try:
            path.unlink()
        except OSError:
            pass
