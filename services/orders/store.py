"""The orders repository: orders (activities included), payments, refunds and lookup rows.

Every query is scoped by site. Writers lock the order row (`for_update`) before reading what they
change, so every change to one order, its transactions included, is serialized (on SQLite the
unit of work already holds the write lock).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from ecom.orders.v1 import order_pb2, transactions_pb2
from services.orders import record
from services.orders.domain.aggregation import AMOUNT_NAMES, AggregationRow
from services.orders.domain.search import OrderFilter, OrderQuery, SortValue
from services.orders.filters import lookup_probe, lookups, search_statement, where_filter
from services.orders.tables import (
    order_catalog_items,
    order_numbers,
    order_payments,
    order_refunds,
    order_tags,
    orders,
)
from services.platform.db import dialect_of, for_update

FIRST_NUMBER = 10001


def _next_number_statement(insert: Any) -> Any:
    return (
        insert(order_numbers)
        .values(site=sa.bindparam("number_site"), last_number=FIRST_NUMBER)
        .on_conflict_do_update(
            index_elements=["site"],
            set_={"last_number": order_numbers.c.last_number + 1},
        )
        .returning(order_numbers.c.last_number)
    )


# The statements of order creation (the busiest write), built once: a call binds values only.
_NEXT_NUMBER = {
    "sqlite": _next_number_statement(sqlite.insert),
    "postgresql": _next_number_statement(postgresql.insert),
}
_INSERT_ORDER = sa.insert(orders)
_INSERT_TAGS = sa.insert(order_tags)
_INSERT_CATALOG_ITEMS = sa.insert(order_catalog_items)
_ID_BY_CHECKOUT = sa.select(orders.c.id).where(
    orders.c.site == sa.bindparam("site"), orders.c.checkout_id == sa.bindparam("checkout_id")
)


@dataclass
class StoredOrder:
    """An order as loaded for a change: its message and the bookkeeping of the fulfillment events
    applied to it."""

    order: order_pb2.Order
    fulfillment_sequence: int = 0
    tracking: dict[str, str] = field(default_factory=dict)


def _order(document: bytes) -> order_pb2.Order:
    return order_pb2.Order.FromString(document)


#: From this many matching orders a catalog item or tag condition is checked per order scanned
#: in the sort's order (see `filters._clause`): collecting and sorting that many matches first
#: costs more than scanning until the page fills (measured on 100,000 orders: a tag on 10% of
#: them took 32 ms collected, 0.3 ms scanned; a tag on none 0.3 ms collected, 96 ms scanned).
DENSE_LOOKUP_MATCHES = 1000


class OrderStore:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._dialect = dialect_of(session)

    @property
    def session(self) -> AsyncSession:
        """The unit of work this store writes in (events are recorded in it too)."""
        return self._session

    def _insert(self, table: sa.Table) -> Any:
        return (postgresql.insert if self._dialect == "postgresql" else sqlite.insert)(table)

    # -- numbers ------------------------------------------------------------------------------

    async def next_number(self, site: str) -> int:
        """The site's next order number. The counter row stays locked until the transaction
        ends, so concurrent creations on one site take consecutive numbers in turn, and a
        rolled-back creation gives its number back."""
        stmt = _NEXT_NUMBER[self._dialect]
        return int((await self._session.execute(stmt, {"number_site": site})).scalar_one())

    # -- orders -------------------------------------------------------------------------------

    async def add(self, site: str, order: order_pb2.Order) -> None:
        row = record.columns(order)
        row.update(
            site=site,
            fulfillment_sequence=0,
            fulfillment_tracking={},
            document=record.document(order),
        )
        await self._session.execute(_INSERT_ORDER, row)
        await self._write_tags(site, order.id, order.tags, replace=False)
        items = record.catalog_item_ids(order)
        if items:
            await self._session.execute(
                _INSERT_CATALOG_ITEMS,
                [{"site": site, "order_id": order.id, "catalog_item_id": i} for i in items],
            )

    async def add_many(
        self,
        site: str,
        batch: Sequence[order_pb2.Order],
        payments: Mapping[str, Sequence[transactions_pb2.Payment]],
    ) -> None:
        """Insert complete orders (numbers and payments included) in a few
        statements: for imports and benchmark seeding, which write many orders at once."""
        await self._session.execute(
            sa.insert(orders),
            [
                {
                    "site": site,
                    "fulfillment_sequence": 0,
                    "fulfillment_tracking": {},
                    "document": record.document(order),
                    **record.columns(order),
                }
                for order in batch
            ],
        )
        tag_rows = [
            {"site": site, "order_id": order.id, "private": private, "tag": tag}
            for order in batch
            for private, values in ((False, order.tags.tags), (True, order.tags.private_tags))
            for tag in values
        ]
        item_rows = [
            {"site": site, "order_id": order.id, "catalog_item_id": item}
            for order in batch
            for item in record.catalog_item_ids(order)
        ]
        payment_rows = [
            {
                "id": payment.id,
                "site": site,
                "order_id": order_id,
                "position": position,
                "document": payment.SerializeToString(deterministic=True),
            }
            for order_id, listed in payments.items()
            for position, payment in enumerate(listed)
        ]
        for table, rows in (
            (order_tags, tag_rows),
            (order_catalog_items, item_rows),
            (order_payments, payment_rows),
        ):
            if rows:
                await self._session.execute(sa.insert(table), rows)
        highest = max((order.number for order in batch), default=0)
        if highest:
            greatest = sa.func.max if self._dialect == "sqlite" else sa.func.greatest
            stmt = (
                self._insert(order_numbers)
                .values(site=site, last_number=highest)
                .on_conflict_do_update(
                    index_elements=["site"],
                    set_={"last_number": greatest(order_numbers.c.last_number, highest)},
                )
            )
            await self._session.execute(stmt)

    async def save(self, site: str, stored: StoredOrder, *, tags_changed: bool = False) -> None:
        """Write the order's row."""
        order = stored.order
        values = record.columns(order)
        values.pop("id")
        await self._session.execute(
            sa.update(orders)
            .where(orders.c.site == site, orders.c.id == order.id)
            .values(
                fulfillment_sequence=stored.fulfillment_sequence,
                fulfillment_tracking=dict(stored.tracking),
                document=record.document(order),
                **values,
            )
        )
        if tags_changed:
            await self._write_tags(site, order.id, order.tags, replace=True)

    async def _write_tags(
        self, site: str, order_id: str, tag_list: order_pb2.TagList, *, replace: bool
    ) -> None:
        if replace:
            await self._session.execute(
                sa.delete(order_tags).where(order_tags.c.order_id == order_id)
            )
        rows = [
            {"site": site, "order_id": order_id, "private": private, "tag": tag}
            for private, values in ((False, tag_list.tags), (True, tag_list.private_tags))
            for tag in values
        ]
        if rows:
            await self._session.execute(_INSERT_TAGS, rows)

    async def load(self, site: str, order_id: str, *, lock: bool = False) -> StoredOrder | None:
        stmt = sa.select(
            orders.c.document, orders.c.fulfillment_sequence, orders.c.fulfillment_tracking
        ).where(orders.c.site == site, orders.c.id == order_id)
        if lock:
            stmt = for_update(self._session, stmt)
        row = (await self._session.execute(stmt)).first()
        if row is None:
            return None
        return StoredOrder(
            _order(row.document), int(row.fulfillment_sequence), dict(row.fulfillment_tracking)
        )

    async def load_many(self, site: str, order_ids: Sequence[str]) -> dict[str, order_pb2.Order]:
        if not order_ids:
            return {}
        result = await self._session.execute(
            sa.select(orders.c.document).where(
                orders.c.site == site, orders.c.id.in_(list(order_ids))
            )
        )
        return {order.id: order for order in (_order(row.document) for row in result)}

    async def id_by_checkout(self, site: str, checkout_id: str) -> str | None:
        found = await self._session.scalar(
            _ID_BY_CHECKOUT, {"site": site, "checkout_id": checkout_id}
        )
        return None if found is None else str(found)

    # -- transactions -------------------------------------------------------------------------

    async def payments_of(
        self, order_ids: Sequence[str]
    ) -> dict[str, list[transactions_pb2.Payment]]:
        found: dict[str, list[transactions_pb2.Payment]] = await self._children(
            order_payments, order_ids, transactions_pb2.Payment
        )
        return found

    async def refunds_of(
        self, order_ids: Sequence[str]
    ) -> dict[str, list[transactions_pb2.Refund]]:
        found: dict[str, list[transactions_pb2.Refund]] = await self._children(
            order_refunds, order_ids, transactions_pb2.Refund
        )
        return found

    async def _children(self, table: sa.Table, order_ids: Sequence[str], kind: Any) -> Any:
        found: dict[str, list[Any]] = {order_id: [] for order_id in order_ids}
        if not order_ids:
            return found
        result = await self._session.execute(
            sa.select(table.c.order_id, table.c.document)
            .where(table.c.order_id.in_(list(order_ids)))
            .order_by(table.c.order_id, table.c.position)
        )
        for row in result:
            found[row.order_id].append(kind.FromString(row.document))
        return found

    async def add_payments(
        self, site: str, order_id: str, payments: Sequence[transactions_pb2.Payment], *, start: int
    ) -> None:
        await self._session.execute(
            sa.insert(order_payments),
            [
                {
                    "id": payment.id,
                    "site": site,
                    "order_id": order_id,
                    "position": start + offset,
                    "document": payment.SerializeToString(deterministic=True),
                }
                for offset, payment in enumerate(payments)
            ],
        )

    async def save_payment(self, order_id: str, payment: transactions_pb2.Payment) -> None:
        await self._session.execute(
            sa.update(order_payments)
            .where(order_payments.c.order_id == order_id, order_payments.c.id == payment.id)
            .values(document=payment.SerializeToString(deterministic=True))
        )

    async def add_refund(
        self, site: str, order_id: str, refund: transactions_pb2.Refund, *, position: int
    ) -> None:
        await self._session.execute(
            sa.insert(order_refunds).values(
                id=refund.id,
                site=site,
                order_id=order_id,
                position=position,
                document=refund.SerializeToString(deterministic=True),
            )
        )

    async def order_id_of_payment(self, site: str, payment_id: str) -> str | None:
        found = await self._session.scalar(
            sa.select(order_payments.c.order_id).where(
                order_payments.c.site == site, order_payments.c.id == payment_id
            )
        )
        return None if found is None else str(found)

    # -- queries ------------------------------------------------------------------------------

    async def search(
        self, site: str, query: OrderQuery
    ) -> list[tuple[bytes, tuple[SortValue, ...]]]:
        """One page (page_size + 1 rows, to tell whether more follow): each order's stored
        document (a serialized `ecom.orders.v1.Order`, left for the caller to parse straight
        into its response) with its sort values for the next page token."""
        dense = await self._dense_lookups(site, query.filter)
        stmt, params = search_statement(site, query, dense)
        rows = (await self._session.execute(stmt, params)).all()
        return [(row[0], tuple(row[1:])) for row in rows]

    async def _dense_lookups(self, site: str, wanted: OrderFilter) -> frozenset[tuple[str, Any]]:
        """The catalog item and tag conditions that match many of the site's orders, asked on
        SQLite only: it keeps no statistics of values to choose a plan by, while PostgreSQL's
        planner does."""
        if self._dialect != "sqlite":
            return frozenset()
        dense: set[tuple[str, Any]] = set()
        for kind, argument, values in lookups(wanted):
            probe, params = lookup_probe(site, kind, argument, values, DENSE_LOOKUP_MATCHES)
            if (await self._session.scalar(probe, params) or 0) >= DENSE_LOOKUP_MATCHES:
                dense.add((kind, argument))
        return frozenset(dense)

    async def aggregation_rows(
        self, site: str, query_filter: OrderFilter
    ) -> AsyncIterator[AggregationRow]:
        """Every matching order's group keys and amounts, streamed (one consistent read)."""
        amounts = [orders.c[name] for name in AMOUNT_NAMES]
        stmt = sa.select(
            orders.c.status,
            orders.c.payment_status,
            orders.c.fulfillment_status,
            orders.c.created_at,
            orders.c.currency,
            *amounts,
        )
        clauses, params = where_filter(site, query_filter)
        stmt = stmt.where(*clauses).execution_options(yield_per=2000)
        result = await self._session.stream(stmt, params)
        async for row in result:
            yield AggregationRow(
                status=int(row[0]),
                payment_status=int(row[1]),
                fulfillment_status=int(row[2]),
                created=row[3],
                currency=str(row[4]),
                amounts=tuple(str(value or "") for value in row[5:]),
            )
