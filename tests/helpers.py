"""Small helpers shared by tests."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

from services.platform.config import Config
from services.platform.db import Database
from services.platform.migrations import migrate


async def eventually(
    check: Callable[[], Awaitable[bool]], timeout_s: float = 10.0, interval_s: float = 0.01
) -> None:
    """Wait until `check()` is true; fail the test when it is not within `timeout_s`.

    For conditions another task or process brings about with nothing to await on."""
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not reached within {timeout_s}s")
        await asyncio.sleep(interval_s)


@contextlib.asynccontextmanager
async def longest_event_loop_stall() -> AsyncIterator[list[float]]:
    """Measures (into the yielded list's one item) the longest time the event loop went without
    running a 1 ms ticker: how long some code kept every other task waiting."""
    stalls = [0.0]

    async def tick() -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            stalls[0] = max(stalls[0], now - last)
            last = now

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0.01)
    try:
        yield stalls
    finally:
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticker


@contextlib.contextmanager
def sqlite_lock_held(
    path: Path, begin: str, statement: str, held: threading.Event, release: threading.Event
) -> Iterator[None]:
    """Another connection (as another process would) runs `begin` ("BEGIN IMMEDIATE",
    "BEGIN EXCLUSIVE") and `statement` on the SQLite file, sets `held`, and keeps its lock until
    `release` is set (at the latest when the block ends), then commits."""

    def hold() -> None:
        other = sqlite3.connect(path, isolation_level=None)
        try:
            other.execute(begin)
            other.execute(statement)
            held.set()
            release.wait(10)
            other.execute("COMMIT")
        finally:
            other.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        yield
    finally:
        release.set()
        holder.join(10)


@contextlib.asynccontextmanager
async def service_database(
    config: Config, service_name: str, migrations: str | None
) -> AsyncIterator[Database]:
    """The database of a service named `service_name` (its own SQLite file or PostgreSQL schema)
    with the platform tables and `migrations` applied; its schema is dropped at the end."""
    db = Database.for_service(config, service_name)
    await migrate(db, migrations)
    try:
        yield db
    finally:
        if db.schema is not None:
            with contextlib.suppress(Exception):
                async with db.connection() as conn:
                    await conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{db.schema}" CASCADE')
        await db.dispose()
