"""Transactional outbox: an event is a row written in the same transaction as its change.

`record_event` is what services call inside their unit of work; the rest of this module is the
storage side of `services.platform.events.relay.OutboxRelay`.

Entity sequences: `Event.entity_sequence` counts the events of one entity per publishing package
(`ecom.orders.v1` and `ecom.fulfillment.v1` count an order's events separately, as the Event
proto says), keyed (site, package, entity_id) in `entity_sequences`. The next number comes from
one upsert, `INSERT ... ON CONFLICT DO UPDATE SET last_sequence = last_sequence + 1 RETURNING`:
on PostgreSQL the conflicting row is locked until the writer commits, so a concurrent writer of
the same entity waits and then sees the new value; on SQLite every writer already holds the
database's write lock. Numbers are therefore consecutive, with no gaps at commit (a rolled-back
transaction rolls its increment back too).

Order: rows of one entity get increasing `id`s in sequence order, because the second writer can
only insert its row after the first committed (it waited on the sequence row). The relay
publishes in `id` order, so per-entity order holds. Rows of different entities written by
concurrent transactions may be published in either order; no order exists between them.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from google.protobuf import any_pb2, timestamp_pb2
from google.protobuf.message import Message
from sqlalchemy import Row, bindparam, delete, func, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from ecom.events.v1 import event_pb2
from services.platform.db import dialect_of, notify_on_commit, utcnow
from services.platform.schema.tables import entity_sequences, outbox

_TX_TIME_KEY = "ecom.outbox.tx_time"
#: First key of the relay's advisory lock (ASCII "ob"); the second is the schema's hash.
_RELAY_LOCK_CLASS = 0x6F62


def stream_of(event_type: str) -> str:
    """'ecom.orders.v1.order_created' -> 'ecom.orders.v1' (the publishing package)."""
    package, _, name = event_type.rpartition(".")
    if not package or not name:
        raise ValueError(f"event type {event_type!r} is not '<package>.<name>'")
    return package


def _transaction_time(session: AsyncSession) -> datetime:
    """One timestamp per transaction: every event of a change shares its event_time."""
    stamp: datetime | None = session.info.get(_TX_TIME_KEY)
    if stamp is None:
        stamp = session.info[_TX_TIME_KEY] = utcnow()
    return stamp


def _next_sequence_statement(dialect_insert: Any) -> Any:
    return (
        dialect_insert(entity_sequences)
        .values(
            site=bindparam("b_site"),
            stream=bindparam("b_stream"),
            entity_id=bindparam("b_entity_id"),
            last_sequence=1,
        )
        .on_conflict_do_update(
            index_elements=["site", "stream", "entity_id"],
            set_={"last_sequence": entity_sequences.c.last_sequence + 1},
        )
        .returning(entity_sequences.c.last_sequence)
    )


# Built once: every event write runs these, and building a statement (and deriving its
# compiled-cache key) per call costs more CPU than the database takes to run it.
_NEXT_SEQUENCE = {
    "postgresql": _next_sequence_statement(postgresql.insert),
    "sqlite": _next_sequence_statement(sqlite.insert),
}
_INSERT_EVENT = insert(outbox)
_HAS_UNPUBLISHED = select(outbox.c.id).where(outbox.c.published_at.is_(None)).limit(1)
_UNPUBLISHED = (
    select(outbox)
    .where(outbox.c.published_at.is_(None))
    .order_by(outbox.c.id)
    .limit(bindparam("b_limit"))
)
_MARK_PUBLISHED = (
    update(outbox)
    .where(outbox.c.id.in_(bindparam("b_ids", expanding=True)))
    .values(published_at=bindparam("b_now"))
)


async def next_entity_sequence(
    session: AsyncSession, *, site: str, stream: str, entity_id: str
) -> int:
    result = await session.execute(
        _NEXT_SEQUENCE[dialect_of(session)],
        {"b_site": site, "b_stream": stream, "b_entity_id": entity_id},
    )
    return int(result.scalar_one())


async def record_event(
    session: AsyncSession, *, site: str, type: str, entity_id: str, payload: Message
) -> None:
    """Write an event into the caller's transaction; it is published after the commit."""
    stream = stream_of(type)
    payload_package = payload.DESCRIPTOR.full_name.rpartition(".")[0]
    if payload_package != stream:
        raise ValueError(f"event {type!r} carries {payload.DESCRIPTOR.full_name}: wrong package")
    if not site or not entity_id:
        raise ValueError("an event needs a site and an entity id")
    packed = any_pb2.Any()
    packed.Pack(payload, deterministic=True)
    sequence = await next_entity_sequence(session, site=site, stream=stream, entity_id=entity_id)
    await session.execute(
        _INSERT_EVENT,
        {
            "event_id": str(uuid.uuid4()),
            "site": site,
            "type": type,
            "entity_id": entity_id,
            "entity_sequence": sequence,
            "payload_type": packed.type_url,
            "payload": packed.value,
            "event_time": _transaction_time(session),
        },
    )
    notify_on_commit(session)


async def try_lock_relay(session: AsyncSession) -> bool:
    """Make this transaction the only relay batch of the database until it ends.

    PostgreSQL: a transaction-scoped advisory lock per schema, so relays in several processes
    take turns batch by batch and a crashed relay's turn ends with its connection. Plain
    `FOR UPDATE SKIP LOCKED` alone would let a second relay publish an entity's later event while
    the first still holds the earlier one, breaking per-entity order. SQLite: the unit of work
    already holds the database's write lock.
    """
    if dialect_of(session) != "postgresql":
        return True
    acquired = await session.execute(
        text("SELECT pg_try_advisory_xact_lock(:cls, hashtext(current_schema()))"),
        {"cls": _RELAY_LOCK_CLASS},
    )
    return bool(acquired.scalar_one())


async def has_unpublished(session: AsyncSession) -> bool:
    return (await session.execute(_HAS_UNPUBLISHED)).first() is not None


async def unpublished(session: AsyncSession, limit: int) -> Sequence[Row[Any]]:
    """The oldest unpublished rows, in id (= per-entity commit) order."""
    return (await session.execute(_UNPUBLISHED, {"b_limit": limit})).all()


def to_event(row: Row[Any]) -> event_pb2.Event:
    event_time = timestamp_pb2.Timestamp()
    event_time.FromDatetime(row.event_time)
    return event_pb2.Event(
        id=row.event_id,
        type=row.type,
        site=row.site,
        entity_id=row.entity_id,
        entity_sequence=row.entity_sequence,
        event_time=event_time,
        payload=any_pb2.Any(type_url=row.payload_type, value=row.payload),
    )


async def mark_published(session: AsyncSession, ids: Sequence[int]) -> None:
    await session.execute(_MARK_PUBLISHED, {"b_ids": list(ids), "b_now": utcnow()})


async def purge_published(session: AsyncSession, older_than: datetime, limit: int = 1000) -> int:
    """Delete up to `limit` rows published before `older_than`; returns how many went."""
    doomed = (
        select(outbox.c.id)
        .where(outbox.c.published_at.is_not(None), outbox.c.published_at < older_than)
        .order_by(outbox.c.id)
        .limit(limit)
    )
    result = await session.execute(delete(outbox).where(outbox.c.id.in_(doomed)))
    return int(getattr(result, "rowcount", 0) or 0)


async def pending_count(session: AsyncSession) -> int:
    """How many events wait for the relay (for health and tests)."""
    stmt = select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
    return int((await session.execute(stmt)).scalar_one())
