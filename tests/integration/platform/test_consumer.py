"""Event consumers: all sites, in order, resumable, each event's effects once."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ecom.events.v1.event_pb2 import Event
from services.platform.db import Database, new_metadata
from services.platform.events.bus import ALL_SITES, EventBus
from services.platform.events.consumer import EventConsumer
from services.platform.schema.tables import consumer_positions
from services.platform.tasks import cancel_and_wait
from tests.helpers import eventually

CREATED = "ecom.cart.v1.cart_created"
DELETED = "ecom.cart.v1.cart_deleted"

_metadata = new_metadata()
handled = sa.Table(
    "handled",
    _metadata,
    sa.Column("n", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(36), nullable=False),
    sa.Column("site", sa.String(200), nullable=False),
)


@pytest.fixture
async def db(database: Database) -> Database:
    async with database.connection() as conn:
        await conn.run_sync(_metadata.create_all)
        await conn.commit()
    return database


def _event(site: str, type: str = CREATED, event_id: str | None = None) -> Event:
    return Event(id=event_id or str(uuid.uuid4()), type=type, site=site, entity_id="cart-1")


async def _record(session: AsyncSession, event: Event) -> None:
    await session.execute(handled.insert().values(event_id=event.id, site=event.site))


async def _handled(db: Database) -> list[tuple[str, str]]:
    async def read(session: AsyncSession) -> list[tuple[str, str]]:
        rows = await session.execute(sa.select(handled.c.event_id, handled.c.site).order_by("n"))
        return [(row.event_id, row.site) for row in rows]

    return await db.run(read, readonly=True)


@contextlib.asynccontextmanager
async def _running(consumer: EventConsumer) -> AsyncIterator[None]:
    task = asyncio.create_task(consumer.run())
    try:
        yield
    finally:
        await cancel_and_wait([task])


async def _count_is(db: Database, n: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return len(await _handled(db)) >= n

    return check


async def test_consumes_matching_events_of_every_site_in_order(db: Database, bus: EventBus) -> None:
    events = [_event("site-a"), _event("site-b"), _event("site-a", DELETED), _event("site-b")]
    await bus.publish(events)
    consumer = EventConsumer("carts", bus, db, [CREATED], _record)
    async with _running(consumer):
        await eventually(await _count_is(db, 3))
    wanted = [(e.id, e.site) for e in events if e.type == CREATED]
    assert await _handled(db) == wanted


async def test_a_restarted_consumer_resumes_where_it_stopped(db: Database, bus: EventBus) -> None:
    first = [_event("site-a") for _ in range(3)]
    await bus.publish(first)
    consumer = EventConsumer("carts", bus, db, [CREATED], _record)
    async with _running(consumer):
        await eventually(await _count_is(db, 3))

    async def position(session: AsyncSession) -> str | None:
        return await session.scalar(
            sa.select(consumer_positions.c.cursor).where(consumer_positions.c.consumer == "carts")
        )

    # The position of the last handled event is stored: a restart starts after it.
    stored = await db.run(position, readonly=True)
    assert stored == (await bus.read(ALL_SITES, limit=10))[-1].cursor
    later = [_event("site-b") for _ in range(2)]
    await bus.publish(later)
    async with _running(EventConsumer("carts", bus, db, [CREATED], _record)):
        await eventually(await _count_is(db, 5))
    assert [event_id for event_id, _ in await _handled(db)] == [e.id for e in first + later]


async def test_a_redelivered_event_is_handled_once(db: Database, bus: EventBus) -> None:
    event = _event("site-a")
    marker = _event("site-a")
    await bus.publish([event, event, marker])  # an at-least-once relay may publish twice
    async with _running(EventConsumer("carts", bus, db, [CREATED], _record)):
        await eventually(await _count_is(db, 2))
    assert [event_id for event_id, _ in await _handled(db)] == [event.id, marker.id]


async def test_a_failing_handler_is_retried_and_rolled_back(db: Database, bus: EventBus) -> None:
    failures = [1]

    async def flaky(session: AsyncSession, event: Event) -> None:
        await _record(session, event)
        if failures:
            failures.pop()
            raise RuntimeError("the downstream is not ready yet")

    events = [_event("site-a"), _event("site-a")]
    await bus.publish(events)
    consumer = EventConsumer("carts", bus, db, [CREATED], flaky, retry_s=0.01)
    async with _running(consumer):
        await eventually(await _count_is(db, 2))
    assert [event_id for event_id, _ in await _handled(db)] == [e.id for e in events]


async def test_two_processes_running_one_consumer_handle_each_event_once(
    db: Database, bus: EventBus
) -> None:
    events = [_event(f"site-{i % 3}") for i in range(30)]
    await bus.publish(events)
    first = EventConsumer("carts", bus, db, [CREATED], _record)
    second = EventConsumer("carts", bus, db, [CREATED], _record)
    async with _running(first), _running(second):
        await eventually(await _count_is(db, 30))
        await asyncio.sleep(0.2)  # let the slower one catch up: it must add nothing
    assert sorted(event_id for event_id, _ in await _handled(db)) == sorted(e.id for e in events)
