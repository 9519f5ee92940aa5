"""A minimal in-process loader for the x86-64 ELF objects LLVM emits for one loop: mmap, relocate, run, munmap.

Why not ORC or MCJIT: MCJIT never returns code memory, and llvmlite's LLJIT keeps one JITDylib per
linked library forever (about 9 KiB each, measured), so neither keeps memory bounded over
thousands of compiles. A loop's object is tiny and self-contained (its code, a few constant-pool
sections, calls to libm), so loading it ourselves is simple: each loop gets its own anonymous
mapping (written while RW, then switched to RX), external calls go through 16-byte stubs inside
that mapping, and ``release`` unmaps it.
"""
from __future__ import annotations

import ctypes
import mmap
import struct
from dataclasses import dataclass

PAGE = mmap.PAGESIZE

SHT_SYMTAB, SHT_RELA, SHT_NOBITS = 2, 4, 8
SHF_ALLOC = 0x2
SHN_UNDEF, SHN_ABS = 0, 0xFFF1

R_X86_64_64, R_X86_64_PC32, R_X86_64_PLT32 = 1, 2, 4
R_X86_64_GOTPCREL, R_X86_64_32, R_X86_64_32S, R_X86_64_PC64 = 9, 10, 11, 24
R_X86_64_GOTPCRELX, R_X86_64_REX_GOTPCRELX = 41, 42
R_X86_64_NONE = 0

_STUB = b"\xff\x25\x00\x00\x00\x00"  # jmp *0(%rip), followed by the 8-byte target address

_libc = ctypes.CDLL(None, use_errno=True)
_mmap = _libc.mmap
_mmap.restype = ctypes.c_void_p
_mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
_mprotect = _libc.mprotect
_mprotect.restype = ctypes.c_int
_mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
_munmap = _libc.munmap
_munmap.restype = ctypes.c_int
_munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
_MAP_FAILED = ctypes.c_void_p(-1).value


class LoadError(RuntimeError):
    """The object uses something this loader does not handle (an unknown relocation or symbol)."""


@dataclass
class _Section:
    name: str
    type: int
    flags: int
    offset: int
    size: int
    link: int
    info: int
    align: int
    address: int = 0  # where it lands in the mapping (allocated sections only)


class LoadedCode:
    """One mapped object: `address(symbol)` gives entry points; `free()` unmaps (idempotent)."""

    def __init__(self, base: int, size: int, symbols: dict[str, int], code_size: int) -> None:
        self.base = base
        self.size = size
        self.symbols = symbols
        self.code_size = code_size

    def address(self, symbol: str) -> int:
        return self.symbols[symbol]

    def free(self) -> None:
        if self.base:
            _munmap(self.base, self.size)
            self.base = 0


def _sections(obj: bytes) -> list[_Section]:
    if obj[:4] != b"\x7fELF" or obj[4] != 2 or obj[5] != 1:
        raise LoadError("not a little-endian ELF64 object")
    (machine,) = struct.unpack_from("<H", obj, 18)
    if machine != 62:  # EM_X86_64
        raise LoadError(f"ELF machine {machine} is not x86-64")
    shoff, = struct.unpack_from("<Q", obj, 40)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", obj, 58)
    raw = [struct.unpack_from("<IIQQQQIIQQ", obj, shoff + k * shentsize) for k in range(shnum)]
    strtab_off = raw[shstrndx][4]
    out = []
    for name_off, typ, flags, _addr, off, size, link, info, align, _entsize in raw:
        end = obj.index(b"\0", strtab_off + name_off)
        out.append(_Section(obj[strtab_off + name_off : end].decode(), typ, flags, off, size, link, info, max(align, 1)))
    return out


