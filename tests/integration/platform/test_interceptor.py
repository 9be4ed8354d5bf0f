"""The call interceptor over a real grpc.aio server: identity, access, error mapping, shutdown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from ecom.spi.catalog.v1 import catalog_provider_service_pb2 as catalog
from ecom.spi.catalog.v1 import catalog_provider_service_pb2_grpc as catalog_grpc
from services.platform import errors
from services.platform.config import load_config
from services.platform.identity import Role, TokenService, current_caller
from services.platform.module import Binding, ServiceModule
from services.platform.runtime import Runtime
from services.platform.server import RunningServer, start_server

SECRET = "interceptor-test-secret-0123456789abcdef"
SERVICE = "ecom.spi.catalog.v1.CatalogProviderService"


class ProbeCatalog(catalog_grpc.CatalogProviderServiceServicer):
    """Behaves according to the first requested item id, so one servicer covers every case."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.started = asyncio.Event()

    async def GetCatalogItems(
        self, request: catalog.GetCatalogItemsRequest, context: grpc.aio.ServicerContext
    ) -> catalog.GetCatalogItemsResponse:
        item = request.catalog_references[0].catalog_reference.catalog_item_id
        if item == "boom":
            raise RuntimeError("database password is hunter2")
        if item == "missing":
            raise errors.NotFound("ITEM_NOT_FOUND", "no such item", metadata={"id": "missing"})
        if item == "slow":
            self.started.set()
            await self.release.wait()
        caller = current_caller()
        reply = catalog.GetCatalogItemsResponse()
        found = reply.catalog_items.add()
        found.catalog_reference.catalog_item_id = f"{caller.site}/{caller.subject}/{caller.role}"
        return reply


ProbeServer = tuple[RunningServer, ProbeCatalog]


@pytest.fixture
async def probe_server(tmp_path: Path) -> AsyncIterator[ProbeServer]:
    servicer = ProbeCatalog()

    async def bind(runtime: Runtime, server: grpc.aio.Server) -> Binding:
        catalog_grpc.add_CatalogProviderServiceServicer_to_server(servicer, server)
        return Binding(service_names=[SERVICE])

    config = load_config({"ECOM_DATA_DIR": str(tmp_path), "ECOM_AUTH_SECRET": SECRET})
    running = await start_server(Runtime(config), [ServiceModule("probe", bind)])
    try:
        yield running, servicer
    finally:
        servicer.release.set()
        await running.stop(grace=1)


def _request(item: str) -> catalog.GetCatalogItemsRequest:
    request = catalog.GetCatalogItemsRequest()
    request.catalog_references.add().catalog_reference.catalog_item_id = item
    return request


async def _call(
    running: RunningServer, item: str, metadata: tuple[tuple[str, str], ...]
) -> catalog.GetCatalogItemsResponse:
    async with grpc.aio.insecure_channel(running.address) as channel:
        stub = catalog_grpc.CatalogProviderServiceStub(channel)
        reply: catalog.GetCatalogItemsResponse = await stub.GetCatalogItems(
            _request(item), metadata=metadata, timeout=10
        )
        return reply


def _bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


def _token(role: Role, site: str = "shop", ttl_s: int = 600, secret: str = SECRET) -> str:
    return TokenService(secret, leeway_s=0).mint(role=role, site=site, subject="u1", ttl_s=ttl_s)


async def test_valid_token_reaches_the_servicer_as_the_caller(probe_server: ProbeServer) -> None:
    running, _ = probe_server
    reply = await _call(running, "item", _bearer(_token(Role.SERVICE)))
    assert reply.catalog_items[0].catalog_reference.catalog_item_id == "shop/u1/service"


@pytest.mark.parametrize(
    "metadata",
    [
        (),
        (("authorization", "Basic dXNlcjpwYXNz"),),
        _bearer("not-a-jwt"),
        _bearer(_token(Role.SERVICE, ttl_s=-60)),
        _bearer(_token(Role.SERVICE, secret="forged-secret-forged-secret-forged!!")),
    ],
    ids=["missing", "wrong-scheme", "garbage", "expired", "forged"],
)
async def test_bad_credentials_are_unauthenticated(
    probe_server: ProbeServer, metadata: tuple[tuple[str, str], ...]
) -> None:
    running, _ = probe_server
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _call(running, "item", metadata)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_a_visitor_calling_a_staff_rpc_is_permission_denied(
    probe_server: ProbeServer,
) -> None:
    running, _ = probe_server
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _call(running, "item", _bearer(_token(Role.VISITOR)))
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    status = rpc_status.from_call(caught.value)
    info = error_details_pb2.ErrorInfo()
    assert status is not None and status.details[0].Unpack(info)
    assert info.reason == "ROLE_NOT_ALLOWED"


async def test_a_token_of_another_site_is_refused(probe_server: ProbeServer) -> None:
    running, _ = probe_server
    metadata = (*_bearer(_token(Role.ADMIN, site="other-shop")), ("x-ecom-site", "shop"))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _call(running, "item", metadata)
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_domain_errors_keep_their_code_and_details(probe_server: ProbeServer) -> None:
    running, _ = probe_server
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _call(running, "missing", _bearer(_token(Role.ADMIN)))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    status = rpc_status.from_call(caught.value)
    info = error_details_pb2.ErrorInfo()
    assert status is not None and status.details[0].Unpack(info)
    assert (info.reason, info.domain) == ("ITEM_NOT_FOUND", "ecom.spi.catalog.v1")


async def test_unexpected_error_is_internal_without_leaking_and_logged_with_request_id(
    probe_server: ProbeServer, caplog: pytest.LogCaptureFixture
) -> None:
    running, _ = probe_server
    metadata = (*_bearer(_token(Role.ADMIN)), ("x-request-id", "req-42"))
    with (
        caplog.at_level(logging.ERROR, logger="ecom.rpc"),
        pytest.raises(grpc.aio.AioRpcError) as caught,
    ):
        await _call(running, "boom", metadata)
    assert caught.value.code() == grpc.StatusCode.INTERNAL
    assert "hunter2" not in (caught.value.details() or "")
    assert "req-42" in (caught.value.details() or "")
    assert dict(caught.value.trailing_metadata() or ())["x-request-id"] == "req-42"
    (record,) = [r for r in caplog.records if "req-42" in r.getMessage()]
    assert record.exc_info is not None and "hunter2" in str(record.exc_info[1])


async def test_health_and_reflection_need_no_token(probe_server: ProbeServer) -> None:
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    running, _ = probe_server
    async with grpc.aio.insecure_channel(running.address) as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=SERVICE), timeout=5
        )
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


async def test_stop_lets_an_in_flight_call_finish_and_refuses_new_ones(
    probe_server: ProbeServer,
) -> None:
    running, servicer = probe_server
    metadata = _bearer(_token(Role.ADMIN))
    in_flight = asyncio.create_task(_call(running, "slow", metadata))
    await asyncio.wait_for(servicer.started.wait(), 5)
    stopping = asyncio.create_task(running.server.stop(5))
    await asyncio.sleep(0.2)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _call(running, "item", metadata)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    servicer.release.set()
    reply = await asyncio.wait_for(in_flight, 5)
    assert reply.catalog_items[0].catalog_reference.catalog_item_id == "shop/u1/admin"
    await stopping
