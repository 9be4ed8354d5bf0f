"""The `fees` service target: the reference additional-fees provider
(`ecom.spi.additional_fees.v1.AdditionalFeesProviderService`).

A handling fee per item (by item type) and order-level fees by destination region, each with
its tax details. Everything comes from the registration's `settings` sent with each call (schema:
`settings.py`, docs/reference-providers.md), with a demo setup when they are empty; the provider
keeps no state and has no database.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import grpc

from ecom.spi.additional_fees.v1 import (
    additional_fees_provider_service_pb2,
    additional_fees_provider_service_pb2_grpc,
)
from services.platform.module import Binding, ServiceModule
from services.providers.fees.api import AdditionalFeesServicer

if TYPE_CHECKING:
    from services.platform.runtime import Runtime

SERVICE_NAME = additional_fees_provider_service_pb2.DESCRIPTOR.services_by_name[
    "AdditionalFeesProviderService"
].full_name


async def bind(runtime: Runtime, server: grpc.aio.Server) -> Binding:
    additional_fees_provider_service_pb2_grpc.add_AdditionalFeesProviderServiceServicer_to_server(
        AdditionalFeesServicer(), server
    )
    return Binding(service_names=[SERVICE_NAME])


MODULE = ServiceModule(name="fees", bind=bind, migrations=None)
