"""Current-cart sessions: per site, which cart is a buyer's current cart.

A `SessionStore` maps `(site, buyer)` (buyer = `visitor:<sub>` or `member:<sub>`) to a cart id,
for `ttl_s` seconds after the last use. Two implementations with one contract (tested by one
suite, tests/integration/cart/test_session_store.py):

- `RedisSessionStore`: key `<prefix>cart-session:<site>:<buyer>`, every operation one atomic
  command or Lua script, so any number of processes share it;
- `InProcessSessionStore`: a dict with expiry times, for the embedded single-process mode (the
  server refuses more than one worker without Redis).

The contract:
- `get` returns the mapped cart id, or None, and refreshes the TTL of a live mapping.
- `claim(new, replacing=old)` sets the mapping to `new` if it is absent (`replacing` None) or
  still `old`, atomically, and returns the id that holds afterwards: `new` when this call won,
  otherwise the id another caller put there first. This is SET NX for a first cart, and a
  compare-and-set for replacing a deleted one, so concurrent callers always agree on one cart.
- `drop(cart_id)` removes the mapping only while it still points at `cart_id`, so dropping a
  stale id never removes a newer cart's mapping.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

import redis.asyncio as aioredis

from services.cart.domain import Buyer


def buyer_key(buyer: Buyer) -> str:
    return f"{buyer.kind.value}:{buyer.id}"


class SessionStore(Protocol):
    ttl_s: int

    async def get(self, site: str, buyer: str) -> str | None: ...

    async def claim(self, site: str, buyer: str, cart_id: str, *, replacing: str | None) -> str: ...

    async def drop(self, site: str, buyer: str, cart_id: str) -> None: ...

    async def remaining_s(self, site: str, buyer: str) -> float | None: ...


class InProcessSessionStore:
    """The embedded mode's store; asyncio runs each method to completion, so each is atomic."""

    def __init__(self, ttl_s: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        self._entries: dict[tuple[str, str], tuple[str, float]] = {}
        self._writes = 0

    def _live(self, key: tuple[str, str]) -> str | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[1] <= self._clock():
            del self._entries[key]
            return None
        return entry[0]

    def _set(self, key: tuple[str, str], cart_id: str) -> None:
        self._entries[key] = (cart_id, self._clock() + self.ttl_s)
        self._writes += 1
        if self._writes % 1024 == 0:
            self._sweep()

    def _sweep(self) -> None:
        """Forget expired mappings now and then, so abandoned visitors do not pile up."""
        now = self._clock()
        for key in [k for k, (_, expires) in self._entries.items() if expires <= now]:
            del self._entries[key]

    async def get(self, site: str, buyer: str) -> str | None:
        key = (site, buyer)
        cart_id = self._live(key)
        if cart_id is not None:
            self._set(key, cart_id)
        return cart_id

    async def claim(self, site: str, buyer: str, cart_id: str, *, replacing: str | None) -> str:
        key = (site, buyer)
        current = self._live(key)
        winner = cart_id if current is None or current == replacing else current
        self._set(key, winner)
        return winner

    async def drop(self, site: str, buyer: str, cart_id: str) -> None:
        key = (site, buyer)
        if self._live(key) == cart_id:
            del self._entries[key]

    async def remaining_s(self, site: str, buyer: str) -> float | None:
        """Seconds until the mapping expires (None: no mapping). Does not refresh it."""
        key = (site, buyer)
        if self._live(key) is None:
            return None
        return self._entries[key][1] - self._clock()


# KEYS[1] the mapping; ARGV: new id, id to replace ("" = none), ttl seconds.
_CLAIM = """
local current = redis.call('GET', KEYS[1])
if (not current) or (ARGV[2] ~= '' and current == ARGV[2]) then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
  return ARGV[1]
end
redis.call('EXPIRE', KEYS[1], ARGV[3])
return current
"""

# KEYS[1] the mapping; ARGV[1] the id it must still hold.
_DROP = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisSessionStore:
    def __init__(self, client: aioredis.Redis, key_prefix: str, ttl_s: int) -> None:
        self.ttl_s = ttl_s
        self._client = client
        self._prefix = f"{key_prefix}cart-session:"
        self._claim = client.register_script(_CLAIM)
        self._drop = client.register_script(_DROP)

    def _key(self, site: str, buyer: str) -> str:
        return f"{self._prefix}{site}:{buyer}"

    async def get(self, site: str, buyer: str) -> str | None:
        # GETEX refreshes the TTL in the same command that reads (Redis >= 6.2).
        value = await self._client.getex(self._key(site, buyer), ex=self.ttl_s)
        return None if value is None else _text(value)

    async def claim(self, site: str, buyer: str, cart_id: str, *, replacing: str | None) -> str:
        winner = await self._claim(
            keys=[self._key(site, buyer)], args=[cart_id, replacing or "", self.ttl_s]
        )
        return _text(winner)

    async def drop(self, site: str, buyer: str, cart_id: str) -> None:
        await self._drop(keys=[self._key(site, buyer)], args=[cart_id])

    async def remaining_s(self, site: str, buyer: str) -> float | None:
        """Seconds until the mapping expires (None: no mapping). Does not refresh it."""
        millis = await self._client.pttl(self._key(site, buyer))
        return None if millis < 0 else millis / 1000


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
