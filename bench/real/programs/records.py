"""A declarative binary record format: descriptors, __init_subclass__, struct, array and io.BytesIO.

Record classes declare typed fields as descriptors (which learn their names through
__set_name__ and validate on assignment); __init_subclass__ collects them and precompiles a
struct.Struct for the fixed-size part. Streams of records are written to an in-memory file with a
header, varint-prefixed strings and a CRC trailer, read back, and compared. Columns are gathered
into array.array objects for statistics, and a string.Template formats the report.
Usage: records.py [THOUSANDS_OF_RECORDS]
"""
from __future__ import annotations

import array
import copy
import io
import operator
import random
import string
import struct
import sys
import zlib
from typing import Any, BinaryIO, ClassVar, Dict, Iterator, List, Type

DEFAULT_SIZE = 50  # thousands of records written and read back
MAGIC = b"TRB1"
HEADER = struct.Struct("<4sHHI")  # magic, version, record type id, count


class FormatError(ValueError):
    pass


class Field:
    code = ""  # struct format character; "" for variable-length fields

    def __init__(self, default: Any = None) -> None:
        self.default = default
        self.name = "?"

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        if obj is None:
            return self
        return obj.__dict__.get(self.name, self.default)

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__[self.name] = self.validate(value)

    def validate(self, value: Any) -> Any:
        return value


class Int(Field):
    def __init__(self, code: str = "i", default: int = 0) -> None:
        super().__init__(default)
        self.code = code
        bits = struct.calcsize(code) * 8
        self.lo, self.hi = (0, 2**bits - 1) if code.isupper() else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)

    def validate(self, value: Any) -> int:
        if not isinstance(value, int) or not self.lo <= value <= self.hi:
            raise FormatError(f"{self.name}: {value!r} does not fit in '{self.code}'")
        return value


class Float(Field):
    code = "d"

    def validate(self, value: Any) -> float:
        return float(value)


class Text(Field):
    def validate(self, value: Any) -> str:
        if not isinstance(value, str):
            raise FormatError(f"{self.name}: expected str, got {type(value).__name__}")
        return value


def write_varint(out: BinaryIO, n: int) -> None:
    while True:
        byte = n & 0x7F
        n >>= 7
        out.write(bytes([byte | (0x80 if n else 0)]))
        if not n:
            return


def read_varint(inp: BinaryIO) -> int:
    shift = result = 0
    while True:
        b = inp.read(1)
        if not b:
            raise FormatError("truncated varint")
        result |= (b[0] & 0x7F) << shift
        shift += 7
        if not b[0] & 0x80:
            return result


class Record:
    type_id: ClassVar[int] = 0
    fields: ClassVar[List[Field]] = []
    fixed: ClassVar[struct.Struct]
    registry: ClassVar[Dict[int, Type[Record]]] = {}

    def __init_subclass__(cls, type_id: int = 0, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.type_id = type_id
        cls.fields = [v for v in vars(cls).values() if isinstance(v, Field)]
        cls.fixed = struct.Struct("<" + "".join(f.code for f in cls.fields if f.code))
        Record.registry[type_id] = cls

    def __init__(self, **values: Any) -> None:
        unknown = set(values) - {f.name for f in self.fields}
        if unknown:
            raise TypeError(f"{type(self).__name__} has no field(s) {sorted(unknown)}")
        for f in self.fields:
            setattr(self, f.name, values.get(f.name, f.default))

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and all(
            getattr(self, f.name) == getattr(other, f.name) for f in self.fields)

    def __repr__(self) -> str:
        inner = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in self.fields)
        return f"{type(self).__name__}({inner})"

    def write(self, out: BinaryIO) -> None:
        out.write(self.fixed.pack(*(getattr(self, f.name) for f in self.fields if f.code)))
        for f in self.fields:
            if not f.code:
                data = getattr(self, f.name).encode("utf-8")
                write_varint(out, len(data))
                out.write(data)

    @classmethod
    def read(cls, inp: BinaryIO) -> Record:
        raw = inp.read(cls.fixed.size)
        if len(raw) != cls.fixed.size:
            raise FormatError("truncated record")
        fixed_values = iter(cls.fixed.unpack(raw))
        values = {}
        for f in cls.fields:
            if f.code:
                values[f.name] = next(fixed_values)
            else:
                values[f.name] = inp.read(read_varint(inp)).decode("utf-8")
        return cls(**values)


