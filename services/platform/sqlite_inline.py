"""Short SQLite reads on the event loop's thread, and SQLite's change counter.

aiosqlite sends every statement, fetch, cursor and commit to a worker thread and back: a read
transaction of two queries costs about ten thread round trips, far more CPU than the queries
themselves (an indexed SQLite read takes tens of microseconds), and under load each round trip
also waits for the GIL. For read-only units of work `Database.run` uses this driver first: the
same `sqlite3` calls, made directly, behind the part of aiosqlite's interface that SQLAlchemy's
`sqlite+aiosqlite` dialect uses.

Two guards keep a read that is not short after all from blocking the event loop:
- every connection has `busy_timeout` 0, so a read that would wait for a lock fails at once
  instead of sleeping in SQLite's busy handler (WAL readers rarely wait for anything);
- a per-transaction time budget, enforced by SQLite's progress handler (and checked before each
  statement), interrupts a read that runs too long.
Either raises `InlineReadAborted` and marks the current `attempt()`; `Database.run` then drops
whatever the unit of work did (even if it caught the error) and runs it again on the threaded
driver, which may wait and take as long as it needs.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

#: How many SQLite virtual-machine steps run between two looks at the clock.
_PROGRESS_STEPS = 1000


class InlineReadAborted(sqlite3.OperationalError):
    """The read was stopped before it could block the event loop (over its time budget, or a
    lock it would have had to wait for); run it on the threaded driver instead."""


class Attempt:
    """One run of a unit of work on the inline driver."""

    aborted = False


_attempt: ContextVar[Attempt | None] = ContextVar("ecom_inline_attempt", default=None)


@contextlib.contextmanager
def attempt() -> Iterator[Attempt]:
    """Track whether reads made in this context (task) get aborted."""
    current = Attempt()
    token = _attempt.set(current)
    try:
        yield current
    finally:
        _attempt.reset(token)


def _aborted(reason: str) -> InlineReadAborted:
    current = _attempt.get()
    if current is not None:
        current.aborted = True
    return InlineReadAborted(reason)


class InlineCursor:
    def __init__(self, connection: InlineConnection, cursor: sqlite3.Cursor) -> None:
        self._connection = connection
        self._cursor = cursor

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Iterable[Any] = ()) -> InlineCursor:
        self._connection.call(self._cursor.execute, sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Iterable[Any]]) -> InlineCursor:
        self._connection.call(self._cursor.executemany, sql, parameters)
        return self

    async def fetchone(self) -> Any:
        return self._connection.call(self._cursor.fetchone)

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        size = self._cursor.arraysize if size is None else size
        return self._connection.call(self._cursor.fetchmany, size)  # type: ignore[no-any-return]

    async def fetchall(self) -> list[Any]:
        return self._connection.call(self._cursor.fetchall)  # type: ignore[no-any-return]

    async def close(self) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class InlineConnection:
    """One `sqlite3` connection, only ever used from the event loop's thread."""

    def __init__(self, connection: sqlite3.Connection, budget_s: float) -> None:
        self._connection: sqlite3.Connection | None = connection
        self._budget_s = budget_s
        #: Time spent inside SQLite since the transaction began; when the current call began.
        self._spent_s = 0.0
        self._started = 0.0
        self._over_budget = False
        connection.set_progress_handler(self._progress, _PROGRESS_STEPS)

    @property
    def _conn(self) -> sqlite3.Connection:
        # SQLAlchemy's dialect reaches the raw connection under this name.
        if self._connection is None:
            raise ValueError("no active connection")
        return self._connection

    def _progress(self) -> int:
        if self._spent_s + time.perf_counter() - self._started > self._budget_s:
            self._over_budget = True
            return 1  # interrupts the statement
        return 0

    def call(self, function: Callable[..., Any], *args: Any) -> Any:
        """Call a sqlite3 method, within the transaction's time budget."""
        if self._spent_s > self._budget_s:
            raise _aborted("read-only transaction over its inline time budget")
        self._started = time.perf_counter()
        try:
            if not self._conn.in_transaction:
                # SQLAlchemy begins on the first statement; so do we, without a statement of
                # its own. Deferred: the snapshot is taken at the first read, and a WAL reader
                # never waits for writers.
                self._conn.execute("BEGIN")
            return function(*args)
        except sqlite3.OperationalError as exc:
            if self._over_budget:
                raise _aborted("read-only statement over its inline time budget") from exc
            if exc.sqlite_errorcode & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                raise _aborted(f"read would wait for a lock: {exc}") from exc
            raise
        finally:
            self._spent_s += time.perf_counter() - self._started

    def _end_transaction(self, end: Callable[[], None]) -> None:
        # Reset first: ending the transaction must never be interrupted.
        self._spent_s, self._started, self._over_budget = 0.0, time.perf_counter(), False
        end()

    def cursor(self) -> InlineCursor:
        return InlineCursor(self, self._conn.cursor())

    async def commit(self) -> None:
        self._end_transaction(self._conn.commit)

    async def rollback(self) -> None:
        self._end_transaction(self._conn.rollback)

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    async def create_function(
        self, name: str, num_params: int, func: Callable[..., Any], deterministic: bool = False
    ) -> None:
        self._conn.create_function(name, num_params, func, deterministic=deterministic)

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level


class InlineReads:
    """The inline read engine of one SQLite database file, and its change counter."""

    def __init__(self, path: Path, budget_s: float) -> None:
        self._path = path
        self._budget_s = budget_s
        self.engine: AsyncEngine = create_async_engine(
            f"sqlite+aiosqlite:///{path}", async_creator=self._connect
        )
        self._probe: sqlite3.Connection | None = None

    def _open(self) -> sqlite3.Connection:
        # Autocommit mode (isolation_level None): BEGIN is ours to send. check_same_thread off:
        # connections are only used from the event loop's thread, but the pool may finalize
        # one from another thread at interpreter exit.
        raw = sqlite3.connect(str(self._path), isolation_level=None, check_same_thread=False)
        raw.execute("PRAGMA busy_timeout=0")
        return raw

    async def _connect(self) -> InlineConnection:
        return InlineConnection(self._open(), self._budget_s)

    def data_version(self) -> int | None:
        """SQLite's `PRAGMA data_version` on a connection kept for it alone: the number moves
        with every commit of any *other* connection, so this one never writes."""
        try:
            if self._probe is None:
                self._probe = self._open()
            row = self._probe.execute("PRAGMA data_version").fetchone()
        except sqlite3.Error:
            return None
        return int(row[0]) if row else None

    async def dispose(self) -> None:
        if self._probe is not None:
            self._probe.close()
            self._probe = None
        await self.engine.dispose()