def load_object(obj: bytes, externals: dict[str, int]) -> LoadedCode:
    """Map an x86-64 relocatable object; undefined symbols resolve through `externals` (name -> address)."""
    secs = _sections(obj)
    symtab = next((s for s in secs if s.type == SHT_SYMTAB), None)
    if symtab is None:
        raise LoadError("object has no symbol table")
    strtab = secs[symtab.link]
    symbols = []  # (name, shndx, value, info)
    for k in range(symtab.size // 24):
        name_off, info, _other, shndx, value, _size = struct.unpack_from("<IBBHQQ", obj, symtab.offset + 24 * k)
        end = obj.index(b"\0", strtab.offset + name_off)
        symbols.append((obj[strtab.offset + name_off : end].decode(), shndx, value, info))

    # Layout: allocated sections in order, then one stub (16 bytes) per external symbol and one
    # GOT word per external symbol (GOTPCREL), all in one mapping so every rel32 fits.
    size = 0
    alloc = [s for s in secs if s.flags & SHF_ALLOC and s.size]
    for s in alloc:
        size = (size + s.align - 1) // s.align * s.align
        s.address = size  # offset for now
        size += s.size
    code_size = size
    undefined = sorted({name for name, shndx, _, _ in symbols if shndx == SHN_UNDEF and name})
    missing = [n for n in undefined if n not in externals]
    if missing:
        raise LoadError(f"undefined symbols: {', '.join(missing)}")
    stub_at: dict[str, int] = {}
    got_at: dict[str, int] = {}
    size = (size + 15) // 16 * 16
    for name in undefined:
        stub_at[name] = size
        size += 16
    for name in undefined:
        got_at[name] = size
        size += 8
    total = max(PAGE, (size + PAGE - 1) // PAGE * PAGE)

    base = _mmap(None, total, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1, 0)
    if base in (None, _MAP_FAILED):
        raise MemoryError(f"mmap of {total} bytes for compiled code failed (errno {ctypes.get_errno()})")
    try:
        image = bytearray(size)
        for s in alloc:
            if s.type != SHT_NOBITS:
                image[s.address : s.address + s.size] = obj[s.offset : s.offset + s.size]
            s.address += base
        for name in undefined:
            off = stub_at[name]
            image[off : off + 14] = _STUB + struct.pack("<Q", externals[name])
            stub_at[name] = base + off
            struct.pack_into("<Q", image, got_at[name], externals[name])
            got_at[name] = base + got_at[name]

        def sym_address(index: int) -> int:
            name, shndx, value, _ = symbols[index]
            if shndx == SHN_UNDEF:
                return externals[name]
            if shndx == SHN_ABS:
                return value
            sec = secs[shndx]
            if not (sec.flags & SHF_ALLOC):
                raise LoadError(f"symbol {name!r} is in non-loaded section {sec.name}")
            return sec.address + value

        for rs in secs:
            if rs.type != SHT_RELA:
                continue
            target = secs[rs.info]
            if not (target.flags & SHF_ALLOC) or not target.size:
                continue
            for k in range(rs.size // 24):
                r_offset, r_info, addend = struct.unpack_from("<QQq", obj, rs.offset + 24 * k)
                rtype, sym = r_info & 0xFFFFFFFF, r_info >> 32
                place = target.address + r_offset
                at = place - base
                name = symbols[sym][0]
                external = symbols[sym][1] == SHN_UNDEF
                if rtype == R_X86_64_NONE:
                    continue
                if rtype == R_X86_64_64:
                    struct.pack_into("<Q", image, at, (sym_address(sym) + addend) & 0xFFFFFFFFFFFFFFFF)
                elif rtype == R_X86_64_PC64:
                    struct.pack_into("<q", image, at, sym_address(sym) + addend - place)
                elif rtype in (R_X86_64_PC32, R_X86_64_PLT32):
                    # Calls to libm go through the stub: the real function is usually > 2 GiB away.
                    dest = stub_at[name] if external and rtype == R_X86_64_PLT32 else sym_address(sym)
                    _put32(image, at, dest + addend - place, signed=True)
                elif rtype in (R_X86_64_GOTPCREL, R_X86_64_GOTPCRELX, R_X86_64_REX_GOTPCRELX):
                    if not external:
                        raise LoadError(f"GOT relocation against local symbol {name!r}")
                    _put32(image, at, got_at[name] + addend - place, signed=True)
                elif rtype in (R_X86_64_32, R_X86_64_32S):
                    _put32(image, at, sym_address(sym) + addend, signed=rtype == R_X86_64_32S)
                else:
                    raise LoadError(f"unsupported relocation type {rtype} against {name!r}")
        ctypes.memmove(base, bytes(image), size)
        if _mprotect(base, total, mmap.PROT_READ | mmap.PROT_EXEC) != 0:
            raise OSError(ctypes.get_errno(), "mprotect(PROT_READ|PROT_EXEC) failed for compiled code")
        exported = {}
        for k, (name, shndx, _value, info) in enumerate(symbols):
            if name and shndx not in (SHN_UNDEF, SHN_ABS) and (info >> 4) != 0:  # global/weak binding
                exported[name] = sym_address(k)
        return LoadedCode(base, total, exported, code_size)
    except BaseException:
        _munmap(base, total)
        raise


def _put32(image: bytearray, at: int, value: int, signed: bool) -> None:
    lo, hi = (-(2**31), 2**31 - 1) if signed else (0, 2**32 - 1)
    if not lo <= value <= hi:
        raise LoadError(f"32-bit relocation out of range ({value:#x})")
    struct.pack_into("<i" if signed else "<I", image, at, value)
