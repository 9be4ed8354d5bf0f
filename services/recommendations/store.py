"""The statistics repository: orders counted into per-day item sales and pairs, taken back out
when canceled, and the two rankings read from them. Every query is scoped by site.

Counting is exact under redelivery and concurrency: an order is counted at most once (its
`counted_orders` row is claimed with an insert-if-absent in the same transaction as the
increments), and a cancellation subtracts exactly what that order added (read back from
`order_items`), whatever the cancellation event's payload says.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from services.platform.db import dialect_of, insert_if_absent
from services.recommendations.domain import ItemKey, OrderFacts, bucket_day, options_digest
from services.recommendations.tables import (
    CANCELED,
    COUNTED,
    counted_orders,
    item_pairs,
    item_sales,
    item_variants,
    order_items,
)

#: Parameter sets per executemany when an order writes many rows (a 300-line order has ~90,000
#: pairs), so no single driver call holds them all.
_CHUNK = 1000


def _chunks(rows: Sequence[dict[str, Any]]) -> Iterable[Sequence[dict[str, Any]]]:
    for start in range(0, len(rows), _CHUNK):
        yield rows[start : start + _CHUNK]


class OrderStats:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._dialect = dialect_of(session)

    # -- writing ----------------------------------------------------------------------------

    def _insert(self, table: sa.Table) -> Any:
        return (postgresql.insert if self._dialect == "postgresql" else sqlite.insert)(table)

    def _bytewise(self, column: Any) -> Any:
        """`column` ordered by code point on both backends, so ties break the same way whatever
        PostgreSQL's collation (SQLite compares text bytewise already)."""
        return column.collate("C") if self._dialect == "postgresql" else column

    def _greatest(self, a: Any, b: Any) -> Any:
        # SQLite's two-argument max() is its scalar greatest().
        return sa.func.greatest(a, b) if self._dialect == "postgresql" else sa.func.max(a, b)

    async def count(self, facts: OrderFacts, now: datetime) -> bool:
        """Add an approved order to the statistics; False when the order was already counted
        or canceled (a redelivered or late approval changes nothing)."""
        day = facts.day
        claimed = await insert_if_absent(
            self._session,
            counted_orders,
            {
                "site": facts.site,
                "order_id": facts.order_id,
                "status": COUNTED,
                "day": day,
                "ordered_at": facts.ordered_at,
                "updated_at": now,
            },
            ("site", "order_id"),
        )
        if not claimed or not facts.units:
            return claimed
        base = {"site": facts.site, "day": day}
        items = sorted(facts.units.items())
        await self._session.execute(
            sa.insert(order_items),
            [
                {
                    **base,
                    "order_id": facts.order_id,
                    "app_id": item.app_id,
                    "item_id": item.catalog_item_id,
                    "units": units,
                    "ordered_at": facts.ordered_at,
                }
                for item, units in items
            ],
        )
        await self._add_sales(base, items)
        await self._add_pairs(base, facts)
        await self._remember_variants(facts)
        return True

    async def _upsert(
        self,
        table: sa.Table,
        rows: Sequence[dict[str, Any]],
        key: Sequence[str],
        updates: Callable[[Any], dict[str, Any]],
    ) -> None:
        """Insert `rows` (distinct keys), or update the existing ones with `updates(excluded)`.

        One statement executed for many parameter sets: compiled once, and sent by the drivers
        in one go (psycopg pipelines executemany). Multi-row VALUES statements were measured
        slower: each distinct row count is a new statement to compile."""
        stmt = self._insert(table)
        stmt = stmt.on_conflict_do_update(index_elements=list(key), set_=updates(stmt.excluded))
        for chunk in _chunks(rows):
            await self._session.execute(stmt, list(chunk))

    async def _add_sales(self, base: Mapping[str, Any], items: list[tuple[ItemKey, int]]) -> None:
        rows = [
            {**base, "app_id": i.app_id, "item_id": i.catalog_item_id, "units": u, "orders": 1}
            for i, u in items
        ]
        await self._upsert(
            item_sales,
            rows,
            ("site", "app_id", "item_id", "day"),
            lambda new: {
                "units": item_sales.c.units + new.units,
                "orders": item_sales.c.orders + 1,
            },
        )

    async def _add_pairs(self, base: Mapping[str, Any], facts: OrderFacts) -> None:
        rows = [
            {
                **base,
                "app_id": a.app_id,
                "item_id": a.catalog_item_id,
                "other_app_id": b.app_id,
                "other_item_id": b.catalog_item_id,
                "orders": 1,
                "last_order_at": facts.ordered_at,
            }
            for a, b in facts.pairs()
        ]
        await self._upsert(
            item_pairs,
            rows,
            ("site", "app_id", "item_id", "other_app_id", "other_item_id", "day"),
            lambda new: {
                "orders": item_pairs.c.orders + 1,
                "last_order_at": self._greatest(item_pairs.c.last_order_at, new.last_order_at),
            },
        )

    async def _remember_variants(self, facts: OrderFacts) -> None:
        rows = [
            {
                "site": facts.site,
                "app_id": item.app_id,
                "item_id": item.catalog_item_id,
                "options_digest": options_digest(options),
                "options": dict(options),
                "last_seen": facts.ordered_at,
            }
            for item, variants in sorted(facts.variants.items())
            for options in variants
        ]
        await self._upsert(
            item_variants,
            rows,
            ("site", "app_id", "item_id", "options_digest"),
            lambda new: {"last_seen": self._greatest(item_variants.c.last_seen, new.last_seen)},
        )

    async def uncount(self, site: str, order_id: str, now: datetime) -> bool:
        """Take a canceled order back out of the statistics; False when it had not been
        counted (it is then remembered as canceled, so a late approval cannot count it)."""
        row = (
            await self._session.execute(
                sa.select(counted_orders.c.status, counted_orders.c.day).where(
                    counted_orders.c.site == site, counted_orders.c.order_id == order_id
                )
            )
        ).first()
        if row is None:
            await insert_if_absent(
                self._session,
                counted_orders,
                {
                    "site": site,
                    "order_id": order_id,
                    "status": CANCELED,
                    "day": bucket_day(now),
                    "ordered_at": now,
                    "updated_at": now,
                },
                ("site", "order_id"),
            )
            return False
        if row.status == CANCELED:
            return False
        # Claim the cancellation first: of two concurrent cancellations only one sees COUNTED
        # here (the row lock on PostgreSQL, the write lock on SQLite).
        claimed = await self._session.execute(
            counted_orders.update()
            .where(
                counted_orders.c.site == site,
                counted_orders.c.order_id == order_id,
                counted_orders.c.status == COUNTED,
            )
            .values(status=CANCELED, updated_at=now)
        )
        if claimed.rowcount == 0:  # type: ignore[attr-defined]
            return False
        items_of_order = (
            await self._session.execute(
                sa.select(
                    order_items.c.app_id,
                    order_items.c.item_id,
                    order_items.c.units,
                    order_items.c.ordered_at,
                ).where(order_items.c.site == site, order_items.c.order_id == order_id)
            )
        ).all()
        if not items_of_order:
            return True
        await self._session.execute(
            order_items.delete().where(
                order_items.c.site == site, order_items.c.order_id == order_id
            )
        )
        day: date = row.day
        ordered_at: datetime = items_of_order[0].ordered_at
        units = {ItemKey(r.app_id, r.item_id): int(r.units) for r in items_of_order}
        await self._remove_sales(site, day, units)
        await self._remove_pairs(site, day, sorted(units), ordered_at)
        return True

    async def _remove_sales(self, site: str, day: date, units: Mapping[ItemKey, int]) -> None:
        key = (
            (item_sales.c.site == site)
            & (item_sales.c.day == day)
            & (item_sales.c.app_id == sa.bindparam("k_app"))
            & (item_sales.c.item_id == sa.bindparam("k_item"))
        )
        rows = [
            {"k_app": i.app_id, "k_item": i.catalog_item_id, "k_units": u}
            for i, u in sorted(units.items())
        ]
        await self._session.execute(
            item_sales.update()
            .where(key)
            .values(
                units=item_sales.c.units - sa.bindparam("k_units"),
                orders=item_sales.c.orders - 1,
            ),
            rows,
        )
        await self._session.execute(
            item_sales.delete().where(key & (item_sales.c.orders <= 0)),
            [{"k_app": r["k_app"], "k_item": r["k_item"]} for r in rows],
        )

    async def _remove_pairs(
        self, site: str, day: date, items: list[ItemKey], ordered_at: datetime
    ) -> None:
        """One fewer order for every pair of the order's items (the pairs among a set of items
        are exactly the rows whose both ends are in it), rows at 0 deleted, and the pairs whose
        latest order was this one given the latest remaining order of that day holding both
        items (the canceled order's items are already gone from `order_items`)."""
        if len(items) < 2:
            return
        keys = [(i.app_id, i.catalog_item_id) for i in items]
        among = (
            (item_pairs.c.site == site)
            & (item_pairs.c.day == day)
            & sa.tuple_(item_pairs.c.app_id, item_pairs.c.item_id).in_(keys)
            & sa.tuple_(item_pairs.c.other_app_id, item_pairs.c.other_item_id).in_(keys)
        )
        await self._session.execute(
            item_pairs.update().where(among).values(orders=item_pairs.c.orders - 1)
        )
        await self._session.execute(item_pairs.delete().where(among & (item_pairs.c.orders <= 0)))
        mine = order_items.alias("mine")
        theirs = order_items.alias("theirs")
        latest = (
            sa.select(sa.func.max(mine.c.ordered_at))
            .select_from(
                mine.join(
                    theirs,
                    (mine.c.site == theirs.c.site) & (mine.c.order_id == theirs.c.order_id),
                )
            )
            .where(
                mine.c.site == item_pairs.c.site,
                mine.c.app_id == item_pairs.c.app_id,
                mine.c.item_id == item_pairs.c.item_id,
                mine.c.day == item_pairs.c.day,
                theirs.c.app_id == item_pairs.c.other_app_id,
                theirs.c.item_id == item_pairs.c.other_item_id,
            )
            .scalar_subquery()
        )
        await self._session.execute(
            item_pairs.update()
            .where(among & (item_pairs.c.last_order_at == ordered_at))
            .values(last_order_at=sa.func.coalesce(latest, item_pairs.c.last_order_at))
        )

    async def purge(self, before_day: date, seen_before: datetime) -> int:
        """Delete statistics of days before `before_day` (outside every window) and variants
        last bought before `seen_before`; returns how many rows went."""
        removed = 0
        for table in (item_pairs, item_sales, order_items, counted_orders):
            result = await self._session.execute(table.delete().where(table.c.day < before_day))
            removed += int(result.rowcount)  # type: ignore[attr-defined]
        result = await self._session.execute(
            item_variants.delete().where(item_variants.c.last_seen < seen_before)
        )
        return removed + int(result.rowcount)  # type: ignore[attr-defined]

    # -- reading ----------------------------------------------------------------------------

    async def best_sellers(self, site: str, since: date, limit: int, offset: int) -> list[ItemKey]:
        """Items by units sold since `since` (descending), then orders, then item id."""
        units = sa.func.sum(item_sales.c.units)
        orders = sa.func.sum(item_sales.c.orders)
        stmt = (
            sa.select(item_sales.c.app_id, item_sales.c.item_id)
            .where(item_sales.c.site == site, item_sales.c.day >= since)
            .group_by(item_sales.c.app_id, item_sales.c.item_id)
            .order_by(
                units.desc(),
                orders.desc(),
                self._bytewise(item_sales.c.item_id).asc(),
                self._bytewise(item_sales.c.app_id).asc(),
            )
            .limit(limit)
            .offset(offset)
        )
        rows = (await self._session.execute(stmt)).all()
        return [ItemKey(r.app_id, r.item_id) for r in rows]

    async def bought_together(
        self, site: str, items: Sequence[ItemKey], since: date, limit: int, offset: int
    ) -> list[ItemKey]:
        """Items that were in the same orders as `items` since `since` (not `items`
        themselves), by the number of such orders summed over `items`, then the latest such
        order, then item id."""
        if not items:
            return []
        wanted = [(i.app_id, i.catalog_item_id) for i in items]
        orders = sa.func.sum(item_pairs.c.orders)
        latest = sa.func.max(item_pairs.c.last_order_at)
        stmt = (
            sa.select(item_pairs.c.other_app_id, item_pairs.c.other_item_id)
            .where(
                item_pairs.c.site == site,
                item_pairs.c.day >= since,
                sa.tuple_(item_pairs.c.app_id, item_pairs.c.item_id).in_(wanted),
                sa.tuple_(item_pairs.c.other_app_id, item_pairs.c.other_item_id).not_in(wanted),
            )
            .group_by(item_pairs.c.other_app_id, item_pairs.c.other_item_id)
            .order_by(
                orders.desc(),
                latest.desc(),
                self._bytewise(item_pairs.c.other_item_id).asc(),
                self._bytewise(item_pairs.c.other_app_id).asc(),
            )
            .limit(limit)
            .offset(offset)
        )
        rows = (await self._session.execute(stmt)).all()
        return [ItemKey(r.other_app_id, r.other_item_id) for r in rows]

    async def variants(
        self, site: str, items: Sequence[ItemKey], per_item: int
    ) -> dict[ItemKey, list[dict[str, Any]]]:
        """Up to `per_item` variants (options) bought of each item, most recently bought first."""
        if not items:
            return {}
        stmt = (
            sa.select(
                item_variants.c.app_id,
                item_variants.c.item_id,
                item_variants.c.options,
            )
            .where(
                item_variants.c.site == site,
                sa.tuple_(item_variants.c.app_id, item_variants.c.item_id).in_(
                    [(i.app_id, i.catalog_item_id) for i in items]
                ),
            )
            .order_by(
                item_variants.c.app_id,
                item_variants.c.item_id,
                item_variants.c.last_seen.desc(),
                item_variants.c.options_digest,
            )
        )
        found: dict[ItemKey, list[dict[str, Any]]] = {}
        for row in (await self._session.execute(stmt)).all():
            kept = found.setdefault(ItemKey(row.app_id, row.item_id), [])
            if len(kept) < per_item:
                kept.append(dict(row.options))
        return found
