"""The event bus on Redis Streams and in process: history, cursors, filters, live delivery."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio
from google.protobuf import timestamp_pb2

from ecom.events.v1.event_pb2 import Event
from services.platform.events.bus import (
    CursorError,
    CursorExpired,
    EventBus,
    InProcessBus,
    RedisStreamBus,
    matches_type,
)


def _event(
    site: str, type: str = "ecom.cart.v1.cart_created", entity: str = "c1", seq: int = 1
) -> Event:
    stamp = timestamp_pb2.Timestamp()
    stamp.GetCurrentTime()
    return Event(
        id=str(uuid.uuid4()),
        type=type,
        site=site,
        entity_id=entity,
        entity_sequence=seq,
        event_time=stamp,
    )


async def test_read_returns_history_with_cursors_in_order(bus: EventBus, site: str) -> None:
    published = [_event(site, seq=n) for n in range(1, 6)]
    await bus.publish(published)
    await bus.publish([_event(site + "-other")])
    events = await bus.read(site, after=None, types=(), limit=100)
    assert [e.id for e in events] == [e.id for e in published]
    assert all(e.cursor for e in events)
    assert events[0].site == site and events[0].entity_sequence == 1
    after_second = await bus.read(site, after=events[1].cursor, types=(), limit=2)
    assert [e.id for e in after_second] == [e.id for e in published[2:4]]
    assert await bus.read(site, after=events[-1].cursor, types=(), limit=10) == []
    assert await bus.head(site) == events[-1].cursor


async def test_type_filters_take_exact_types_and_prefixes(bus: EventBus, site: str) -> None:
    await bus.publish(
        [
            _event(site, "ecom.cart.v1.cart_created"),
            _event(site, "ecom.orders.v1.order_created"),
            _event(site, "ecom.orders.v1.order_updated"),
            _event(site, "ecom.cart.v1.cart_deleted"),
        ]
    )
    orders = await bus.read(site, after=None, types=["ecom.orders.v1."], limit=10)
    assert [e.type for e in orders] == [
        "ecom.orders.v1.order_created",
        "ecom.orders.v1.order_updated",
    ]
    exact = await bus.read(
        site,
        after=None,
        types=["ecom.cart.v1.cart_deleted", "ecom.orders.v1.order_updated"],
        limit=10,
    )
    assert [e.type for e in exact] == ["ecom.orders.v1.order_updated", "ecom.cart.v1.cart_deleted"]


def test_matches_type() -> None:
    assert matches_type("ecom.cart.v1.cart_created", [])
    assert matches_type("ecom.cart.v1.cart_created", ["ecom."])
    assert not matches_type("ecom.cart.v1.cart_created", ["ecom.cart.v1.cart"])
    assert not matches_type("ecom.cart.v10.x", ["ecom.cart.v1."])


async def test_scan_pages_forward_and_backward(bus: EventBus, site: str) -> None:
    published = [_event(site, seq=n) for n in range(1, 8)]
    await bus.publish(published)
    first = await bus.scan(site, limit=3)
    assert [e.entity_sequence for e in first.events] == [1, 2, 3] and first.more
    rest = await bus.scan(site, after=first.position, limit=10)
    assert [e.entity_sequence for e in rest.events] == [4, 5, 6, 7] and not rest.more
    newest = await bus.scan(site, limit=3, reverse=True)
    assert [e.entity_sequence for e in newest.events] == [7, 6, 5] and newest.more
    older = await bus.scan(site, after=newest.position, limit=4, reverse=True)
    assert [e.entity_sequence for e in older.events] == [4, 3, 2, 1] and not older.more


async def test_scan_advances_past_entries_that_do_not_match(bus: EventBus, site: str) -> None:
    await bus.publish([_event(site, "ecom.cart.v1.cart_created", seq=n) for n in range(1, 5)])
    batch = await bus.scan(site, types=["ecom.orders.v1."], limit=10)
    assert batch.events == [] and not batch.more
    assert batch.position == await bus.head(site)
    only_c3 = await bus.scan(site, where=lambda e: e.entity_sequence == 3, limit=10)
    assert [e.entity_sequence for e in only_c3.events] == [3]
    budget = await bus.scan(site, types=["ecom.orders.v1."], limit=10, max_scan=2)
    assert budget.events == [] and budget.more
    assert budget.position is not None


async def test_subscribe_replays_then_delivers_live_events(bus: EventBus, site: str) -> None:
    earlier = [_event(site, seq=1), _event(site, seq=2)]
    await bus.publish(earlier)
    stream = bus.subscribe(site, after=None, types=())
    received = [await asyncio.wait_for(anext(stream), 5) for _ in range(2)]
    assert [e.id for e in received] == [e.id for e in earlier]
    live = _event(site, seq=3)
    pending = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0.05)  # the subscriber is blocked waiting
    assert not pending.done()
    await bus.publish([live])
    assert (await asyncio.wait_for(pending, 5)).id == live.id
    await stream.aclose()  # type: ignore[attr-defined]


async def test_subscribe_resumes_after_a_cursor_with_a_filter(bus: EventBus, site: str) -> None:
    await bus.publish([_event(site, seq=1), _event(site, "ecom.orders.v1.order_created", "o1")])
    first = (await bus.read(site, after=None, types=(), limit=1))[0]
    stream = bus.subscribe(site, after=first.cursor, types=["ecom.orders.v1."])
    assert (await asyncio.wait_for(anext(stream), 5)).entity_id == "o1"
    await bus.publish([_event(site, seq=2), _event(site, "ecom.orders.v1.order_updated", "o1", 2)])
    assert (await asyncio.wait_for(anext(stream), 5)).type == "ecom.orders.v1.order_updated"
    await stream.aclose()  # type: ignore[attr-defined]


async def test_blocking_scan_times_out_empty(bus: EventBus, site: str) -> None:
    await bus.publish([_event(site)])
    head = await bus.head(site)
    batch = await bus.scan(site, after=head, wait_s=0.1)
    assert batch.events == [] and batch.position == head


async def test_malformed_cursor_is_refused(bus: EventBus, site: str) -> None:
    with pytest.raises(CursorError):
        await bus.read(site, after="not-a-cursor", types=(), limit=1)


async def test_in_process_retention_expires_old_cursors(site: str) -> None:
    bus = InProcessBus(max_len=3)
    await bus.publish([_event(site, seq=n) for n in range(1, 3)])
    first = (await bus.read(site, after=None, types=(), limit=1))[0]
    await bus.publish([_event(site, seq=n) for n in range(3, 6)])
    assert [e.entity_sequence for e in await bus.read(site, limit=10)] == [3, 4, 5]
    with pytest.raises(CursorExpired) as caught:
        await bus.read(site, after=first.cursor, limit=10)
    assert caught.value.oldest_event_time is not None
    # A cursor whose successors are all retained is still good.
    third = (await bus.read(site, limit=1))[0]
    assert len(await bus.read(site, after=third.cursor, limit=10)) == 2


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[redis.asyncio.Redis]:
    client = redis.asyncio.Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def test_redis_stream_is_trimmed_and_old_cursors_expire(
    redis_client: redis.asyncio.Redis, key_prefix: str, site: str
) -> None:
    bus = RedisStreamBus(redis_client, key_prefix + "trim:", max_len=1)
    await bus.publish([_event(site, seq=1)])
    first = (await bus.read(site, limit=1))[0]
    # Approximate trimming removes whole stream nodes (100 entries each by default).
    await bus.publish([_event(site, seq=n) for n in range(2, 260)])
    length = await redis_client.xlen(bus.key(site))
    assert length < 259
    with pytest.raises(CursorExpired):
        await bus.read(site, after=first.cursor, limit=1)
    oldest = (await bus.read(site, limit=1))[0]
    assert oldest.entity_sequence > 1
    assert len(await bus.read(site, after=oldest.cursor, limit=1)) == 1


async def test_redis_stream_key_has_the_prefix(
    redis_client: redis.asyncio.Redis, key_prefix: str, site: str
) -> None:
    bus = RedisStreamBus(redis_client, key_prefix)
    await bus.publish([_event(site)])
    assert await redis_client.exists(f"{key_prefix}events:{site}") == 1


async def test_redis_bus_works_with_decoded_responses(
    redis_url: str, key_prefix: str, site: str
) -> None:
    client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
    try:
        bus = RedisStreamBus(client, key_prefix)
        sent = _event(site)
        await bus.publish([sent])
        assert [e.id for e in await bus.read(site, limit=5)] == [sent.id]
        batch = await bus.scan(site, after=await bus.head(site), wait_s=0.05)
        assert batch.events == []
    finally:
        await client.aclose()
