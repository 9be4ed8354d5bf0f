"""Durable event consumers: how one service reacts to another's events.

A consumer reads the all-sites stream (`bus.ALL_SITES`) from where it stopped, and hands every
matching event to its handler inside a transaction of the consuming service's own database.
That same transaction records the event id and the position, so a redelivered event (the bus is
at-least-once; a crash may replay a batch) is skipped, and a restart resumes where the last
commit left off. Several processes may run the same consumer: the event-id record makes each
event's effects happen once, and each process walks the stream in order, so an entity's events
are applied in the order they were published.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from functools import partial

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.platform.db import Database, insert_if_absent, utcnow
from services.platform.events.bus import ALL_SITES, CursorExpired, Event, EventBus
from services.platform.schema.tables import consumed_events, consumer_positions

log = logging.getLogger("ecom.consumer")

Handler = Callable[[AsyncSession, Event], Awaitable[None]]


class EventConsumer:
    def __init__(
        self,
        name: str,
        bus: EventBus,
        database: Database,
        types: Sequence[str],
        handle: Handler,
        *,
        batch_size: int = 100,
        retry_s: float = 1.0,
        idle_save_s: float = 5.0,
    ) -> None:
        self.name = name
        self._bus = bus
        self._database = database
        self._types = tuple(types)
        self._handle = handle
        self._batch_size = batch_size
        self._retry_s = retry_s
        self._idle_save_s = idle_save_s

    async def run(self) -> None:
        """Consume forever (a background job of the service's binding)."""
        position = await self._database.run(self._load_position, readonly=True)
        saved_at = time.monotonic()
        while True:
            try:
                batch = await self._bus.scan(
                    ALL_SITES,
                    after=position,
                    types=self._types,
                    limit=self._batch_size,
                    wait_s=self._bus_wait_s(),
                )
            except CursorExpired:
                # The consumer was away longer than the bus keeps events: what it missed is gone.
                # Say so loudly and carry on from the oldest event still kept.
                log.error("consumer %s lost events older than the bus retention", self.name)
                position = None
                continue
            for event in batch.events:
                await self._consume(event)
            if batch.position is None or batch.position == position:
                continue
            position = batch.position
            # Skipping past events of other types needs no write each time: a restart would
            # only re-scan them. Save such progress now and then, not once per batch.
            now = time.monotonic()
            if batch.events or now - saved_at >= self._idle_save_s:
                await self._database.run(partial(self._save_position, cursor=position))
                saved_at = now

    def _bus_wait_s(self) -> float:
        return float(getattr(self._bus, "max_block_s", 1.0))

    async def _consume(self, event: Event) -> None:
        async def unit(session: AsyncSession) -> None:
            if await self._claim(session, event.id):
                await self._handle(session, event)
            await self._save_position(session, event.cursor)

        while True:
            try:
                await self._database.run(unit)
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                # A handler that fails must not skip the event: retry it until it succeeds
                # (a dependency may be down); later events of the stream wait behind it.
                log.exception("consumer %s failed on event %s; retrying", self.name, event.id)
                await asyncio.sleep(self._retry_s)

    async def _claim(self, session: AsyncSession, event_id: str) -> bool:
        values = {"consumer": self.name, "event_id": event_id, "consumed_at": utcnow()}
        return await insert_if_absent(session, consumed_events, values, ("consumer", "event_id"))

    async def _load_position(self, session: AsyncSession) -> str | None:
        cursor = await session.scalar(
            sa.select(consumer_positions.c.cursor).where(consumer_positions.c.consumer == self.name)
        )
        return None if cursor is None else str(cursor)

    async def _save_position(self, session: AsyncSession, cursor: str) -> None:
        values = {"cursor": cursor, "updated_at": utcnow()}
        updated = await session.execute(
            consumer_positions.update()
            .where(consumer_positions.c.consumer == self.name)
            .values(**values)
        )
        if updated.rowcount == 0:  # type: ignore[attr-defined]
            await session.execute(consumer_positions.insert().values(consumer=self.name, **values))


async def purge_consumed(session: AsyncSession, older_than_s: float) -> int:
    """Forget handled event ids older than the bus keeps events (they cannot come back)."""
    from datetime import timedelta

    cutoff = utcnow() - timedelta(seconds=older_than_s)
    result = await session.execute(
        consumed_events.delete().where(consumed_events.c.consumed_at < cutoff)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
