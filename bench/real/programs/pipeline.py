"""A log-analysis pipeline built from generators: produce, parse, filter, window, group, report.

Synthetic web-server log lines are generated lazily from a seeded random source and flow
through a chain of generator stages (parsing with str methods, filtering, enrichment with
named tuples), a coroutine that keeps running statistics through send(), a sliding-window
rate detector on a deque, itertools.groupby over sorted records, tee, islice, chain,
accumulate and a Counter of the busiest paths.
Usage: pipeline.py [THOUSANDS_OF_LINES]
"""
from __future__ import annotations

import itertools
import random
import statistics
import sys
from collections import Counter, defaultdict, deque
from typing import Dict, Generator, Iterable, Iterator, List, NamedTuple, Optional

DEFAULT_SIZE = 100  # thousands of log lines
PATHS = ["/", "/index.html", "/api/items", "/api/items/{id}", "/api/users/{id}", "/static/app.js",
         "/static/style.css", "/login", "/logout", "/search?q={word}"]
WORDS = ["tauraro", "python", "jit", "star", "kano", "zaria", "sokoto", "benchmark"]
AGENTS = ["curl/8.0", "Mozilla/5.0", "bot/1.2", "python-requests/2.31"]
STATUSES = [200] * 14 + [201, 204, 301, 304, 400, 401, 403, 404, 404, 500, 503]


class Record(NamedTuple):
    time: int
    client: str
    method: str
    path: str
    status: int
    size: int
    agent: str

    @property
    def ok(self) -> bool:
        return self.status < 400

    @property
    def section(self) -> str:
        parts = self.path.split("?")[0].split("/")
        return "/" + parts[1] if len(parts) > 1 and parts[1] else "/"


def generate(count: int, seed: int) -> Iterator[str]:
    rng = random.Random(seed)
    t = 1_700_000_000
    for _ in range(count):
        t += rng.choice((0, 0, 0, 1))
        if rng.random() < 0.1:  # a few crawlers make a tenth of the requests
            client = f"10.9.9.{rng.randrange(1, 4)}"
        else:
            client = f"10.0.{rng.randrange(8)}.{rng.randrange(1, 40)}"
        path = rng.choice(PATHS).format(id=rng.randrange(1000), word=rng.choice(WORDS))
        method = "POST" if path.startswith("/api") and rng.random() < 0.3 else "GET"
        status = rng.choice(STATUSES)
        size = 0 if status in (204, 304) else rng.randrange(100, 50_000)
        agent = rng.choice(AGENTS)
        if rng.random() < 0.002:
            yield f"garbage line {rng.random()}"  # the parser must skip these
            continue
        yield f'{client} - - [{t}] "{method} {path} HTTP/1.1" {status} {size} "{agent}"'


def parse(lines: Iterable[str], rejected: List[str]) -> Iterator[Record]:
    for line in lines:
        try:
            client, _, _, stamp, rest = line.split(" ", 4)
            request, _, tail = rest[1:].partition('" ')
            method, path, _ = request.split(" ")
            status_text, size_text, agent = tail.split(" ", 2)
            yield Record(int(stamp.strip("[]")), client, method, path, int(status_text), int(size_text),
                         agent.strip('"'))
        except ValueError:
            rejected.append(line)


def only(records: Iterable[Record], *, methods: Optional[set] = None, min_size: int = 0) -> Iterator[Record]:
    return (r for r in records if (methods is None or r.method in methods) and r.size >= min_size)


def stats_keeper() -> Generator[Dict[str, float], Optional[int], None]:
    """A coroutine: send() response sizes, receive the running count, mean and maximum."""
    count, total, biggest = 0, 0, 0
    summary: Dict[str, float] = {}
    while True:
        size = yield summary
        if size is None:
            continue
        count += 1
        total += size
        biggest = max(biggest, size)
        summary = {"count": count, "mean": total / count, "max": biggest}


def bursts(records: Iterable[Record], window: int, limit: int) -> Iterator[tuple]:
    """(time, client) whenever a client makes more than `limit` requests within `window` seconds."""
    recent: Dict[str, deque] = defaultdict(deque)
    for r in records:
        q = recent[r.client]
        q.append(r.time)
        while q and q[0] <= r.time - window:
            q.popleft()
        if len(q) > limit:
            yield r.time, r.client
            q.clear()


def run(thousands: int) -> int:
    rejected: List[str] = []
    records = parse(generate(thousands * 1000, seed=7), rejected)
    main_stream, burst_stream = itertools.tee(records)
    keeper = stats_keeper()
    next(keeper)
    by_status: Counter = Counter()
    by_path: Counter = Counter()
    errors_by_section: Dict[str, int] = defaultdict(int)
    kept: List[Record] = []
    for r in only(main_stream, methods={"GET", "POST"}):
        by_status[r.status] += 1
        by_path[r.path.split("?")[0]] += 1
        if not r.ok:
            errors_by_section[r.section] += 1
        summary = keeper.send(r.size)
        if len(kept) < 5000:
            kept.append(r)
    keeper.close()
    alarms = list(itertools.islice(bursts(burst_stream, window=60, limit=5), 1000))

    print(f"lines parsed: {summary['count']}, rejected: {len(rejected)}")
    print(f"mean size {summary['mean']:.2f}, max {summary['max']}")
    print("statuses:", ", ".join(f"{s}={n}" for s, n in sorted(by_status.items())))
    print("busiest:", ", ".join(f"{p} ({n})" for p, n in by_path.most_common(4)))
    print("errors by section:", dict(sorted(errors_by_section.items())))
    print(f"bursts detected: {len(alarms)}; first {alarms[:2]}")

    kept.sort(key=lambda r: (r.client, r.time))
    per_client = []
    for client, group in itertools.groupby(kept, key=lambda r: r.client):
        sizes = [r.size for r in group]
        per_client.append((client, len(sizes), statistics.median(sizes)))
    per_client.sort(key=lambda t: (-t[1], t[0]))
    for client, n, med in per_client[:3]:
        print(f"  {client:>12}: {n:4d} requests, median size {med:8.1f}")

    running = list(itertools.accumulate(by_status[s] for s in sorted(by_status)))
    pieces = itertools.chain((summary["count"], summary["max"], len(alarms)), running,
                             (n for _, n, _ in per_client))
    checksum = 0
    for v in pieces:
        checksum = (checksum * 1_000_003 + int(v)) % (1 << 61)
    return checksum


def main(thousands: int) -> None:
    print(f"checksum {run(thousands)}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SIZE)
