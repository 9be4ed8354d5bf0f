"""Providers the cart tests run on real grpc.aio servers (127.0.0.1, port 0), and small helpers.

Until the reference catalog provider lands, `CatalogProvider` is the catalog: a dict of items
served through `ecom.spi.catalog.v1`, scriptable to fail, hang or forget items. The shipping, fee
and validations providers answer what a test puts in them.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.protobuf import json_format, struct_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from ecom.common.v1 import catalog_pb2, line_item_pb2, money_pb2
from ecom.spi.additional_fees.v1 import additional_fees_provider_service_pb2 as fees_pb2
from ecom.spi.additional_fees.v1 import additional_fees_provider_service_pb2_grpc as fees_grpc
from ecom.spi.catalog.v1 import catalog_provider_service_pb2 as catalog_spi
from ecom.spi.catalog.v1 import catalog_provider_service_pb2_grpc as catalog_grpc
from ecom.spi.shipping_rates.v1 import shipping_rates_provider_service_pb2 as rates_pb2
from ecom.spi.shipping_rates.v1 import shipping_rates_provider_service_pb2_grpc as rates_grpc
from ecom.spi.validations.v1 import validations_provider_service_pb2 as validations_pb2
from ecom.spi.validations.v1 import validations_provider_service_pb2_grpc as validations_grpc


def item(
    name: str,
    price: str,
    *,
    full_price: str = "",
    stock: int | None = None,
    shippable: bool = True,
    weight: str = "0.5",
    tax_group: str = "",
    payment_option: int = 0,
) -> catalog_spi.CatalogItemData:
    data = catalog_spi.CatalogItemData(
        product_name=money_pb2.LocalizedText(original=name),
        price=price,
        full_price=full_price,
        url=f"https://shop.example/{name.lower().replace(' ', '-')}",
        tax_group_id=tax_group,
        payment_option=payment_option,  # type: ignore[arg-type]
    )
    data.item_type.preset = catalog_pb2.ITEM_TYPE_PRESET_PHYSICAL
    if shippable:
        data.physical_properties.shippable = True
        data.physical_properties.weight = weight
        data.physical_properties.sku = name.upper()[:8]
    if stock is not None:
        data.quantity_available = stock
    return data


class CatalogProvider(catalog_grpc.CatalogProviderServiceServicer):
    """Items keyed by catalog_item_id; options are echoed and ignored."""

    def __init__(self, items: Mapping[str, catalog_spi.CatalogItemData]) -> None:
        self.items: dict[str, catalog_spi.CatalogItemData] = dict(items)
        self.calls = 0
        self.fail: grpc.StatusCode | None = None
        self.delay_s = 0.0
        self.requests: list[catalog_spi.GetCatalogItemsRequest] = []

    async def GetCatalogItems(
        self, request: catalog_spi.GetCatalogItemsRequest, context: grpc.aio.ServicerContext
    ) -> catalog_spi.GetCatalogItemsResponse:
        self.calls += 1
        self.requests.append(request)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.fail is not None:
            await context.abort(self.fail, "scripted catalog failure")
        reply = catalog_spi.GetCatalogItemsResponse()
        for wanted in request.catalog_references:
            data = self.items.get(wanted.catalog_reference.catalog_item_id)
            if data is not None:
                reply.catalog_items.add(catalog_reference=wanted.catalog_reference, data=data)
        return reply


@dataclass
class ShippingProvider(rates_grpc.ShippingRatesProviderServiceServicer):
    """Offers `rates` (code -> (title, price)) in the request's currency."""

    rates: dict[str, tuple[str, str]] = field(default_factory=dict)
    fail: grpc.StatusCode | None = None
    delay_s: float = 0.0
    currency_override: str = ""
    region: str = ""
    calls: int = 0

    async def GetShippingRates(
        self, request: rates_pb2.GetShippingRatesRequest, context: grpc.aio.ServicerContext
    ) -> rates_pb2.GetShippingRatesResponse:
        self.calls += 1
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.fail is not None:
            await context.abort(self.fail, "scripted shipping failure")
        currency = self.currency_override or request.currency
        reply = rates_pb2.GetShippingRatesResponse(
            shipping_rates=[
                rates_pb2.ShippingRate(
                    code=code,
                    title=title,
                    cost=rates_pb2.ShippingCost(price=price, currency=currency),
                )
                for code, (title, price) in self.rates.items()
            ]
        )
        if self.region:
            reply.region.id = self.region
            reply.region.name = self.region.title()
        return reply


