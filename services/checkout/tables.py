"""The checkout service's tables (its own; no other service reads them).

A checkout is stored as its calculated `ecom.checkout.v1.Checkout` message (`document`), beside
the columns the service queries by (owner, cart, completion, idleness). Every mutation
recalculates the whole checkout anyway, and writes are guarded by `revision` under a row lock, so
the document is never overwritten by a stale writer. `sources` keeps what the proto cannot hold:
per line the catalog data last read (or the custom line as given) and the shipping option the
buyer asked for.

`placements` is the CreateOrder saga's state, one row per checkout: the step reached, the order
id once known, which inventory providers hold a reservation, the discount usage held, what is
still owed after completion, and a lease that serializes concurrent calls (and lets the
background finisher take over an abandoned placement).
"""

from __future__ import annotations

import sqlalchemy as sa

from services.platform.db import UtcDateTime, new_metadata

metadata = new_metadata()

checkouts = sa.Table(
    "checkouts",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("site", sa.String(200), nullable=False),
    # "visitor" | "member" | "user": the buyer's kind of id in buyer_info.
    sa.Column("buyer_kind", sa.String(10), nullable=False),
    sa.Column("buyer_id", sa.String(200), nullable=False),
    # NULL when created from lines; unique per site so one cart has one checkout.
    sa.Column("cart_id", sa.String(36), nullable=True),
    sa.Column("completed", sa.Boolean, nullable=False),
    sa.Column("order_id", sa.String(36), nullable=True),
    sa.Column("revision", sa.BigInteger, nullable=False),
    # Lower-cased buyer email ("" when none): the abandonment sweeper's condition.
    sa.Column("buyer_email", sa.String(320), nullable=False),
    sa.Column("line_count", sa.Integer, nullable=False),
    sa.Column("created", UtcDateTime(), nullable=False),
    sa.Column("updated", UtcDateTime(), nullable=False),
    sa.Column("document", sa.LargeBinary, nullable=False),
    sa.Column("sources", sa.JSON, nullable=False),
    sa.UniqueConstraint("site", "cart_id"),
    sa.Index("ix_checkouts_idle", "completed", "updated"),
)

placements = sa.Table(
    "placements",
    metadata,
    sa.Column("checkout_id", sa.String(36), primary_key=True),
    sa.Column("site", sa.String(200), nullable=False),
    # VALIDATING | RESERVING | RESERVED | ORDERED | COMPLETED (see services.checkout.saga).
    sa.Column("step", sa.String(20), nullable=False),
    sa.Column("order_id", sa.String(36), nullable=True),
    # App ids of the inventory providers asked to reserve (released or committed later).
    sa.Column("reserved_apps", sa.JSON, nullable=False),
    # True while CommitInventory is still owed after completion (retried in the background).
    sa.Column("commit_pending", sa.Boolean, nullable=False),
    # The discount usage held at the discounts service ({"rule_ids": [...], "coupon_code": ...});
    # NULL when none was asked for. Released on compensation, recorded once the order exists.
    sa.Column("usage", sa.JSON, nullable=True),
    # True while RecordDiscountUsage is still owed after completion (retried in the background).
    sa.Column("record_pending", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("lease_owner", sa.String(100), nullable=True),
    sa.Column("lease_expires", UtcDateTime(), nullable=True),
    sa.Column("started", UtcDateTime(), nullable=False),
    sa.Column("updated", UtcDateTime(), nullable=False),
    sa.Index("ix_placements_step", "step", "updated"),
)

abandoned_checkouts = sa.Table(
    "abandoned_checkouts",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("site", sa.String(200), nullable=False),
    sa.Column("checkout_id", sa.String(36), nullable=False),
    sa.Column("cart_id", sa.String(36), nullable=False),
    # ecom.checkout.v1.AbandonedCheckoutStatus numbers (1 ABANDONED, 2 RECOVERED).
    sa.Column("status", sa.SmallInteger, nullable=False),
    sa.Column("buyer_email", sa.String(320), nullable=False),
    # The total as a fixed-width string (services.checkout.abandoned.total_key): compares and
    # sorts exactly like the decimal on every backend.
    sa.Column("total_key", sa.String(40), nullable=False),
    sa.Column("created", UtcDateTime(), nullable=False),
    sa.Column("updated", UtcDateTime(), nullable=False),
    sa.Column("recovered", UtcDateTime(), nullable=True),
    sa.Column("document", sa.LargeBinary, nullable=False),
    sa.UniqueConstraint("site", "checkout_id"),
    sa.Index("ix_abandoned_checkouts_site_created", "site", "created"),
)

# CreateOrder request ids (AIP-155): a request id belongs to one checkout.
order_request_ids = sa.Table(
    "order_request_ids",
    metadata,
    sa.Column("site", sa.String(200), primary_key=True),
    sa.Column("request_id", sa.String(200), primary_key=True),
    sa.Column("checkout_id", sa.String(36), nullable=False),
    sa.Column("created", UtcDateTime(), nullable=False),
)

# Deployment-wide leases of background jobs (the abandonment sweeper): one holder at a time.
leases = sa.Table(
    "leases",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("owner", sa.String(100), nullable=False),
    sa.Column("expires", UtcDateTime(), nullable=False),
)
