"""The fulfillment service's repository: its own tables, every query scoped by site.

Per-order serialization: every change to an order's fulfillments first locks the order's row in
`fulfillment_orders` (`lock_order` / `lock_known_order`), and reads the order's fulfillments only
after that. On PostgreSQL the row lock makes a concurrent writer of the same order wait until the
first commits; READ COMMITTED then gives its next statement a fresh snapshot, so it sees the
first writer's fulfillments. On SQLite the unit of work holds the database's write lock already.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from services.fulfillment.domain import Fulfillment, LineQuantity, OrderFacts
from services.fulfillment.tables import fulfillment_line_items, fulfillment_orders, fulfillments
from services.fulfillment.tracking import Tracking
from services.platform.db import dialect_of, for_update


def _facts(row: RowMapping) -> OrderFacts:
    return OrderFacts(
        id=row["order_id"],
        lines=tuple(LineQuantity(str(line["id"]), int(line["quantity"])) for line in row["lines"]),
        visitor_id=row["visitor_id"],
        member_id=row["member_id"],
    )


def _fulfillment(row: RowMapping, lines: Sequence[LineQuantity]) -> Fulfillment:
    return Fulfillment(
        id=row["id"],
        order_id=row["order_id"],
        position=int(row["position"]),
        line_items=tuple(lines),
        tracking=Tracking(
            tracking_number=row["tracking_number"],
            shipping_provider=row["shipping_provider"],
            tracking_link=row["tracking_link"],
        ),
        status=row["status"],
        completed=bool(row["completed"]),
        revision=int(row["revision"]),
        created=row["created"],
        updated=row["updated"],
    )


def _mutable_values(fulfillment: Fulfillment) -> dict[str, Any]:
    return {
        "tracking_number": fulfillment.tracking.tracking_number,
        "shipping_provider": fulfillment.tracking.shipping_provider,
        "tracking_link": fulfillment.tracking.tracking_link,
        "status": fulfillment.status,
        "completed": fulfillment.completed,
        "revision": fulfillment.revision,
        "updated": fulfillment.updated,
    }


class FulfillmentStore:
    def __init__(self, session: AsyncSession, site: str) -> None:
        self._session = session
        self._site = site

    # -- the order row -------------------------------------------------------------------

    async def lock_order(self, order: OrderFacts, now: datetime) -> int:
        """Create or refresh the order's row and lock it until the transaction ends; returns the
        position of the order's newest fulfillment (0: none yet)."""
        values = {
            "site": self._site,
            "order_id": order.id,
            "lines": [{"id": line.id, "quantity": line.quantity} for line in order.lines],
            "visitor_id": order.visitor_id,
            "member_id": order.member_id,
            "last_position": 0,
            "created": now,
        }
        dialect_insert: Any = (
            postgresql.insert if dialect_of(self._session) == "postgresql" else sqlite.insert
        )
        stmt = dialect_insert(fulfillment_orders).values(**values)
        # DO UPDATE (rather than DO NOTHING) so that PostgreSQL locks an existing row, and a
        # concurrent writer of the same order waits here until this transaction ends.
        stmt = stmt.on_conflict_do_update(
            index_elements=["site", "order_id"],
            set_={
                "lines": stmt.excluded.lines,
                "visitor_id": stmt.excluded.visitor_id,
                "member_id": stmt.excluded.member_id,
            },
        ).returning(fulfillment_orders.c.last_position)
        return int((await self._session.execute(stmt)).scalar_one())

    async def lock_known_order(self, order_id: str) -> tuple[OrderFacts, int] | None:
        """The order's facts and newest position, locked; None when it never had fulfillments."""
        stmt = sa.select(fulfillment_orders).where(
            fulfillment_orders.c.site == self._site, fulfillment_orders.c.order_id == order_id
        )
        row = (await self._session.execute(for_update(self._session, stmt))).mappings().first()
        if row is None:
            return None
        return _facts(row), int(row["last_position"])

    async def known_orders(self, order_ids: Sequence[str]) -> dict[str, OrderFacts]:
        """The facts of those of `order_ids` that have (or had) fulfillments."""
        if not order_ids:
            return {}
        stmt = sa.select(fulfillment_orders).where(
            fulfillment_orders.c.site == self._site,
            fulfillment_orders.c.order_id.in_(list(order_ids)),
        )
        rows = (await self._session.execute(stmt)).mappings()
        return {row["order_id"]: _facts(row) for row in rows}

    # -- fulfillments --------------------------------------------------------------------

    async def for_orders(self, order_ids: Sequence[str]) -> dict[str, list[Fulfillment]]:
        """Every fulfillment of each order, oldest first (orders without any are left out)."""
        if not order_ids:
            return {}
        ids = list(order_ids)
        in_orders = (fulfillments.c.site == self._site) & fulfillments.c.order_id.in_(ids)
        line_rows = (
            await self._session.execute(
                sa.select(fulfillment_line_items)
                .join(fulfillments, fulfillments.c.id == fulfillment_line_items.c.fulfillment_id)
                .where(in_orders)
                .order_by(fulfillment_line_items.c.fulfillment_id, fulfillment_line_items.c.index)
            )
        ).mappings()
        lines: dict[str, list[LineQuantity]] = defaultdict(list)
        for line in line_rows:
            lines[line["fulfillment_id"]].append(
                LineQuantity(line["line_item_id"], int(line["quantity"]))
            )
        rows = (
            await self._session.execute(
                sa.select(fulfillments)
                .where(in_orders)
                .order_by(fulfillments.c.order_id, fulfillments.c.position)
            )
        ).mappings()
        found: dict[str, list[Fulfillment]] = defaultdict(list)
        for row in rows:
            found[row["order_id"]].append(_fulfillment(row, lines[row["id"]]))
        return dict(found)

    async def for_order(self, order_id: str) -> list[Fulfillment]:
        return (await self.for_orders([order_id])).get(order_id, [])

    async def add(self, fulfillment: Fulfillment) -> None:
        """Insert a fulfillment whose position is the order's next one (order row locked)."""
        await self._session.execute(
            sa.insert(fulfillments).values(
                id=fulfillment.id,
                site=self._site,
                order_id=fulfillment.order_id,
                position=fulfillment.position,
                created=fulfillment.created,
                **_mutable_values(fulfillment),
            )
        )
        await self._session.execute(
            sa.insert(fulfillment_line_items),
            [
                {
                    "fulfillment_id": fulfillment.id,
                    "line_item_id": line.id,
                    "index": index,
                    "quantity": line.quantity,
                }
                for index, line in enumerate(fulfillment.line_items)
            ],
        )
        await self._session.execute(
            sa.update(fulfillment_orders)
            .where(
                fulfillment_orders.c.site == self._site,
                fulfillment_orders.c.order_id == fulfillment.order_id,
            )
            .values(last_position=fulfillment.position)
        )

    async def replace(self, fulfillment: Fulfillment) -> None:
        """Store the new tracking, status and completion (the order row is locked)."""
        await self._session.execute(
            sa.update(fulfillments)
            .where(fulfillments.c.site == self._site, fulfillments.c.id == fulfillment.id)
            .values(**_mutable_values(fulfillment))
        )

    async def delete(self, fulfillment: Fulfillment) -> None:
        # Line items go with it (ON DELETE CASCADE).
        await self._session.execute(
            sa.delete(fulfillments).where(
                fulfillments.c.site == self._site, fulfillments.c.id == fulfillment.id
            )
        )
