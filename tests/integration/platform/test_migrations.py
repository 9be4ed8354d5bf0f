"""Migrations: platform chain, a service's own chain, concurrent start-ups, schema drift."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from services.platform.config import Config
from services.platform.db import Database
from services.platform.migrations import (
    PLATFORM_VERSION_TABLE,
    SERVICE_VERSION_TABLE,
    main,
    migrate,
)
from services.platform.schema import tables

#: The newest revision of the platform's own tables.
PLATFORM_HEAD = "platform_0002"

SERVICE_REVISION = """
def upgrade() -> None:
    op.create_table(
        "widgets",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("widgets")
"""


def _service_migrations(directory: Path, *, nested: bool = False) -> Path:
    """A service migrations directory made with the revision helper, as a developer would."""
    assert main(["revision", str(directory), "-m", "create widgets", "--rev-id", "svc_0001"]) == 0
    versions = directory / "versions" if nested else directory
    if nested:
        versions.mkdir(parents=True)
        for path in directory.glob("*.py"):
            path.rename(versions / path.name)
    (revision,) = versions.glob("svc_0001_*.py")
    source = revision.read_text()
    body = source[: source.index("def upgrade()")] + textwrap.dedent(SERVICE_REVISION)
    revision.write_text(body)
    return directory


async def _versions(db: Database, table: str) -> list[str]:
    rows = await db.run(lambda s: s.execute(text(f"SELECT version_num FROM {table}")))
    return [r.version_num for r in rows]


async def _table_names(db: Database) -> set[str]:
    async with db.connection() as conn:
        return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))


async def test_platform_tables_are_created_once(database: Database) -> None:
    assert {"outbox", "entity_sequences", "idempotency_keys", PLATFORM_VERSION_TABLE} <= (
        await _table_names(database)
    )
    await migrate(database, None)  # already at head: nothing to do
    assert await _versions(database, PLATFORM_VERSION_TABLE) == [PLATFORM_HEAD]


@pytest.mark.parametrize("nested", [False, True], ids=["flat", "versions-dir"])
async def test_service_chain_runs_after_the_platform_chain(
    database: Database, tmp_path: Path, nested: bool
) -> None:
    directory = _service_migrations(tmp_path / "migrations", nested=nested)
    await migrate(database, directory)
    assert "widgets" in await _table_names(database)
    assert await _versions(database, SERVICE_VERSION_TABLE) == ["svc_0001"]
    assert await _versions(database, PLATFORM_VERSION_TABLE) == [PLATFORM_HEAD]
    await migrate(database, directory)
    assert await _versions(database, SERVICE_VERSION_TABLE) == ["svc_0001"]


async def test_concurrent_start_ups_migrate_once(
    make_config: Callable[..., Config],
    database_environ: dict[str, str],
    service_name: str,
    tmp_path: Path,
) -> None:
    directory = _service_migrations(tmp_path / "migrations")
    config = make_config(**database_environ)
    databases = [Database.for_service(config, service_name) for _ in range(4)]
    try:
        await asyncio.gather(*(migrate(db, directory) for db in databases))
        assert await _versions(databases[0], SERVICE_VERSION_TABLE) == ["svc_0001"]
    finally:
        for db in databases:
            await db.dispose()


async def test_concurrent_processes_migrate_once(
    make_config: Callable[..., Config],
    database_environ: dict[str, str],
    service_name: str,
    tmp_path: Path,
) -> None:
    directory = _service_migrations(tmp_path / "migrations")
    config = make_config(**database_environ)
    script = textwrap.dedent(
        f"""
        import asyncio
        from services.platform.config import load_config
        from services.platform.db import Database
        from services.platform.migrations import migrate

        async def run():
            config = load_config({dict(config_environ(config))!r})
            db = Database.for_service(config, {service_name!r})
            try:
                await migrate(db, {str(directory)!r})
            finally:
                await db.dispose()

        asyncio.run(run())
        """
    )
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", script, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL
        )
        for _ in range(2)
    ]
    results = await asyncio.wait_for(asyncio.gather(*(p.communicate() for p in processes)), 60)
    for process, (_, stderr) in zip(processes, results, strict=True):
        assert process.returncode == 0, stderr.decode()
    db = Database.for_service(config, service_name)
    try:
        assert await _versions(db, SERVICE_VERSION_TABLE) == ["svc_0001"]
        assert "widgets" in await _table_names(db)
    finally:
        await db.dispose()


def config_environ(config: Config) -> dict[str, str]:
    environ = {"ECOM_DATA_DIR": str(config.data_dir)}
    if config.database_url:
        environ["ECOM_DATABASE_URL"] = config.database_url
    return environ


async def test_platform_tables_match_their_migrations(database: Database) -> None:
    def differences(conn: Connection) -> list[object]:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return [
            diff
            for diff in compare_metadata(context, tables.metadata)
            # Alembic's own bookkeeping table is not part of the metadata.
            if PLATFORM_VERSION_TABLE not in repr(diff)
        ]

    async with database.connection() as conn:
        assert await conn.run_sync(differences) == []


def test_revision_helper_needs_a_message(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        main(["revision", str(tmp_path)])
