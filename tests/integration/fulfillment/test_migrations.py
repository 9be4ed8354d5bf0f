"""The fulfillment service's Alembic chain builds exactly the tables `tables.py` declares."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from services.fulfillment import MODULE
from services.fulfillment.tables import metadata
from services.platform.db import Database
from services.platform.migrations import migrate

pytestmark = pytest.mark.integration


async def test_fulfillment_tables_match_their_migrations(database: Database) -> None:
    assert MODULE.migrations is not None
    await migrate(database, MODULE.migrations)
    await migrate(database, MODULE.migrations)  # a second start finds it at head
    ours = set(metadata.tables)

    def differences(conn: Connection) -> list[object]:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        # The platform's tables and Alembic's version tables are not ours to declare.
        return [
            diff
            for diff in compare_metadata(context, metadata)
            if any(t in repr(diff) for t in ours)
        ]

    async with database.connection() as conn:
        assert await conn.run_sync(differences) == []
    assert sorted(ours) == ["fulfillment_line_items", "fulfillment_orders", "fulfillments"]
