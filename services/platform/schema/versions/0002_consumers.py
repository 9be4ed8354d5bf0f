"""platform tables: consumer_positions, consumed_events

Revision ID: platform_0002
Revises: platform_0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "platform_0002"
down_revision: str | Sequence[str] | None = "platform_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_Time = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "consumer_positions",
        sa.Column("consumer", sa.String(200), nullable=False),
        sa.Column("cursor", sa.String(64), nullable=False),
        sa.Column("updated_at", _Time, nullable=False),
        sa.PrimaryKeyConstraint("consumer", name="pk_consumer_positions"),
    )
    op.create_table(
        "consumed_events",
        sa.Column("consumer", sa.String(200), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("consumed_at", _Time, nullable=False),
        sa.PrimaryKeyConstraint("consumer", "event_id", name="pk_consumed_events"),
    )
    op.create_index("ix_consumed_events_consumed_at", "consumed_events", ["consumed_at"])


def downgrade() -> None:
    op.drop_table("consumed_events")
    op.drop_table("consumer_positions")
