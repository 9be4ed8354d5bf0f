"""Returning units to stock: RestockInventory calls owed to inventory providers.

CancelOrder (restock_all_items) and AddRefund (restock) decide a restock inside their unit of
work: the lines' `restock_quantity` grows and one job per inventory provider (a line's
`catalog_reference.app_id`) is written in the same transaction. After the commit the worker sends
each job with its idempotency key (`request_id`, derived from the order and the cause, so a job
sent twice restocks once) and retries it with capped exponential backoff until the provider
accepts it. An unreachable provider therefore never fails or undoes the cancel or refund.

Several processes may run the worker: a job is claimed by moving its `next_attempt_at` forward
with a compare-and-set, so one process sends it at a time (and a repeat would be harmless).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ecom.orders.v1 import order_pb2
from ecom.spi.inventory.v1 import inventory_provider_service_pb2 as inventory_pb2
from services.orders.tables import restock_jobs
from services.platform.db import Database, utcnow
from services.platform.errors import DomainError
from services.platform.providers.client import ProviderClient
from services.platform.providers.kinds import Kind

log = logging.getLogger("ecom.orders.restock")

RESTOCK = Kind.INVENTORY.method("RestockInventory")
_NAMESPACE = uuid.UUID("6f1d6a52-8d5e-4c71-9a57-3f0c2b7e5d11")
#: How long a claimed job is left to its sender before another process may take it.
_LEASE = timedelta(seconds=30)
_BACKOFF_INITIAL_S = 0.5
_BACKOFF_MAX_S = 300.0
_BATCH = 20


def request_id(order_id: str, cause: str, app_id: str) -> str:
    """The idempotency key of one restock: the same order, cause and provider, the same key."""
    return str(uuid.uuid5(_NAMESPACE, f"{order_id}/{cause}/{app_id}"))


def plan(
    order: order_pb2.Order, quantities: Mapping[str, int], cause: str
) -> list[tuple[str, str, inventory_pb2.RestockInventoryRequest]]:
    """(job id, app id, request) per inventory provider for the units to restock; lines without
    a catalog app id are skipped (no provider keeps their stock)."""
    by_app: dict[str, list[inventory_pb2.InventoryItem]] = {}
    for line in order.line_items:
        quantity = quantities.get(line.id, 0)
        app_id = line.catalog_reference.app_id
        if quantity <= 0 or not app_id:
            continue
        by_app.setdefault(app_id, []).append(
            inventory_pb2.InventoryItem(catalog_reference=line.catalog_reference, quantity=quantity)
        )
    jobs = []
    for app_id, items in sorted(by_app.items()):
        job_id = request_id(order.id, cause, app_id)
        request = inventory_pb2.RestockInventoryRequest(
            request_id=job_id, items=items, order_id=order.id
        )
        jobs.append((job_id, app_id, request))
    return jobs


async def add_jobs(
    session: AsyncSession,
    site: str,
    order: order_pb2.Order,
    quantities: Mapping[str, int],
    cause: str,
) -> int:
    """Write the restock jobs of a decision in the caller's transaction; returns how many."""
    now = utcnow()
    jobs = plan(order, quantities, cause)
    if jobs:
        await session.execute(
            sa.insert(restock_jobs),
            [
                {
                    "id": job_id,
                    "site": site,
                    "order_id": order.id,
                    "app_id": app_id,
                    "request": request.SerializeToString(deterministic=True),
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                    "done_at": None,
                    "outcome": None,
                }
                for job_id, app_id, request in jobs
            ],
        )
    return len(jobs)


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(_BACKOFF_MAX_S, _BACKOFF_INITIAL_S * 2 ** max(attempts - 1, 0)))


