"""Transactional outbox and relay on SQLite/PostgreSQL with the in-process and Redis buses."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ecom.cart.v1 import cart_pb2, events_pb2
from ecom.events.v1.event_pb2 import Event
from services.platform.config import load_config
from services.platform.db import Database, utcnow
from services.platform.events.bus import EventBus
from services.platform.events.relay import OutboxRelay
from services.platform.migrations import migrate
from services.platform.outbox import pending_count, record_event
from services.platform.schema.tables import outbox
from tests.helpers import eventually

CREATED = "ecom.cart.v1.cart_created"
UPDATED = "ecom.cart.v1.cart_updated"


def _payload(cart_id: str) -> events_pb2.CartCreated:
    return events_pb2.CartCreated(cart=cart_pb2.Cart(id=cart_id))


async def _record(db: Database, site: str, entity: str, type: str = UPDATED) -> None:
    async def unit(session: AsyncSession) -> None:
        await record_event(
            session, site=site, type=type, entity_id=entity, payload=_payload(entity)
        )

    await db.run(unit)


async def _pending(db: Database) -> int:
    return await db.run(pending_count, readonly=True)


def _assert_in_entity_order(events: Sequence[Event]) -> dict[str, list[int]]:
    """First deliveries of each event id, per entity, are in entity_sequence order 1..n."""
    seen: set[str] = set()
    by_entity: dict[str, list[int]] = {}
    for event in events:
        if event.id in seen:
            continue
        seen.add(event.id)
        by_entity.setdefault(event.entity_id, []).append(event.entity_sequence)
    for entity, sequences in by_entity.items():
        assert sequences == list(range(1, len(sequences) + 1)), (entity, sequences)
    return by_entity


@contextlib.asynccontextmanager
async def _running(relay: OutboxRelay):  # type: ignore[no-untyped-def]
    task = asyncio.create_task(relay.run())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_record_event_numbers_each_entity_per_package(database: Database, site: str) -> None:
    await _record(database, site, "cart-1", CREATED)
    await _record(database, site, "cart-1")
    await _record(database, site, "cart-2", CREATED)

    async def other_package(session: AsyncSession) -> None:
        from ecom.orders.v1 import events_pb2 as orders_events

        await record_event(
            session,
            site=site,
            type="ecom.orders.v1.order_created",
            entity_id="cart-1",
            payload=orders_events.OrderCreated(),
        )

    await database.run(other_package)
    rows = (await database.run(lambda s: s.execute(select(outbox).order_by(outbox.c.id)))).all()
    assert [(r.type, r.entity_id, r.entity_sequence) for r in rows] == [
        (CREATED, "cart-1", 1),
        (UPDATED, "cart-1", 2),
        (CREATED, "cart-2", 1),
        ("ecom.orders.v1.order_created", "cart-1", 1),
    ]
    assert rows[0].payload_type == "type.googleapis.com/ecom.cart.v1.CartCreated"
    assert all(r.published_at is None for r in rows)


async def test_payload_must_belong_to_the_event_package(database: Database, site: str) -> None:
    async def wrong(session: AsyncSession) -> None:
        await record_event(
            session,
            site=site,
            type="ecom.orders.v1.order_created",
            entity_id="x",
            payload=_payload("x"),
        )

    with pytest.raises(ValueError, match="wrong package"):
        await database.run(wrong)


async def test_rolled_back_change_leaves_no_event_and_no_gap(database: Database, site: str) -> None:
    await _record(database, site, "cart-1")

    async def fails(session: AsyncSession) -> None:
        await record_event(
            session, site=site, type=UPDATED, entity_id="cart-1", payload=_payload("c")
        )
        raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        await database.run(fails)
    await _record(database, site, "cart-1")
    rows = (await database.run(lambda s: s.execute(select(outbox.c.entity_sequence)))).all()
    assert sorted(r.entity_sequence for r in rows) == [1, 2]


async def test_sequences_are_consecutive_under_concurrent_writers(
    database: Database, site: str
) -> None:
    async def write(entity: str) -> None:
        async def unit(session: AsyncSession) -> None:
            await asyncio.sleep(0)
            await record_event(
                session, site=site, type=UPDATED, entity_id=entity, payload=_payload(entity)
            )
            await asyncio.sleep(0.001)  # hold the transaction while others try the same entity

        await database.run(unit)

    await asyncio.gather(*(write(f"cart-{n % 3}") for n in range(30)))
    rows = (await database.run(lambda s: s.execute(select(outbox).order_by(outbox.c.id)))).all()
    per_entity: dict[str, list[int]] = {}
    for row in rows:
        per_entity.setdefault(row.entity_id, []).append(row.entity_sequence)
    # Consecutive, and row order (the relay's publishing order) follows the sequence.
    assert per_entity == {f"cart-{n}": list(range(1, 11)) for n in range(3)}


async def test_relay_publishes_in_order_and_wakes_on_commit(
    database: Database, bus: EventBus, site: str
) -> None:
    # A poll interval far beyond the test's wait: only the commit hook can wake the relay.
    relay = OutboxRelay(database, bus, poll_interval_s=60)
    async with _running(relay):
        for n in range(3):
            await _record(database, site, "cart-1", CREATED if n == 0 else UPDATED)
        await _record(database, site, "cart-2", CREATED)
        await eventually(lambda: _has(bus, site, 4), timeout_s=5)
        # Published first, marked when the batch commits right after.
        await eventually(lambda: _is_zero(database), timeout_s=5)
    events = await bus.read(site, after=None, types=(), limit=100)
    assert [(e.entity_id, e.entity_sequence) for e in events] == [
        ("cart-1", 1),
        ("cart-1", 2),
        ("cart-1", 3),
        ("cart-2", 1),
    ]
    first = events[0]
    assert first.type == CREATED and first.site == site and first.id
    assert first.event_time.seconds > 0
    unpacked = events_pb2.CartCreated()
    assert first.payload.Unpack(unpacked) and unpacked.cart.id == "cart-1"


async def _is_zero(database: Database) -> bool:
    return await _pending(database) == 0


async def _has(bus: EventBus, site: str, count: int) -> bool:
    return len(await bus.read(site, after=None, types=(), limit=1000)) >= count


class _CrashAfterPublish:
    """A bus whose process 'dies' right after the events reached the stream."""

    def __init__(self, inner: EventBus) -> None:
        self.inner = inner
        self.published = asyncio.Event()

    async def publish(self, events: Sequence[Event]) -> None:
        await self.inner.publish(events)
        self.published.set()
        await asyncio.Event().wait()  # never returns: the relay is killed here


async def test_events_survive_a_relay_crash_between_publish_and_mark(
    database: Database, bus: EventBus, site: str
) -> None:
    for n in range(5):
        await _record(database, site, "cart-1", CREATED if n == 0 else UPDATED)
    for n in range(3):
        await _record(database, site, "cart-2", CREATED if n == 0 else UPDATED)

    crashing = _CrashAfterPublish(bus)
    task = asyncio.create_task(OutboxRelay(database, crashing, batch_size=4).run())  # type: ignore[arg-type]
    await asyncio.wait_for(crashing.published.wait(), 5)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert await _pending(database) == 8  # the marks died with the relay

    await _record(database, site, "cart-1")  # committed while no relay runs
    async with _running(OutboxRelay(database, bus, batch_size=4)):
        await eventually(lambda: _is_zero(database))
    events = await bus.read(site, after=None, types=(), limit=1000)
    assert len(events) == 4 + 9  # the crashed batch went out twice
    delivered = _assert_in_entity_order(events)
    assert delivered == {"cart-1": [1, 2, 3, 4, 5, 6], "cart-2": [1, 2, 3]}


class _FlakyBus:
    """Fails the first `failures` publishes, like a Redis outage."""

    def __init__(self, inner: EventBus, failures: int) -> None:
        self.inner = inner
        self.failures = failures
        self.attempts = 0

    async def publish(self, events: Sequence[Event]) -> None:
        self.attempts += 1
        if self.attempts <= self.failures:
            raise ConnectionError("bus unavailable")
        await self.inner.publish(events)


async def test_relay_outlives_bus_errors(database: Database, bus: EventBus, site: str) -> None:
    flaky = _FlakyBus(bus, failures=3)
    relay = OutboxRelay(database, flaky, retry_initial_s=0.01, retry_max_s=0.05)  # type: ignore[arg-type]
    await _record(database, site, "cart-1", CREATED)
    async with _running(relay):
        await eventually(lambda: _is_zero(database))
    assert flaky.attempts == 4
    assert [e.entity_sequence for e in await bus.read(site, after=None, types=(), limit=10)] == [1]


async def test_relays_in_several_processes_keep_entity_order(
    make_config: Callable[..., object],
    database: Database,
    database_environ: dict[str, str],
    bus: EventBus,
    site: str,
) -> None:
    # A second Database on the same file/schema stands for another process of the service.
    other = Database.for_service(make_config(**database_environ), database.service)  # type: ignore[arg-type]
    relays = [OutboxRelay(db, bus, batch_size=3, poll_interval_s=0.01) for db in (database, other)]
    try:
        async with _running(relays[0]), _running(relays[1]):

            async def writer(db: Database, entity: str) -> None:
                for _ in range(8):
                    await _record(db, site, entity)

            await asyncio.gather(
                *(writer(db, f"cart-{n}") for n in range(4) for db in (database, other))
            )
            await eventually(lambda: _is_zero(database))
        events = await bus.read(site, after=None, types=(), limit=1000)
        delivered = _assert_in_entity_order(events)
        assert delivered == {f"cart-{n}": list(range(1, 17)) for n in range(4)}
    finally:
        await other.dispose()


async def test_housekeeping_deletes_old_published_rows(
    database: Database, bus: EventBus, site: str
) -> None:
    await _record(database, site, "cart-1", CREATED)
    await _record(database, site, "cart-1")
    async with _running(OutboxRelay(database, bus)):
        await eventually(lambda: _is_zero(database))
    # Age the first row past the retention of published rows.
    await database.run(
        lambda s: s.execute(
            update(outbox)
            .where(outbox.c.entity_sequence == 1)
            .values(published_at=utcnow() - timedelta(days=2))
        )
    )
    async with _running(OutboxRelay(database, bus, keep_published=timedelta(days=1))):
        await eventually(lambda: _row_count(database, 1))
    rows = (await database.run(lambda s: s.execute(select(outbox.c.entity_sequence)))).all()
    assert [r.entity_sequence for r in rows] == [2]


async def _row_count(database: Database, expected: int) -> bool:
    rows = (await database.run(lambda s: s.execute(select(outbox.c.id)))).all()
    return len(rows) == expected


async def test_migrated_sqlite_database_can_hold_events(tmp_path: Path, site: str) -> None:
    db = Database.for_service(load_config({"ECOM_DATA_DIR": str(tmp_path)}), "cartish")
    try:
        await migrate(db, None)
        await _record(db, site, "cart-1", CREATED)
        assert await _pending(db) == 1
    finally:
        await db.dispose()
