"""catalog: products, variants, stock, reservations

Revision ID: catalog_0001
Revises:
Create Date: 2025-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "catalog_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_Time = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "products",
        sa.Column("site", sa.String(200), nullable=False),
        sa.Column("id", sa.String(100), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("item_type_preset", sa.SmallInteger(), nullable=True),
        sa.Column("item_type_custom", sa.String(100), nullable=False),
        sa.Column("media", sa.JSON(), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("price", sa.String(60), nullable=False),
        sa.Column("compare_at_price", sa.String(60), nullable=True),
        sa.Column("weight", sa.String(60), nullable=True),
        sa.Column("weight_unit", sa.SmallInteger(), nullable=False),
        sa.Column("sku", sa.String(100), nullable=False),
        sa.Column("shippable", sa.Boolean(), nullable=False),
        sa.Column("tax_group_id", sa.String(100), nullable=False),
        sa.Column("payment_option", sa.SmallInteger(), nullable=False),
        sa.Column("deposit_amount", sa.String(60), nullable=True),
        sa.Column("visible", sa.Boolean(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.Column("created", _Time, nullable=False),
        sa.Column("updated", _Time, nullable=False),
        sa.PrimaryKeyConstraint("site", "id", name="pk_products"),
    )
    op.create_table(
        "variants",
        sa.Column("site", sa.String(200), nullable=False),
        sa.Column("product_id", sa.String(100), nullable=False),
        sa.Column("id", sa.String(100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("price", sa.String(60), nullable=True),
        sa.Column("compare_at_price", sa.String(60), nullable=True),
        sa.Column("sku", sa.String(100), nullable=False),
        sa.Column("weight", sa.String(60), nullable=True),
        sa.PrimaryKeyConstraint("site", "product_id", "id", name="pk_variants"),
        sa.ForeignKeyConstraint(
            ["site", "product_id"],
            ["products.site", "products.id"],
            name="fk_variants_site_products",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "stock",
        sa.Column("site", sa.String(200), nullable=False),
        sa.Column("product_id", sa.String(100), nullable=False),
        sa.Column("variant_id", sa.String(100), nullable=False),
        sa.Column("tracked", sa.Boolean(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.Column("updated", _Time, nullable=False),
        sa.PrimaryKeyConstraint("site", "product_id", "variant_id", name="pk_stock"),
        sa.CheckConstraint("quantity >= 0", name="ck_stock_quantity_not_negative"),
    )
    op.create_table(
        "reservations",
        sa.Column("site", sa.String(200), nullable=False),
        sa.Column("id", sa.String(200), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("expire_time", _Time, nullable=True),
        sa.Column("order_id", sa.String(200), nullable=False),
        sa.Column("created", _Time, nullable=False),
        sa.Column("updated", _Time, nullable=False),
        sa.PrimaryKeyConstraint("site", "id", name="pk_reservations"),
    )
    op.create_table(
        "reservation_lines",
        sa.Column("site", sa.String(200), nullable=False),
        sa.Column("reservation_id", sa.String(200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("reference", sa.JSON(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.String(100), nullable=True),
        sa.Column("variant_id", sa.String(100), nullable=True),
        sa.Column("held", sa.Integer(), nullable=False),
        sa.Column("held_until", _Time, nullable=True),
        sa.PrimaryKeyConstraint("site", "reservation_id", "position", name="pk_reservation_lines"),
        sa.ForeignKeyConstraint(
            ["site", "reservation_id"],
            ["reservations.site", "reservations.id"],
            name="fk_reservation_lines_site_reservations",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_reservation_lines_site_product_id_variant_id_held_until",
        "reservation_lines",
        ["site", "product_id", "variant_id", "held_until"],
    )


def downgrade() -> None:
    op.drop_table("reservation_lines")
    op.drop_table("reservations")
    op.drop_table("stock")
    op.drop_table("variants")
    op.drop_table("products")
