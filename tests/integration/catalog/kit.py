"""Helpers for the catalog tests: a started server with channels and stubs, tokens, request
builders and error-detail readers."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.protobuf import json_format, struct_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from ecom.catalog.v1 import catalog_admin_service_pb2 as admin_pb
from ecom.catalog.v1 import catalog_admin_service_pb2_grpc, product_pb2
from ecom.common.v1 import catalog_pb2, channel_pb2
from ecom.spi.catalog.v1 import catalog_provider_service_pb2 as catalog_pb
from ecom.spi.catalog.v1 import catalog_provider_service_pb2_grpc
from ecom.spi.inventory.v1 import inventory_provider_service_pb2 as inventory_pb
from ecom.spi.inventory.v1 import inventory_provider_service_pb2_grpc
from services.platform.identity import Role
from services.platform.server import RunningServer

APP_ID = "ecom.catalog"
Metadata = tuple[tuple[str, str], ...]


@dataclass
class CatalogServer:
    running: RunningServer
    channels: list[grpc.aio.Channel] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.channel = self.new_channel()

    @property
    def address(self) -> str:
        return self.running.address

    def new_channel(self) -> grpc.aio.Channel:
        channel = grpc.aio.insecure_channel(self.address)
        self.channels.append(channel)
        return channel

    def token(self, site: str, role: Role = Role.ADMIN, subject: str = "tester") -> str:
        return self.running.runtime.tokens.mint(role=role, site=site, subject=subject)

    def admin_md(self, site: str) -> Metadata:
        return (("authorization", f"Bearer {self.token(site)}"),)

    def spi_md(self, site: str, app_id: str = APP_ID) -> Metadata:
        """What the suite sends a reference provider: service token and SPI metadata."""
        return (
            ("authorization", f"Bearer {self.token(site, Role.SERVICE, 'ecom-suite')}"),
            ("x-ecom-site", site),
            ("x-ecom-caller", "visitor/v-1"),
            ("x-ecom-app-id", app_id),
        )

    def admin(
        self, channel: grpc.aio.Channel | None = None
    ) -> catalog_admin_service_pb2_grpc.CatalogAdminServiceStub:
        return catalog_admin_service_pb2_grpc.CatalogAdminServiceStub(channel or self.channel)

    def catalog(
        self, channel: grpc.aio.Channel | None = None
    ) -> catalog_provider_service_pb2_grpc.CatalogProviderServiceStub:
        return catalog_provider_service_pb2_grpc.CatalogProviderServiceStub(channel or self.channel)

    def inventory(
        self, channel: grpc.aio.Channel | None = None
    ) -> inventory_provider_service_pb2_grpc.InventoryProviderServiceStub:
        return inventory_provider_service_pb2_grpc.InventoryProviderServiceStub(
            channel or self.channel
        )

    async def upsert(self, site: str, *products: product_pb2.Product) -> list[product_pb2.Product]:
        response = await self.admin().UpsertProducts(
            admin_pb.UpsertProductsRequest(products=products), metadata=self.admin_md(site)
        )
        return list(response.products)

    async def set_stock(self, site: str, *items: admin_pb.StockSetting) -> list[Any]:
        response = await self.admin().SetStock(
            admin_pb.SetStockRequest(items=items), metadata=self.admin_md(site)
        )
        return list(response.stock)

    async def items(
        self,
        site: str,
        *references: catalog_pb2.CatalogReference,
        currency: str = "USD",
        weight_unit: int = channel_pb2.WEIGHT_UNIT_KG,
        app_id: str = APP_ID,
    ) -> dict[str, catalog_pb.CatalogItemData]:
        """GetCatalogItems; answers keyed by `describe(reference)` of the echoed reference."""
        response = await self.catalog().GetCatalogItems(
            catalog_pb.GetCatalogItemsRequest(
                catalog_references=[
                    catalog_pb.CatalogReferenceAndQuantity(catalog_reference=r, quantity=1)
                    for r in references
                ],
                currency=currency,
                weight_unit=weight_unit,  # type: ignore[arg-type]
            ),
            metadata=self.spi_md(site, app_id),
        )
        return {describe(item.catalog_reference): item.data for item in response.catalog_items}

    async def available(self, site: str, reference: catalog_pb2.CatalogReference) -> int | None:
        data = (await self.items(site, reference))[describe(reference)]
        return data.quantity_available if data.HasField("quantity_available") else None

    async def close(self) -> None:
        for channel in self.channels:
            await channel.close()
        await self.running.stop(0)


def ref(item_id: str, options: Mapping[str, Any] | None = None, app_id: str = APP_ID) -> Any:
    reference = catalog_pb2.CatalogReference(catalog_item_id=item_id, app_id=app_id)
    if options is not None:
        reference.options.CopyFrom(json_format.ParseDict(dict(options), struct_pb2.Struct()))
    return reference


def describe(reference: catalog_pb2.CatalogReference) -> str:
    options = json_format.MessageToDict(reference.options) if reference.HasField("options") else {}
    # Sorted at every depth: a Struct's map order is not part of its value.
    return f"{reference.catalog_item_id}|{reference.app_id}|{json.dumps(options, sort_keys=True)}"


def product(product_id: str, price: str = "10.00", **fields: Any) -> product_pb2.Product:
    fields.setdefault("name", f"Product {product_id}")
    return product_pb2.Product(id=product_id, price=price, **fields)


def variant(variant_id: str, **options: str) -> product_pb2.Variant:
    return product_pb2.Variant(id=variant_id, options=options)


def quantity(product_id: str, units: int, variant_id: str = "") -> admin_pb.StockSetting:
    return admin_pb.StockSetting(product_id=product_id, variant_id=variant_id, quantity=units)


def inventory_item(reference: catalog_pb2.CatalogReference, units: int) -> Any:
    return inventory_pb.InventoryItem(catalog_reference=reference, quantity=units)


def reserve_request(
    reservation_id: str, items: Sequence[Any], ttl_s: float = 0
) -> inventory_pb.ReserveInventoryRequest:
    request = inventory_pb.ReserveInventoryRequest(reservation_id=reservation_id, items=items)
    if ttl_s:
        request.ttl.FromNanoseconds(int(ttl_s * 1e9))
    return request


def error_info(exc: grpc.aio.AioRpcError) -> error_details_pb2.ErrorInfo:
    status = rpc_status.from_call(exc)
    assert status is not None, "no rich status details"
    for detail in status.details:
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            return info
    raise AssertionError("no ErrorInfo detail")


def field_violations(exc: grpc.aio.AioRpcError) -> set[str]:
    status = rpc_status.from_call(exc)
    assert status is not None, "no rich status details"
    fields: set[str] = set()
    for detail in status.details:
        bad = error_details_pb2.BadRequest()
        if detail.Unpack(bad):
            fields |= {v.field for v in bad.field_violations}
    return fields


def detail_types(exc: grpc.aio.AioRpcError) -> list[str]:
    status = rpc_status.from_call(exc)
    assert status is not None
    return [detail.TypeName() for detail in status.details]


def insufficient(exc: grpc.aio.AioRpcError) -> inventory_pb.InsufficientInventory:
    status = rpc_status.from_call(exc)
    assert status is not None
    for detail in status.details:
        found = inventory_pb.InsufficientInventory()
        if detail.Unpack(found):
            return found
    raise AssertionError("no InsufficientInventory detail")
