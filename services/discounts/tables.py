"""The discounts service's tables (its own; no other service reads them).

Rules and coupons keep their merchant-defined fields as a serialized proto (`document`: trigger
trees and scopes are nested and only ever read whole), next to the columns that filters, sorts,
status derivation and usage counting work on. Use counts live in columns of their own, so
counting a use never rewrites the document or its revision.

Reservations hold uses as rows of `discount_holds`, each with its own expiry: a limit check counts
the unexpired holds of other reservations, so an abandoned checkout gives its uses back by time
alone, with no sweeper needed for correctness.
"""

from __future__ import annotations

import sqlalchemy as sa

from services.platform.db import UtcDateTime, new_metadata

metadata = new_metadata()

discount_rules = sa.Table(
    "discount_rules",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("site", sa.String(200), nullable=False),
    sa.Column("name_key", sa.String(400), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("start_at", UtcDateTime(), nullable=True),
    sa.Column("end_at", UtcDateTime(), nullable=True),
    sa.Column("usage_limit", sa.Integer, nullable=True),
    sa.Column("usage_count", sa.BigInteger, nullable=False),
    sa.Column("revision", sa.BigInteger, nullable=False),
    sa.Column("document", sa.LargeBinary, nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Index("ix_discount_rules_site_created", "site", "created_at", "id"),
    sa.Index("ix_discount_rules_site_name", "site", "name_key", "id"),
    sa.Index("ix_discount_rules_site_updated", "site", "updated_at", "id"),
)

#: Every app a rule mentions (scope catalogs, custom filters, trigger providers), for the
#: `app_ids` filter of QueryDiscountRules.
discount_rule_apps = sa.Table(
    "discount_rule_apps",
    metadata,
    sa.Column("rule_id", sa.String(36), primary_key=True),
    sa.Column("app_id", sa.String(200), primary_key=True),
    sa.Column("site", sa.String(200), nullable=False),
    sa.Index("ix_discount_rule_apps_site_app", "site", "app_id"),
)

coupons = sa.Table(
    "coupons",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("site", sa.String(200), nullable=False),
    sa.Column("code", sa.String(100), nullable=False),
    #: The code as compared: trimmed and case folded. Unique per site.
    sa.Column("code_key", sa.String(200), nullable=False),
    sa.Column("name_key", sa.String(400), nullable=False),
    sa.Column("kind", sa.SmallInteger, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("start_at", UtcDateTime(), nullable=True),
    sa.Column("expiration_at", UtcDateTime(), nullable=True),
    #: `expiration_at`, or the far future when there is none: a non-null key for sorting and
    #: keyset paging that puts coupons without expiry last in ascending order.
    sa.Column("expiration_key", UtcDateTime(), nullable=False),
    sa.Column("usage_limit", sa.Integer, nullable=True),
    sa.Column("number_of_usages", sa.BigInteger, nullable=False),
    sa.Column("revision", sa.BigInteger, nullable=False),
    sa.Column("document", sa.LargeBinary, nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.UniqueConstraint("site", "code_key"),
    sa.Index("ix_coupons_site_created", "site", "created_at", "id"),
)

#: One row per site once anything was written for it; it also serializes rule creation per site
#: (the 1000-rules limit is checked under its lock).
discount_settings = sa.Table(
    "discount_settings",
    metadata,
    sa.Column("site", sa.String(200), primary_key=True),
    #: 0: never set (the deployment default applies).
    sa.Column("stacking_policy", sa.SmallInteger, nullable=False),
    sa.Column("revision", sa.BigInteger, nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=True),
    #: +1 with every change of the site's rules, coupons, use counts or settings (see
    #: store_settings): what lets a process keep them cached between evaluations.
    sa.Column("definitions_version", sa.BigInteger, nullable=False),
)

discount_reservations = sa.Table(
    "discount_reservations",
    metadata,
    sa.Column("site", sa.String(200), primary_key=True),
    sa.Column("reservation_id", sa.String(200), primary_key=True),
    #: domain.usage.ReservationState.
    sa.Column("state", sa.SmallInteger, nullable=False),
    sa.Column("rule_ids", sa.JSON, nullable=False),
    sa.Column("coupon_id", sa.String(36), nullable=True),
    sa.Column("coupon_code", sa.String(100), nullable=False),
    sa.Column("order_id", sa.String(200), nullable=True),
    sa.Column("expires_at", UtcDateTime(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)

discount_holds = sa.Table(
    "discount_holds",
    metadata,
    sa.Column("site", sa.String(200), primary_key=True),
    sa.Column("reservation_id", sa.String(200), primary_key=True),
    #: domain.usage.HoldKind: a rule or a coupon.
    sa.Column("kind", sa.SmallInteger, primary_key=True),
    sa.Column("target_id", sa.String(36), primary_key=True),
    sa.Column("expires_at", UtcDateTime(), nullable=False),
    sa.Index("ix_discount_holds_target", "site", "kind", "target_id", "expires_at"),
)

#: RecordDiscountUsage's idempotency: one row per order, with the first answer.
discount_usage_records = sa.Table(
    "discount_usage_records",
    metadata,
    sa.Column("site", sa.String(200), primary_key=True),
    sa.Column("order_id", sa.String(200), primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("response", sa.LargeBinary, nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
)
