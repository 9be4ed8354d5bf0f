"""Fixtures for the reference catalog provider: the `catalog` target on a real server (127.0.0.1,
port 0) over SQLite or PostgreSQL, and helpers to call its three services with real tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from services.platform.config import Config
from services.platform.module import ServiceModule
from services.platform.runtime import Runtime
from services.platform.server import start_server
from services.providers.catalog import MODULE
from tests.integration.catalog.kit import CatalogServer

StartCatalog = Callable[..., Awaitable[CatalogServer]]


@pytest.fixture
async def start_catalog(
    make_config: Callable[..., Config], database_environ: dict[str, str]
) -> AsyncIterator[StartCatalog]:
    """Start servers with the catalog target (and `extra` modules); demo data off unless asked.
    Servers started with the same settings share one database (a restart)."""
    started: list[CatalogServer] = []

    async def start(
        *, extra: tuple[ServiceModule, ...] = (), demo: str = "no", **environ: Any
    ) -> CatalogServer:
        config = make_config(**{**database_environ, "ECOM_DEMO_DATA": demo, **environ})
        running = await start_server(Runtime(config), [*extra, MODULE])
        server = CatalogServer(running)
        started.append(server)
        return server

    yield start
    for server in started:
        await server.close()


@pytest.fixture
async def catalog(start_catalog: StartCatalog) -> CatalogServer:
    return await start_catalog()
