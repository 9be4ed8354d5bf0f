"""The orders service's Alembic chain builds exactly the tables `services.orders.tables` declares,
on each backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from services.orders import MODULE
from services.orders.tables import metadata
from services.platform.db import Database
from services.platform.migrations import migrate
from services.platform.schema.tables import metadata as platform_metadata


async def test_orders_tables_match_their_migrations(database: Database) -> None:
    assert MODULE.migrations is not None
    await migrate(database, MODULE.migrations)
    await migrate(database, MODULE.migrations)  # a second start finds it at head
    ours = set(metadata.tables)

    def differences(conn: Connection) -> list[object]:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        found = []
        for diff in compare_metadata(context, metadata):
            # The platform's and Alembic's tables are not ours to declare.
            if not any(name in repr(diff) for name in platform_metadata.tables) and (
                "alembic_version" not in repr(diff)
            ):
                found.append(diff)
        return found

    async with database.connection() as conn:
        assert await conn.run_sync(differences) == []
    assert ours == {
        "orders",
        "order_numbers",
        "order_payments",
        "order_refunds",
        "order_tags",
        "order_catalog_items",
        "restock_jobs",
    }
