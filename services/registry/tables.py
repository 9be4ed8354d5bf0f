"""The provider registry's tables (its own; no other service reads them)."""

from __future__ import annotations

import sqlalchemy as sa

from services.platform.db import UtcDateTime, new_metadata

metadata = new_metadata()

providers = sa.Table(
    "providers",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("site", sa.String(200), nullable=False),
    sa.Column("kind", sa.SmallInteger, nullable=False),
    sa.Column("app_id", sa.String(100), nullable=False),
    sa.Column("target", sa.String(1000), nullable=False),
    sa.Column("tls", sa.Boolean, nullable=False),
    # 0: the deployment's default timeout (ECOM_PROVIDER_TIMEOUT_MS), resolved when read.
    sa.Column("timeout_ms", sa.Integer, nullable=False),
    sa.Column("settings", sa.JSON, nullable=False),
    sa.Column("validate_in_cart", sa.Boolean, nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("revision", sa.BigInteger, nullable=False),
    sa.Column("created", UtcDateTime(), nullable=False),
    sa.Column("updated", UtcDateTime(), nullable=False),
    sa.UniqueConstraint("site", "kind", "app_id"),
)
