"""The cart service's tables (its own; no other service reads them)."""

from __future__ import annotations

import sqlalchemy as sa

from services.platform.db import UtcDateTime, new_metadata

metadata = new_metadata()

carts = sa.Table(
    "carts",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("site", sa.String(200), nullable=False),
    sa.Column("buyer_kind", sa.String(10), nullable=False),
    sa.Column("buyer_id", sa.String(200), nullable=False),
    sa.Column("email", sa.String(250), nullable=False),
    sa.Column("contact_id", sa.String(100), nullable=False),
    sa.Column("buyer_note", sa.Text, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("conversion_currency", sa.String(3), nullable=False),
    sa.Column("buyer_language", sa.String(2), nullable=False),
    sa.Column("site_language", sa.String(2), nullable=False),
    sa.Column("tax_included_in_prices", sa.Boolean, nullable=False),
    sa.Column("weight_unit", sa.String(2), nullable=False),
    # NULL until the first CreateCheckout; looked up by GetCartByCheckoutId.
    sa.Column("checkout_id", sa.String(36), nullable=True),
    # Serialized ecom.common.v1.AddressWithContact (empty: unknown).
    sa.Column("contact_info", sa.LargeBinary, nullable=False),
    sa.Column("shipping_carrier_id", sa.String(100), nullable=True),
    sa.Column("shipping_code", sa.String(200), nullable=True),
    sa.Column("override_checkout_url", sa.String(1000), nullable=False),
    sa.Column("purchase_flow_id", sa.String(36), nullable=False),
    sa.Column("coupon_code", sa.String(100), nullable=False),
    # [{"amount": "5.00", "line_ids": [...], "description": "..."}]
    sa.Column("merchant_discounts", sa.JSON, nullable=False),
    sa.Column("revision", sa.BigInteger, nullable=False),
    sa.Column("created", UtcDateTime(), nullable=False),
    sa.Column("updated", UtcDateTime(), nullable=False),
    # Set when the cart is deleted. The row stays as a tombstone so that a current-cart session
    # still pointing at it can tell "deleted" (start a new cart) from "not created yet" (a
    # concurrent first add is creating it); its lines are deleted with it.
    sa.Column("deleted", UtcDateTime(), nullable=True),
    sa.Index("ix_carts_site_checkout_id", "site", "checkout_id"),
)

cart_lines = sa.Table(
    "cart_lines",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column(
        "cart_id", sa.String(36), sa.ForeignKey("carts.id", ondelete="CASCADE"), nullable=False
    ),
    # Order of first addition; a quantity change keeps it.
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("app_id", sa.String(100), nullable=False),
    sa.Column("catalog_item_id", sa.String(500), nullable=False),
    # Canonical JSON of catalog_reference.options (sorted keys).
    sa.Column("options", sa.Text, nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("catalog_status", sa.SmallInteger, nullable=False),
    # Serialized ecom.spi.catalog.v1.CatalogItemData as last read (empty unless found).
    sa.Column("catalog_data", sa.LargeBinary, nullable=False),
    sa.Index("ix_cart_lines_cart_id", "cart_id"),
)
