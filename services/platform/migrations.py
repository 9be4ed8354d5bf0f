"""Schema migrations: the platform's tables, then the service's own, at start-up.

`migrate(database, script_location)` brings a service's database to the latest revision:
1. the platform chain (`services/platform/schema/versions`: outbox, entity_sequences,
   idempotency_keys; version table `alembic_version_platform`);
2. the service's chain (its migrations directory; version table `alembic_version`).
Both run in one transaction (PostgreSQL and SQLite both have transactional DDL), inside the
service's schema `ecom_<service>` on PostgreSQL (created when missing) or its SQLite file.

Several processes may start at once: on PostgreSQL a transaction-scoped advisory lock keyed by
the schema serializes them (the losers then find the schema at head and do nothing); on SQLite
an exclusive `flock` on `<file>.migrate.lock` does the same, and `BEGIN IMMEDIATE` backs it up.

One Alembic environment serves every service (DRY): `services/platform/schema/env.py` and its
`script.py.mako` are the script location, and each chain is just a `version_locations`
directory. A service's migrations directory therefore holds only revision files (a `versions/`
subdirectory is accepted too). Create a revision with

    python -m services.platform.migrations revision services/cart/migrations -m "create carts"

and write its `upgrade()` with `op.*` calls. SQLite runs them in Alembic's batch mode, so
`op.batch_alter_table` works everywhere; name constraints (see `db.NAMING_CONVENTION`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import text
from sqlalchemy.engine import Connection

from services.platform.db import Database

log = logging.getLogger("ecom.migrations")

SCRIPT_LOCATION = Path(__file__).resolve().parent / "schema"
PLATFORM_VERSIONS = SCRIPT_LOCATION / "versions"
PLATFORM_VERSION_TABLE = "alembic_version_platform"
SERVICE_VERSION_TABLE = "alembic_version"


def versions_dir(script_location: str | Path) -> Path:
    """The directory of revision files of a service's migrations directory."""
    path = Path(script_location).resolve()
    nested = path / "versions"
    return nested if nested.is_dir() else path


def alembic_config(
    versions: str | Path, version_table: str, connection: Connection | None = None
) -> AlembicConfig:
    """An Alembic config for one chain on the shared environment."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.set_main_option("version_locations", str(versions))
    config.set_main_option("path_separator", "os")
    config.attributes["version_table"] = version_table
    config.attributes["connection"] = connection
    return config


def run_environment(context: Any) -> None:
    """The body of the shared env.py: migrate the connection `migrate` handed over."""
    config = context.config
    connection: Connection | None = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError(
            "migrations run through services.platform.migrations.migrate(), not the alembic CLI"
        )
    context.configure(
        connection=connection,
        version_table=config.attributes["version_table"],
        render_as_batch=connection.dialect.name == "sqlite",
        target_metadata=config.attributes.get("target_metadata"),
    )
    with context.begin_transaction():
        context.run_migrations()


def _upgrade(connection: Connection, versions: Path, version_table: str) -> None:
    command.upgrade(alembic_config(versions, version_table, connection), "heads")


def _lock_key(name: str) -> int:
    digest = hashlib.sha256(f"ecom-migrate:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextlib.asynccontextmanager
async def _sqlite_file_lock(database: Database) -> AsyncIterator[None]:
    path = database.sqlite_path
    if path is None:
        yield
        return
    import fcntl

    lock_path = path.with_name(path.name + ".migrate.lock")
    handle = await asyncio.to_thread(open, lock_path, "a+b")
    try:
        # flock blocks: wait in a worker thread, never in the event loop.
        await asyncio.to_thread(fcntl.flock, handle.fileno(), fcntl.LOCK_EX)
        yield
    finally:
        handle.close()  # closing releases the lock


async def migrate(database: Database, script_location: str | Path | None) -> None:
    """Apply the platform's migrations, then the service's (if it has a directory)."""
    async with _sqlite_file_lock(database), database.connection() as conn:
        if database.dialect == "postgresql":
            assert database.schema is not None
            await conn.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_key(database.schema)}
            )
            await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{database.schema}"'))
        await conn.run_sync(_upgrade, PLATFORM_VERSIONS, PLATFORM_VERSION_TABLE)
        if script_location is not None:
            await conn.run_sync(_upgrade, versions_dir(script_location), SERVICE_VERSION_TABLE)
    log.info("database of %s is at the latest revision", database.service)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m services.platform.migrations revision DIR -m MESSAGE`: a new revision file."""
    parser = argparse.ArgumentParser(prog="python -m services.platform.migrations")
    commands = parser.add_subparsers(dest="command", required=True)
    revision = commands.add_parser("revision", help="create an empty revision file in DIR")
    revision.add_argument("directory", help="the service's migrations directory")
    revision.add_argument("-m", "--message", required=True)
    revision.add_argument("--rev-id", help="revision id (default: random)")
    args = parser.parse_args(argv)
    versions = versions_dir(args.directory)
    versions.mkdir(parents=True, exist_ok=True)
    config = alembic_config(versions, SERVICE_VERSION_TABLE)
    command.revision(config, message=args.message, rev_id=args.rev_id)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
