"""Short SQLite units of work on the event loop's thread, and SQLite's change counter.

aiosqlite sends every statement, fetch, cursor and commit to a worker thread and back: a read
transaction of two queries costs about ten thread round trips, a write of five statements about
twenty, far more CPU than the statements themselves (an indexed SQLite read or a one-row update
takes tens of microseconds; with WAL and synchronous=NORMAL a commit does not wait for the disk),
and under load each round trip also waits for the GIL and the loop's wake-up: measured on a
loaded 2-core machine, a 4-statement write took 10-18 ms through aiosqlite against well under
1 ms inline. So `Database.run` tries this driver first, for reads and (under the database's
in-process writer lock) for writes: the same `sqlite3` calls, made directly, behind the part of
aiosqlite's interface that SQLAlchemy's `sqlite+aiosqlite` dialect uses.

Two guards keep a unit of work that is not short after all from blocking the event loop:
- every connection has `busy_timeout` 0, so a statement that would wait for a lock fails at once
  instead of sleeping in SQLite's busy handler (WAL readers rarely wait for anything; a writer
  waits only for another process's write transaction);
- a per-transaction time budget, enforced by SQLite's progress handler (and checked before each
  statement), interrupts a unit that runs too long.
Either raises `InlineReadAborted` and marks the current `attempt()`; `Database.run` then rolls
back and drops whatever the unit of work did (even if it caught the error) and runs it again on
the threaded driver, which may wait and take as long as it needs.

Checkpoints: a commit that fills the WAL past SQLite's auto-checkpoint threshold would copy pages
into the database file and fsync it, inside the commit, on the event loop's thread. The inline
write connection therefore has auto-checkpoints off, and every `CHECKPOINT_EVERY` inline write
commits a passive checkpoint runs on a worker thread instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

log = logging.getLogger("ecom.db")

#: How many SQLite virtual-machine steps run between two looks at the clock.
_PROGRESS_STEPS = 1000
#: Inline write commits between two checkpoints (each on a worker thread). A cart write adds a
#: few pages to the WAL, so the WAL stays at a few MiB.
CHECKPOINT_EVERY = 200


class InlineReadAborted(sqlite3.OperationalError):
    """The unit of work was stopped before it could block the event loop (over its time budget,
    or a lock it would have had to wait for); run it on the threaded driver instead."""


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
    """One `sqlite3` connection, only ever used from the event loop's thread. `begin` is the
    statement that opens its transactions: a deferred `BEGIN` for reads, `BEGIN IMMEDIATE` for
    writes (the write lock from the start, as on the threaded driver)."""

    def __init__(
        self,
        connection: sqlite3.Connection,
        budget_s: float,
        *,
        begin: str = "BEGIN",
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        self._connection: sqlite3.Connection | None = connection
        self._budget_s = budget_s
        self._begin = begin
        self._on_commit = on_commit
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
                # its own. Reads defer: the snapshot is taken at the first read, and a WAL
                # reader never waits for writers. Writes take the write lock at once (fails
                # at once, with busy_timeout 0, while another process writes).
                self._conn.execute(self._begin)
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
        if self._on_commit is not None:
            self._on_commit()

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


class InlineSQLite:
    """The inline engines of one SQLite database file (reads, writes), its change counter, and
    the checkpoints that inline writes leave to a worker thread."""

    def __init__(self, path: Path, budget_s: float) -> None:
        self._path = path
        self._budget_s = budget_s
        self.reads: AsyncEngine = create_async_engine(
            f"sqlite+aiosqlite:///{path}", async_creator=self._connect_reader
        )
        # One connection is enough: the database's writer lock lets one write at a time.
        self.writes: AsyncEngine = create_async_engine(
            f"sqlite+aiosqlite:///{path}",
            async_creator=self._connect_writer,
            pool_size=1,
            max_overflow=0,
        )
        self._probe: sqlite3.Connection | None = None
        self._commits = 0
        self._checkpoint: asyncio.Future[None] | None = None

    def _open(self) -> sqlite3.Connection:
        # Autocommit mode (isolation_level None): BEGIN is ours to send. check_same_thread off:
        # connections are only used from the event loop's thread, but the pool may finalize
        # one from another thread at interpreter exit.
        raw = sqlite3.connect(str(self._path), isolation_level=None, check_same_thread=False)
        raw.execute("PRAGMA busy_timeout=0")
        return raw

    async def _connect_reader(self) -> InlineConnection:
        return InlineConnection(self._open(), self._budget_s)

    async def _connect_writer(self) -> InlineConnection:
        raw = self._open()
        # The threaded driver's per-connection settings (see `db._install_sqlite_hooks`); the
        # journal mode is the file's and is WAL already once any threaded connection opened it.
        raw.execute("PRAGMA foreign_keys=ON")
        raw.execute("PRAGMA synchronous=NORMAL")
        raw.execute("PRAGMA wal_autocheckpoint=0")
        return InlineConnection(
            raw, self._budget_s, begin="BEGIN IMMEDIATE", on_commit=self._committed
        )

    def _committed(self) -> None:
        self._commits += 1
        if self._commits % CHECKPOINT_EVERY == 0 and (
            self._checkpoint is None or self._checkpoint.done()
        ):
            loop = asyncio.get_running_loop()
            self._checkpoint = loop.run_in_executor(None, self._run_checkpoint)

    def _run_checkpoint(self) -> None:
        """A passive checkpoint (never waits for readers or writers), on its own connection."""
        try:
            connection = sqlite3.connect(str(self._path), isolation_level=None)
            try:
                connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            finally:
                connection.close()
        except sqlite3.Error:  # the next one catches up
            log.warning("checkpoint of %s failed", self._path, exc_info=True)

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
        if self._checkpoint is not None:
            await asyncio.shield(self._checkpoint)
        if self._probe is not None:
            self._probe.close()
            self._probe = None
        await self.reads.dispose()
        await self.writes.dispose()
