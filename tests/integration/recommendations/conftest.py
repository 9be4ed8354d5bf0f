"""Fixtures of the recommendations tests: the registry, the reference catalog and the
recommendations target on one real grpc.aio server (127.0.0.1, port 0), one per test module and
backend, shared by its tests, which keep apart by using a fresh site each (the `site` fixture).

Backends: SQLite with the in-process event bus, and PostgreSQL with the Redis Streams bus (the
production pair). Catalog answers are not cached here, so a test that stops selling an item sees
it at once.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import pytest_asyncio

from services.platform.config import load_config
from services.platform.module import ServiceModule
from services.platform.runtime import Runtime
from services.platform.server import start_server
from services.providers.catalog import MODULE as CATALOG
from services.recommendations import MODULE as RECOMMENDATIONS
from services.registry import MODULE as REGISTRY
from tests.integration.recommendations.kit import ProviderServer, Served, start_provider

#: Settings the servers of these tests run with, on top of the defaults.
OVERRIDES: dict[str, Any] = {"RECOMMENDATIONS_CATALOG_CACHE_S": 0}


async def serve(
    data_dir: Path,
    environ: dict[str, str],
    *,
    extra: tuple[ServiceModule, ...] = (),
    overrides: dict[str, Any] | None = None,
) -> Served:
    config = load_config({"ECOM_DATA_DIR": str(data_dir), "ECOM_DEMO_DATA": "no", **environ})
    config = config.with_overrides(**{**OVERRIDES, **(overrides or {})})
    running = await start_server(Runtime(config), [REGISTRY, CATALOG, *extra, RECOMMENDATIONS])
    return Served(running, grpc.aio.insecure_channel(running.address))


def backend_environ(request: pytest.FixtureRequest, backend: str) -> dict[str, str]:
    if backend == "sqlite":
        return {}
    return {
        "ECOM_DATABASE_URL": request.getfixturevalue("postgres_url"),
        "ECOM_REDIS_URL": request.getfixturevalue("redis_url"),
        "ECOM_KEY_PREFIX": f"{request.getfixturevalue('key_prefix')}{uuid.uuid4().hex[:8]}:",
    }


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=["sqlite", "postgresql"])
async def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Served]:
    """The suite part on each backend (SQLite + in-process bus, PostgreSQL + Redis)."""
    backend = str(request.param)
    running = await serve(
        tmp_path_factory.mktemp(f"recommendations-{backend}"), backend_environ(request, backend)
    )
    yield running
    await running.close()


@pytest_asyncio.fixture(loop_scope="module")
async def provider() -> AsyncIterator[ProviderServer]:
    """A scriptable recommendations provider on its own server."""
    started = await start_provider()
    yield started
    await started.server.stop(0)
