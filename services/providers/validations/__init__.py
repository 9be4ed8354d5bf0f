"""The `validations` service target: the reference validations provider
(`ecom.spi.validations.v1.ValidationsProviderService`).

Minimum and maximum quantity per catalog item, a minimum order value and blocked destinations,
each rule reporting violations with its own severity (ERROR blocks the order, WARNING is only
shown). Everything comes from the registration's `settings` sent with each call (schema:
`settings.py`, docs/reference-providers.md), with a demo setup when they are empty; the provider
keeps no state and has no database.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import grpc

from ecom.spi.validations.v1 import (
    validations_provider_service_pb2,
    validations_provider_service_pb2_grpc,
)
from services.platform.module import Binding, ServiceModule
from services.providers.validations.api import ValidationsServicer

if TYPE_CHECKING:
    from services.platform.runtime import Runtime

SERVICE_NAME = validations_provider_service_pb2.DESCRIPTOR.services_by_name[
    "ValidationsProviderService"
].full_name


async def bind(runtime: Runtime, server: grpc.aio.Server) -> Binding:
    validations_provider_service_pb2_grpc.add_ValidationsProviderServiceServicer_to_server(
        ValidationsServicer(), server
    )
    return Binding(service_names=[SERVICE_NAME])


MODULE = ServiceModule(name="validations", bind=bind, migrations=None)
