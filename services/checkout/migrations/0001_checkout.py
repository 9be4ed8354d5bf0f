"""checkout: checkouts, placements, abandoned checkouts, order request ids, leases

Revision ID: checkout_0001
Revises:
Create Date: 2026-01-10
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "checkout_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_Time = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "checkouts",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("site", sa.String(200), nullable=False),
        sa.Column("buyer_kind", sa.String(10), nullable=False),
        sa.Column("buyer_id", sa.String(200), nullable=False),
        sa.Column("cart_id", sa.String(36), nullable=True),
        sa.Column("completed", sa.Boolean(), nullable=False),
        sa.Column("order_id", sa.String(36), nullable=True),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.Column("buyer_email", sa.String(320), nullable=False),
        sa.Column("line_count", sa.Integer(), nullable=False),
        sa.Column("created", _Time, nullable=False),
        sa.Column("updated", _Time, nullable=False),
        sa.Column("document", sa.LargeBinary(), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_checkouts"),
        sa.UniqueConstraint("site", "cart_id", name="uq_checkouts_site_cart_id"),
    )
    op.create_index("ix_checkouts_idle", "checkouts", ["completed", "updated"])
    op.create_table(
        "placements",
        sa.Column("checkout_id", sa.String(36), nullable=False),
        sa.Column("site", sa.String(200), nullable=False),
        sa.Column("step", sa.String(20), nullable=False),
        sa.Column("order_id", sa.String(36), nullable=True),
        sa.Column("reserved_apps", sa.JSON(), nullable=False),
        sa.Column("commit_pending", sa.Boolean(), nullable=False),
        sa.Column("lease_owner", sa.String(100), nullable=True),
        sa.Column("lease_expires", _Time, nullable=True),
        sa.Column("started", _Time, nullable=False),
        sa.Column("updated", _Time, nullable=False),
        sa.PrimaryKeyConstraint("checkout_id", name="pk_placements"),
    )
    op.create_index("ix_placements_step", "placements", ["step", "updated"])
    op.create_table(
        "abandoned_checkouts",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("site", sa.String(200), nullable=False),
        sa.Column("checkout_id", sa.String(36), nullable=False),
        sa.Column("cart_id", sa.String(36), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("buyer_email", sa.String(320), nullable=False),
        sa.Column("total_key", sa.String(40), nullable=False),
        sa.Column("created", _Time, nullable=False),
        sa.Column("updated", _Time, nullable=False),
        sa.Column("recovered", _Time, nullable=True),
        sa.Column("document", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_abandoned_checkouts"),
        sa.UniqueConstraint("site", "checkout_id", name="uq_abandoned_checkouts_site_checkout_id"),
    )
    op.create_index(
        "ix_abandoned_checkouts_site_created", "abandoned_checkouts", ["site", "created"]
    )
    op.create_table(
        "order_request_ids",
        sa.Column("site", sa.String(200), nullable=False),
        sa.Column("request_id", sa.String(200), nullable=False),
        sa.Column("checkout_id", sa.String(36), nullable=False),
        sa.Column("created", _Time, nullable=False),
        sa.PrimaryKeyConstraint("site", "request_id", name="pk_order_request_ids"),
    )
    op.create_table(
        "leases",
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("owner", sa.String(100), nullable=False),
        sa.Column("expires", _Time, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_leases"),
    )


def downgrade() -> None:
    op.drop_table("leases")
    op.drop_table("order_request_ids")
    op.drop_index("ix_abandoned_checkouts_site_created", table_name="abandoned_checkouts")
    op.drop_table("abandoned_checkouts")
    op.drop_index("ix_placements_step", table_name="placements")
    op.drop_table("placements")
    op.drop_index("ix_checkouts_idle", table_name="checkouts")
    op.drop_table("checkouts")
