"""The fulfillment service's tables (its own; no other service reads them).

- `fulfillment_orders`: one row per order that has (or had) fulfillments. It is the order's lock
  row (every change to an order's fulfillments locks it first, which serializes them per order)
  and its counter (`last_position` numbers the order's fulfillments, oldest first). It also keeps
  the order's facts that never change after creation, as read from the orders service: the lines
  and their quantities and the buyer's ids. Update, delete and list use them without calling the
  orders service.
- `fulfillments` and `fulfillment_line_items`: the fulfillments themselves.
"""

from __future__ import annotations

import sqlalchemy as sa

from services.platform.db import UtcDateTime, new_metadata

metadata = new_metadata()

fulfillment_orders = sa.Table(
    "fulfillment_orders",
    metadata,
    sa.Column("site", sa.String(200), nullable=False),
    sa.Column("order_id", sa.String(200), nullable=False),
    # [{"id": <order line id>, "quantity": <int>}, ...] in the order's line order.
    sa.Column("lines", sa.JSON, nullable=False),
    sa.Column("visitor_id", sa.String(200), nullable=False),
    sa.Column("member_id", sa.String(200), nullable=False),
    sa.Column("last_position", sa.BigInteger, nullable=False),
    sa.Column("created", UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint("site", "order_id"),
)

fulfillments = sa.Table(
    "fulfillments",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("site", sa.String(200), nullable=False),
    sa.Column("order_id", sa.String(200), nullable=False),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("tracking_number", sa.String(100), nullable=False),
    sa.Column("shipping_provider", sa.String(100), nullable=False),
    sa.Column("tracking_link", sa.String(2000), nullable=False),
    sa.Column("status", sa.String(100), nullable=False),
    sa.Column("completed", sa.Boolean, nullable=False),
    sa.Column("revision", sa.BigInteger, nullable=False),
    sa.Column("created", UtcDateTime(), nullable=False),
    sa.Column("updated", UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(
        ["site", "order_id"],
        ["fulfillment_orders.site", "fulfillment_orders.order_id"],
    ),
    # An order's fulfillments in creation order; also the lookup by order.
    sa.UniqueConstraint("site", "order_id", "position"),
)

fulfillment_line_items = sa.Table(
    "fulfillment_line_items",
    metadata,
    sa.Column("fulfillment_id", sa.String(36), nullable=False),
    sa.Column("line_item_id", sa.String(200), nullable=False),
    # The line's place in the fulfillment as the caller gave it.
    sa.Column("index", sa.Integer, nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.PrimaryKeyConstraint("fulfillment_id", "line_item_id"),
    sa.ForeignKeyConstraint(["fulfillment_id"], ["fulfillments.id"], ondelete="CASCADE"),
)
