"""The orders service's tables (its own; no other service reads them).

An order is stored as its `ecom.orders.v1.Order` message (`document`, activities included) plus
the columns SearchOrders and AggregateOrders filter, sort and sum on, which are derived from the
document on every write. Payments and refunds live in their own tables; tags and catalog item ids
are copied into lookup tables for the tag and catalog filters.
"""

from __future__ import annotations

import sqlalchemy as sa

from services.platform.db import UtcDateTime, new_metadata

metadata = new_metadata()

#: Amounts are exact decimal strings (never floats); `total_key` is the sortable form of `total`.
_Amount = sa.String(60)

orders = sa.Table(
    "orders",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("site", sa.String(200), nullable=False),
    sa.Column("number", sa.BigInteger, nullable=False),
    sa.Column("status", sa.SmallInteger, nullable=False),
    sa.Column("payment_status", sa.SmallInteger, nullable=False),
    sa.Column("fulfillment_status", sa.SmallInteger, nullable=False),
    sa.Column("archived", sa.Boolean, nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("total_key", sa.String(48), nullable=False),
    sa.Column("subtotal", _Amount, nullable=False),
    sa.Column("shipping", _Amount, nullable=False),
    sa.Column("tax", _Amount, nullable=False),
    sa.Column("discount", _Amount, nullable=False),
    sa.Column("additional_fees", _Amount, nullable=False),
    sa.Column("total", _Amount, nullable=False),
    sa.Column("paid", _Amount, nullable=False),
    sa.Column("refunded", _Amount, nullable=False),
    # Lower-cased, for the case-insensitive exact email filter.
    sa.Column("buyer_email", sa.String(320), nullable=True),
    sa.Column("member_id", sa.String(200), nullable=True),
    sa.Column("visitor_id", sa.String(200), nullable=True),
    sa.Column("contact_id", sa.String(200), nullable=True),
    sa.Column("channel_type", sa.SmallInteger, nullable=False),
    # NULL when the order was not placed from a checkout (NULLs never collide in the unique key).
    sa.Column("checkout_id", sa.String(200), nullable=True),
    sa.Column("revision", sa.BigInteger, nullable=False),
    # The highest entity_sequence of ecom.fulfillment.v1 events applied to the order, and the
    # tracking numbers they carried (fulfillment id -> number), for TRACKING_NUMBER_* activities.
    sa.Column("fulfillment_sequence", sa.BigInteger, nullable=False),
    sa.Column("fulfillment_tracking", sa.JSON, nullable=False),
    sa.Column("document", sa.LargeBinary, nullable=False),
    sa.UniqueConstraint("site", "number"),
    sa.UniqueConstraint("site", "checkout_id"),
)
# Keyset paging for each sort field: the leading column is the sort field, the id breaks ties.
# The default sort (created_date descending, id ascending) reads this index in its own order.
sa.Index("ix_orders_site_created", orders.c.site, orders.c.created_at.desc(), orders.c.id)
sa.Index("ix_orders_site_updated", orders.c.site, orders.c.updated_at.desc(), orders.c.id)
sa.Index("ix_orders_site_total", orders.c.site, orders.c.total_key, orders.c.id)
# Selective filters, each able to drive a query on its own.
sa.Index(
    "ix_orders_site_payment_created",
    orders.c.site,
    orders.c.payment_status,
    orders.c.created_at.desc(),
    orders.c.id,
)
sa.Index(
    "ix_orders_site_fulfillment_created",
    orders.c.site,
    orders.c.fulfillment_status,
    orders.c.created_at.desc(),
    orders.c.id,
)
sa.Index("ix_orders_site_buyer_email", orders.c.site, orders.c.buyer_email)
sa.Index("ix_orders_site_member", orders.c.site, orders.c.member_id)
sa.Index("ix_orders_site_visitor", orders.c.site, orders.c.visitor_id)
sa.Index("ix_orders_site_contact", orders.c.site, orders.c.contact_id)

#: The last order number handed out per site.
order_numbers = sa.Table(
    "order_numbers",
    metadata,
    sa.Column("site", sa.String(200), primary_key=True),
    sa.Column("last_number", sa.BigInteger, nullable=False),
)

#: Payments (`document`: ecom.orders.v1.Payment), oldest first by `position`.
order_payments = sa.Table(
    "order_payments",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("site", sa.String(200), nullable=False),
    sa.Column("order_id", sa.String(36), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("document", sa.LargeBinary, nullable=False),
    sa.UniqueConstraint("order_id", "position"),
)

#: Refunds (`document`: ecom.orders.v1.Refund), oldest first by `position`.
order_refunds = sa.Table(
    "order_refunds",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("site", sa.String(200), nullable=False),
    sa.Column("order_id", sa.String(36), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("document", sa.LargeBinary, nullable=False),
    sa.UniqueConstraint("order_id", "position"),
)

#: Tags of each order, for the tag filters (the document holds them too, in order).
order_tags = sa.Table(
    "order_tags",
    metadata,
    sa.Column("site", sa.String(200), nullable=False),
    sa.Column("order_id", sa.String(36), nullable=False),
    sa.Column("private", sa.Boolean, nullable=False),
    sa.Column("tag", sa.String(100), nullable=False),
    sa.PrimaryKeyConstraint("order_id", "private", "tag"),
)
sa.Index("ix_order_tags_lookup", order_tags.c.site, order_tags.c.private, order_tags.c.tag)

#: Catalog item ids of each order's lines (and their root items), for the catalog filter.
order_catalog_items = sa.Table(
    "order_catalog_items",
    metadata,
    sa.Column("site", sa.String(200), nullable=False),
    sa.Column("order_id", sa.String(36), nullable=False),
    sa.Column("catalog_item_id", sa.String(200), nullable=False),
    sa.PrimaryKeyConstraint("order_id", "catalog_item_id"),
)
sa.Index(
    "ix_order_catalog_items_lookup",
    order_catalog_items.c.site,
    order_catalog_items.c.catalog_item_id,
)

#: RestockInventory calls owed to inventory providers: written with the cancel or refund that
#: decided them, sent after the commit and retried until they succeed. `id` is the call's
#: idempotency key; `request` the serialized RestockInventoryRequest (without settings).
restock_jobs = sa.Table(
    "restock_jobs",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("site", sa.String(200), nullable=False),
    sa.Column("order_id", sa.String(36), nullable=False),
    sa.Column("app_id", sa.String(100), nullable=False),
    sa.Column("request", sa.LargeBinary, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", UtcDateTime(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("done_at", UtcDateTime(), nullable=True),
    sa.Column("outcome", sa.String(500), nullable=True),
)
sa.Index(
    "ix_restock_jobs_due",
    restock_jobs.c.next_attempt_at,
    postgresql_where=restock_jobs.c.done_at.is_(None),
    sqlite_where=restock_jobs.c.done_at.is_(None),
)
