"""The write path of `Database.run`: short SQLite writes on the event loop's thread (and what
happens when one is not short, or has to wait for another process), the checkpoints they leave
to a thread, and PostgreSQL's pooled connections checked only after sitting idle."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Column, Integer, Result, String, Table, func, insert, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from services.platform import db as db_module
from services.platform import sqlite_inline
from services.platform.config import load_config
from services.platform.db import Database, new_metadata
from tests.helpers import longest_event_loop_stall, sqlite_lock_held

metadata = new_metadata()
items = Table(
    "write_items",
    metadata,
    Column("name", String(50), primary_key=True),
    Column("value", Integer, nullable=False),
)
#: A write that takes far longer than the inline budget (a few milliseconds).
LONG_WRITE = text(
    "INSERT INTO write_items (name, value) "
    "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 200000) "
    "SELECT 'bulk-' || x, x FROM n"
)


@pytest.fixture
async def lite(tmp_path: Path, service_name: str) -> AsyncIterator[Database]:
    database = Database.sqlite(tmp_path / "lite.db", service_name)
    async with database.connection() as conn:
        await conn.run_sync(metadata.create_all)
    await database.run(lambda s: s.execute(insert(items).values(name="a", value=1)))
    try:
        yield database
    finally:
        await database.dispose()


def _moved_to_a_thread(caplog: pytest.LogCaptureFixture) -> bool:
    return any("write unit of work moves" in r.getMessage() for r in caplog.records)


async def _count(db: Database, prefix: str) -> int:
    stmt = select(func.count()).select_from(items).where(items.c.name.like(f"{prefix}%"))
    counted: int | None = await db.run(lambda s: s.scalar(stmt), readonly=True)
    return int(counted or 0)


async def test_short_writes_run_inline_and_commit(
    lite: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, "ecom.db")

    async def bump(session: AsyncSession) -> int:
        value = int(await session.scalar(select(items.c.value).where(items.c.name == "a")) or 0)
        await session.execute(update(items).where(items.c.name == "a").values(value=value + 1))
        return value + 1

    assert [await lite.run(bump) for _ in range(3)] == [2, 3, 4]
    assert await lite.run(lambda s: s.scalar(select(items.c.value)), readonly=True) == 4
    assert not _moved_to_a_thread(caplog)


async def test_concurrent_inline_writes_never_lose_an_update(lite: Database) -> None:
    async def bump(session: AsyncSession) -> None:
        value = int(await session.scalar(select(items.c.value).where(items.c.name == "a")) or 0)
        await asyncio.sleep(0)  # let the other writers try to interleave
        await session.execute(update(items).where(items.c.name == "a").values(value=value + 1))

    await asyncio.gather(*(lite.run(bump) for _ in range(40)))
    assert await lite.run(lambda s: s.scalar(select(items.c.value)), readonly=True) == 41


async def test_a_failed_inline_write_rolls_back(lite: Database) -> None:
    async def half(session: AsyncSession) -> None:
        await session.execute(insert(items).values(name="half", value=1))
        raise RuntimeError("the unit of work fails after its first write")

    with pytest.raises(RuntimeError):
        await lite.run(half)
    assert await _count(lite, "half") == 0


async def test_a_long_write_completes_on_a_thread_without_stalling_the_loop(
    lite: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, "ecom.db")
    async with longest_event_loop_stall() as stalls:
        started = time.perf_counter()
        await lite.run(lambda s: s.execute(LONG_WRITE))
        took = time.perf_counter() - started
    assert await _count(lite, "bulk-") == 200_000
    assert _moved_to_a_thread(caplog)
    # The inline attempt gives up after its budget (5 ms) and rolls back; the rest runs on a
    # thread. Loose bound for slow machines, far below the time the whole write takes.
    assert stalls[0] < max(0.1, took / 4), (stalls[0], took)


async def test_a_write_that_swallows_the_interruption_commits_nothing_of_that_attempt(
    lite: Database,
) -> None:
    attempts = []

    async def careless(session: AsyncSession) -> None:
        attempts.append(1)
        await session.execute(insert(items).values(name=f"marker-{len(attempts)}", value=0))
        with contextlib.suppress(DBAPIError):
            await session.execute(LONG_WRITE)  # interrupted inline: a careless unit goes on
        await session.execute(insert(items).values(name=f"after-{len(attempts)}", value=0))

    await lite.run(careless)
    # The inline attempt (1) was rolled back whole; the threaded one (2) committed in full.
    assert len(attempts) == 2
    assert await _count(lite, "marker-") == 1 and await _count(lite, "marker-2") == 1
    assert await _count(lite, "after-") == 1 and await _count(lite, "after-2") == 1
    assert await _count(lite, "bulk-") == 200_000


def _other_writer(
    path: Path, held: threading.Event, release: threading.Event
) -> contextlib.AbstractContextManager[None]:
    """Another process's writer (another connection): holds the write lock until released."""
    return sqlite_lock_held(
        path,
        "BEGIN IMMEDIATE",
        "UPDATE write_items SET value = 100 WHERE name = 'a'",
        held,
        release,
    )


