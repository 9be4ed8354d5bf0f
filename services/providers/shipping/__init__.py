"""The `shipping` service target: the reference shipping-rates provider
(`ecom.spi.shipping_rates.v1.ShippingRatesProviderService`).

Flat rates, weight-based tiers (KG or LB), free shipping over a subtotal, and store pickup with
its address, in per-region tables. Everything comes from the registration's `settings` sent with
each call (schema: `settings.py`, docs/reference-providers.md), with a demo setup when they are
empty; the provider keeps no state and has no database.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import grpc

from ecom.spi.shipping_rates.v1 import (
    shipping_rates_provider_service_pb2,
    shipping_rates_provider_service_pb2_grpc,
)
from services.platform.module import Binding, ServiceModule
from services.providers.shipping.api import ShippingRatesServicer

if TYPE_CHECKING:
    from services.platform.runtime import Runtime

SERVICE_NAME = shipping_rates_provider_service_pb2.DESCRIPTOR.services_by_name[
    "ShippingRatesProviderService"
].full_name


async def bind(runtime: Runtime, server: grpc.aio.Server) -> Binding:
    shipping_rates_provider_service_pb2_grpc.add_ShippingRatesProviderServiceServicer_to_server(
        ShippingRatesServicer(), server
    )
    return Binding(service_names=[SERVICE_NAME])


MODULE = ServiceModule(name="shipping", bind=bind, migrations=None)