class Trade(Record, type_id=7):
    ident = Int("I")
    symbol = Text("")
    price = Float(0.0)
    quantity = Int("h")
    venue = Text("")
    flags = Int("B")


def dump(records: List[Record]) -> bytes:
    with io.BytesIO() as out:
        kind = type(records[0])
        out.write(HEADER.pack(MAGIC, 1, kind.type_id, len(records)))
        for r in records:
            r.write(out)
        out.write(struct.pack("<I", zlib.crc32(out.getvalue())))
        return out.getvalue()


def load(data: bytes) -> Iterator[Record]:
    if len(data) < HEADER.size + 4:
        raise FormatError("file too short")
    body, (crc,) = data[:-4], struct.unpack("<I", data[-4:])
    if zlib.crc32(body) != crc:
        raise FormatError("CRC mismatch")
    inp = io.BytesIO(body)
    magic, version, type_id, count = HEADER.unpack(inp.read(HEADER.size))
    if magic != MAGIC or version != 1:
        raise FormatError(f"not a record file: {magic!r} v{version}")
    kind = Record.registry[type_id]
    for _ in range(count):
        yield kind.read(inp)


REPORT = string.Template("$count trades in $symbols symbols; volume $volume; "
                         "VWAP $vwap; largest $largest; file $size bytes")


def main(thousands: int) -> None:
    rng = random.Random(5150)
    symbols = ["".join(rng.choice(string.ascii_uppercase) for _ in range(rng.randrange(2, 5))) for _ in range(40)]
    venues = ["Lagos", "Abuja", "Kano", "Nairobi", "Accra", "Zürich"]
    trades: List[Record] = []
    for i in range(thousands * 1000):
        trades.append(Trade(ident=i, symbol=rng.choice(symbols), price=round(rng.uniform(1, 500), 2),
                            quantity=rng.randrange(-3000, 3000), venue=rng.choice(venues),
                            flags=rng.randrange(256)))
    data = dump(trades)
    back = list(load(data))
    if back != trades:
        raise AssertionError("records changed in the round trip")
    prices = array.array("d", (t.price for t in back))
    quantities = array.array("i", (t.quantity for t in back))
    volume = sum(abs(q) for q in quantities)
    vwap = sum(p * abs(q) for p, q in zip(prices, quantities)) / volume
    largest = max(back, key=operator.attrgetter("quantity"))
    print(REPORT.substitute(count=len(back), symbols=len(set(symbols)), volume=volume, vwap=f"{vwap:.4f}",
                            largest=largest.ident, size=len(data)))
    print(repr(back[0]))
    by_venue: Dict[str, int] = {}
    for t in sorted(back, key=operator.attrgetter("venue", "ident")):
        by_venue[t.venue] = by_venue.get(t.venue, 0) + 1
    print("by venue:", by_venue)
    template = copy.deepcopy(back[0])
    template.quantity = 1
    print(f"copy is independent: {template.quantity != back[0].quantity or back[0].quantity == 1}")
    bad_magic = b"XXXX" + data[4:-4]
    bad_magic += struct.pack("<I", zlib.crc32(bad_magic))
    for bad in (data[:-1] + b"\x00", bad_magic, data[:10]):
        try:
            list(load(bad))
        except FormatError as e:
            print(f"rejected: {e}")
    try:
        Trade(quantity=70000)
    except FormatError as e:
        print(f"rejected: {e}")
    print(f"checksum {zlib.crc32(data)} {prices.tobytes()[:8].hex()}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SIZE)
