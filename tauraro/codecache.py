"""On-disk cache of compiled bytecode per source file (like __pycache__), keyed by source text and engine version."""
from __future__ import annotations

import marshal
import os
import sys
import tempfile
import zlib

from . import __version__, cachedir
from .bytecode import CodeObject, ExceptEntry, Instr, LoopInfo

MAGIC = b"TAURARO-BYTECODE-3\n"
MAX_BYTES = 64 << 20  # the directory is trimmed to 3/4 of this, least recently used entries first
_ENGINE_FILES = (".py", ".tsv")  # the top-level package files: front end, compiler, opcode table, alias table
_engine: str | None = None


def cache_dir() -> str:
    """$TAURARO_CACHE_DIR/bytecode, else ~/.cache/tauraro/bytecode (next to the cranelift module cache)."""
    return os.path.join(cachedir.cache_root(), "bytecode")


def engine_version() -> str:
    """What compiled bytecode depends on besides the source: Tauraro's version, the host Python (its
    parser and messages) and the size and modification time of every file of the package's top level,
    where the front end, the compiler and the opcode table live (an edited checkout is another engine)."""
    global _engine
    if _engine is None:
        parts = [__version__, sys.implementation.cache_tag, sys.version]
        here = os.path.dirname(os.path.abspath(__file__))
        with os.scandir(here) as it:
            for entry in sorted(it, key=lambda e: e.name):
                if entry.name.endswith(_ENGINE_FILES):
                    st = entry.stat()
                    parts.append(f"{entry.name}:{st.st_size}:{st.st_mtime_ns}")
        _engine = "\0".join(parts)
    return _engine


def cacheable(filename: str) -> bool:
    """Only real files have an entry: "<string>", "<stdin>" and the REPL's blocks are compiled each time."""
    return not (filename.startswith("<") and filename.endswith(">"))


def entry_path(filename: str) -> str:
    """One entry per source file (as the program names it): a new version of the file replaces it. The
    name is a 64-bit checksum of the path (zlib: hashlib costs a few ms to import); two paths sharing
    a name only evict each other, since an entry is used only if its recorded file name and source match."""
    data = f"{os.path.abspath(filename)}\0{filename}".encode("utf-8", "surrogatepass")
    return os.path.join(cache_dir(), f"{zlib.crc32(data):08x}{zlib.adler32(data):08x}.tbc")


def load(source: str, filename: str) -> CodeObject | None:
    """The cached module code of this exact source, or None (missing, stale, corrupt or unreadable:
    the caller compiles and stores it again). Never raises.

    An entry is MAGIC, the CRC-32 of the payload (4 bytes, little-endian), then the payload: the marshal
    of (engine version, file name, source, encoded code); the first three must equal this run's exactly."""
    path = entry_path(filename)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    head = len(MAGIC) + 4
    payload = memoryview(data)[head:]
    if data[:len(MAGIC)] != MAGIC or len(data) <= head or zlib.crc32(payload) != int.from_bytes(data[len(MAGIC):head], "little"):
        return None  # truncated or damaged: rewritten after compiling
    try:
        engine, name, text, encoded = marshal.loads(payload)
        if engine != engine_version() or name != filename or text != source:
            return None  # another version of the file or of Tauraro: rewritten after compiling
        code = decode(encoded)
    except Exception:  # noqa: BLE001 - the checksum matched, so only a format change gets here: a miss
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
        payload = marshal.dumps((engine_version(), filename, source, encode(code)))
        directory = cache_dir()
        os.makedirs(directory, exist_ok=True)
        # A temporary file renamed over the entry: readers never see a partial entry.
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".tbc")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(MAGIC + zlib.crc32(payload).to_bytes(4, "little") + payload)
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


_PER_RUN = ("runtime", "globals")  # filled by the VM when the code runs: never stored
_DERIVED = ("_liveness",)  # recomputed on demand


class Uncacheable(Exception):
    """A code object holding something the encoding does not know (it is then compiled every time)."""


def encode(code: CodeObject) -> tuple:
    """The code object as nested tuples, lists, dicts and constants only, for marshal (builtin, no
    import, and faster than pickle): (field values..., in CodeObject's field order). marshal.dumps
    raises ValueError for a constant it cannot store; Uncacheable for state it must not store."""
    state = code.__dict__
    if any(state.get(name) is not None for name in _PER_RUN) or not set(state) <= _KNOWN:
        raise Uncacheable(code.qualname)
    out = []
    for name in CodeObject.__record_fields__:
        value = state[name]
        if name == "instrs":
            value = [(i.op, i.a, i.b, i.c, i.line) for i in value]
        elif name == "consts":
            value = [(1, encode(c)) if isinstance(c, CodeObject) else (0, c) for c in value]
        elif name == "except_table":
            value = [(e.start, e.end, e.handler, e.reg, e.handled_depth) for e in value]
        elif name == "loops":
            value = [(i.loop_id, i.setup, i.header, i.pop, i.line, i.kind) for i in value]
        out.append(value)
    return tuple(out)


def decode(data: tuple) -> CodeObject:
    """The inverse of encode."""
    code = CodeObject.__new__(CodeObject)
    state = dict(zip(CodeObject.__record_fields__, data))
    state["instrs"] = [Instr(*t) for t in state["instrs"]]
    state["consts"] = [decode(c) if tag else c for tag, c in state["consts"]]
    state["except_table"] = [ExceptEntry(*t) for t in state["except_table"]]
    state["loops"] = [LoopInfo(*t) for t in state["loops"]]
    code.__dict__.update(state)
    return code


_KNOWN = frozenset(CodeObject.__record_fields__) | frozenset(_DERIVED)


def trim(directory: str, max_bytes: int = MAX_BYTES) -> None:
    """Trim the bytecode cache to 3/4 of max_bytes if it holds more (oldest entries first)."""
    cachedir.trim(directory, ".tbc", max_bytes)


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
