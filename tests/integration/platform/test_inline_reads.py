"""Read-only units of work on SQLite run on the event loop's thread; the database's data
version; and the read cache built on it."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, String, Table, func, insert, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from services.platform.db import Database, new_metadata
from services.platform.read_cache import ReadCache
from tests.helpers import longest_event_loop_stall, sqlite_lock_held

metadata = new_metadata()
items = Table(
    "items",
    metadata,
    Column("name", String(50), primary_key=True),
    Column("value", Integer, nullable=False),
)
#: A read that takes far longer than the inline budget (a few milliseconds).
LONG_READ = text(
    "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 2000000) "
    "SELECT count(*) FROM n"
)


async def _prepared(database: Database) -> Database:
    async with database.connection() as conn:
        await conn.run_sync(metadata.create_all)
    await database.run(lambda s: s.execute(insert(items).values(name="a", value=1)))
    return database


@pytest.fixture
async def db(database: Database) -> Database:
    return await _prepared(database)


@pytest.fixture
async def lite(tmp_path: Path, service_name: str) -> AsyncIterator[Database]:
    database = Database.sqlite(tmp_path / "lite.db", service_name)
    try:
        yield await _prepared(database)
    finally:
        await database.dispose()


async def _value(db: Database, name: str = "a") -> int:
    async def read(session: AsyncSession) -> int:
        found = await session.scalar(select(items.c.value).where(items.c.name == name))
        return int(found or 0)

    return await db.run(read, readonly=True)


async def _insert(session: AsyncSession, *, name: str, value: int) -> None:
    await session.execute(insert(items).values(name=name, value=value))


async def _set(db: Database, value: int, name: str = "a") -> None:
    await db.run(lambda s: s.execute(update(items).where(items.c.name == name).values(value=value)))


async def test_reads_see_every_commit_at_once(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, "ecom.db")
    assert await _value(db) == 1
    await _set(db, 2)
    assert await _value(db) == 2
    assert not _moved_to_a_thread(caplog)  # short reads stay on the event loop's thread


def _moved_to_a_thread(caplog: pytest.LogCaptureFixture) -> bool:
    return any("moves to the threaded driver" in r.getMessage() for r in caplog.records)


async def test_a_long_read_completes_without_stalling_the_event_loop(
    lite: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, "ecom.db")
    async with longest_event_loop_stall() as stalls:
        started = time.perf_counter()
        count = await lite.run(lambda s: s.scalar(LONG_READ), readonly=True)
        took = time.perf_counter() - started
    assert count == 2_000_000
    assert _moved_to_a_thread(caplog)
    # The inline attempt gives up after its budget (5 ms); the rest runs on a thread. The
    # bound is loose for slow machines, and far below the time the whole read takes.
    assert stalls[0] < max(0.1, took / 4), (stalls[0], took)


async def test_a_read_that_swallows_the_interruption_is_still_run_in_full(lite: Database) -> None:
    async def read(session: AsyncSession) -> int:
        try:
            return int(await session.scalar(LONG_READ) or 0)
        except DBAPIError:
            return -1  # what a careless unit of work would answer

    assert await lite.run(read, readonly=True) == 2_000_000


def _exclusive_lock(
    path: Path, held: threading.Event, release: threading.Event
) -> contextlib.AbstractContextManager[None]:
    """Another connection holding an EXCLUSIVE lock on a rollback-journal database: readers
    must wait for it (they never do in WAL mode)."""
    return sqlite_lock_held(path, "BEGIN EXCLUSIVE", "UPDATE items SET value = 5", held, release)


async def test_a_read_that_would_wait_for_a_lock_waits_on_a_thread(
    tmp_path: Path, service_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, "ecom.db")
    path = tmp_path / "journal.db"
    setup = sqlite3.connect(path, isolation_level=None)
    setup.execute("CREATE TABLE items (name VARCHAR(50) PRIMARY KEY, value INTEGER NOT NULL)")
    setup.execute("INSERT INTO items VALUES ('a', 1)")
    setup.close()
    db = Database.sqlite(path, service_name)
    held, release = threading.Event(), threading.Event()
    try:
        with _exclusive_lock(path, held, release):
            assert await asyncio.to_thread(held.wait, 10)
            async with longest_event_loop_stall() as stalls:
                reading = asyncio.create_task(_value(db))
                await asyncio.sleep(0.2)
                assert not reading.done()  # waiting for the lock, on a thread
                assert await db.data_version() is None  # cannot tell: nothing may be cached
                release.set()
                assert await reading == 5
            assert stalls[0] < 0.1
        assert _moved_to_a_thread(caplog)
    finally:
        await db.dispose()


async def test_data_version_moves_with_commits_of_other_connections(
    db: Database, tmp_path: Path, database_backend: str, service_name: str
) -> None:
    if database_backend != "sqlite":
        assert await db.data_version() is None
        return
    first = await db.data_version()
    assert first is not None
    assert await _value(db) == 1
    assert await db.data_version() == first  # reads change nothing
    await _set(db, 2)
    second = await db.data_version()
    assert second != first
    # Another Database on the same file stands for another process.
    assert db.sqlite_path is not None
    other = Database.sqlite(db.sqlite_path, service_name)
    try:
        await _set(other, 3)
    finally:
        await other.dispose()
    assert await db.data_version() not in (first, second)


async def test_read_cache_serves_only_the_current_version(
    db: Database, database_backend: str
) -> None:
    cache: ReadCache[str, int] = ReadCache(db)
    version = await cache.version()
    await cache.put(version, "a", await _value(db))
    if database_backend != "sqlite":
        assert version is None and cache.get(await cache.version(), "a") is None
        return
    assert cache.get(await cache.version(), "a") == 1
    await _set(db, 2)
    assert cache.get(await cache.version(), "a") is None


async def test_read_cache_keeps_nothing_read_across_a_commit(lite: Database) -> None:
    cache: ReadCache[str, int] = ReadCache(lite)
    version = await cache.version()
    value = await _value(lite)
    await _set(lite, 7)  # lands between the read and the put: the value may be stale
    await cache.put(version, "a", value)
    assert cache.get(version, "a") is None
    assert cache.get(await cache.version(), "a") is None


async def test_read_cache_forgets_the_least_recently_used(lite: Database) -> None:
    cache: ReadCache[str, int] = ReadCache(lite, max_entries=2)
    version = await cache.version()
    await cache.put_many(version, [("a", 1), ("b", 2)])
    assert cache.get(version, "a") == 1  # b is now the least recently used
    await cache.put(version, "c", 3)
    assert [cache.get(version, k) for k in ("a", "b", "c")] == [1, None, 3]


async def test_concurrent_reads_and_writes_stay_consistent(lite: Database) -> None:
    """Inline reads interleave with threaded writers: every read sees a committed state."""

    async def writer() -> None:
        for n in range(50):
            await lite.run(functools.partial(_insert, name=f"w{n}", value=n))

    async def reader() -> list[int]:
        seen = []
        for _ in range(50):

            async def count(session: AsyncSession) -> tuple[int, int]:
                rows = await session.scalar(select(func.count()).select_from(items))
                total = await session.scalar(select(func.coalesce(func.sum(items.c.value), 0)))
                return int(rows or 0), int(total or 0)

            rows, total = await lite.run(count, readonly=True)
            # Rows w0..w(k-1) plus "a" (value 1): the sum must match the count exactly.
            assert total == 1 + (rows - 1) * (rows - 2) // 2
            seen.append(rows)
            await asyncio.sleep(0)
        return seen

    _, seen = await asyncio.gather(writer(), reader())
    assert seen == sorted(seen)
    assert (
        await lite.run(lambda s: s.scalar(select(func.count()).select_from(items)), readonly=True)
        == 51
    )
