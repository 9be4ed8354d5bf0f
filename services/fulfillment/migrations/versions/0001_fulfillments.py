"""fulfillment: fulfillment_orders, fulfillments, fulfillment_line_items

Revision ID: fulfillment_0001
Revises:
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "fulfillment_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_Time = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "fulfillment_orders",
        sa.Column("site", sa.String(200), nullable=False),
        sa.Column("order_id", sa.String(200), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("visitor_id", sa.String(200), nullable=False),
        sa.Column("member_id", sa.String(200), nullable=False),
        sa.Column("last_position", sa.BigInteger(), nullable=False),
        sa.Column("created", _Time, nullable=False),
        sa.PrimaryKeyConstraint("site", "order_id", name="pk_fulfillment_orders"),
    )
    op.create_table(
        "fulfillments",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("site", sa.String(200), nullable=False),
        sa.Column("order_id", sa.String(200), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("tracking_number", sa.String(100), nullable=False),
        sa.Column("shipping_provider", sa.String(100), nullable=False),
        sa.Column("tracking_link", sa.String(2000), nullable=False),
        sa.Column("status", sa.String(100), nullable=False),
        sa.Column("completed", sa.Boolean(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.Column("created", _Time, nullable=False),
        sa.Column("updated", _Time, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_fulfillments"),
        sa.ForeignKeyConstraint(
            ["site", "order_id"],
            ["fulfillment_orders.site", "fulfillment_orders.order_id"],
            name="fk_fulfillments_site_fulfillment_orders",
        ),
        sa.UniqueConstraint(
            "site", "order_id", "position", name="uq_fulfillments_site_order_id_position"
        ),
    )
    op.create_table(
        "fulfillment_line_items",
        sa.Column("fulfillment_id", sa.String(36), nullable=False),
        sa.Column("line_item_id", sa.String(200), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("fulfillment_id", "line_item_id", name="pk_fulfillment_line_items"),
        sa.ForeignKeyConstraint(
            ["fulfillment_id"],
            ["fulfillments.id"],
            name="fk_fulfillment_line_items_fulfillment_id_fulfillments",
            ondelete="CASCADE",
        ),
    )


def downgrade() -> None:
    op.drop_table("fulfillment_line_items")
    op.drop_table("fulfillments")
    op.drop_table("fulfillment_orders")
