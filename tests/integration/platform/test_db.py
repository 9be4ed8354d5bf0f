"""Database: unit of work, conflict retries, locking and types on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import aiosqlite
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from services.platform import errors
from services.platform.config import load_config
from services.platform.db import (
    Database,
    UtcDateTime,
    for_update,
    new_metadata,
    postgres_url,
)
from services.platform.migrations import migrate

metadata: MetaData = new_metadata()
counters = Table(
    "counters",
    metadata,
    Column("name", String(50), primary_key=True),
    Column("value", Integer, nullable=False),
)
stamps = Table(
    "stamps",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UtcDateTime, nullable=False),
)


async def _with_counters(database: Database) -> Database:
    async with database.connection() as conn:
        await conn.run_sync(metadata.create_all)
    await database.run(lambda s: s.execute(insert(counters).values(name="a", value=0)))
    return database


@pytest.fixture
async def db(database: Database) -> Database:
    return await _with_counters(database)


@pytest.fixture
async def pg_db(postgres_url: str, tmp_path: Path, service_name: str) -> AsyncIterator[Database]:
    """PostgreSQL only: conflicts that SQLite's serialized writers cannot produce."""
    config = load_config({"ECOM_DATA_DIR": str(tmp_path), "ECOM_DATABASE_URL": postgres_url})
    database = Database.for_service(config, service_name)
    await migrate(database, None)
    try:
        yield await _with_counters(database)
    finally:
        async with database.connection() as conn:
            await conn.exec_driver_sql(f'DROP SCHEMA "{database.schema}" CASCADE')
        await database.dispose()


async def _value(db: Database, name: str = "a") -> int:
    async def read(session: AsyncSession) -> int:
        return int(
            (
                await session.execute(select(counters.c.value).where(counters.c.name == name))
            ).scalar_one()
        )

    return await db.run(read, readonly=True)


async def test_transaction_commits_on_success_and_rolls_back_on_error(db: Database) -> None:
    async with db.transaction() as session:
        await session.execute(update(counters).values(value=1))
    with pytest.raises(RuntimeError, match="boom"):
        async with db.transaction() as session:
            await session.execute(update(counters).values(value=2))
            await session.execute(insert(counters).values(name="b", value=5))
            raise RuntimeError("boom")
    assert await _value(db) == 1
    rows = await db.run(lambda s: s.execute(select(counters.c.name)), readonly=True)
    assert [r.name for r in rows] == ["a"]


async def test_run_rolls_back_a_domain_error_without_retrying(db: Database) -> None:
    calls = 0

    async def refuse(session: AsyncSession) -> None:
        nonlocal calls
        calls += 1
        await session.execute(update(counters).values(value=7))
        raise errors.FailedPrecondition("NOPE", "refused")

    with pytest.raises(errors.FailedPrecondition):
        await db.run(refuse)
    assert calls == 1
    assert await _value(db) == 0


async def test_concurrent_read_modify_write_loses_no_update(db: Database) -> None:
    async def increment(session: AsyncSession) -> None:
        stmt = for_update(session, select(counters.c.value).where(counters.c.name == "a"))
        value = (await session.execute(stmt)).scalar_one()
        await asyncio.sleep(0)  # let the other writers run in between read and write
        await session.execute(update(counters).values(value=value + 1))

    await asyncio.gather(*(db.run(increment) for _ in range(25)))
    assert await _value(db) == 25


async def test_readonly_transaction_does_not_wait_for_a_writer(db: Database) -> None:
    writing = asyncio.Event()
    release = asyncio.Event()

    async def slow_write(session: AsyncSession) -> None:
        await session.execute(update(counters).values(value=3))
        writing.set()
        await release.wait()

    writer = asyncio.create_task(db.run(slow_write))
    await asyncio.wait_for(writing.wait(), 5)
    assert await asyncio.wait_for(_value(db), 5) == 0  # sees the last committed state
    release.set()
    await writer
    assert await _value(db) == 3


