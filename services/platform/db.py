"""One database per service: engine set-up, the unit of work, and retries on write conflicts.

Choice for the whole suite: **SQLAlchemy Core, executed through an AsyncSession.**
Tables are `sqlalchemy.Table` objects on a `MetaData` from `new_metadata()`; repositories write
explicit `select()` / `insert()` / `update()` statements and run them with
`await session.execute(...)`. No ORM mapped classes: no identity map, no lazy loading (which
cannot work under asyncio anyway), and every read-modify-write is visible in the statement
(`UPDATE ... SET quantity = quantity + :n`, `for_update(session, select(...))`). The AsyncSession
is only the handle of the transaction, so a repository function takes `session: AsyncSession`.

Backends (chosen by configuration, never by the service):
- SQLite (default): `<ECOM_DATA_DIR>/<service>.db` through aiosqlite, WAL journal, busy_timeout
  5 s, foreign keys on. Writers are serialized: inside a process by an asyncio lock (so queued
  writers wait in the event loop, not in SQLite's sleeping busy handler), and across processes by
  `BEGIN IMMEDIATE`, which takes the write lock when the transaction starts. A read-modify-write
  therefore never loses an update on SQLite, even without row locks. Units of work of `run`
  execute their SQLite calls on the event loop's thread first (`sqlite_inline`: no thread round
  trip per statement, which costs far more than a short indexed read or a one-row write); one
  that runs longer than a few milliseconds, or would wait for a lock (another process writing),
  is rolled back and run again on the threaded driver. Writes keep the writer lock either way.
  Pragmas: WAL, so readers never wait for the writer nor it for them; synchronous=NORMAL, the
  usual pairing with WAL: a commit appends to the WAL without an fsync (only checkpoints sync),
  which keeps a commit at tens of microseconds instead of a disk flush. A power loss (not a
  process crash) may lose the last transactions but never corrupts the database; the state of
  a commerce suite that must survive power loss lives on PostgreSQL in production.
- PostgreSQL when `ECOM_DATABASE_URL` is set (`postgresql://` or `postgres://`; the psycopg 3
  async driver is used): each service lives in its own schema `ecom_<service>` through the
  connection's `search_path`, READ COMMITTED by default. Read-modify-write uses row locks
  (`for_update`), which are a no-op on SQLite where the write lock already covers it.

`Database.run(fn)` is the way to run a unit of work: it retries the whole function on
serialization failures (40001), deadlocks (40P01) and SQLite busy errors with jittered
exponential backoff, then gives up with `errors.Conflict` (ABORTED, the caller may retry).
So `fn` must be safe to run again: no side effects outside the session (publish events through
the outbox, not directly).

Timestamps: use `UtcDateTime` columns and `utcnow()`; values are always timezone-aware UTC on
both backends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar

from sqlalchemy import DateTime, MetaData, Select, Table, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Dialect, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.types import TypeDecorator

from services.platform import errors, sqlite_inline
from services.platform.config import Config

log = logging.getLogger("ecom.db")

T = TypeVar("T")
DialectName = Literal["sqlite", "postgresql"]
Isolation = Literal["READ COMMITTED", "REPEATABLE READ", "SERIALIZABLE"]

SQLITE_BUSY_TIMEOUT_MS = 5000
#: How long a unit of work may keep the event loop busy inside SQLite before it is moved to
#: the threaded driver (see `sqlite_inline`).
SQLITE_INLINE_BUDGET_S = 0.005
#: Per-service pool on PostgreSQL. The embedded mode runs a dozen services in one process, so at
#: most 8 connections per service keeps the total under PostgreSQL's default max_connections
#: (100) even when every service bursts at once. All 8 are steady, none overflow: the pool opens
#: connections only as concurrency asks for them (an idle service keeps few), but once opened
#: keeps them. An overflow connection is closed when it is returned, so under steady load a
#: small pool with overflow opened and closed connections all the time, and a connection costs
#: PostgreSQL a process fork and authentication (~20 ms on a loaded 2-core machine, against
#: ~1 ms for a short write transaction).
PG_POOL_SIZE = 8
PG_MAX_OVERFLOW = 0
#: A pooled connection idle longer than this is pinged before use (see `_install_idle_ping`).
PG_PING_AFTER_IDLE_S = 5.0
_RETURNED_AT = "ecom.returned_at"

_PG_RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})
_SQLITE_BUSY_CODES = frozenset({5, 6})  # SQLITE_BUSY, SQLITE_LOCKED (primary result codes)
_SERVICE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,40}$")
_NOTIFY_KEY = "ecom.notify_commit"

#: Constraint names Alembic can address on every backend (batch mode on SQLite needs them).
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    """The MetaData every service declares its tables on (shared naming convention)."""
    return MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on both backends (SQLite stores naive UTC text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("UtcDateTime needs a timezone-aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def dialect_of(session: AsyncSession | AsyncConnection) -> DialectName:
    if isinstance(session, AsyncSession):
        name = session.get_bind().dialect.name
    else:
        name = session.dialect.name
    if name not in ("sqlite", "postgresql"):
        raise RuntimeError(f"unsupported database dialect {name!r}")
    return name  # type: ignore[return-value]


def for_update(
    session: AsyncSession | DialectName, stmt: Select[Any], *, skip_locked: bool = False
) -> Select[Any]:
    """Lock the selected rows until the transaction ends (PostgreSQL). On SQLite the unit of work
    already holds the database's write lock, so this returns `stmt` unchanged."""
    dialect = session if isinstance(session, str) else dialect_of(session)
    if dialect == "postgresql":
        return stmt.with_for_update(skip_locked=skip_locked)
    return stmt


