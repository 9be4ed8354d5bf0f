"""Fixtures for the provider runtime and registry tests: a real Runtime, the `providers` service on
a real server, and small shipping-rates providers on real grpc.aio servers (127.0.0.1, port 0)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest

from ecom.providers.v1 import provider_registry_service_pb2_grpc
from services.platform.config import Config
from services.platform.identity import Role
from services.platform.runtime import Runtime
from services.platform.server import RunningServer, start_server
from services.registry import MODULE
from tests.integration.providers.provider_kit import FakeClock, ProviderServers


@pytest.fixture
async def provider_servers() -> AsyncIterator[ProviderServers]:
    servers = ProviderServers()
    yield servers
    await asyncio.gather(*(s.server.stop(0) for s in servers.started))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def runtime(make_config: Callable[..., Config]) -> AsyncIterator[Runtime]:
    """A runtime with no server: enough for ProviderClient calls to providers."""
    rt = Runtime(make_config())
    yield rt
    await rt.close()


@dataclass
class Registry:
    """The `providers` service on a real server, and admin stubs for its sites."""

    running: RunningServer
    channel: grpc.aio.Channel

    @property
    def runtime(self) -> Runtime:
        return self.running.runtime

    def stub(self) -> provider_registry_service_pb2_grpc.ProviderRegistryServiceStub:
        return provider_registry_service_pb2_grpc.ProviderRegistryServiceStub(self.channel)

    def admin(self, site: str) -> tuple[tuple[str, str], ...]:
        token = self.runtime.tokens.mint(role=Role.ADMIN, site=site, subject="admin-1")
        return (("authorization", f"Bearer {token}"),)


StartRegistry = Callable[..., Awaitable[Registry]]


@pytest.fixture
async def start_registry(
    tmp_path: Path, make_config: Callable[..., Config], database_environ: dict[str, str]
) -> AsyncIterator[StartRegistry]:
    """Start the providers service; `providers_file` (a document) becomes ECOM_PROVIDERS_FILE."""
    started: list[Registry] = []

    async def start(providers_file: Any = None, **extra: str) -> Registry:
        env = {**database_environ, **extra}
        if providers_file is not None:
            path = tmp_path / f"providers-{len(started)}.json"
            path.write_text(json.dumps(providers_file))
            env["ECOM_PROVIDERS_FILE"] = str(path)
        running = await start_server(Runtime(make_config(**env)), [MODULE])
        registry = Registry(running, grpc.aio.insecure_channel(running.address))
        started.append(registry)
        return registry

    yield start
    for registry in started:
        await registry.channel.close()
        await registry.running.stop(0)