class RestockWorker:
    """Sends due restock jobs; a background job of the orders binding."""

    def __init__(
        self, database: Database, providers: ProviderClient, *, poll_interval_s: float = 1.0
    ) -> None:
        self._database = database
        self._providers = providers
        self._poll_interval_s = poll_interval_s
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Look for due jobs now (called after a commit that wrote some)."""
        self._wake.set()

    async def run(self) -> None:
        while True:
            self._wake.clear()
            try:
                while await self.run_due() == _BATCH:
                    pass
            except Exception:  # the worker must outlive database and registry outages
                log.warning("restock pass failed; retrying", exc_info=True)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll_interval_s):
                    await self._wake.wait()

    async def run_due(self) -> int:
        """Send every job that is due now; returns how many were attempted."""
        claimed = await self._database.run(self._claim)
        await asyncio.gather(*(self._send(*job) for job in claimed))
        return len(claimed)

    async def _claim(
        self, session: AsyncSession
    ) -> list[tuple[str, str, str, int, inventory_pb2.RestockInventoryRequest]]:
        now = utcnow()
        rows = (
            await session.execute(
                sa.select(
                    restock_jobs.c.id,
                    restock_jobs.c.site,
                    restock_jobs.c.app_id,
                    restock_jobs.c.attempts,
                    restock_jobs.c.request,
                    restock_jobs.c.next_attempt_at,
                )
                .where(restock_jobs.c.done_at.is_(None), restock_jobs.c.next_attempt_at <= now)
                .order_by(restock_jobs.c.next_attempt_at)
                .limit(_BATCH)
            )
        ).all()
        claimed = []
        for row in rows:
            taken = await session.execute(
                sa.update(restock_jobs)
                .where(
                    restock_jobs.c.id == row.id,
                    restock_jobs.c.done_at.is_(None),
                    restock_jobs.c.next_attempt_at == row.next_attempt_at,
                )
                .values(next_attempt_at=now + _LEASE, attempts=restock_jobs.c.attempts + 1)
            )
            if getattr(taken, "rowcount", 0) == 1:
                request = inventory_pb2.RestockInventoryRequest.FromString(row.request)
                claimed.append((row.id, row.site, row.app_id, int(row.attempts) + 1, request))
        return claimed

    async def _send(
        self,
        job_id: str,
        site: str,
        app_id: str,
        attempts: int,
        request: inventory_pb2.RestockInventoryRequest,
    ) -> None:
        try:
            refs = await self._providers.providers(site, Kind.INVENTORY)
        except DomainError as exc:  # the registry is unreachable: try again later
            await self._retry(job_id, attempts, f"provider registry: {exc.message}")
            return
        ref = next((r for r in refs if r.app_id == app_id), None)
        if ref is None:
            # No inventory provider keeps this catalog's stock: nothing to put back.
            await self._finish(job_id, f"skipped: no inventory provider {app_id!r}")
            return
        request.settings.CopyFrom(ref.settings_struct())
        outcome = await self._providers.call(
            ref, RESTOCK, request, inventory_pb2.RestockInventoryResponse
        )
        if outcome.ok:
            skipped = len(outcome.unwrap().skipped_items)
            await self._finish(job_id, f"restocked ({skipped} items skipped by the provider)")
        else:
            await self._retry(job_id, attempts, f"{outcome.code}: {outcome.message}")

    async def _finish(self, job_id: str, outcome: str) -> None:
        async def unit(session: AsyncSession) -> None:
            await session.execute(
                sa.update(restock_jobs)
                .where(restock_jobs.c.id == job_id)
                .values(done_at=utcnow(), outcome=outcome[:500])
            )

        await self._database.run(unit)

    async def _retry(self, job_id: str, attempts: int, problem: str) -> None:
        log.warning("restock job %s failed (attempt %d): %s", job_id, attempts, problem)
        due: datetime = utcnow() + _backoff(attempts)

        async def unit(session: AsyncSession) -> None:
            await session.execute(
                sa.update(restock_jobs)
                .where(restock_jobs.c.id == job_id, restock_jobs.c.done_at.is_(None))
                .values(next_attempt_at=due, outcome=problem[:500])
            )

        await self._database.run(unit)


async def pending_jobs(session: AsyncSession, order_id: str) -> list[tuple[str, str | None]]:
    """(app id, outcome) of an order's jobs not yet done (for tests and operators)."""
    rows = await session.execute(
        sa.select(restock_jobs.c.app_id, restock_jobs.c.outcome).where(
            restock_jobs.c.order_id == order_id, restock_jobs.c.done_at.is_(None)
        )
    )
    return [(row.app_id, row.outcome) for row in rows]
