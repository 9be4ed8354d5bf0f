"""carts and cart_lines

Revision ID: cart_0001
Revises:
Create Date: 2025-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "cart_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_Time = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "carts",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("site", sa.String(200), nullable=False),
        sa.Column("buyer_kind", sa.String(10), nullable=False),
        sa.Column("buyer_id", sa.String(200), nullable=False),
        sa.Column("email", sa.String(250), nullable=False),
        sa.Column("contact_id", sa.String(100), nullable=False),
        sa.Column("buyer_note", sa.Text(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("conversion_currency", sa.String(3), nullable=False),
        sa.Column("buyer_language", sa.String(2), nullable=False),
        sa.Column("site_language", sa.String(2), nullable=False),
        sa.Column("tax_included_in_prices", sa.Boolean(), nullable=False),
        sa.Column("weight_unit", sa.String(2), nullable=False),
        sa.Column("checkout_id", sa.String(36), nullable=True),
        sa.Column("contact_info", sa.LargeBinary(), nullable=False),
        sa.Column("shipping_carrier_id", sa.String(100), nullable=True),
        sa.Column("shipping_code", sa.String(200), nullable=True),
        sa.Column("override_checkout_url", sa.String(1000), nullable=False),
        sa.Column("purchase_flow_id", sa.String(36), nullable=False),
        sa.Column("coupon_code", sa.String(100), nullable=False),
        sa.Column("merchant_discounts", sa.JSON(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.Column("created", _Time, nullable=False),
        sa.Column("updated", _Time, nullable=False),
        sa.Column("deleted", _Time, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_carts"),
    )
    op.create_index("ix_carts_site_checkout_id", "carts", ["site", "checkout_id"])
    op.create_table(
        "cart_lines",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("cart_id", sa.String(36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("app_id", sa.String(100), nullable=False),
        sa.Column("catalog_item_id", sa.String(500), nullable=False),
        sa.Column("options", sa.Text(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("catalog_status", sa.SmallInteger(), nullable=False),
        sa.Column("catalog_data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cart_id"], ["carts.id"], name="fk_cart_lines_cart_id_carts", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_cart_lines"),
    )
    op.create_index("ix_cart_lines_cart_id", "cart_lines", ["cart_id"])


def downgrade() -> None:
    op.drop_table("cart_lines")
    op.drop_table("carts")
