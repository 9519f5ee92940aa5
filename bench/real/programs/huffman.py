"""Huffman compression of generated text: frequency counting, tree building, canonical codes, bit I/O.

Text comes from a seeded word-level Markov chain. Symbol frequencies are counted with Counter,
the tree is built on a heapq with a tie-breaking counter, code lengths are turned into canonical
codes, and a BitWriter packs them into a bytearray; a BitReader and a decoding table walk the bits
back. Every block must decompress to the original; sizes and a CRC are reported.
Usage: huffman.py [BLOCKS]
"""
from __future__ import annotations

import heapq
import itertools
import random
import sys
import zlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Optional, Tuple

DEFAULT_SIZE = 56  # blocks of text compressed

WORDS = ("the a of and to in is was he for it with as his on be at by i this had not are but from or have an "
         "they which one you were her all she there would their we him been has when who will more no if out "
         "so said what up its about into than them can only other new some could time these two may then do "
         "first any my now such like our over man me even most made after also did many before must through "
         "tauraro sarki kasuwa ruwa gida hanya littafi").split()


@dataclass(order=True)
class Node:
    weight: int
    order: int
    symbol: Optional[str] = field(default=None, compare=False)
    left: Optional[Node] = field(default=None, compare=False)
    right: Optional[Node] = field(default=None, compare=False)


def markov_text(rng: random.Random, words: int) -> str:
    follow: Dict[str, List[str]] = {w: rng.sample(WORDS, 6) for w in WORDS}
    current = rng.choice(WORDS)
    out = []
    for i in range(words):
        out.append(current.capitalize() if i % 13 == 0 else current)
        if i % 13 == 12:
            out[-1] += "."
        current = rng.choice(follow[current]) if rng.random() < 0.8 else rng.choice(WORDS)
    return " ".join(out)


def code_lengths(freq: Counter) -> Dict[str, int]:
    counter = itertools.count()
    heap = [Node(w, next(counter), s) for s, w in sorted(freq.items())]
    heapq.heapify(heap)
    if len(heap) == 1:
        return {heap[0].symbol: 1}  # type: ignore[dict-item]
    while len(heap) > 1:
        a, b = heapq.heappop(heap), heapq.heappop(heap)
        heapq.heappush(heap, Node(a.weight + b.weight, next(counter), None, a, b))
    lengths: Dict[str, int] = {}
    stack: List[Tuple[Node, int]] = [(heap[0], 0)]
    while stack:
        node, depth = stack.pop()
        if node.symbol is not None:
            lengths[node.symbol] = depth
        else:
            stack.append((node.left, depth + 1))  # type: ignore[arg-type]
            stack.append((node.right, depth + 1))  # type: ignore[arg-type]
    return lengths


def canonical_codes(lengths: Dict[str, int]) -> Dict[str, Tuple[int, int]]:
    """symbol -> (code, length), codes assigned in (length, symbol) order."""
    codes: Dict[str, Tuple[int, int]] = {}
    code = 0
    prev_len = 0
    for sym, length in sorted(lengths.items(), key=lambda kv: (kv[1], kv[0])):
        code <<= length - prev_len
        codes[sym] = (code, length)
        code += 1
        prev_len = length
    return codes


class BitWriter:
    def __init__(self) -> None:
        self.out = bytearray()
        self.acc = 0
        self.nbits = 0

    def write(self, code: int, length: int) -> None:
        self.acc = (self.acc << length) | code
        self.nbits += length
        while self.nbits >= 8:
            self.nbits -= 8
            self.out.append((self.acc >> self.nbits) & 0xFF)
        self.acc &= (1 << self.nbits) - 1

    def finish(self) -> bytes:
        if self.nbits:
            self.out.append((self.acc << (8 - self.nbits)) & 0xFF)
        return bytes(self.out)


class BitReader:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def bits(self) -> Iterator[int]:
        for byte in self.data:
            for shift in range(7, -1, -1):
                yield (byte >> shift) & 1


def encode(text: str, codes: Dict[str, Tuple[int, int]]) -> bytes:
    w = BitWriter()
    for ch in text:
        code, length = codes[ch]
        w.write(code, length)
    return w.finish()


def decode(data: bytes, codes: Dict[str, Tuple[int, int]], count: int) -> str:
    table = {(length, code): sym for sym, (code, length) in codes.items()}
    out: List[str] = []
    code = length = 0
    for bit in BitReader(data).bits():
        code = (code << 1) | bit
        length += 1
        if (sym := table.get((length, code))) is not None:
            out.append(sym)
            if len(out) == count:
                break
            code = length = 0
    return "".join(out)


def main(blocks: int) -> None:
    rng = random.Random(8080)
    total_in = total_out = 0
    crc = 0
    for b in range(blocks):
        text = markov_text(rng, 2500 + 500 * (b % 3))
        freq = Counter(text)
        lengths = code_lengths(freq)
        codes = canonical_codes(lengths)
        packed = encode(text, codes)
        if decode(packed, codes, len(text)) != text:
            raise AssertionError(f"block {b} did not round-trip")
        raw = text.encode("utf-8")
        total_in += len(raw)
        total_out += len(packed)
        crc = zlib.crc32(packed, crc)
        if b == 0:
            bits = sum(freq[s] * n for s, n in lengths.items())
            print(f"block 0: {len(freq)} symbols, {bits} bits, longest code {max(lengths.values())}")
            print("  " + text[:72])
            print("  shortest codes:", ", ".join(f"{s!r}={c:0{n}b}" for s, (c, n) in list(codes.items())[:5]))
    print(f"{blocks} blocks: {total_in} bytes -> {total_out} bytes ({100 * total_out / total_in:.2f}%)")
    print(f"checksum {crc}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SIZE)
