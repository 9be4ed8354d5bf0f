"""recommendations: counted orders, their items, per-day item sales and pairs, item variants

Revision ID: recommendations_0001
Revises:
Create Date: 2025-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "recommendations_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_Time = sa.DateTime(timezone=True)
_SITE = sa.String(200)
_APP = sa.String(200)
_ITEM = sa.String(500)


def upgrade() -> None:
    op.create_table(
        "counted_orders",
        sa.Column("site", _SITE, nullable=False),
        sa.Column("order_id", sa.String(200), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("ordered_at", _Time, nullable=False),
        sa.Column("updated_at", _Time, nullable=False),
        sa.PrimaryKeyConstraint("site", "order_id", name="pk_counted_orders"),
    )
    op.create_index("ix_counted_orders_day", "counted_orders", ["day"])

    op.create_table(
        "order_items",
        sa.Column("site", _SITE, nullable=False),
        sa.Column("order_id", sa.String(200), nullable=False),
        sa.Column("app_id", _APP, nullable=False),
        sa.Column("item_id", _ITEM, nullable=False),
        sa.Column("units", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("ordered_at", _Time, nullable=False),
        sa.PrimaryKeyConstraint("site", "order_id", "app_id", "item_id", name="pk_order_items"),
    )
    op.create_index(
        "ix_order_items_site_app_id_item_id_day",
        "order_items",
        ["site", "app_id", "item_id", "day"],
    )
    op.create_index("ix_order_items_day", "order_items", ["day"])

    op.create_table(
        "item_sales",
        sa.Column("site", _SITE, nullable=False),
        sa.Column("app_id", _APP, nullable=False),
        sa.Column("item_id", _ITEM, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("units", sa.BigInteger(), nullable=False),
        sa.Column("orders", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("site", "app_id", "item_id", "day", name="pk_item_sales"),
    )
    op.create_index("ix_item_sales_site_day", "item_sales", ["site", "day"])
    op.create_index("ix_item_sales_day", "item_sales", ["day"])

    op.create_table(
        "item_pairs",
        sa.Column("site", _SITE, nullable=False),
        sa.Column("app_id", _APP, nullable=False),
        sa.Column("item_id", _ITEM, nullable=False),
        sa.Column("other_app_id", _APP, nullable=False),
        sa.Column("other_item_id", _ITEM, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("orders", sa.BigInteger(), nullable=False),
        sa.Column("last_order_at", _Time, nullable=False),
        sa.PrimaryKeyConstraint(
            "site",
            "app_id",
            "item_id",
            "other_app_id",
            "other_item_id",
            "day",
            name="pk_item_pairs",
        ),
    )
    op.create_index("ix_item_pairs_day", "item_pairs", ["day"])

    op.create_table(
        "item_variants",
        sa.Column("site", _SITE, nullable=False),
        sa.Column("app_id", _APP, nullable=False),
        sa.Column("item_id", _ITEM, nullable=False),
        sa.Column("options_digest", sa.String(64), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("last_seen", _Time, nullable=False),
        sa.PrimaryKeyConstraint(
            "site", "app_id", "item_id", "options_digest", name="pk_item_variants"
        ),
    )
    op.create_index("ix_item_variants_last_seen", "item_variants", ["last_seen"])


def downgrade() -> None:
    op.drop_table("item_variants")
    op.drop_table("item_pairs")
    op.drop_table("item_sales")
    op.drop_table("order_items")
    op.drop_table("counted_orders")