@dataclass
class FeesProvider(fees_grpc.AdditionalFeesProviderServiceServicer):
    """Charges `fees` (code -> (name, price, taxable)) on every order."""

    fees: dict[str, tuple[str, str, bool]] = field(default_factory=dict)
    fail: grpc.StatusCode | None = None
    seen: list[fees_pb2.CalculateAdditionalFeesRequest] = field(default_factory=list)

    async def CalculateAdditionalFees(
        self,
        request: fees_pb2.CalculateAdditionalFeesRequest,
        context: grpc.aio.ServicerContext,
    ) -> fees_pb2.CalculateAdditionalFeesResponse:
        self.seen.append(request)
        if self.fail is not None:
            await context.abort(self.fail, "scripted fee failure")
        return fees_pb2.CalculateAdditionalFeesResponse(
            currency=request.currency,
            additional_fees=[
                fees_pb2.AdditionalFee(
                    code=code,
                    name=name,
                    price=price,
                    tax_details=fees_pb2.AdditionalFeeTaxDetails(taxable=taxable),
                )
                for code, (name, price, taxable) in self.fees.items()
            ],
        )


@dataclass
class ValidationsProvider(validations_grpc.ValidationsProviderServiceServicer):
    """Flags every line whose quantity is above `max_quantity` (ERROR)."""

    max_quantity: int = 5
    calls: int = 0

    async def GetValidationViolations(
        self,
        request: validations_pb2.GetValidationViolationsRequest,
        context: grpc.aio.ServicerContext,
    ) -> validations_pb2.GetValidationViolationsResponse:
        self.calls += 1
        reply = validations_pb2.GetValidationViolationsResponse()
        for line in request.line_items:
            if line.quantity > self.max_quantity:
                violation = reply.violations.add(
                    description=f"at most {self.max_quantity} per order"
                )
                violation.target.line_item.id = line.id
        return reply


@dataclass
class Started:
    server: grpc.aio.Server
    port: int

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"


async def serve(*servicers: Any) -> Started:
    """One grpc.aio server on 127.0.0.1:0 with the given provider servicers."""
    server = grpc.aio.server()
    adders: dict[type[Any], Callable[[Any, grpc.aio.Server], None]] = {
        CatalogProvider: catalog_grpc.add_CatalogProviderServiceServicer_to_server,
        ShippingProvider: rates_grpc.add_ShippingRatesProviderServiceServicer_to_server,
        FeesProvider: fees_grpc.add_AdditionalFeesProviderServiceServicer_to_server,
        ValidationsProvider: validations_grpc.add_ValidationsProviderServiceServicer_to_server,
    }
    for servicer in servicers:
        adders[type(servicer)](servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return Started(server, port)


def line(
    item_id: str, quantity: int = 1, *, app_id: str = "shop", **options: Any
) -> line_item_pb2.LineItem:
    """A request line item (`ecom.common.v1.LineItem`) for `item_id` of catalog `app_id`."""
    result = line_item_pb2.LineItem(quantity=quantity)
    result.catalog_reference.catalog_item_id = item_id
    result.catalog_reference.app_id = app_id
    if options:
        result.catalog_reference.options.update(options)
    return result


def struct(data: Mapping[str, Any]) -> struct_pb2.Struct:
    value = struct_pb2.Struct()
    json_format.Parse(json.dumps(data), value)
    return value


def error_info(exc: grpc.aio.AioRpcError) -> tuple[str, dict[str, str], set[str]]:
    """(ErrorInfo reason, ErrorInfo metadata, BadRequest field paths) of a failed call."""
    status = rpc_status.from_call(exc)
    reason, metadata, fields = "", {}, set()
    for detail in status.details if status is not None else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reason, metadata = info.reason, dict(info.metadata)
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            fields |= {v.field for v in bad.field_violations}
    return reason, metadata, fields
