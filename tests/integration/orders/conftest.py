"""Fixtures of the orders tests: the `orders` target on a real grpc.aio server (127.0.0.1, port
0), one per test module and backend, shared by its tests, which keep apart by using a fresh site
each (the `site` fixture)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import grpc
import pytest
import pytest_asyncio

from services.orders import MODULE
from services.platform.config import load_config
from services.platform.module import ServiceModule
from services.platform.runtime import Runtime
from services.platform.server import start_server
from tests.integration.orders.kit import Served


async def serve(
    data_dir: Path, environ: dict[str, str], modules: Sequence[ServiceModule] | None = None
) -> Served:
    config = load_config({"ECOM_DATA_DIR": str(data_dir), **environ})
    running = await start_server(Runtime(config), modules or [MODULE])
    return Served(running, grpc.aio.insecure_channel(running.address))


async def stop(served: Served) -> None:
    await served.channel.close()
    await served.running.stop(0)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def pg(tmp_path_factory: pytest.TempPathFactory, postgres_url: str) -> AsyncIterator[Served]:
    """The orders service on PostgreSQL."""
    served = await serve(tmp_path_factory.mktemp("orders-pg"), {"ECOM_DATABASE_URL": postgres_url})
    yield served
    await stop(served)


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=["sqlite", "postgresql"])
async def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Served]:
    """The orders service on each backend."""
    environ = {}
    if request.param == "postgresql":
        environ["ECOM_DATABASE_URL"] = request.getfixturevalue("postgres_url")
    served = await serve(tmp_path_factory.mktemp(f"orders-{request.param}"), environ)
    yield served
    await stop(served)
