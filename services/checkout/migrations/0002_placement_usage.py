"""checkout: the discount usage a placement holds, and whether recording it is owed

Revision ID: checkout_0002
Revises: checkout_0001
Create Date: 2026-01-20
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "checkout_0002"
down_revision: str | Sequence[str] | None = "checkout_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Batch mode: SQLite cannot alter a table in place (it is rebuilt); PostgreSQL alters it.
    with op.batch_alter_table("placements") as batch:
        batch.add_column(sa.Column("usage", sa.JSON(), nullable=True))
        batch.add_column(
            sa.Column("record_pending", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("placements") as batch:
        batch.drop_column("record_pending")
        batch.drop_column("usage")