async def insert_if_absent(
    session: AsyncSession, table: Table, values: dict[str, Any], key: Sequence[str]
) -> bool:
    """Insert a row unless one with the same `key` columns exists; True when this call inserted.
    A concurrent insert of the same key waits for the other transaction (PostgreSQL) or is
    serialized with it (SQLite), so exactly one caller gets True."""
    dialect_insert: Any = (
        postgresql.insert if dialect_of(session) == "postgresql" else sqlite.insert
    )
    stmt = (
        dialect_insert(table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=list(key))
        .returning(*(table.c[name] for name in key))
    )
    return (await session.execute(stmt)).first() is not None


def notify_on_commit(session: AsyncSession) -> None:
    """Ask the Database to tell its commit listeners once this session's transaction commits
    (the outbox uses it to wake its relay right away)."""
    session.info[_NOTIFY_KEY] = True


def postgres_url(raw: str) -> URL:
    """`postgresql://` / `postgres://` (any driver) -> a `postgresql+psycopg` URL."""
    if raw.startswith("postgres://"):
        raw = "postgresql://" + raw.removeprefix("postgres://")
    url = make_url(raw)
    if url.get_backend_name() != "postgresql":
        raise ValueError(f"ECOM_DATABASE_URL must be a PostgreSQL URL, got {url.drivername!r}")
    return url.set(drivername="postgresql+psycopg")


def schema_for(service: str) -> str:
    return f"ecom_{service}"


def is_retryable(exc: BaseException) -> bool:
    """A conflict that a fresh attempt of the same unit of work can succeed after."""
    if not isinstance(exc, DBAPIError):
        return False
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate in _PG_RETRYABLE_SQLSTATES:
        return True
    code = getattr(orig, "sqlite_errorcode", None)
    if isinstance(code, int) and code & 0xFF in _SQLITE_BUSY_CODES:
        return True
    # aiosqlite may re-raise without the error code attribute.
    message = str(orig).lower()
    return "database is locked" in message or "database is busy" in message


class _MoveToThread(Exception):
    """An inline unit of work stopped (see `sqlite_inline`); run it on a thread."""


def _backoff(attempt: int, *, base_s: float = 0.01, cap_s: float = 0.5) -> float:
    """Full jitter: spreads retries of colliding transactions apart."""
    return random.uniform(0, min(cap_s, base_s * 2**attempt))


