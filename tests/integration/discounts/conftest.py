"""Fixtures of the discounts tests: the `discounts` target (with the `providers` registry it asks)
on a real grpc.aio server (127.0.0.1, port 0), one per test module and backend, shared by its
tests, which keep apart by using a fresh site each (the `site` fixture)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
import pytest_asyncio

from services.platform.config import Config
from services.platform.runtime import Runtime
from tests.integration.discounts.kit import Served, serve, stop


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=["sqlite", "postgresql"])
async def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Served]:
    """The discounts service on each backend."""
    environ = {}
    if request.param == "postgresql":
        environ["ECOM_DATABASE_URL"] = request.getfixturevalue("postgres_url")
    running = await serve(tmp_path_factory.mktemp(f"discounts-{request.param}"), environ)
    yield running
    await stop(running)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def sqlite_only(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Served]:
    """The discounts service on SQLite only (for tests of behaviour no backend changes)."""
    running = await serve(tmp_path_factory.mktemp("discounts-sqlite"), {})
    yield running
    await stop(running)


@pytest.fixture
async def runtime(make_config: Callable[..., Config]) -> AsyncIterator[Runtime]:
    """A runtime of its own for tests that drive the service layer directly."""
    rt = Runtime(make_config())
    yield rt
    await rt.close()
