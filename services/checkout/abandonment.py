"""AbandonedCheckoutService's reads, and the background sweeper that finds idle checkouts.

The sweeper runs in every process that serves checkouts, but only the holder of the deployment's
lease (a row in `leases`, renewed each round; a crashed holder's lease expires) sweeps, so one
sweeper works per deployment whatever the number of workers and replicas. Even two sweepers at
once could not record a checkout twice: the record's (site, checkout id) is unique and its event
is written only by the insert that created it.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession

from ecom.checkout.v1 import abandoned_checkout_pb2, abandoned_checkout_service_pb2
from services.checkout import abandoned, abandoned_store, events, store
from services.checkout.abandoned import ABANDONED, RECOVERED, encode_token, parse_query
from services.checkout.domain import buyer_key
from services.checkout.saga import UNFINISHED
from services.checkout.settings import CheckoutSettings
from services.checkout.store import timestamp
from services.checkout.urls import checkout_url, recovery_url
from services.checkout.validation import check_uuid
from services.platform.db import Database, utcnow
from services.platform.errors import FailedPrecondition, NotFound, Violations
from services.platform.identity import Caller, Role, TokenService

log = logging.getLogger("ecom.checkout.abandonment")

Record = abandoned_checkout_pb2.AbandonedCheckout
SWEEPER_LEASE = "abandoned-checkout-sweeper"
_BATCH = 100


def _not_found(record_id: str) -> NotFound:
    return NotFound(
        "ABANDONED_CHECKOUT_NOT_FOUND", f"no abandoned checkout {record_id!r} on this site"
    )


class Abandonment:
    def __init__(
        self,
        database: Database,
        settings: CheckoutSettings,
        tokens: TokenService,
        *,
        instance: str | None = None,
    ) -> None:
        self.db = database
        self.settings = settings
        self.tokens = tokens
        self.instance = instance or uuid.uuid4().hex

    # ------------------------------------------------------------------ reads

    async def get(self, caller: Caller, record_id: str) -> Record:
        problems = Violations()
        check_uuid(problems, "abandoned_checkout_id", record_id)
        problems.raise_if_any()
        record = await self.db.run(
            lambda session: abandoned_store.get(session, caller.site, record_id), readonly=True
        )
        if record is None:
            raise _not_found(record_id)
        return record

    async def query(
        self,
        caller: Caller,
        request: abandoned_checkout_service_pb2.QueryAbandonedCheckoutsRequest,
    ) -> tuple[list[Record], str]:
        parsed = parse_query(request)
        records, last = await self.db.run(
            lambda session: abandoned_store.query(session, caller.site, parsed), readonly=True
        )
        return records, (encode_token(parsed.fingerprint, last) if last is not None else "")

    async def recovery_url(self, caller: Caller, record_id: str) -> str:
        record = await self.get(caller, record_id)
        if record.status == RECOVERED:
            raise FailedPrecondition(
                "ABANDONED_CHECKOUT_RECOVERED",
                "the checkout was completed and cannot be reopened",
            )
        stored = await self.db.run(
            lambda session: store.load(session, caller.site, record.checkout_id), readonly=True
        )
        if stored is None:
            raise _not_found(record_id)
        kind, buyer_id = buyer_key(stored.checkout.buyer_info)
        token = None
        if kind == "visitor" and buyer_id:
            token = self.tokens.mint(
                role=Role.VISITOR,
                site=caller.site,
                subject=buyer_id,
                ttl_s=self.settings.recovery_token_ttl_s,
            )
        return recovery_url(stored.checkout, self.settings, token)

    # ------------------------------------------------------------------ the sweeper

    def _lease_ttl(self) -> timedelta:
        return timedelta(seconds=max(3 * self.settings.lease_period_s, 1.0))

    async def _hold_lease(self, now: datetime) -> bool:
        return await self.db.run(
            lambda session: abandoned_store.take_lease(
                session, SWEEPER_LEASE, self.instance, now, self._lease_ttl()
            )
        )

    async def sweep_once(self, now: datetime | None = None) -> int:
        """Record every checkout idle for the configured time; returns how many were recorded
        (0 when another process holds the lease)."""
        now = now or utcnow()
        if not await self._hold_lease(now):
            return 0
        return await self._sweep(now)

    async def _sweep(self, now: datetime) -> int:
        idle_since = now - timedelta(seconds=self.settings.abandoned_after_s)
        recorded = 0
        while True:
            candidates = await self.db.run(
                lambda session: abandoned_store.idle_checkouts(
                    session, idle_since=idle_since, limit=_BATCH
                ),
                readonly=True,
            )
            for site, checkout_id in candidates:
                if await self.db.run(
                    partial(
                        self._record,
                        site=site,
                        checkout_id=checkout_id,
                        idle_since=idle_since,
                        now=now,
                    )
                ):
                    recorded += 1
            if len(candidates) < _BATCH:
                return recorded

    async def _record(
        self,
        session: AsyncSession,
        site: str,
        checkout_id: str,
        idle_since: datetime,
        now: datetime,
    ) -> bool:
        stored = await store.load(session, site, checkout_id, lock=True)
        if (
            stored is None
            or stored.completed
            or not stored.checkout.buyer_info.email
            or not stored.checkout.line_items
            or stored.updated > idle_since
        ):
            return False
        placement = await store.load_placement(session, checkout_id)
        if placement is not None and placement.step in UNFINISHED:
            return False  # being bought right now
        record = abandoned.from_checkout(
            Record(id=str(uuid.uuid4()), status=ABANDONED),
            stored.checkout,
            checkout_url=checkout_url(stored.checkout, self.settings) or "",
        )
        record.created_date.CopyFrom(timestamp(now))
        record.updated_date.CopyFrom(timestamp(now))
        if not await abandoned_store.insert(session, site, record, now):
            return False
        await events.abandoned_created(session, site, record)
        return True

    async def run_sweeper(self) -> None:
        """Background job: renew the lease every `lease_period_s` (so a dead holder's lease
        runs out within a few seconds, and nothing has to be cleaned up on shutdown) and, while
        holding it, sweep every `sweep_interval_s`."""
        next_sweep = 0.0
        while True:
            try:
                now = utcnow()
                if await self._hold_lease(now) and time.monotonic() >= next_sweep:
                    next_sweep = time.monotonic() + self.settings.sweep_interval_s
                    await self._sweep(now)
            except Exception:  # keep sweeping; the next round retries
                log.exception("abandoned checkout sweep failed")
            await asyncio.sleep(self.settings.lease_period_s)
