"""The registry answers reads from memory until its database changes: a change made through
another server over the same database (another process, in production) shows in the very next
ListProviders and GetProvider (SQLite and PostgreSQL)."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import field_mask_pb2

from ecom.providers.v1 import provider_pb2
from ecom.providers.v1 import provider_registry_service_pb2 as pb
from tests.integration.providers.conftest import Registry, StartRegistry

pytestmark = pytest.mark.integration

SHIPPING_KIND = provider_pb2.PROVIDER_KIND_SHIPPING_RATES


async def _listed(registry: Registry, site: str, **request: object) -> list[tuple[str, bool]]:
    response = await registry.stub().ListProviders(
        pb.ListProvidersRequest(**request),  # type: ignore[arg-type]
        metadata=registry.admin(site),
    )
    return [(p.app_id, p.enabled) for p in response.providers]


async def test_changes_through_another_server_show_at_once(
    start_registry: StartRegistry, site: str
) -> None:
    reader, writer = await start_registry(), await start_registry()
    stub, md = writer.stub(), writer.admin(site)
    for _ in range(2):  # the second answer comes from memory
        assert await _listed(reader, site) == []

    provider = provider_pb2.Provider(kind=SHIPPING_KIND, app_id="acme", target="127.0.0.1:7000")
    created = (
        await stub.RegisterProvider(pb.RegisterProviderRequest(provider=provider), metadata=md)
    ).provider
    assert await _listed(reader, site) == [("acme", True)]
    fetched = await reader.stub().GetProvider(
        pb.GetProviderRequest(id=created.id), metadata=reader.admin(site)
    )
    assert fetched.provider == created

    change = provider_pb2.Provider(id=created.id, revision=1, enabled=False)
    mask = field_mask_pb2.FieldMask(paths=["enabled"])
    await stub.UpdateProvider(
        pb.UpdateProviderRequest(provider=change, update_mask=mask), metadata=md
    )
    assert await _listed(reader, site) == [("acme", False)]
    enabled_only = pb.ProviderFilter(enabled=True)
    assert await _listed(reader, site, filter=enabled_only) == []

    await stub.DeleteProvider(pb.DeleteProviderRequest(id=created.id, revision=2), metadata=md)
    assert await _listed(reader, site) == []
    with pytest.raises(grpc.aio.AioRpcError) as gone:
        await reader.stub().GetProvider(
            pb.GetProviderRequest(id=created.id), metadata=reader.admin(site)
        )
    assert gone.value.code() is grpc.StatusCode.NOT_FOUND
