"""orders: fixed query-planner statistics for SQLite

SQLite plans queries from the `sqlite_stat1` table, which only ANALYZE fills, and each
connection reads it once, when it opens. Without statistics the planner prefers an index that
avoids sorting over a selective filter's index (SearchOrders by buyer email scanned every order
of the site instead of reading a handful). As SQLite's documentation suggests for applications
that want stable plans ("Manual Control Of Query Plans Using SQLITE_STAT Tables"), this writes
statistics describing the shape the tables are built for (many orders per site, few per buyer,
statuses that each cover a large share): the planner then prefers the filter indexes whenever a
selective filter is present and the sort indexes otherwise, from the first connection on, however
little data there is yet. A later ANALYZE replaces them with measured ones. PostgreSQL keeps its
own statistics (autovacuum), so this revision does nothing there.

Revision ID: orders_0002
Revises: orders_0001
Create Date: 2025-11-26
"""

from collections.abc import Sequence

from alembic import op

revision: str = "orders_0002"
down_revision: str | Sequence[str] | None = "orders_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Per table: its assumed row count, and per index (by its columns) the average number of rows
# that share a value of each leading prefix of those columns (the sqlite_stat1 format).
_STATS: dict[str, tuple[int, dict[tuple[str, ...], tuple[int, ...]]]] = {
    "orders": (
        1_000_000,
        {
            ("id",): (1,),
            ("site", "number"): (100_000, 1),
            ("site", "checkout_id"): (100_000, 1),
            ("site", "created_at", "id"): (100_000, 1, 1),
            ("site", "updated_at", "id"): (100_000, 1, 1),
            ("site", "total_key", "id"): (100_000, 10, 1),
            ("site", "payment_status", "created_at", "id"): (100_000, 25_000, 1, 1),
            ("site", "fulfillment_status", "created_at", "id"): (100_000, 33_000, 1, 1),
            ("site", "buyer_email"): (100_000, 5),
            ("site", "member_id"): (100_000, 5),
            ("site", "visitor_id"): (100_000, 2),
            ("site", "contact_id"): (100_000, 5),
        },
    ),
    "order_tags": (
        300_000,
        {
            ("order_id", "private", "tag"): (3, 2, 1),
            ("site", "private", "tag"): (30_000, 15_000, 1_000),
        },
    ),
    "order_catalog_items": (
        2_000_000,
        {("order_id", "catalog_item_id"): (2, 1), ("site", "catalog_item_id"): (200_000, 100)},
    ),
    "order_payments": (1_000_000, {("id",): (1,), ("order_id", "position"): (1, 1)}),
    "order_refunds": (100_000, {("id",): (1,), ("order_id", "position"): (1, 1)}),
    "order_numbers": (100, {("site",): (1,)}),
    "restock_jobs": (1_000, {("id",): (1,), ("next_attempt_at",): (1,)}),
}


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    bind.exec_driver_sql("ANALYZE")  # creates sqlite_stat1 if the database has none yet
    for table, (rows, by_columns) in _STATS.items():
        bind.exec_driver_sql("DELETE FROM sqlite_stat1 WHERE tbl = ?", (table,))
        bind.exec_driver_sql("INSERT INTO sqlite_stat1 VALUES (?, NULL, ?)", (table, str(rows)))
        # Unique constraints become indexes named by SQLite: find each index by its columns.
        indexes = [row[1] for row in bind.exec_driver_sql(f"PRAGMA index_list('{table}')")]
        for index in indexes:
            columns = tuple(row[2] for row in bind.exec_driver_sql(f"PRAGMA index_info('{index}')"))
            averages = by_columns.get(columns)
            if averages is not None:
                stat = " ".join(str(value) for value in (rows, *averages))
                bind.exec_driver_sql(
                    "INSERT INTO sqlite_stat1 VALUES (?, ?, ?)", (table, index, stat)
                )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    for table in _STATS:
        bind.exec_driver_sql("DELETE FROM sqlite_stat1 WHERE tbl = ?", (table,))
