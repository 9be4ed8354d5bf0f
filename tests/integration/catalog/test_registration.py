"""How the suite finds the reference catalog without a providers file: the registry lists it (and
its inventory) for every site when it is served, and carts reach it through ProviderClient."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import grpc

from ecom.common.v1 import channel_pb2
from ecom.providers.v1 import provider_pb2, provider_registry_service_pb2_grpc
from ecom.providers.v1 import provider_registry_service_pb2 as registry_pb
from ecom.spi.catalog.v1 import catalog_provider_service_pb2 as catalog_pb
from services import registry
from services.platform.config import Config
from services.platform.identity import Caller, Role, bind_call
from services.platform.providers import Kind
from services.platform.runtime import Runtime
from services.platform.server import RunningServer, start_server
from tests.integration.catalog.conftest import StartCatalog
from tests.integration.catalog.kit import CatalogServer, product, quantity, ref

CATALOG = provider_pb2.PROVIDER_KIND_CATALOG
INVENTORY = provider_pb2.PROVIDER_KIND_INVENTORY


async def _listed(server: RunningServer, site: str) -> list[tuple[int, str, str]]:
    token = server.runtime.tokens.mint(role=Role.ADMIN, site=site, subject="admin")
    async with grpc.aio.insecure_channel(server.address) as channel:
        stub = provider_registry_service_pb2_grpc.ProviderRegistryServiceStub(channel)
        response = await stub.ListProviders(
            registry_pb.ListProvidersRequest(), metadata=(("authorization", f"Bearer {token}"),)
        )
    return [(p.kind, p.app_id, p.target) for p in response.providers]


async def test_serve_registers_the_catalog_for_every_site(
    start_catalog: StartCatalog, site: str
) -> None:
    suite: CatalogServer = await start_catalog(extra=(registry.MODULE,))
    assert await _listed(suite.running, site) == [
        (CATALOG, "ecom.catalog", suite.address),
        (INVENTORY, "ecom.catalog", suite.address),
    ]
    assert await _listed(suite.running, "a-site-created-later") == await _listed(
        suite.running, site
    )

    # A cart's view: find the site's catalog provider, call it the way the cart does.
    await suite.upsert(site, product("mug", "8.50"))
    await suite.set_stock(site, quantity("mug", 3))
    client = suite.running.runtime.providers
    bind_call(Caller(site=site, subject="v-1", role=Role.VISITOR), "req-1")
    (catalog,) = await client.providers(site, Kind.CATALOG)
    outcome = await client.call(
        catalog,
        Kind.CATALOG.method("GetCatalogItems"),
        catalog_pb.GetCatalogItemsRequest(
            catalog_references=[
                catalog_pb.CatalogReferenceAndQuantity(
                    catalog_reference=ref("mug", app_id=catalog.app_id), quantity=1
                )
            ],
            currency="USD",
            weight_unit=channel_pb2.WEIGHT_UNIT_KG,
        ),
        catalog_pb.GetCatalogItemsResponse,
    )
    assert outcome.ok, outcome.message
    (item,) = outcome.unwrap().catalog_items
    assert (item.data.price, item.data.quantity_available) == ("8.50", 3)


async def _registry_alone(make_config: Callable[..., Config], **environ: str) -> RunningServer:
    return await start_server(Runtime(make_config(**environ)), [registry.MODULE])


async def test_no_defaults_for_a_catalog_that_is_not_served(
    make_config: Callable[..., Config], site: str
) -> None:
    alone = await _registry_alone(make_config)
    try:
        assert await _listed(alone, site) == []
    finally:
        await alone.stop(0)
    remote = await _registry_alone(make_config, ECOM_CATALOG_ADDR="catalog.internal:50051")
    try:
        assert await _listed(remote, site) == [
            (CATALOG, "ecom.catalog", "catalog.internal:50051"),
            (INVENTORY, "ecom.catalog", "catalog.internal:50051"),
        ]
    finally:
        await remote.stop(0)


async def test_a_providers_file_replaces_the_defaults(
    start_catalog: StartCatalog, tmp_path: Path, site: str
) -> None:
    path = tmp_path / "providers.json"
    entry = {"sites": ["*"], "kind": "catalog", "app_id": "my-catalog", "target": "@catalog"}
    path.write_text(json.dumps({"providers": [entry]}))
    suite = await start_catalog(extra=(registry.MODULE,), ECOM_PROVIDERS_FILE=str(path))
    assert await _listed(suite.running, site) == [(CATALOG, "my-catalog", suite.address)]
