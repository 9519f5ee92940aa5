"""Caches under a skewed workload: a linked-list LRU, an OrderedDict LRU, LFU, and functools.lru_cache.

A seeded Zipf-like key stream drives several cache implementations of the same capacity; the two
LRU caches must agree on every hit and miss. A decorator built with functools.wraps counts the
calls of a memoised "expensive" function. Dicts, defaultdict, Counter, OrderedDict and __slots__
nodes do all the work.
Usage: lru.py [THOUSANDS_OF_REQUESTS]
"""
from __future__ import annotations

import bisect
import functools
import itertools
import random
import sys
from collections import Counter, OrderedDict, defaultdict
from typing import Any, Callable, Dict, Generic, Hashable, Iterator, Optional, TypeVar

DEFAULT_SIZE = 180  # thousands of requests
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Node:
    __slots__ = ("key", "value", "prev", "next")

    def __init__(self, key: Any, value: Any) -> None:
        self.key = key
        self.value = value
        self.prev: Optional[Node] = None
        self.next: Optional[Node] = None


class LinkedLRU(Generic[K, V]):
    """Least-recently-used cache: a dict of nodes plus a circular doubly linked list."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.map: Dict[K, Node] = {}
        self.head = Node(None, None)  # sentinel: head.next is the most recent
        self.head.prev = self.head.next = self.head
        self.hits = self.misses = self.evictions = 0

    def _unlink(self, node: Node) -> None:
        node.prev.next = node.next  # type: ignore[union-attr]
        node.next.prev = node.prev  # type: ignore[union-attr]

    def _push_front(self, node: Node) -> None:
        node.next = self.head.next
        node.prev = self.head
        self.head.next.prev = node  # type: ignore[union-attr]
        self.head.next = node

    def get(self, key: K, default: Optional[V] = None) -> Optional[V]:
        node = self.map.get(key)
        if node is None:
            self.misses += 1
            return default
        self.hits += 1
        self._unlink(node)
        self._push_front(node)
        return node.value

    def put(self, key: K, value: V) -> None:
        node = self.map.get(key)
        if node is not None:
            node.value = value
            self._unlink(node)
            self._push_front(node)
            return
        if len(self.map) >= self.capacity:
            oldest = self.head.prev
            assert oldest is not None and oldest is not self.head
            self._unlink(oldest)
            del self.map[oldest.key]
            self.evictions += 1
        node = Node(key, value)
        self.map[key] = node
        self._push_front(node)

    def __len__(self) -> int:
        return len(self.map)

    def __contains__(self, key: object) -> bool:
        return key in self.map

    def __iter__(self) -> Iterator[K]:
        node = self.head.next
        while node is not self.head:
            yield node.key  # type: ignore[union-attr,misc]
            node = node.next  # type: ignore[union-attr]


class OrderedLRU(OrderedDict):
    """The same policy on top of OrderedDict.move_to_end."""

    def __init__(self, capacity: int) -> None:
        super().__init__()
        self.capacity = capacity
        self.hits = self.misses = 0

    def lookup(self, key: Hashable) -> Any:
        if key in self:
            self.hits += 1
            self.move_to_end(key, last=False)
            return self[key]
        self.misses += 1
        return None

    def store(self, key: Hashable, value: Any) -> None:
        self[key] = value
        self.move_to_end(key, last=False)
        if len(self) > self.capacity:
            self.popitem(last=True)


class LFU:
    """Least-frequently-used with ties broken by age; frequencies in buckets of ordered dicts."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.values: Dict[Hashable, Any] = {}
        self.freq: Dict[Hashable, int] = {}
        self.buckets: Dict[int, OrderedDict] = defaultdict(OrderedDict)
        self.min_freq = 0
        self.hits = self.misses = 0

    def _touch(self, key: Hashable) -> None:
        f = self.freq[key]
        del self.buckets[f][key]
        if not self.buckets[f]:
            del self.buckets[f]
            if self.min_freq == f:
                self.min_freq = f + 1
        self.freq[key] = f + 1
        self.buckets[f + 1][key] = None

    def get(self, key: Hashable) -> Any:
        if key not in self.values:
            self.misses += 1
            return None
        self.hits += 1
        self._touch(key)
        return self.values[key]

    def put(self, key: Hashable, value: Any) -> None:
        if key in self.values:
            self.values[key] = value
            self._touch(key)
            return
        if len(self.values) >= self.capacity:
            victim, _ = self.buckets[self.min_freq].popitem(last=False)
            if not self.buckets[self.min_freq]:
                del self.buckets[self.min_freq]
            del self.values[victim]
            del self.freq[victim]
        self.values[key] = value
        self.freq[key] = 1
        self.buckets[1][key] = None
        self.min_freq = 1


def counted(func: Callable) -> Callable:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        wrapper.calls += 1  # type: ignore[attr-defined]
        return func(*args, **kwargs)

    wrapper.calls = 0  # type: ignore[attr-defined]
    return wrapper


@functools.lru_cache(maxsize=256)
@counted
def expensive(key: int, *, salt: int = 7) -> int:
    """A stand-in for a slow computation: a small hash chain."""
    h = key * 2654435761 % 2**32
    for _ in range(20):
        h = (h ^ (h >> 13)) * 1274126177 % 2**32
    return h ^ salt


def zipf_stream(rng: random.Random, n_keys: int, count: int, s: float = 1.1) -> Iterator[int]:
    weights = [1 / (k + 1) ** s for k in range(n_keys)]
    cumulative = list(itertools.accumulate(weights))
    total = cumulative[-1]
    for _ in range(count):
        yield bisect.bisect_left(cumulative, rng.random() * total)


def main(thousands: int) -> None:
    rng = random.Random(4242)
    capacity = 256
    lru: LinkedLRU[int, int] = LinkedLRU(capacity)
    olru = OrderedLRU(capacity)
    lfu = LFU(capacity)
    popularity: Counter = Counter()
    checksum = 0
    for key in zipf_stream(rng, 5000, thousands * 1000):
        popularity[key] += 1
        a = lru.get(key)
        b = olru.lookup(key)
        if (a is None) != (b is None):
            raise AssertionError(f"LRU implementations disagree on key {key}")
        if a is None:
            value = expensive(key)
            lru.put(key, value)
            olru.store(key, value)
        else:
            value = a
        if lfu.get(key) is None:
            lfu.put(key, value)
        checksum = (checksum + value) % 2**61
    if list(lru) != list(olru.keys()):
        raise AssertionError("LRU orders differ")
    requests = thousands * 1000
    info = expensive.cache_info()
    for name, hits in (("linked LRU", lru.hits), ("OrderedDict LRU", olru.hits), ("LFU", lfu.hits)):
        print(f"{name:>16}: hit ratio {hits / requests:.4f}")
    print(f"lru_cache: {info.hits} hits, {info.misses} misses; underlying calls "
          f"{expensive.__wrapped__.calls}; name {expensive.__name__!r}")
    print(f"evictions {lru.evictions}; top keys {popularity.most_common(5)}")
    print(f"checksum {checksum}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SIZE)
