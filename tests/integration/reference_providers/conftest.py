"""Fixtures of the reference-provider tests: shipping, fees and validations on one real grpc.aio
server (127.0.0.1, port 0) behind the suite's interceptor. The providers are stateless, so there
is no database to parametrize."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import grpc
import pytest

from services.platform.config import Config
from services.platform.runtime import Runtime
from services.platform.server import start_server
from services.providers import fees, shipping, validations
from tests.integration.reference_providers.kit import Providers


@pytest.fixture
async def providers(make_config: Callable[..., Config]) -> AsyncIterator[Providers]:
    running = await start_server(
        Runtime(make_config()), [shipping.MODULE, fees.MODULE, validations.MODULE]
    )
    channel = grpc.aio.insecure_channel(running.address)
    try:
        yield Providers(running, channel)
    finally:
        await channel.close()
        await running.stop(0)
