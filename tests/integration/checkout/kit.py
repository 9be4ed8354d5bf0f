"""Providers the checkout tests serve on real grpc.aio servers (127.0.0.1, port 0), scriptable to
be slow, fail or lie, and small helpers. The reference catalog (with inventory) and the real
orders service are used wherever a test does not need to script a failure."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from ecom.common.v1 import address_pb2, calculation_pb2, catalog_pb2, line_item_pb2, money_pb2
from ecom.common.v1 import shipping_pb2 as common_shipping_pb2
from ecom.spi.additional_fees.v1 import additional_fees_provider_service_pb2 as fees_pb2
from ecom.spi.additional_fees.v1 import additional_fees_provider_service_pb2_grpc as fees_grpc
from ecom.spi.catalog.v1 import catalog_provider_service_pb2 as catalog_spi
from ecom.spi.catalog.v1 import catalog_provider_service_pb2_grpc as catalog_grpc
from ecom.spi.inventory.v1 import inventory_provider_service_pb2 as inventory_spi
from ecom.spi.inventory.v1 import inventory_provider_service_pb2_grpc as inventory_grpc
from ecom.spi.shipping_rates.v1 import shipping_rates_provider_service_pb2 as rates_pb2
from ecom.spi.shipping_rates.v1 import shipping_rates_provider_service_pb2_grpc as rates_grpc
from ecom.spi.validations.v1 import validations_provider_service_pb2 as validations_pb2
from ecom.spi.validations.v1 import validations_provider_service_pb2_grpc as validations_grpc
from tests.integration.unimplemented import UnimplementedInventoryProvider


def item(
    name: str,
    price: str,
    *,
    stock: int | None = None,
    shippable: bool = True,
    weight: str = "0.5",
) -> catalog_spi.CatalogItemData:
    data = catalog_spi.CatalogItemData(
        product_name=money_pb2.LocalizedText(original=name), price=price
    )
    data.item_type.preset = catalog_pb2.ITEM_TYPE_PRESET_PHYSICAL
    if shippable:
        data.physical_properties.shippable = True
        data.physical_properties.weight = weight
    if stock is not None:
        data.quantity_available = stock
    return data


@dataclass
class CatalogProvider(catalog_grpc.CatalogProviderServiceServicer):
    """Items keyed by catalog_item_id; `garbage` answers with a negative price."""

    items: dict[str, catalog_spi.CatalogItemData] = field(default_factory=dict)
    garbage: bool = False

    async def GetCatalogItems(
        self, request: catalog_spi.GetCatalogItemsRequest, context: grpc.aio.ServicerContext
    ) -> catalog_spi.GetCatalogItemsResponse:
        reply = catalog_spi.GetCatalogItemsResponse()
        for wanted in request.catalog_references:
            data = self.items.get(wanted.catalog_reference.catalog_item_id)
            if data is None:
                continue
            entry = reply.catalog_items.add(catalog_reference=wanted.catalog_reference, data=data)
            if self.garbage:
                entry.data.price = "-5"
        return reply


@dataclass
class InventoryProvider(UnimplementedInventoryProvider):
    """Stock per catalog_item_id with reservations, all or nothing. While `commit_down`,
    CommitInventory answers UNAVAILABLE."""

    stock: dict[str, int] = field(default_factory=dict)
    reservations: dict[str, dict[str, int]] = field(default_factory=dict)
    committed: dict[str, dict[str, int]] = field(default_factory=dict)
    commit_down: bool = False
    commit_calls: int = 0

    def available(self, item_id: str) -> int:
        held = sum(r.get(item_id, 0) for r in self.reservations.values())
        return self.stock.get(item_id, 0) - held

    async def ReserveInventory(
        self, request: inventory_spi.ReserveInventoryRequest, context: grpc.aio.ServicerContext
    ) -> inventory_spi.ReserveInventoryResponse:
        rid = request.reservation_id
        if rid in self.committed:
            return inventory_spi.ReserveInventoryResponse()
        wanted: dict[str, int] = {}
        for entry in request.items:
            key = entry.catalog_reference.catalog_item_id
            wanted[key] = wanted.get(key, 0) + entry.quantity
        previous = self.reservations.pop(rid, {})
        short = []
        for entry in request.items:
            key = entry.catalog_reference.catalog_item_id
            if self.available(key) < wanted[key]:
                short.append(
                    inventory_spi.ShortItem(
                        catalog_reference=entry.catalog_reference,
                        requested=wanted[key],
                        available=max(self.available(key), 0),
                    )
                )
        if short:
            self.reservations[rid] = previous
            await _abort_short(context, rid, short)
        self.reservations[rid] = wanted
        return inventory_spi.ReserveInventoryResponse()

    async def ReleaseInventory(
        self, request: inventory_spi.ReleaseInventoryRequest, context: grpc.aio.ServicerContext
    ) -> inventory_spi.ReleaseInventoryResponse:
        self.reservations.pop(request.reservation_id, None)
        return inventory_spi.ReleaseInventoryResponse()

    async def CommitInventory(
        self, request: inventory_spi.CommitInventoryRequest, context: grpc.aio.ServicerContext
    ) -> inventory_spi.CommitInventoryResponse:
        self.commit_calls += 1
        if self.commit_down:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "stock store is down")
        rid = request.reservation_id
        if rid not in self.committed:
            held = self.reservations.pop(rid, {})
            for key, quantity in held.items():
                self.stock[key] -= quantity
            self.committed[rid] = held
        return inventory_spi.CommitInventoryResponse()


async def _abort_short(
    context: grpc.aio.ServicerContext, rid: str, short: list[inventory_spi.ShortItem]
) -> None:
    info = any_pb2.Any()
    info.Pack(
        error_details_pb2.ErrorInfo(
            reason="INSUFFICIENT_INVENTORY",
            domain="ecom.spi.inventory.v1",
            metadata={"reservation_id": rid},
        )
    )
    detail = any_pb2.Any()
    detail.Pack(inventory_spi.InsufficientInventory(items=short))
    status = status_pb2.Status(
        code=code_pb2.FAILED_PRECONDITION, message="not enough stock", details=[info, detail]
    )
    await context.abort_with_status(rpc_status.to_status(status))


@dataclass
class ShippingProvider(rates_grpc.ShippingRatesProviderServiceServicer):
    """Offers `rates` (code -> (title, price)); `pickup` codes get pickup details."""

    rates: dict[str, tuple[str, str]] = field(default_factory=dict)
    pickup: set[str] = field(default_factory=set)
    delay_s: float = 0.0
    fail: grpc.StatusCode | None = None
    garbage: bool = False
    calls: int = 0

    async def GetShippingRates(
        self, request: rates_pb2.GetShippingRatesRequest, context: grpc.aio.ServicerContext
    ) -> rates_pb2.GetShippingRatesResponse:
        self.calls += 1
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.fail is not None:
            await context.abort(self.fail, "scripted shipping failure")
        reply = rates_pb2.GetShippingRatesResponse()
        for code, (title, price) in self.rates.items():
            rate = reply.shipping_rates.add(
                code=code,
                title=title,
                cost=rates_pb2.ShippingCost(
                    price=price, currency="XXX" if self.garbage else request.currency
                ),
            )
            if code in self.pickup:
                rate.logistics.pickup_details.CopyFrom(
                    common_shipping_pb2.PickupDetails(
                        address=address_pb2.Address(country="US", city="Springfield")
                    )
                )
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
    """Flags lines above `max_quantity` with `severity`."""

    max_quantity: int = 5
    severity: int = calculation_pb2.VIOLATION_SEVERITY_ERROR
    seen: list[validations_pb2.GetValidationViolationsRequest] = field(default_factory=list)

    async def GetValidationViolations(
        self,
        request: validations_pb2.GetValidationViolationsRequest,
        context: grpc.aio.ServicerContext,
    ) -> validations_pb2.GetValidationViolationsResponse:
        self.seen.append(request)
        reply = validations_pb2.GetValidationViolationsResponse()
        for line in request.line_items:
            if line.quantity > self.max_quantity:
                violation = reply.violations.add(
                    severity=self.severity,
                    description=f"at most {self.max_quantity} per order",
                )
                violation.target.line_item.id = line.id
        return reply


_ADDERS: Mapping[type, Callable[[Any, grpc.aio.Server], None]] = {
    CatalogProvider: catalog_grpc.add_CatalogProviderServiceServicer_to_server,
    InventoryProvider: inventory_grpc.add_InventoryProviderServiceServicer_to_server,
    ShippingProvider: rates_grpc.add_ShippingRatesProviderServiceServicer_to_server,
    FeesProvider: fees_grpc.add_AdditionalFeesProviderServiceServicer_to_server,
    ValidationsProvider: validations_grpc.add_ValidationsProviderServiceServicer_to_server,
}


@dataclass
class Started:
    server: grpc.aio.Server
    port: int

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"


async def serve(*servicers: Any) -> Started:
    server = grpc.aio.server()
    for servicer in servicers:
        _ADDERS[type(servicer)](servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return Started(server, port)


def line(item_id: str, quantity: int = 1, *, app_id: str = "ecom.catalog") -> Any:
    result = line_item_pb2.LineItem(quantity=quantity)
    result.catalog_reference.catalog_item_id = item_id
    result.catalog_reference.app_id = app_id
    return result


def address(country: str = "US", subdivision: str = "US-NY") -> address_pb2.AddressWithContact:
    return address_pb2.AddressWithContact(
        address=address_pb2.Address(
            country=country, subdivision=subdivision, city="New York", postal_code="10001"
        ),
        contact_details=address_pb2.ContactDetails(first_name="Ada", last_name="Lovelace"),
    )


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
