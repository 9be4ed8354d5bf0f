"""The discounts Alembic chain builds exactly the tables `services.discounts.tables` declares, on
SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from services.discounts import MODULE
from services.discounts.tables import metadata
from services.platform.db import Database
from services.platform.migrations import migrate


async def test_discounts_tables_match_their_migrations(database: Database) -> None:
    assert MODULE.migrations is not None
    await migrate(database, MODULE.migrations)
    await migrate(database, MODULE.migrations)  # a second start finds it at head

    def differences(conn: Connection) -> list[object]:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        # Only our tables: the platform's and Alembic's are not ours to declare.
        return [
            diff
            for diff in compare_metadata(context, metadata)
            if any(name in repr(diff) for name in metadata.tables)
        ]

    async with database.connection() as conn:
        assert await conn.run_sync(differences) == []
