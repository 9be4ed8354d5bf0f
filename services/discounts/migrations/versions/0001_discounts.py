"""discounts: rules, rule apps, coupons, settings, reservations, holds, usage records

Revision ID: discounts_0001
Revises:
Create Date: 2025-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "discounts_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_Time = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "discount_rules",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("site", sa.String(200), nullable=False),
        sa.Column("name_key", sa.String(400), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("start_at", _Time, nullable=True),
        sa.Column("end_at", _Time, nullable=True),
        sa.Column("usage_limit", sa.Integer(), nullable=True),
        sa.Column("usage_count", sa.BigInteger(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.Column("document", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", _Time, nullable=False),
        sa.Column("updated_at", _Time, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_discount_rules"),
    )
    op.create_index(
        "ix_discount_rules_site_created", "discount_rules", ["site", "created_at", "id"]
    )
    op.create_index("ix_discount_rules_site_name", "discount_rules", ["site", "name_key", "id"])
    op.create_index(
        "ix_discount_rules_site_updated", "discount_rules", ["site", "updated_at", "id"]
    )

    op.create_table(
        "discount_rule_apps",
        sa.Column("rule_id", sa.String(36), nullable=False),
        sa.Column("app_id", sa.String(200), nullable=False),
        sa.Column("site", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("rule_id", "app_id", name="pk_discount_rule_apps"),
    )
    op.create_index("ix_discount_rule_apps_site_app", "discount_rule_apps", ["site", "app_id"])

    op.create_table(
        "coupons",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("site", sa.String(200), nullable=False),
        sa.Column("code", sa.String(100), nullable=False),
        sa.Column("code_key", sa.String(200), nullable=False),
        sa.Column("name_key", sa.String(400), nullable=False),
        sa.Column("kind", sa.SmallInteger(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("start_at", _Time, nullable=True),
        sa.Column("expiration_at", _Time, nullable=True),
        sa.Column("expiration_key", _Time, nullable=False),
        sa.Column("usage_limit", sa.Integer(), nullable=True),
        sa.Column("number_of_usages", sa.BigInteger(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.Column("document", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", _Time, nullable=False),
        sa.Column("updated_at", _Time, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_coupons"),
        sa.UniqueConstraint("site", "code_key", name="uq_coupons_site_code_key"),
    )
    op.create_index("ix_coupons_site_created", "coupons", ["site", "created_at", "id"])

    op.create_table(
        "discount_settings",
        sa.Column("site", sa.String(200), nullable=False),
        sa.Column("stacking_policy", sa.SmallInteger(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", _Time, nullable=True),
        sa.Column("definitions_version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("site", name="pk_discount_settings"),
    )

    op.create_table(
        "discount_reservations",
        sa.Column("site", sa.String(200), nullable=False),
        sa.Column("reservation_id", sa.String(200), nullable=False),
        sa.Column("state", sa.SmallInteger(), nullable=False),
        sa.Column("rule_ids", sa.JSON(), nullable=False),
        sa.Column("coupon_id", sa.String(36), nullable=True),
        sa.Column("coupon_code", sa.String(100), nullable=False),
        sa.Column("order_id", sa.String(200), nullable=True),
        sa.Column("expires_at", _Time, nullable=False),
        sa.Column("created_at", _Time, nullable=False),
        sa.Column("updated_at", _Time, nullable=False),
        sa.PrimaryKeyConstraint("site", "reservation_id", name="pk_discount_reservations"),
    )

    op.create_table(
        "discount_holds",
        sa.Column("site", sa.String(200), nullable=False),
        sa.Column("reservation_id", sa.String(200), nullable=False),
        sa.Column("kind", sa.SmallInteger(), nullable=False),
        sa.Column("target_id", sa.String(36), nullable=False),
        sa.Column("expires_at", _Time, nullable=False),
        sa.PrimaryKeyConstraint(
            "site", "reservation_id", "kind", "target_id", name="pk_discount_holds"
        ),
    )
    op.create_index(
        "ix_discount_holds_target", "discount_holds", ["site", "kind", "target_id", "expires_at"]
    )

    op.create_table(
        "discount_usage_records",
        sa.Column("site", sa.String(200), nullable=False),
        sa.Column("order_id", sa.String(200), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("response", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", _Time, nullable=False),
        sa.PrimaryKeyConstraint("site", "order_id", name="pk_discount_usage_records"),
    )


def downgrade() -> None:
    op.drop_table("discount_usage_records")
    op.drop_index("ix_discount_holds_target", table_name="discount_holds")
    op.drop_table("discount_holds")
    op.drop_table("discount_reservations")
    op.drop_table("discount_settings")
    op.drop_index("ix_coupons_site_created", table_name="coupons")
    op.drop_table("coupons")
    op.drop_index("ix_discount_rule_apps_site_app", table_name="discount_rule_apps")
    op.drop_table("discount_rule_apps")
    op.drop_index("ix_discount_rules_site_updated", table_name="discount_rules")
    op.drop_index("ix_discount_rules_site_name", table_name="discount_rules")
    op.drop_index("ix_discount_rules_site_created", table_name="discount_rules")
    op.drop_table("discount_rules")