class Database:
    """The database of one service. Build it with `Database.for_service`; share one per process
    and service (the runtime caches it)."""

    def __init__(self, engine: AsyncEngine, *, service: str, schema: str | None) -> None:
        self.engine = engine
        self.service = service
        #: PostgreSQL schema of the service (None on SQLite).
        self.schema = schema
        name = engine.dialect.name
        if name not in ("sqlite", "postgresql"):
            raise ValueError(f"unsupported database dialect {name!r}")
        self.dialect: DialectName = name  # type: ignore[assignment]
        self._write_lock = asyncio.Lock()
        self._commit_listeners: list[Callable[[], None]] = []
        self._engines: dict[tuple[bool, str | None], AsyncEngine] = {}
        self._sessions = async_sessionmaker(expire_on_commit=False, autoflush=False)
        #: SQLite only: short units of work on the event loop's thread, the change counter.
        self._inline: sqlite_inline.InlineSQLite | None = None

    @classmethod
    def for_service(cls, config: Config, service: str) -> Database:
        if not _SERVICE_NAME.match(service):
            raise ValueError(f"service name {service!r} is not a lowercase identifier")
        if config.database_url:
            return cls.postgresql(config.database_url, service)
        return cls.sqlite(config.data_dir / f"{service}.db", service)

    @classmethod
    def sqlite(
        cls, path: Path, service: str, *, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS
    ) -> Database:
        path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(f"sqlite+aiosqlite:///{path}")
        _install_sqlite_hooks(engine, busy_timeout_ms)
        database = cls(engine, service=service, schema=None)
        database._inline = sqlite_inline.InlineSQLite(path, SQLITE_INLINE_BUDGET_S)
        return database

    @classmethod
    def postgresql(cls, url: str, service: str) -> Database:
        schema = schema_for(service)
        engine = create_async_engine(
            postgres_url(url),
            pool_size=PG_POOL_SIZE,
            max_overflow=PG_MAX_OVERFLOW,
            pool_timeout=10,
            pool_recycle=1800,
            connect_args={"options": f"-c search_path={schema}"},
        )
        _install_idle_ping(engine, PG_PING_AFTER_IDLE_S)
        return cls(engine, service=service, schema=schema)

    @property
    def sqlite_path(self) -> Path | None:
        database = self.engine.url.database
        return Path(database) if self.dialect == "sqlite" and database else None

    def _engine(self, readonly: bool, isolation: Isolation | None) -> AsyncEngine:
        if self.dialect == "sqlite":
            isolation = None  # SQLite transactions are serializable already
        key = (readonly, isolation)
        engine = self._engines.get(key)
        if engine is None:
            options: dict[str, Any] = {"ecom_readonly": readonly}
            if isolation is not None:
                options["isolation_level"] = isolation
            if readonly and self.dialect == "postgresql":
                options["postgresql_readonly"] = True  # a stray write fails instead of landing
            engine = self.engine.execution_options(**options)
            self._engines[key] = engine
        return engine

    def _writer(self, readonly: bool) -> contextlib.AbstractAsyncContextManager[Any]:
        if self.dialect == "sqlite" and not readonly:
            return self._write_lock
        return contextlib.nullcontext()

    @contextlib.asynccontextmanager
    async def transaction(
        self, *, readonly: bool = False, isolation: Isolation | None = None
    ) -> AsyncIterator[AsyncSession]:
        """A unit of work: commits when the block ends normally, rolls back when it raises.

        `readonly=True` skips the write lock on SQLite (WAL readers never wait for writers); a
        read-only transaction must not write. Prefer `run`, which also retries conflicts (and
        runs short SQLite reads without a thread round trip per statement).
        """
        async with self._unit(self._engine(readonly, isolation), readonly) as session:
            yield session

    @contextlib.asynccontextmanager
    async def _unit(self, engine: AsyncEngine, readonly: bool) -> AsyncIterator[AsyncSession]:
        async with self._writer(readonly):
            session = self._sessions(bind=engine)
            async with session, session.begin():
                yield session
        if session.info.get(_NOTIFY_KEY):
            self._notify_commit()

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        """A Core connection in a write transaction (migrations, bulk jobs)."""
        async with self._writer(False), self._engine(False, None).begin() as conn:
            yield conn

    async def run(
        self,
        fn: Callable[[AsyncSession], Awaitable[T]],
        *,
        retries: int = 5,
        readonly: bool = False,
        isolation: Isolation | None = None,
    ) -> T:
        """Run `fn` in a unit of work; on a write conflict roll back and run it again."""
        if self._inline is not None:
            try:
                return await self._run_inline(fn, self._inline, readonly)
            except _MoveToThread:
                log.debug(
                    "%s %s unit of work moves to the threaded driver",
                    self.service,
                    "read-only" if readonly else "write",
                )
        attempt = 0
        while True:
            try:
                async with self.transaction(readonly=readonly, isolation=isolation) as session:
                    return await fn(session)
            except DBAPIError as exc:
                if not is_retryable(exc):
                    raise
                if attempt >= retries:
                    raise errors.Conflict(
                        "TRANSACTION_CONFLICT",
                        "the request collided with concurrent changes; retry it",
                    ) from exc
                log.debug("retrying %s unit of work after %s", self.service, exc.orig)
            attempt += 1
            await asyncio.sleep(_backoff(attempt))

    async def _run_inline(
        self,
        fn: Callable[[AsyncSession], Awaitable[T]],
        inline: sqlite_inline.InlineSQLite,
        readonly: bool,
    ) -> T:
        """Run `fn` with its SQLite calls on the event loop's thread (no thread round trip per
        statement). Raises `_MoveToThread` when a statement had to stop because the unit ran
        long or would have waited for a lock: the transaction is rolled back, what `fn` made of
        it, answer or error, is dropped, and `run` runs it again on the threaded driver."""
        # Yield once, as a unit of work did when each statement went to a thread: a loop of
        # units (a poller) must not keep every other task waiting.
        await asyncio.sleep(0)
        engine = inline.reads if readonly else inline.writes
        with sqlite_inline.attempt() as tried:
            try:
                async with self._unit(engine, readonly) as session:
                    result = await fn(session)
                    if tried.aborted:
                        # `fn` swallowed the interruption: never commit what it did after it.
                        raise _MoveToThread
            except _MoveToThread:
                raise
            except Exception as exc:
                if tried.aborted:
                    raise _MoveToThread from exc
                raise
            return result

    def add_commit_listener(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call `listener` after each commit marked with `notify_on_commit`; returns a remover."""
        self._commit_listeners.append(listener)

        def remove() -> None:
            with contextlib.suppress(ValueError):
                self._commit_listeners.remove(listener)

        return remove

    def _notify_commit(self) -> None:
        for listener in list(self._commit_listeners):
            try:
                listener()
            except Exception:  # a broken listener must not fail a committed request
                log.exception("commit listener failed")

    async def ping(self, timeout_s: float = 2.0) -> bool:
        """True when a round trip to the database works (health checks)."""

        async def probe() -> None:
            # Read-only: on SQLite a write transaction would take the database's write lock,
            # and writers that find it taken start over on the threaded driver.
            async with self._engine(True, None).connect() as conn:
                await conn.execute(text("SELECT 1"))

        try:
            await asyncio.wait_for(probe(), timeout_s)
        except Exception:  # any failure means unhealthy
            log.warning("database ping failed for %s", self.service, exc_info=True)
            return False
        return True

    async def data_version(self) -> int | None:
        """A number that changes whenever anything is committed to this database, by any
        connection of any process; None when the backend cannot tell (PostgreSQL) or the check
        failed. Lets a process keep what it read until the data changes: remember the version
        *before* reading, and drop what was read once the version differs."""
        return None if self._inline is None else self._inline.data_version()

    async def dispose(self) -> None:
        if self._inline is not None:
            await self._inline.dispose()
        await self.engine.dispose()


def _install_idle_ping(engine: AsyncEngine, idle_s: float) -> None:
    """Ping a pooled connection before use only when it sat idle for `idle_s` or more.

    SQLAlchemy's `pool_pre_ping` pings on every checkout: one more round trip for every unit of
    work, about a fifth of the statements of a cart write. A connection in steady use was
    working milliseconds ago; the ones that go stale (a server restart, a firewall dropping idle
    connections) are the idle ones, and those are still checked. A server restart under load
    fails the statements in flight, as it would with a ping; SQLAlchemy then invalidates every
    connection of the pool, so the next units of work reconnect.
    """

    @event.listens_for(engine.sync_engine.pool, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(engine.sync_engine.pool, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get(_RETURNED_AT)
        if returned is None or time.monotonic() - returned < idle_s:
            return  # new, or in use moments ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            # The pool drops this connection and checks out another (or a new one).
            raise DisconnectionError(f"idle connection failed its ping: {exc}") from exc


def _install_sqlite_hooks(engine: AsyncEngine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let us emit BEGIN ourselves (the driver's implicit BEGIN is DEFERRED and would upgrade
        # to a write lock mid-transaction, where SQLite can only fail with SQLITE_BUSY).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        readonly = conn.get_execution_options().get("ecom_readonly", False)
        conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")