async def test_readonly_transaction_refuses_writes_on_postgres(pg_db: Database) -> None:
    with pytest.raises(DBAPIError, match="read-only"):
        await pg_db.run(lambda s: s.execute(update(counters).values(value=9)), readonly=True)
    assert await _value(pg_db) == 0


async def test_utc_datetime_round_trips_aware_utc(db: Database) -> None:
    local = datetime(2025, 1, 2, 3, 4, 5, 123456, tzinfo=timezone(timedelta(hours=2)))
    await db.run(lambda s: s.execute(insert(stamps).values(id=1, at=local)))
    stored = await db.run(lambda s: s.execute(select(stamps.c.at)))
    value = stored.scalar_one()
    assert value.tzinfo is not None
    assert value == local
    assert value.utcoffset() == timedelta(0)
    with pytest.raises(Exception, match="timezone-aware"):
        await db.run(lambda s: s.execute(insert(stamps).values(id=2, at=datetime(2025, 1, 1))))


async def test_ping_and_dialect(db: Database, database_backend: str) -> None:
    assert db.dialect == database_backend
    assert await db.ping()


async def test_ping_reports_an_unreachable_database(tmp_path: Path) -> None:
    config = load_config(
        {"ECOM_DATA_DIR": str(tmp_path), "ECOM_DATABASE_URL": "postgres://x@127.0.0.1:1/none"}
    )
    db = Database.for_service(config, "unreachable")
    try:
        assert not await db.ping(timeout_s=5)
    finally:
        await db.dispose()


def test_postgres_urls_use_psycopg() -> None:
    assert postgres_url("postgres://u:p@h:5/db").render_as_string(False) == (
        "postgresql+psycopg://u:p@h:5/db"
    )
    assert postgres_url("postgresql+asyncpg://h/db").drivername == "postgresql+psycopg"
    with pytest.raises(ValueError, match="PostgreSQL"):
        postgres_url("mysql://h/db")


def test_sqlite_file_lives_in_the_data_dir(tmp_path: Path) -> None:
    db = Database.for_service(load_config({"ECOM_DATA_DIR": str(tmp_path / "d")}), "cart")
    assert db.dialect == "sqlite"
    assert db.sqlite_path == tmp_path / "d" / "cart.db"
    with pytest.raises(ValueError, match="identifier"):
        Database.for_service(load_config({"ECOM_DATA_DIR": str(tmp_path)}), "Cart; drop")


async def test_postgres_service_tables_live_in_its_own_schema(
    postgres_url: str, tmp_path: Path, service_name: str
) -> None:
    db = Database.for_service(
        load_config({"ECOM_DATA_DIR": str(tmp_path), "ECOM_DATABASE_URL": postgres_url}),
        service_name,
    )
    try:
        async with db.connection() as conn:
            await conn.exec_driver_sql(f'CREATE SCHEMA "ecom_{service_name}"')
            await conn.run_sync(metadata.create_all)
        rows = await db.run(
            lambda s: s.execute(
                text(
                    "SELECT table_schema FROM information_schema.tables WHERE table_name='counters'"
                )
            )
        )
        assert f"ecom_{service_name}" in {r.table_schema for r in rows}
    finally:
        async with db.connection() as conn:
            await conn.exec_driver_sql(f'DROP SCHEMA "ecom_{service_name}" CASCADE')
        await db.dispose()


async def test_postgres_serialization_failure_is_retried(pg_db: Database) -> None:
    db = pg_db
    both_read = asyncio.Event()
    readers = 0
    attempts = 0

    async def increment(session: AsyncSession) -> None:
        nonlocal readers, attempts
        attempts += 1
        value = (await session.execute(select(counters.c.value))).scalar_one()
        readers += 1
        if readers >= 2:
            both_read.set()
        await asyncio.wait_for(both_read.wait(), 5)
        await session.execute(update(counters).values(value=value + 1))

    await asyncio.gather(
        db.run(increment, isolation="REPEATABLE READ"),
        db.run(increment, isolation="REPEATABLE READ"),
    )
    assert await _value(db) == 2  # without the retry, one increment would be lost or fail
    assert attempts == 3


