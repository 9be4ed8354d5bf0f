"""The recommendations service's Alembic chain builds exactly the tables
`services.recommendations.tables` declares, on each backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from services.platform.db import Database
from services.platform.migrations import migrate
from services.platform.schema.tables import metadata as platform_metadata
from services.recommendations import MODULE
from services.recommendations.tables import metadata


async def test_recommendations_tables_match_their_migrations(database: Database) -> None:
    assert MODULE.migrations is not None
    await migrate(database, MODULE.migrations)
    await migrate(database, MODULE.migrations)  # a second start finds it at head

    def differences(conn: Connection) -> list[object]:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return [
            diff
            for diff in compare_metadata(context, metadata)
            if not any(name in repr(diff) for name in platform_metadata.tables)
            and "alembic_version" not in repr(diff)
        ]

    async with database.connection() as conn:
        assert await conn.run_sync(differences) == []
    assert set(metadata.tables) == {
        "counted_orders",
        "order_items",
        "item_sales",
        "item_pairs",
        "item_variants",
    }
