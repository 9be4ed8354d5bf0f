"""The SessionStore contract, one suite for both implementations: Redis and in-process.

The only difference between the two runs is how a test makes a mapping old: the in-process store
runs on a clock the test moves; Redis is told to expire the key (`PEXPIRE`), and the test waits,
bounded, until it is gone.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest
import redis.asyncio as aioredis

from services.cart.sessions import InProcessSessionStore, RedisSessionStore, SessionStore

pytestmark = pytest.mark.integration

TTL_S = 3600


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Harness:
    store: SessionStore
    #: Leave the mapping `seconds` to live (a test's stand-in for idle time passing).
    age_to: Callable[[str, str, float], Awaitable[None]]


@pytest.fixture(params=["inprocess", "redis"])
async def harness(request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    if request.param == "inprocess":
        clock = Clock()
        memory = InProcessSessionStore(TTL_S, clock)

        async def age_memory(site: str, buyer: str, seconds: float) -> None:
            left = await memory.remaining_s(site, buyer)
            assert left is not None
            clock.now += left - seconds

        yield Harness(memory, age_memory)
        return
    client = aioredis.Redis.from_url(request.getfixturevalue("redis_url"))
    prefix = request.getfixturevalue("key_prefix") + uuid.uuid4().hex[:8] + ":"
    store = RedisSessionStore(client, prefix, TTL_S)

    async def age_redis(site: str, buyer: str, seconds: float) -> None:
        key = f"{prefix}cart-session:{site}:{buyer}"
        await client.pexpire(key, max(1, int(seconds * 1000)))
        if seconds <= 0:
            for _ in range(200):  # bounded: Redis expires a 1 ms key at once on access
                if await client.exists(key) == 0:
                    return
                await asyncio.sleep(0.005)
            raise AssertionError("the key did not expire")

    try:
        yield Harness(store, age_redis)
    finally:
        await client.aclose()


async def test_a_first_claim_wins_and_later_claims_get_the_winner(harness: Harness) -> None:
    store = harness.store
    assert await store.get("s1", "visitor:a") is None
    assert await store.claim("s1", "visitor:a", "cart-1", replacing=None) == "cart-1"
    assert await store.claim("s1", "visitor:a", "cart-2", replacing=None) == "cart-1"
    assert await store.get("s1", "visitor:a") == "cart-1"


async def test_mappings_are_per_site_and_per_buyer(harness: Harness) -> None:
    store = harness.store
    await store.claim("s1", "visitor:a", "cart-1", replacing=None)
    assert await store.get("s2", "visitor:a") is None
    assert await store.get("s1", "member:a") is None
    assert await store.get("s1", "visitor:b") is None


async def test_replacing_is_compare_and_set(harness: Harness) -> None:
    store = harness.store
    await store.claim("s1", "visitor:a", "dead", replacing=None)
    assert await store.claim("s1", "visitor:a", "new-1", replacing="dead") == "new-1"
    # A second caller that also saw "dead" gets the first caller's replacement.
    assert await store.claim("s1", "visitor:a", "new-2", replacing="dead") == "new-1"
    assert await store.get("s1", "visitor:a") == "new-1"


async def test_replacing_an_expired_mapping_claims_it(harness: Harness) -> None:
    store = harness.store
    await store.claim("s1", "visitor:a", "old", replacing=None)
    await harness.age_to("s1", "visitor:a", 0)
    assert await store.get("s1", "visitor:a") is None
    assert await store.claim("s1", "visitor:a", "fresh", replacing="old") == "fresh"


async def test_drop_removes_only_the_named_cart(harness: Harness) -> None:
    store = harness.store
    await store.claim("s1", "visitor:a", "cart-1", replacing=None)
    await store.drop("s1", "visitor:a", "some-older-cart")
    assert await store.get("s1", "visitor:a") == "cart-1"
    await store.drop("s1", "visitor:a", "cart-1")
    assert await store.get("s1", "visitor:a") is None


async def test_use_refreshes_the_ttl_and_idleness_expires_it(harness: Harness) -> None:
    store = harness.store
    await store.claim("s1", "visitor:a", "cart-1", replacing=None)
    left = await store.remaining_s("s1", "visitor:a")
    assert left is not None and TTL_S - 5 <= left <= TTL_S
    await harness.age_to("s1", "visitor:a", 10)
    assert (await store.remaining_s("s1", "visitor:a") or 0) <= 10
    assert await store.get("s1", "visitor:a") == "cart-1"  # a use...
    assert (await store.remaining_s("s1", "visitor:a") or 0) > TTL_S - 5  # ...refreshes it
    await harness.age_to("s1", "visitor:a", 0)
    assert await store.get("s1", "visitor:a") is None
    assert await store.remaining_s("s1", "visitor:a") is None


async def test_concurrent_first_claims_agree_on_one_cart(harness: Harness) -> None:
    store = harness.store
    winners = await asyncio.gather(
        *(store.claim("s1", "visitor:race", f"cart-{i}", replacing=None) for i in range(50))
    )
    assert len(set(winners)) == 1
    assert await store.get("s1", "visitor:race") == winners[0]
