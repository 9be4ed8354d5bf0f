"""The checkout service's Alembic chain builds exactly the tables `tables.py` declares."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from services.checkout import MODULE
from services.checkout.tables import metadata
from services.platform.db import Database
from services.platform.migrations import migrate

pytestmark = pytest.mark.integration


async def test_checkout_tables_match_their_migrations(database: Database) -> None:
    assert MODULE.migrations is not None
    await migrate(database, MODULE.migrations)
    await migrate(database, MODULE.migrations)  # a second start finds it at head
    ours = set(metadata.tables)

    def differences(conn: Connection) -> list[object]:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return [
            diff
            for diff in compare_metadata(context, metadata)
            if any(t in repr(diff) for t in ours)
        ]

    async with database.connection() as conn:
        assert await conn.run_sync(differences) == []
    assert sorted(ours) == [
        "abandoned_checkouts",
        "checkouts",
        "leases",
        "order_request_ids",
        "placements",
    ]