async def test_a_write_that_would_wait_for_another_writer_waits_on_a_thread(
    lite: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, "ecom.db")
    path = lite.sqlite_path
    assert path is not None
    held, release = threading.Event(), threading.Event()

    async def bump(session: AsyncSession) -> None:
        value = int(await session.scalar(select(items.c.value).where(items.c.name == "a")) or 0)
        await session.execute(update(items).where(items.c.name == "a").values(value=value + 1))

    with _other_writer(path, held, release):
        assert await asyncio.to_thread(held.wait, 10)
        async with longest_event_loop_stall() as stalls:
            writing = asyncio.create_task(lite.run(bump))
            await asyncio.sleep(0.2)
            assert not writing.done()  # waiting for the other writer, on a thread
            release.set()
            await writing
        assert stalls[0] < 0.1
    assert _moved_to_a_thread(caplog)
    # Ran after the other writer's commit, on its value: no lost update across processes.
    assert await lite.run(lambda s: s.scalar(select(items.c.value)), readonly=True) == 101


async def test_inline_writes_leave_checkpoints_to_a_thread(
    lite: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_inline, "CHECKPOINT_EVERY", 5)
    threads: list[str] = []
    real = sqlite_inline.InlineSQLite._run_checkpoint

    def spy(self: sqlite_inline.InlineSQLite) -> None:
        threads.append(threading.current_thread().name)
        real(self)

    monkeypatch.setattr(sqlite_inline.InlineSQLite, "_run_checkpoint", spy)

    def insert_row(n: int) -> Callable[[AsyncSession], Awaitable[Result[Any]]]:
        return lambda s: s.execute(insert(items).values(name=f"c{n}", value=n))

    for n in range(10):
        await lite.run(insert_row(n))
    await lite.dispose()  # waits for a checkpoint in flight
    assert threads and threading.main_thread().name not in threads
    assert await _count(lite, "c") == 10


async def test_a_postgres_connection_that_died_while_idle_is_replaced(
    postgres_url: str, service_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db_module, "PG_PING_AFTER_IDLE_S", 0.2)
    database = Database.for_service(load_config({"ECOM_DATABASE_URL": postgres_url}), service_name)

    async def backend_pid(session: AsyncSession) -> int:
        return int(await session.scalar(text("SELECT pg_backend_pid()")) or 0)

    try:
        first = await database.run(backend_pid)
        assert await database.run(backend_pid) == first  # in steady use: the same connection
        await asyncio.sleep(0.3)
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (first,))
        # Idle past the threshold: pinged, found dead, replaced; the unit of work never fails.
        assert await database.run(backend_pid) not in (0, first)
    finally:
        await database.dispose()