async def test_postgres_deadlock_is_retried(pg_db: Database) -> None:
    db = pg_db
    await db.run(lambda s: s.execute(insert(counters).values(name="b", value=0)))
    both_locked = asyncio.Event()
    locked = 0
    attempts = 0

    def crosswise(first: str, second: str):  # type: ignore[no-untyped-def]
        async def work(session: AsyncSession) -> None:
            nonlocal locked, attempts
            attempts += 1
            # Detect the deadlock quickly instead of after the default second.
            await session.execute(text("SET LOCAL deadlock_timeout = '20ms'"))
            await session.execute(
                update(counters).where(counters.c.name == first).values(value=counters.c.value + 1)
            )
            locked += 1
            if locked >= 2:
                both_locked.set()
            await asyncio.wait_for(both_locked.wait(), 5)
            await session.execute(
                update(counters).where(counters.c.name == second).values(value=counters.c.value + 1)
            )

        return work

    await asyncio.gather(db.run(crosswise("a", "b")), db.run(crosswise("b", "a")))
    assert await _value(db, "a") == 2
    assert await _value(db, "b") == 2
    assert attempts == 3


async def _hold_sqlite_write_lock(path: Path, hold_s: float, locked: asyncio.Event) -> None:
    async with aiosqlite.connect(path, isolation_level=None) as other:
        await other.execute("BEGIN IMMEDIATE")
        locked.set()
        await asyncio.sleep(hold_s)
        await other.execute("COMMIT")


async def test_sqlite_busy_is_retried_until_the_lock_is_free(
    tmp_path: Path, service_name: str
) -> None:
    db = Database.sqlite(tmp_path / "busy.db", service_name, busy_timeout_ms=30)
    try:
        async with db.connection() as conn:
            await conn.run_sync(metadata.create_all)
        locked = asyncio.Event()
        holder = asyncio.create_task(_hold_sqlite_write_lock(tmp_path / "busy.db", 0.15, locked))
        await locked.wait()
        await db.run(lambda s: s.execute(insert(counters).values(name="a", value=1)), retries=20)
        await holder
        assert await _value(db) == 1
    finally:
        await db.dispose()


async def test_conflict_after_retries_are_exhausted(tmp_path: Path, service_name: str) -> None:
    db = Database.sqlite(tmp_path / "busy.db", service_name, busy_timeout_ms=20)
    try:
        async with db.connection() as conn:
            await conn.run_sync(metadata.create_all)
        locked = asyncio.Event()
        holder = asyncio.create_task(_hold_sqlite_write_lock(tmp_path / "busy.db", 0.5, locked))
        await locked.wait()
        with pytest.raises(errors.Conflict) as caught:
            await db.run(lambda s: s.execute(insert(counters).values(name="a", value=1)), retries=1)
        assert caught.value.reason == "TRANSACTION_CONFLICT"
        await holder
    finally:
        await db.dispose()


async def test_commit_listeners_hear_marked_commits_only(db: Database) -> None:
    from services.platform.db import notify_on_commit

    heard: list[str] = []
    remove = db.add_commit_listener(lambda: heard.append("commit"))

    async def marked(session: AsyncSession) -> None:
        await session.execute(update(counters).values(value=1))
        notify_on_commit(session)

    await db.run(lambda s: s.execute(update(counters).values(value=2)))
    assert heard == []
    await db.run(marked)
    assert heard == ["commit"]
    with pytest.raises(RuntimeError):
        async with db.transaction() as session:
            notify_on_commit(session)
            raise RuntimeError("rolled back")
    assert heard == ["commit"]
    remove()
    await db.run(marked)
    assert heard == ["commit"]


def test_utc_now_is_aware() -> None:
    from services.platform.db import utcnow

    assert utcnow().tzinfo is UTC
