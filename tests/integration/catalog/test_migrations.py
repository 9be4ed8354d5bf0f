"""The catalog's Alembic chain builds exactly the tables `services.providers.catalog.tables`
declares."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from services.platform.db import Database
from services.platform.migrations import migrate
from services.providers.catalog import MODULE
from services.providers.catalog.tables import metadata


async def test_catalog_tables_match_their_migrations(database: Database) -> None:
    assert MODULE.migrations is not None
    await migrate(database, MODULE.migrations)
    await migrate(database, MODULE.migrations)  # a second start finds it at head

    def differences(conn: Connection) -> list[object]:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        # The platform's tables and Alembic's version tables are not the catalog's to declare.
        return [
            diff
            for diff in compare_metadata(context, metadata)
            if any(f"'{name}'" in repr(diff) for name in metadata.tables)
        ]

    async with database.connection() as conn:
        assert await conn.run_sync(differences) == []
    assert sorted(metadata.tables) == [
        "products",
        "reservation_lines",
        "reservations",
        "stock",
        "variants",
    ]
