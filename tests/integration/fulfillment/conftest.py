"""Fixtures of the fulfillment tests: the fulfillment service on a real server (SQLite and
PostgreSQL) reading orders from a scriptable OrdersService peer on another real server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from services.fulfillment import MODULE
from services.platform.config import Config
from services.platform.runtime import Runtime
from services.platform.server import start_server
from tests.integration.fulfillment.kit import OrdersPeer, Suite

StartSuite = Callable[..., Awaitable[Suite]]


@pytest.fixture
async def start_suite(
    make_config: Callable[..., Config], database_environ: dict[str, str]
) -> AsyncIterator[StartSuite]:
    started: list[Suite] = []

    async def start(**extra: str) -> Suite:
        peer = OrdersPeer()
        orders_server = await start_server(Runtime(make_config()), [peer.module()])
        config = make_config(**database_environ, ECOM_ORDERS_ADDR=orders_server.address, **extra)
        fulfillment = await start_server(Runtime(config), [MODULE])
        suite = Suite(fulfillment, orders_server, peer)
        started.append(suite)
        return suite

    yield start
    for suite in started:
        await suite.close()


@pytest.fixture
async def suite(start_suite: StartSuite) -> Suite:
    return await start_suite()
