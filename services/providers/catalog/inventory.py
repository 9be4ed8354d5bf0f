"""The inventory SPI's use cases: reserve, release, commit and restock, each one unit of work.

Stock never goes negative under concurrency: a unit that takes or returns stock first locks the
reservation row, then the stock rows involved in key order (PostgreSQL row locks; SQLite runs one
writer at a time), and only then sums what other reservations hold. Two reservations of the same
stock therefore run one after the other, and the second sees the first's holds (READ COMMITTED
takes a fresh snapshot per statement).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TypeVar

from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncSession

from services.platform.db import Database, utcnow
from services.platform.errors import InvalidArgument, Violations
from services.platform.idempotency import run_idempotent
from services.providers.catalog import reservations as rules
from services.providers.catalog import stock as stock_rules
from services.providers.catalog.domain import StockKey
from services.providers.catalog.references import Ref, product_ids, resolve
from services.providers.catalog.reservations import Line, Reservation, Status, Target
from services.providers.catalog.service import run_claiming
from services.providers.catalog.stock import Stock
from services.providers.catalog.store import ProductStore, ReservationStore, StockStore

M = TypeVar("M", bound=Message)

RESTOCK_SCOPE = "ecom.spi.inventory.v1.InventoryProviderService/RestockInventory"


class InventoryService:
    def __init__(self, database: Database, *, clock: Callable[[], datetime] = utcnow) -> None:
        self._database = database
        self._clock = clock

    async def _targets(
        self,
        session: AsyncSession,
        site: str,
        app_id: str,
        items: Sequence[tuple[Ref, int]],
        now: datetime,
        reservation_id: str,
    ) -> tuple[list[Target], dict[StockKey, Stock]]:
        """What each item's stock can give, with the stock rows locked (other reservations'
        holds subtracted, this reservation's own left out since it is being replaced)."""
        ids = product_ids((ref for ref, _ in items), app_id)
        products = await ProductStore(session).get_many(site, ids)
        resolved = [resolve(ref, app_id, products) for ref, _ in items]
        known = {r.product.id for r in resolved if r is not None}
        stocks = StockStore(session)
        rows = await stocks.for_products(site, known, lock=True)
        held = await stocks.held(site, known, now, excluding=reservation_id)
        targets = []
        for (ref, quantity), found in zip(items, resolved, strict=True):
            if found is None:
                targets.append(Target(ref, quantity, None, 0))
                continue
            row = rows.get(found.stock_key) or Stock(found.stock_key)
            capacity = rules.capacity(
                row.key, found.product.visible, row.tracked, row.quantity, held
            )
            targets.append(Target(ref, quantity, found.stock_key, capacity))
        return targets, rows

    async def reserve(
        self,
        site: str,
        app_id: str,
        reservation_id: str,
        items: Sequence[tuple[Ref, int]],
        ttl_seconds: float,
    ) -> Reservation:
        violations = Violations()
        rules.check_reservation_id(violations, reservation_id)
        wanted = rules.check_items(violations, items)
        ttl = rules.check_ttl(violations, ttl_seconds)
        violations.raise_if_any()

        async def unit(session: AsyncSession) -> Reservation:
            now = self._clock()
            store = ReservationStore(session)
            current = await store.lock(site, reservation_id)
            status = current.effective_status(now) if current else None
            if current is not None and status is Status.COMMITTED:
                if current.same_items(wanted):
                    return current
                raise rules.already_committed(reservation_id, "it cannot take other items")
            if current is not None and status is Status.RESERVED and current.same_items(wanted):
                extended = replace(current, expire_time=now + ttl)
                await store.save(site, extended, now, existed=True)
                return extended
            targets, _ = await self._targets(session, site, app_id, wanted, now, reservation_id)
            lines = rules.allocate(reservation_id, targets)
            reservation = Reservation(reservation_id, Status.RESERVED, lines, now + ttl)
            await store.save(site, reservation, now, existed=current is not None)
            return reservation

        return await run_claiming(self._database, unit)

    async def release(self, site: str, reservation_id: str) -> Reservation | None:
        _check_id(reservation_id)

        async def unit(session: AsyncSession) -> Reservation | None:
            now = self._clock()
            store = ReservationStore(session)
            current = await store.lock(site, reservation_id)
            if current is None:
                return None
            status = current.effective_status(now)
            if status is Status.COMMITTED:
                raise rules.already_committed(
                    reservation_id, "the stock is sold; use RestockInventory to put it back"
                )
            if status is current.status and status is not Status.RESERVED:
                return current  # RELEASED or EXPIRED already
            # RESERVED becomes RELEASED; one past its expiry is recorded as EXPIRED.
            final = Status.RELEASED if status is Status.RESERVED else Status.EXPIRED
            closed = replace(current, status=final, expire_time=None)
            await store.save(site, closed, now, existed=True)
            return closed

        return await self._database.run(unit)

    async def commit(
        self, site: str, app_id: str, reservation_id: str, order_id: str
    ) -> Reservation:
        _check_id(reservation_id)
        if len(order_id) > rules.MAX_RESERVATION_ID_LENGTH:
            raise InvalidArgument.of("order_id", "at most 200 characters")

        async def unit(session: AsyncSession) -> Reservation:
            now = self._clock()
            store = ReservationStore(session)
            current = await store.lock(site, reservation_id)
            if current is None:
                raise rules.not_found(reservation_id)
            status = current.effective_status(now)
            if status is Status.COMMITTED:
                return current
            if status is Status.RELEASED:
                raise rules.released(reservation_id)
            if status is Status.RESERVED:
                lines = current.lines
                rows = await StockStore(session).for_products(
                    site, {line.stock.product_id for line in lines if line.stock}, lock=True
                )
            else:
                # Expired: its units went back to stock; take them again if they are there.
                items = [(line.ref, line.quantity) for line in current.lines]
                targets, rows = await self._targets(
                    session, site, app_id, items, now, reservation_id
                )
                lines = rules.allocate(reservation_id, targets)
            await _sell(StockStore(session), site, lines, rows, now)
            committed = Reservation(
                reservation_id, Status.COMMITTED, lines, expire_time=None, order_id=order_id
            )
            await store.save(site, committed, now, existed=True)
            return committed

        return await self._database.run(unit)

    async def restock(
        self,
        site: str,
        app_id: str,
        items: Sequence[tuple[Ref, int]],
        *,
        request_id: str,
        fingerprint: Message,
        respond: Callable[[list[Ref]], M],
        response_type: type[M],
    ) -> M:
        """Add each item's quantity to its stock; answer `respond(skipped references)`.
        `fingerprint` is the request as far as it identifies a repeat (the id and the items)."""
        violations = Violations()
        if not request_id:
            violations.add("request_id", "required")
        wanted = rules.check_items(violations, items)
        violations.raise_if_any()

        async def restock(session: AsyncSession) -> M:
            now = self._clock()
            ids = product_ids((ref for ref, _ in wanted), app_id)
            products = await ProductStore(session).get_many(site, ids)
            resolved = [resolve(ref, app_id, products) for ref, _ in wanted]
            stocks = StockStore(session)
            rows = await stocks.for_products(site, {r.product.id for r in resolved if r}, lock=True)
            returned: dict[StockKey, int] = {}
            skipped: list[Ref] = []
            for (ref, quantity), found in zip(wanted, resolved, strict=True):
                row = rows.get(found.stock_key) if found else None
                if row is None or not row.tracked:
                    skipped.append(ref)
                    continue
                returned[row.key] = returned.get(row.key, 0) + quantity
            for key in sorted(returned, key=lambda k: (k.product_id, k.variant_id)):
                await stocks.save(
                    site, stock_rules.after_restock(rows[key], returned[key], now), existed=True
                )
            return respond(skipped)

        async def unit(session: AsyncSession) -> M:
            return await run_idempotent(
                session,
                site=site,
                scope=RESTOCK_SCOPE,
                request_id=request_id,
                request=fingerprint,
                response_type=response_type,
                produce=lambda: restock(session),
            )

        return await self._database.run(unit)


async def _sell(
    stocks: StockStore,
    site: str,
    lines: Sequence[Line],
    rows: dict[StockKey, Stock],
    now: datetime,
) -> None:
    """Deduct the units the lines hold from their (tracked) stock for good."""
    sold: dict[StockKey, int] = {}
    for line in lines:
        if line.stock is not None and line.held:
            sold[line.stock] = sold.get(line.stock, 0) + line.held
    for key in sorted(sold, key=lambda k: (k.product_id, k.variant_id)):
        row = rows.get(key)
        if row is None or not row.tracked:
            continue  # deleted, or made unlimited since: nothing to take
        await stocks.save(site, stock_rules.after_sale(row, sold[key], now), existed=True)


def _check_id(reservation_id: str) -> None:
    violations = Violations()
    rules.check_reservation_id(violations, reservation_id)
    violations.raise_if_any()
