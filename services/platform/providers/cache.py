"""Small in-process TTL caches: provider lists and provider answers.

`TTLCache` is a bounded mapping whose entries expire `ttl_s` after they were stored; the oldest
entries are evicted first when it is full. It is meant for a single event loop (no locks: asyncio
code does not interleave inside its methods).

`ResponseCache` keeps provider answers (catalog items, shipping rates) for a few seconds, keyed by
the site, the provider (kind, app id, target), the RPC and the request's deterministic bytes, so
only an identical request to the same provider for the same site reuses an answer. It stores
serialized bytes, so a caller that mutates the message it got cannot change what the next caller
reads. Callers use it explicitly (`ProviderCall(cache=...)`); nothing is cached by default.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from google.protobuf.message import Message

from services.platform.providers.ref import ProviderRef

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
M = TypeVar("M", bound=Message)

DEFAULT_RESPONSE_TTL_S = 5.0
DEFAULT_RESPONSE_ENTRIES = 10_000


class TTLCache(Generic[K, V]):
    def __init__(
        self,
        ttl_s: float,
        max_entries: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl_s <= 0 or max_entries < 1:
            raise ValueError("a TTL cache needs ttl_s > 0 and max_entries >= 1")
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: K) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires_at, value = entry
        # Expired entries stay (bounded by max_entries) so `get_stale` can still serve them.
        return None if self._clock() >= expires_at else value

    def get_stale(self, key: K) -> V | None:
        """The last stored value even if expired (for serving through a dependency outage)."""
        entry = self._entries.get(key)
        return entry[1] if entry else None

    def put(self, key: K, value: V) -> None:
        self._entries.pop(key, None)
        self._entries[key] = (self._clock() + self.ttl_s, value)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def invalidate(self, predicate: Callable[[K], bool] | None = None) -> None:
        """Drop every entry, or those whose key matches `predicate`."""
        if predicate is None:
            self._entries.clear()
            return
        for key in [key for key in self._entries if predicate(key)]:
            del self._entries[key]


ResponseKey = tuple[str, int, str, str, str, bytes]


def response_key(ref: ProviderRef, method: str, request: Message) -> ResponseKey:
    return (
        ref.site,
        int(ref.kind),
        ref.app_id,
        ref.target,
        method,
        request.SerializeToString(deterministic=True),
    )


class ResponseCache:
    """Provider answers for identical requests, for `ttl_s` seconds, at most `max_entries`."""

    def __init__(
        self,
        ttl_s: float = DEFAULT_RESPONSE_TTL_S,
        max_entries: int = DEFAULT_RESPONSE_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._cache: TTLCache[ResponseKey, bytes] = TTLCache(ttl_s, max_entries, clock)

    def __len__(self) -> int:
        return len(self._cache)

    def get(
        self, ref: ProviderRef, method: str, request: Message, response_type: type[M]
    ) -> M | None:
        data = self._cache.get(response_key(ref, method, request))
        return None if data is None else response_type.FromString(data)

    def put(self, ref: ProviderRef, method: str, request: Message, response: Message) -> None:
        self._cache.put(
            response_key(ref, method, request), response.SerializeToString(deterministic=True)
        )

    def invalidate_site(self, site: str) -> None:
        self._cache.invalidate(lambda key: key[0] == site)
