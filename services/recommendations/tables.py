"""The recommendations service's tables (its own; no other service reads them).

Statistics are kept per site and UTC day, so a window is a range of days: it slides as days
pass without any rescan, and days older than the longest window are purged.

- `counted_orders`: every order the service has heard of, COUNTED (approved, its contribution is
  in the statistics) or CANCELED (its contribution, if any, was taken out; a later approval of it
  is ignored).
- `order_items`: the items (variants merged) of each COUNTED order, with their units: what a
  cancellation takes back out, and where the most recent order of a pair is found again.
- `item_sales`: units and orders per item and day (BEST_SELLERS).
- `item_pairs`: orders per ordered pair of distinct items and day, with the latest such order's
  time (FREQUENTLY_BOUGHT_TOGETHER). Both directions are stored, so looking up an item's
  partners is one primary-key range.
- `item_variants`: the variants (catalog reference options) bought per item, so that "does the
  catalog still sell it" can be asked about a product whose catalog only knows its variants.
"""

from __future__ import annotations

import sqlalchemy as sa

from services.platform.db import UtcDateTime, new_metadata

metadata = new_metadata()

_SITE = 200
_APP = 200
_ITEM = 500

#: `counted_orders.status` values.
COUNTED = 1
CANCELED = 2

counted_orders = sa.Table(
    "counted_orders",
    metadata,
    sa.Column("site", sa.String(_SITE), primary_key=True),
    sa.Column("order_id", sa.String(200), primary_key=True),
    sa.Column("status", sa.SmallInteger, nullable=False),
    sa.Column("day", sa.Date, nullable=False),
    sa.Column("ordered_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Index("ix_counted_orders_day", "day"),
)

order_items = sa.Table(
    "order_items",
    metadata,
    sa.Column("site", sa.String(_SITE), primary_key=True),
    sa.Column("order_id", sa.String(200), primary_key=True),
    sa.Column("app_id", sa.String(_APP), primary_key=True),
    sa.Column("item_id", sa.String(_ITEM), primary_key=True),
    sa.Column("units", sa.BigInteger, nullable=False),
    sa.Column("day", sa.Date, nullable=False),
    sa.Column("ordered_at", UtcDateTime(), nullable=False),
    sa.Index("ix_order_items_site_app_id_item_id_day", "site", "app_id", "item_id", "day"),
    sa.Index("ix_order_items_day", "day"),
)

item_sales = sa.Table(
    "item_sales",
    metadata,
    sa.Column("site", sa.String(_SITE), primary_key=True),
    sa.Column("app_id", sa.String(_APP), primary_key=True),
    sa.Column("item_id", sa.String(_ITEM), primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("units", sa.BigInteger, nullable=False),
    sa.Column("orders", sa.BigInteger, nullable=False),
    sa.Index("ix_item_sales_site_day", "site", "day"),
    sa.Index("ix_item_sales_day", "day"),
)

item_pairs = sa.Table(
    "item_pairs",
    metadata,
    sa.Column("site", sa.String(_SITE), primary_key=True),
    sa.Column("app_id", sa.String(_APP), primary_key=True),
    sa.Column("item_id", sa.String(_ITEM), primary_key=True),
    sa.Column("other_app_id", sa.String(_APP), primary_key=True),
    sa.Column("other_item_id", sa.String(_ITEM), primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("orders", sa.BigInteger, nullable=False),
    sa.Column("last_order_at", UtcDateTime(), nullable=False),
    sa.Index("ix_item_pairs_day", "day"),
)

item_variants = sa.Table(
    "item_variants",
    metadata,
    sa.Column("site", sa.String(_SITE), primary_key=True),
    sa.Column("app_id", sa.String(_APP), primary_key=True),
    sa.Column("item_id", sa.String(_ITEM), primary_key=True),
    # sha256 of the options' canonical JSON: options may be long, keys must not be.
    sa.Column("options_digest", sa.String(64), primary_key=True),
    sa.Column("options", sa.JSON, nullable=False),
    sa.Column("last_seen", UtcDateTime(), nullable=False),
    sa.Index("ix_item_variants_last_seen", "last_seen"),
)
