"""On-disk cache of compiled bytecode per source file (like __pycache__), keyed by source hash and engine version."""
from __future__ import annotations

import hashlib
import os
import pickle
import sys
import tempfile
import time

from . import __version__
from .bytecode import CodeObject
from .settings import ENV_CACHE_DIR

MAGIC = b"TAURARO-BYTECODE-1\n"
DIGEST_SIZE = 32
MAX_BYTES = 64 << 20  # the directory is trimmed to 3/4 of this, least recently used entries first
_ENGINE_FILES = (".py", ".tsv")  # the top-level package files: front end, compiler, opcode table, alias table
_engine: bytes | None = None


def cache_dir() -> str:
    """$TAURARO_CACHE_DIR/bytecode, else ~/.cache/tauraro/bytecode (next to the cranelift module cache)."""
    base = os.environ.get(ENV_CACHE_DIR) or os.path.join(os.path.expanduser("~"), ".cache", "tauraro")
    return os.path.join(base, "bytecode")


def engine_version() -> bytes:
    """What compiled bytecode depends on besides the source: Tauraro's version, the host Python (its
    parser and messages) and the size and modification time of every file of the package's top level,
    where the front end, the compiler and the opcode table live (an edited checkout is another engine)."""
    global _engine
    if _engine is None:
        h = hashlib.sha256(f"{__version__}\0{sys.implementation.cache_tag}\0{sys.version}".encode())
        here = os.path.dirname(os.path.abspath(__file__))
        with os.scandir(here) as it:
            for entry in sorted(it, key=lambda e: e.name):
                if entry.name.endswith(_ENGINE_FILES):
                    st = entry.stat()
                    h.update(f"\0{entry.name}\0{st.st_size}\0{st.st_mtime_ns}".encode())
        _engine = h.digest()
    return _engine


def cacheable(filename: str) -> bool:
    """Only real files have an entry: "<string>", "<stdin>" and the REPL's blocks are compiled each time."""
    return not (filename.startswith("<") and filename.endswith(">"))


def entry_path(filename: str) -> str:
    """One entry per source file (as the program names it): a new version of the file replaces it."""
    name = hashlib.sha256(f"{os.path.abspath(filename)}\0{filename}".encode("utf-8", "surrogatepass")).hexdigest()
    return os.path.join(cache_dir(), name[:40] + ".tbc")


def source_key(source: str, filename: str) -> bytes:
    h = hashlib.sha256(engine_version())
    h.update(filename.encode("utf-8", "surrogatepass") + b"\0")
    h.update(source.encode("utf-8", "surrogatepass"))
    return h.digest()


def load(source: str, filename: str) -> CodeObject | None:
    """The cached module code of this exact source, or None (missing, stale, corrupt or unreadable:
    the caller compiles and stores it again). Never raises."""
    path = entry_path(filename)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    head = len(MAGIC) + 2 * DIGEST_SIZE
    payload = memoryview(data)[head:]
    if (data[:len(MAGIC)] != MAGIC or data[len(MAGIC):len(MAGIC) + DIGEST_SIZE] != source_key(source, filename)
            or hashlib.sha256(payload).digest() != data[head - DIGEST_SIZE:head]):
        return None  # another version of the file (or of Tauraro), or a damaged entry: rewritten after compiling
    try:
        code = pickle.loads(payload)
    except Exception:  # noqa: BLE001 - the digest matched, so only an unpicklable class change gets here: a miss
        return None
    if not isinstance(code, CodeObject) or code.filename != filename:
        return None
    try:
        os.utime(path)  # recently used: trimming removes the oldest modification times first
    except OSError:
        pass
    return code


def store(source: str, filename: str, code: CodeObject) -> None:
    """Write the entry for this source (before the code runs: the VM's per-run state is not pickled).
    A cache that cannot be written is just a slower next run: never raises."""
    try:
        payload = pickle.dumps(code, protocol=pickle.HIGHEST_PROTOCOL)
        directory = cache_dir()
        os.makedirs(directory, exist_ok=True)
        # A temporary file renamed over the entry: readers never see a partial entry.
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".tbc")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(MAGIC + source_key(source, filename) + hashlib.sha256(payload).digest() + payload)
            os.replace(tmp, entry_path(filename))
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        trim(directory)
    except Exception:  # noqa: BLE001 - unwritable directory, full disk, unpicklable constant: no entry
        return


def trim(directory: str, max_bytes: int = MAX_BYTES) -> None:
    """Trim the directory to 3/4 of max_bytes if it holds more (oldest first); drop stale temp files."""
    try:
        entries = []
        now = time.time()
        with os.scandir(directory) as it:
            for entry in it:
                st = entry.stat()
                if entry.name.startswith(".tmp-") and now - st.st_mtime > 3600:
                    os.unlink(entry.path)  # left by a process killed while writing
                elif entry.name.endswith(".tbc"):
                    entries.append((st.st_mtime, st.st_size, entry.path))
        total = sum(size for _, size, _ in entries)
        if total <= max_bytes:
            return
        for _, size, path in sorted(entries):
            os.unlink(path)
            total -= size
            if total <= max_bytes * 3 // 4:
                break
    except OSError:
        pass  # another process trimming at the same time, or an unreadable directory


def compile_cached(source: str, filename: str, use_cache: bool = True) -> CodeObject:
    """compile_source, served from the cache when this source was compiled before by this engine.
    Syntax errors are never cached: they are raised by compiling again, identically."""
    if use_cache and cacheable(filename):
        code = load(source, filename)
        if code is not None:
            return code
    from .compiler import compile_source  # the front end and compiler load only on a miss

    code = compile_source(source, filename)
    if use_cache and cacheable(filename):
        store(source, filename, code)
    return code
