"""Helpers of the reference-provider tests: the three providers on one real grpc.aio server,
service-token metadata, request builders, and reading INVALID_ARGUMENT field violations."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc
import pytest
from google.protobuf import struct_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from ecom.common.v1 import address_pb2, catalog_pb2, line_item_pb2, money_pb2
from ecom.spi.additional_fees.v1 import additional_fees_provider_service_pb2_grpc as fees_grpc
from ecom.spi.shipping_rates.v1 import shipping_rates_provider_service_pb2_grpc as shipping_grpc
from ecom.spi.validations.v1 import validations_provider_service_pb2_grpc as validations_grpc
from services.platform.identity import Role
from services.platform.server import RunningServer

T = TypeVar("T")
SITE = "shop-1"


@dataclass
class Providers:
    running: RunningServer
    channel: grpc.aio.Channel

    def metadata(self, role: Role = Role.SERVICE, site: str = SITE) -> tuple[tuple[str, str], ...]:
        """What the suite sends: a service token of the site (as ProviderClient does)."""
        token = self.running.runtime.tokens.mint(role=role, site=site, subject="ecom-suite")
        return (("authorization", f"Bearer {token}"),)

    @property
    def shipping(self) -> shipping_grpc.ShippingRatesProviderServiceStub:
        return shipping_grpc.ShippingRatesProviderServiceStub(self.channel)

    @property
    def fees(self) -> fees_grpc.AdditionalFeesProviderServiceStub:
        return fees_grpc.AdditionalFeesProviderServiceStub(self.channel)

    @property
    def validations(self) -> validations_grpc.ValidationsProviderServiceStub:
        return validations_grpc.ValidationsProviderServiceStub(self.channel)


def struct(document: dict[str, Any] | None) -> struct_pb2.Struct:
    settings = struct_pb2.Struct()
    if document:
        settings.update(document)
    return settings


_PRESETS = {
    "PHYSICAL": catalog_pb2.ITEM_TYPE_PRESET_PHYSICAL,
    "DIGITAL": catalog_pb2.ITEM_TYPE_PRESET_DIGITAL,
    "GIFT_CARD": catalog_pb2.ITEM_TYPE_PRESET_GIFT_CARD,
    "SERVICE": catalog_pb2.ITEM_TYPE_PRESET_SERVICE,
}


def line(
    line_id: str,
    *,
    quantity: int = 1,
    price: str = "10.00",
    weight: str = "",
    shippable: bool = True,
    item_type: str = "PHYSICAL",
    catalog_item_id: str | None = None,
    name: str = "",
) -> line_item_pb2.LineItem:
    """A line as the suite sends it after reading the catalog; `item_type` is a preset name or
    a custom type."""
    item = line_item_pb2.LineItem(
        id=line_id,
        quantity=quantity,
        price=money_pb2.Price(amount=price),
        catalog_reference=catalog_pb2.CatalogReference(
            catalog_item_id=catalog_item_id if catalog_item_id is not None else f"item-{line_id}",
            app_id="ecom.catalog",
        ),
        product_name=money_pb2.LocalizedText(original=name),
        physical_properties=catalog_pb2.PhysicalProperties(weight=weight, shippable=shippable),
    )
    if item_type in _PRESETS:
        item.item_type.preset = _PRESETS[item_type]
    elif item_type:
        item.item_type.custom = item_type
    return item


def address(country: str, subdivision: str = "", city: str = "") -> address_pb2.Address:
    return address_pb2.Address(country=country, subdivision=subdivision, city=city)


async def refused(call: Awaitable[Any]) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value


async def field_violations(call: Awaitable[Any]) -> dict[str, str]:
    """Await a call that must fail with INVALID_ARGUMENT; its BadRequest violations by field."""
    error = await refused(call)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
    status = rpc_status.from_call(error)
    assert status is not None
    violations: dict[str, str] = {}
    for detail in status.details:
        bad_request = error_details_pb2.BadRequest()
        if detail.Unpack(bad_request):
            violations.update({v.field: v.description for v in bad_request.field_violations})
    assert violations, "INVALID_ARGUMENT without field violations"
    return violations


def error_reason(error: grpc.aio.AioRpcError) -> str:
    status = rpc_status.from_call(error)
    assert status is not None
    for detail in status.details:
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            return info.reason
    raise AssertionError("no ErrorInfo in the status")
