"""How many Subscribe streams a site may hold open at once, across every events process.

A stream holds a lease while it runs. With Redis the leases of a site are a sorted set
`<prefix>events:streams:<site>` (member: lease id, score: expiry in ms); taking one is a Lua
script (drop expired leases, count, add), so processes never over-admit. A running stream renews
its lease well before it expires; a process that dies without releasing loses its leases when
they expire. Without Redis (single process) a counter per site does the same.
"""

from __future__ import annotations

import time
import uuid
from typing import Protocol

import redis.asyncio

DEFAULT_MAX_STREAMS_PER_SITE = 100
LEASE_TTL_S = 30.0

_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return 1
"""


class StreamSlots(Protocol):
    #: Renew a lease at least this often.
    renew_every_s: float

    async def acquire(self, site: str) -> str | None:
        """A lease id, or None when the site has no free stream."""

    async def renew(self, site: str, lease: str) -> None: ...

    async def release(self, site: str, lease: str) -> None: ...


class LocalSlots:
    """Leases of one process (the embedded mode has only one)."""

    renew_every_s = float("inf")

    def __init__(self, limit: int = DEFAULT_MAX_STREAMS_PER_SITE) -> None:
        self._limit = limit
        self._open: dict[str, set[str]] = {}

    async def acquire(self, site: str) -> str | None:
        leases = self._open.setdefault(site, set())
        if len(leases) >= self._limit:
            return None
        lease = uuid.uuid4().hex
        leases.add(lease)
        return lease

    async def renew(self, site: str, lease: str) -> None:
        """Local leases do not expire."""

    async def release(self, site: str, lease: str) -> None:
        leases = self._open.get(site)
        if leases is not None:
            leases.discard(lease)
            if not leases:
                del self._open[site]


class RedisSlots:
    """Leases shared by every process through Redis."""

    def __init__(
        self,
        client: redis.asyncio.Redis,
        key_prefix: str,
        limit: int = DEFAULT_MAX_STREAMS_PER_SITE,
        lease_ttl_s: float = LEASE_TTL_S,
    ) -> None:
        self._redis = client
        self._prefix = key_prefix
        self._limit = limit
        self._ttl_ms = int(lease_ttl_s * 1000)
        self.renew_every_s = lease_ttl_s / 3
        self._acquire = client.register_script(_ACQUIRE)

    def _key(self, site: str) -> str:
        return f"{self._prefix}events:streams:{site}"

    async def acquire(self, site: str) -> str | None:
        lease = uuid.uuid4().hex
        now_ms = int(time.time() * 1000)
        granted = await self._acquire(
            keys=[self._key(site)], args=[now_ms, now_ms + self._ttl_ms, self._limit, lease]
        )
        return lease if int(granted) else None

    async def renew(self, site: str, lease: str) -> None:
        expires_ms = int(time.time() * 1000) + self._ttl_ms
        pipe = self._redis.pipeline(transaction=True)
        pipe.zadd(self._key(site), {lease: expires_ms})
        pipe.pexpireat(self._key(site), expires_ms)
        await pipe.execute()

    async def release(self, site: str, lease: str) -> None:
        await self._redis.zrem(self._key(site), lease)
