"""The storage a benchmark run gives the suite under test, and how scenarios see that server.

- `embedded` (default): SQLite files in a fresh temporary data directory; the in-process event
  bus and session store, or Redis when a run has more than one worker (they need it).
- `postgres`: a fresh database per run (`ecom_bench_<random>`) created on the PostgreSQL server
  of `ECOM_BENCH_DATABASE_URL` (else `ECOM_TEST_DATABASE_URL`, else the local default) and
  dropped afterwards, plus Redis (`--redis-url`, else `ECOM_BENCH_REDIS_URL` /
  `ECOM_TEST_REDIS_URL`, else the local default).

Whenever Redis is used the run gets a key prefix of its own, whose keys are deleted afterwards,
so runs never see each other's sessions or event streams.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import redis

from services.platform.config import Config, load_config
from services.platform.throwaway import fresh_postgres_database

Backend = Literal["embedded", "postgres"]
BACKENDS: tuple[Backend, ...] = ("embedded", "postgres")

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


@dataclass(frozen=True)
class Server:
    """The suite under test as a scenario may see it: the `ECOM_*` environment it runs with and
    that environment parsed, so a scenario that needs the server's storage (seeding a large data
    set directly) opens exactly the database the server uses, on either backend."""

    backend: Backend
    environ: dict[str, str]
    config: Config

    @property
    def data_dir(self) -> Path:
        return self.config.data_dir


def postgres_server_url() -> str:
    """The PostgreSQL server (any database on it) that runs get their databases on."""
    return (
        os.environ.get("ECOM_BENCH_DATABASE_URL")
        or os.environ.get("ECOM_TEST_DATABASE_URL")
        or DEFAULT_POSTGRES_URL
    )


def redis_server_url() -> str:
    return (
        os.environ.get("ECOM_BENCH_REDIS_URL")
        or os.environ.get("ECOM_TEST_REDIS_URL")
        or DEFAULT_REDIS_URL
    )


@contextlib.contextmanager
def fresh_key_prefix(redis_url: str) -> Iterator[str]:
    """A Redis key prefix of one run; its keys are deleted at the end."""
    prefix = f"ecombench:{uuid.uuid4().hex[:12]}:"
    try:
        yield prefix
    finally:
        client = redis.Redis.from_url(redis_url)
        try:
            doomed = list(client.scan_iter(match=f"{prefix}*", count=500))
            for start in range(0, len(doomed), 500):
                client.delete(*doomed[start : start + 500])
        finally:
            client.close()


@contextlib.contextmanager
def provision(
    backend: Backend, data_dir: str, base_environ: dict[str, str], redis_url: str | None
) -> Iterator[Server]:
    """The storage of one run on `backend`; `base_environ` holds the run's other `ECOM_*`
    settings. `redis_url` None keeps the embedded backend on its in-process bus."""
    with contextlib.ExitStack() as stack:
        environ = {**base_environ, "ECOM_DATA_DIR": data_dir}
        if backend == "postgres":
            environ["ECOM_DATABASE_URL"] = stack.enter_context(
                fresh_postgres_database(postgres_server_url(), "ecom_bench")
            )
            redis_url = redis_url or redis_server_url()
        if redis_url:
            environ["ECOM_REDIS_URL"] = redis_url
            environ["ECOM_KEY_PREFIX"] = stack.enter_context(fresh_key_prefix(redis_url))
        yield Server(backend, environ, load_config(environ))
