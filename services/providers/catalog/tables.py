"""The reference catalog's tables (its own; no other service reads them). Every row belongs to a
site; amounts and weights are stored as the exact decimal text they were checked as."""

from __future__ import annotations

import sqlalchemy as sa

from services.platform.db import UtcDateTime, new_metadata

metadata = new_metadata()

products = sa.Table(
    "products",
    metadata,
    sa.Column("site", sa.String(200), primary_key=True),
    sa.Column("id", sa.String(100), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    # ecom.common.v1.ItemType: a preset number, or NULL with a custom kind.
    sa.Column("item_type_preset", sa.SmallInteger, nullable=True),
    sa.Column("item_type_custom", sa.String(100), nullable=False),
    sa.Column("media", sa.JSON, nullable=False),
    sa.Column("url", sa.String(2000), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("price", sa.String(60), nullable=False),
    sa.Column("compare_at_price", sa.String(60), nullable=True),
    sa.Column("weight", sa.String(60), nullable=True),
    sa.Column("weight_unit", sa.SmallInteger, nullable=False),
    sa.Column("sku", sa.String(100), nullable=False),
    sa.Column("shippable", sa.Boolean, nullable=False),
    sa.Column("tax_group_id", sa.String(100), nullable=False),
    sa.Column("payment_option", sa.SmallInteger, nullable=False),
    sa.Column("deposit_amount", sa.String(60), nullable=True),
    sa.Column("visible", sa.Boolean, nullable=False),
    sa.Column("revision", sa.BigInteger, nullable=False),
    sa.Column("created", UtcDateTime(), nullable=False),
    sa.Column("updated", UtcDateTime(), nullable=False),
)

variants = sa.Table(
    "variants",
    metadata,
    sa.Column("site", sa.String(200), primary_key=True),
    sa.Column("product_id", sa.String(100), primary_key=True),
    sa.Column("id", sa.String(100), primary_key=True),
    # Display order within the product.
    sa.Column("position", sa.Integer, nullable=False),
    # {"Size": "M", ...}
    sa.Column("options", sa.JSON, nullable=False),
    sa.Column("price", sa.String(60), nullable=True),
    sa.Column("compare_at_price", sa.String(60), nullable=True),
    sa.Column("sku", sa.String(100), nullable=False),
    sa.Column("weight", sa.String(60), nullable=True),
    sa.ForeignKeyConstraint(
        ["site", "product_id"], ["products.site", "products.id"], ondelete="CASCADE"
    ),
)

# One row per product without variants (variant_id "") or per variant, once its stock was set;
# no row means unlimited.
stock = sa.Table(
    "stock",
    metadata,
    sa.Column("site", sa.String(200), primary_key=True),
    sa.Column("product_id", sa.String(100), primary_key=True),
    sa.Column("variant_id", sa.String(100), primary_key=True),
    sa.Column("tracked", sa.Boolean, nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("revision", sa.BigInteger, nullable=False),
    sa.Column("updated", UtcDateTime(), nullable=False),
    sa.CheckConstraint("quantity >= 0", name="quantity_not_negative"),
)

reservations = sa.Table(
    "reservations",
    metadata,
    sa.Column("site", sa.String(200), primary_key=True),
    sa.Column("id", sa.String(200), primary_key=True),
    # ecom.spi.inventory.v1.ReservationStatus; RESERVED rows past expire_time read as EXPIRED.
    sa.Column("status", sa.SmallInteger, nullable=False),
    sa.Column("expire_time", UtcDateTime(), nullable=True),
    sa.Column("order_id", sa.String(200), nullable=False),
    sa.Column("created", UtcDateTime(), nullable=False),
    sa.Column("updated", UtcDateTime(), nullable=False),
)

reservation_lines = sa.Table(
    "reservation_lines",
    metadata,
    sa.Column("site", sa.String(200), primary_key=True),
    sa.Column("reservation_id", sa.String(200), primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True),
    # The catalog reference as requested: {"catalog_item_id", "app_id", "options"}.
    sa.Column("reference", sa.JSON, nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    # The stock units were taken from (NULL: unknown or not tracked) and how many.
    sa.Column("product_id", sa.String(100), nullable=True),
    sa.Column("variant_id", sa.String(100), nullable=True),
    sa.Column("held", sa.Integer, nullable=False),
    # While units are held: the reservation's expire_time; NULL once released, committed or
    # expired. Availability subtracts the `held` of lines with held_until in the future.
    sa.Column("held_until", UtcDateTime(), nullable=True),
    sa.ForeignKeyConstraint(
        ["site", "reservation_id"], ["reservations.site", "reservations.id"], ondelete="CASCADE"
    ),
    sa.Index(None, "site", "product_id", "variant_id", "held_until"),
)
