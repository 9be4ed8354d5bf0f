"""orders: orders, numbers, payments, refunds, tags, catalog items, restock jobs

Revision ID: orders_0001
Revises:
Create Date: 2025-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "orders_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_Time = sa.DateTime(timezone=True)
_Amount = sa.String(60)


def _transactions(name: str) -> None:
    """Payments and refunds share one shape: a document in position order."""
    op.create_table(
        f"order_{name}",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("site", sa.String(200), nullable=False),
        sa.Column("order_id", sa.String(36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("document", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=f"pk_order_{name}"),
        sa.UniqueConstraint("order_id", "position", name=f"uq_order_{name}_order_id_position"),
    )


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("site", sa.String(200), nullable=False),
        sa.Column("number", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("payment_status", sa.SmallInteger(), nullable=False),
        sa.Column("fulfillment_status", sa.SmallInteger(), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("created_at", _Time, nullable=False),
        sa.Column("updated_at", _Time, nullable=False),
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
        sa.Column("buyer_email", sa.String(320), nullable=True),
        sa.Column("member_id", sa.String(200), nullable=True),
        sa.Column("visitor_id", sa.String(200), nullable=True),
        sa.Column("contact_id", sa.String(200), nullable=True),
        sa.Column("channel_type", sa.SmallInteger(), nullable=False),
        sa.Column("checkout_id", sa.String(200), nullable=True),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.Column("fulfillment_sequence", sa.BigInteger(), nullable=False),
        sa.Column("fulfillment_tracking", sa.JSON(), nullable=False),
        sa.Column("document", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_orders"),
        sa.UniqueConstraint("site", "checkout_id", name="uq_orders_site_checkout_id"),
        sa.UniqueConstraint("site", "number", name="uq_orders_site_number"),
    )
    created_desc = sa.text("created_at DESC")
    op.create_index("ix_orders_site_created", "orders", ["site", created_desc, "id"])
    op.create_index("ix_orders_site_updated", "orders", ["site", sa.text("updated_at DESC"), "id"])
    op.create_index("ix_orders_site_total", "orders", ["site", "total_key", "id"])
    op.create_index(
        "ix_orders_site_payment_created",
        "orders",
        ["site", "payment_status", created_desc, "id"],
    )
    op.create_index(
        "ix_orders_site_fulfillment_created",
        "orders",
        ["site", "fulfillment_status", created_desc, "id"],
    )
    op.create_index("ix_orders_site_buyer_email", "orders", ["site", "buyer_email"])
    op.create_index("ix_orders_site_member", "orders", ["site", "member_id"])
    op.create_index("ix_orders_site_visitor", "orders", ["site", "visitor_id"])
    op.create_index("ix_orders_site_contact", "orders", ["site", "contact_id"])

    op.create_table(
        "order_numbers",
        sa.Column("site", sa.String(200), nullable=False),
        sa.Column("last_number", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("site", name="pk_order_numbers"),
    )
    for name in ("payments", "refunds"):
        _transactions(name)

    op.create_table(
        "order_tags",
        sa.Column("site", sa.String(200), nullable=False),
        sa.Column("order_id", sa.String(36), nullable=False),
        sa.Column("private", sa.Boolean(), nullable=False),
        sa.Column("tag", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("order_id", "private", "tag", name="pk_order_tags"),
    )
    op.create_index("ix_order_tags_lookup", "order_tags", ["site", "private", "tag"])
    op.create_table(
        "order_catalog_items",
        sa.Column("site", sa.String(200), nullable=False),
        sa.Column("order_id", sa.String(36), nullable=False),
        sa.Column("catalog_item_id", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("order_id", "catalog_item_id", name="pk_order_catalog_items"),
    )
    op.create_index(
        "ix_order_catalog_items_lookup", "order_catalog_items", ["site", "catalog_item_id"]
    )

    op.create_table(
        "restock_jobs",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("site", sa.String(200), nullable=False),
        sa.Column("order_id", sa.String(36), nullable=False),
        sa.Column("app_id", sa.String(100), nullable=False),
        sa.Column("request", sa.LargeBinary(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _Time, nullable=False),
        sa.Column("created_at", _Time, nullable=False),
        sa.Column("done_at", _Time, nullable=True),
        sa.Column("outcome", sa.String(500), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_restock_jobs"),
    )
    op.create_index(
        "ix_restock_jobs_due",
        "restock_jobs",
        ["next_attempt_at"],
        postgresql_where=sa.text("done_at IS NULL"),
        sqlite_where=sa.text("done_at IS NULL"),
    )


def downgrade() -> None:
    for table in (
        "restock_jobs",
        "order_catalog_items",
        "order_tags",
        "order_refunds",
        "order_payments",
        "order_numbers",
        "orders",
    ):
        op.drop_table(table)
