"""The outbox relay: publishes committed outbox rows to the event bus, at least once, in order.

One relay runs per service database in every process that serves the service (a Binding
background task: `background=[OutboxRelay(database, runtime.bus).run]`).

A batch is one transaction: take the relay lock (`outbox.try_lock_relay`: PostgreSQL advisory
lock per schema; SQLite's write lock), read the oldest unpublished rows in id order, publish them,
mark them published, commit. Consequences:
- Order: only one batch of a database is in flight at a time, across processes, and rows go out in
  id order, which is per-entity sequence order (see `services.platform.outbox`). Relays in
  several processes take turns; none can overtake another with a later event of the same entity.
  (`FOR UPDATE SKIP LOCKED` would let them publish in parallel, but then a second relay could
  publish an entity's event 3 while the first still holds event 2.)
- At least once: a crash or a cancelled task after publishing but before the commit rolls the
  marks back, and the rows go out again with the same event ids; consumers deduplicate by id.
- Bus or database errors: the batch rolls back, the relay logs and retries with jittered
  exponential backoff (capped), and never dies of them.

Wake-ups: a commit that recorded events calls the database's commit listeners, which wake this
process's relay at once; rows committed by other processes are found by polling every
`poll_interval_s`. Housekeeping (every `housekeeping_interval_s`) deletes rows published longer
than `keep_published` ago and expired idempotency keys.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.platform import idempotency, outbox
from services.platform.db import Database, utcnow
from services.platform.events.bus import EventBus

log = logging.getLogger("ecom.relay")


class OutboxRelay:
    def __init__(
        self,
        database: Database,
        bus: EventBus,
        *,
        batch_size: int = 200,
        poll_interval_s: float = 0.5,
        retry_initial_s: float = 0.1,
        retry_max_s: float = 10.0,
        keep_published: timedelta = timedelta(days=1),
        housekeeping_interval_s: float = 300.0,
    ) -> None:
        self._database = database
        self._bus = bus
        self._batch_size = batch_size
        self._poll_interval_s = poll_interval_s
        self._retry_initial_s = retry_initial_s
        self._retry_max_s = retry_max_s
        self._keep_published = keep_published
        self._housekeeping_interval_s = housekeeping_interval_s
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Publish forever; returns only by cancellation."""
        remove_listener = self._database.add_commit_listener(self.wake)
        failures = 0
        next_housekeeping = time.monotonic()
        try:
            while True:
                # Cleared before the pass: a commit during the pass wakes the next one at once.
                # Woken by a commit of this process, there is something to publish for sure.
                woken = self._wake.is_set()
                self._wake.clear()
                try:
                    busy = not await self.publish_pending(look_first=not woken)
                    failures = 0
                except Exception:  # the relay must outlive bus and DB outages
                    failures += 1
                    delay = self._retry_delay(failures)
                    log.warning(
                        "outbox relay of %s failed (attempt %d); retrying in %.2fs",
                        self._database.service,
                        failures,
                        delay,
                        exc_info=True,
                    )
                    await asyncio.sleep(delay)
                    continue
                if time.monotonic() >= next_housekeeping:
                    await self._housekeeping()
                    next_housekeeping = time.monotonic() + self._housekeeping_interval_s
                # Another process's relay holds the lock: look again soon, it may have missed
                # rows this process just committed.
                pause = min(self._poll_interval_s, 0.05) if busy else self._poll_interval_s
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(pause):
                        await self._wake.wait()
        finally:
            remove_listener()

    async def publish_pending(self, *, look_first: bool = True) -> bool:
        """Publish every row committed so far; False when another relay held the lock.
        `look_first=False` skips the read-only look of the first batch (the caller knows that
        rows are waiting)."""
        while True:
            published = await self.publish_batch(look_first=look_first)
            if published is None:
                return False
            if published < self._batch_size:
                return True
            look_first = False  # a full batch: more may wait

    async def publish_batch(self, *, look_first: bool = True) -> int | None:
        """One batch; the number of events published, or None when another relay is at work."""
        # A read-only look first when polling: an idle relay then never takes SQLite's write
        # lock (or the advisory lock) just to find nothing.
        if look_first and not await self._database.run(outbox.has_unpublished, readonly=True):
            return 0

        async def batch(session: AsyncSession) -> int | None:
            if not await outbox.try_lock_relay(session):
                return None
            rows = await outbox.unpublished(session, self._batch_size)
            if not rows:
                return 0
            # Inside the unit of work: `run` may run it again (a conflict, or an inline SQLite
            # attempt moved to a thread), which publishes these rows again; at least once
            # allows that, and consumers deduplicate by event id.
            await self._bus.publish([outbox.to_event(row) for row in rows])
            await outbox.mark_published(session, [row.id for row in rows])
            return len(rows)

        published = await self._database.run(batch)
        if published:
            log.debug("published %d events of %s", published, self._database.service)
        return published

    async def _housekeeping(self) -> None:
        cutoff = utcnow() - self._keep_published
        try:
            # Small deletes in separate transactions keep writers from waiting long.
            while await self._database.run(lambda s: outbox.purge_published(s, cutoff)) >= 1000:
                pass
            while await self._database.run(lambda s: idempotency.purge_expired_keys(s)) >= 1000:
                pass
        except Exception:  # housekeeping retries on its next turn
            log.warning("outbox housekeeping of %s failed", self._database.service, exc_info=True)

    def _retry_delay(self, failures: int) -> float:
        ceiling = min(self._retry_max_s, self._retry_initial_s * 2 ** (failures - 1))
        return random.uniform(ceiling / 2, ceiling)
