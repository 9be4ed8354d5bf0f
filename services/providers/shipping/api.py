"""`ecom.spi.shipping_rates.v1.ShippingRatesProviderService`: proto <-> domain translation only."""

from __future__ import annotations

import grpc

from ecom.common.v1 import address_pb2, shipping_pb2
from ecom.spi.shipping_rates.v1 import shipping_rates_provider_service_pb2 as pb
from ecom.spi.shipping_rates.v1 import shipping_rates_provider_service_pb2_grpc as pb_grpc
from services.platform.errors import Violations
from services.pricing import to_wire
from services.providers.common import convert
from services.providers.shipping.domain import Order, Quote, quote
from services.providers.shipping.settings import (
    DEFAULTS,
    Pickup,
    ShippingSettings,
    parse_settings,
)


class ShippingRatesServicer(pb_grpc.ShippingRatesProviderServiceServicer):
    def __init__(self) -> None:
        self._settings = convert.SettingsCache(parse_settings, DEFAULTS)

    async def GetShippingRates(
        self, request: pb.GetShippingRatesRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetShippingRatesResponse:
        violations = Violations()
        settings = convert.read_settings(self._settings, request.settings, violations)
        order = Order(
            lines=convert.lines(request.line_items, violations),
            destination=convert.destination(request.shipping_destination),
            weight_unit=convert.weight_unit(request.weight_unit, violations),
            currency=convert.currency(request.currency, violations),
        )
        violations.raise_if_any()
        assert isinstance(settings, ShippingSettings)  # no violations: the settings parsed
        quotes = quote(settings, order)
        response = pb.GetShippingRatesResponse(
            shipping_rates=[_rate(q, order.currency) for q in quotes.quotes]
        )
        if quotes.region is not None:
            response.region.id = quotes.region.id
            response.region.name = quotes.region.name
        return response


def _rate(q: Quote, currency: str) -> pb.ShippingRate:
    rate = q.rate
    logistics = shipping_pb2.DeliveryLogistics(
        delivery_time=rate.delivery_time, instructions=rate.instructions
    )
    if rate.pickup is not None:
        logistics.pickup_details.CopyFrom(_pickup(rate.pickup))
    return pb.ShippingRate(
        code=rate.code,
        title=rate.title,
        logistics=logistics,
        cost=pb.ShippingCost(price=to_wire(q.price, currency), currency=currency),
    )


def _pickup(pickup: Pickup) -> shipping_pb2.PickupDetails:
    address = pickup.address
    details = shipping_pb2.PickupDetails(
        address=address_pb2.Address(
            country=address.country,
            subdivision=address.subdivision,
            city=address.city,
            postal_code=address.postal_code,
            address_line=address.address_line,
            address_line_2=address.address_line_2,
        ),
        business_location=pickup.business_location,
        pickup_method=int(pickup.method),  # type: ignore[arg-type]
    )
    if address.street_number or address.street_name:
        details.address.street_address.number = address.street_number
        details.address.street_address.name = address.street_name
    return details
