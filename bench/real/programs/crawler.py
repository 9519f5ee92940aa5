"""An asyncio web-crawler simulation: worker tasks, queues, semaphores, async generators, retries.

A seeded random "web" of pages on a few hosts is crawled by a pool of worker coroutines that take
URLs from an asyncio.Queue. Fetching is simulated (no network, no timers: tasks yield with
asyncio.sleep(0), so the interleaving is deterministic), limited per host by semaphores used with
`async with`; some fetches fail and are retried. Links are parsed from the page text by an async
generator and consumed with `async for`. At the end the workers are cancelled and gathered.
Usage: crawler.py [PAGES_IN_HUNDREDS]
"""
from __future__ import annotations

import asyncio
import random
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import AsyncIterator, Dict, List, Set, Tuple

DEFAULT_SIZE = 60  # hundreds of pages in the simulated web
HOSTS = ["alpha.example", "beta.example", "gamma.example", "delta.example"]


class FetchError(Exception):
    def __init__(self, url: str, attempt: int) -> None:
        super().__init__(f"{url} failed on attempt {attempt}")
        self.url = url


@dataclass
class Page:
    url: str
    words: List[str]
    links: List[str]
    flaky: int = 0  # how many fetches fail before one succeeds


@dataclass
class Stats:
    fetched: int = 0
    retries: int = 0
    gave_up: int = 0
    bytes: int = 0
    order: List[str] = field(default_factory=list)
    per_host: Counter = field(default_factory=Counter)
    words: Counter = field(default_factory=Counter)
    max_concurrent: int = 0


class Web:
    def __init__(self, pages: int, seed: int) -> None:
        rng = random.Random(seed)
        vocabulary = [f"w{i}" for i in range(300)]
        urls = [f"https://{rng.choice(HOSTS)}/p{i}" for i in range(pages)]
        self.pages: Dict[str, Page] = {}
        for i, url in enumerate(urls):
            links = [urls[rng.randrange(pages)] for _ in range(rng.randrange(1, 6))]
            if i + 1 < pages and rng.random() < 0.5:
                links.append(urls[i + 1])  # most pages are reachable
            words = [rng.choice(vocabulary) for _ in range(rng.randrange(20, 120))]
            flaky = rng.choice([0] * 12 + [1, 1, 2, 5])
            self.pages[url] = Page(url, words, links, flaky)
        self.root = urls[0]
        self.attempts: Counter = Counter()
        self.active = 0

    async def fetch(self, url: str, stats: Stats) -> str:
        page = self.pages[url]
        self.attempts[url] += 1
        self.active += 1
        stats.max_concurrent = max(stats.max_concurrent, self.active)
        try:
            for _ in range(len(page.words) // 40 + 1):  # "network latency": let other tasks run
                await asyncio.sleep(0)
            if self.attempts[url] <= page.flaky:
                raise FetchError(url, self.attempts[url])
            body = " ".join(page.words) + " " + " ".join(f"<link:{link}>" for link in page.links)
            return body
        finally:
            self.active -= 1


async def links_in(body: str) -> AsyncIterator[str]:
    for token in body.split():
        if token.startswith("<link:") and token.endswith(">"):
            yield token[len("<link:"):-1]
            await asyncio.sleep(0)


def host_of(url: str) -> str:
    return url.split("/")[2]


class Crawler:
    def __init__(self, web: Web, workers: int, per_host: int, max_retries: int) -> None:
        self.web = web
        self.workers = workers
        self.queue: asyncio.Queue[Tuple[str, int]] = asyncio.Queue()
        self.seen: Set[str] = set()
        self.limits = {h: asyncio.Semaphore(per_host) for h in HOSTS}
        self.max_retries = max_retries
        self.stats = Stats()

    async def worker(self, name: str) -> int:
        done = 0
        try:
            while True:
                url, attempt = await self.queue.get()
                try:
                    await self.visit(url, attempt)
                    done += 1
                finally:
                    self.queue.task_done()
        except asyncio.CancelledError:
            return done

    async def visit(self, url: str, attempt: int) -> None:
        stats = self.stats
        try:
            async with self.limits[host_of(url)]:
                body = await self.web.fetch(url, stats)
        except FetchError:
            if attempt < self.max_retries:
                stats.retries += 1
                self.queue.put_nowait((url, attempt + 1))
            else:
                stats.gave_up += 1
            return
        stats.fetched += 1
        stats.bytes += len(body)
        stats.order.append(url)
        stats.per_host[host_of(url)] += 1
        stats.words.update(w for w in body.split() if not w.startswith("<"))
        async for link in links_in(body):
            if link not in self.seen:
                self.seen.add(link)
                self.queue.put_nowait((link, 1))

    async def run(self) -> List[int]:
        self.seen.add(self.web.root)
        self.queue.put_nowait((self.web.root, 1))
        tasks = [asyncio.create_task(self.worker(f"w{i}")) for i in range(self.workers)]
        await self.queue.join()
        for t in tasks:
            t.cancel()
        return list(await asyncio.gather(*tasks))


async def crawl_all(hundreds: int) -> List[Tuple[int, Stats, List[int]]]:
    results = []
    for workers, per_host in ((4, 1), (16, 3)):
        crawler = Crawler(Web(hundreds * 100, seed=321), workers, per_host, max_retries=3)
        per_worker = await crawler.run()
        results.append((workers, crawler.stats, per_worker))
    return results


def main(hundreds: int) -> None:
    checksum = 0
    reached = set()
    for workers, stats, per_worker in asyncio.run(crawl_all(hundreds)):
        # The interleaving of the workers is deterministic but differs between Python versions
        # (asyncio's semaphores changed in 3.11): print only what does not depend on it.
        if stats.max_concurrent > workers or sum(per_worker) != stats.fetched + stats.retries + stats.gave_up:
            raise AssertionError("worker accounting is off")
        print(f"{workers} workers: fetched {stats.fetched}, retries {stats.retries}, gave up {stats.gave_up}, "
              f"visits {sum(per_worker)}")
        print(f"  hosts {sorted(stats.per_host.items())}; top words {stats.words.most_common(3)}")
        reached.add(frozenset(stats.order))
        for url in sorted(stats.order):
            checksum = (checksum * 31 + int(url.rsplit("p", 1)[1])) % 1_000_000_007
        checksum = (checksum + stats.bytes) % 1_000_000_007
    if len(reached) != 1:
        raise AssertionError("the two crawls reached different pages")
    print(f"checksum {checksum}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SIZE)
