"""The `providers` service target: `ecom.providers.v1.ProviderRegistryService`.

Providers registered per site through the API live in this service's own table (migrations in
`migrations/`); providers declared in the JSON file named by `ECOM_PROVIDERS_FILE` (format in
`services.platform.providers.config_file` and docs/providers.md) are loaded at start-up and
served read-only next to them. Without a file, the reference providers this deployment serves
are listed for every site instead (`defaults.py`). Other services never read these tables: they
ask this service over gRPC through `services.platform.providers.ProviderClient`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import grpc

from ecom.providers.v1 import provider_registry_service_pb2, provider_registry_service_pb2_grpc
from services.platform.module import Binding, ServiceModule
from services.platform.providers.config_file import (
    ConfiguredProviders,
    load_providers_file,
    resolve_target,
)
from services.registry.api import ProviderRegistryServicer
from services.registry.defaults import default_providers, served_targets
from services.registry.service import ProviderRegistry

if TYPE_CHECKING:
    from services.platform.runtime import Runtime

SERVICE_NAME = provider_registry_service_pb2.DESCRIPTOR.services_by_name[
    "ProviderRegistryService"
].full_name
MIGRATIONS = str(Path(__file__).resolve().parent / "migrations")


async def bind(runtime: Runtime, server: grpc.aio.Server) -> Binding:
    path = runtime.config["PROVIDERS_FILE"]
    configured: ConfiguredProviders | Callable[[], ConfiguredProviders]
    if path:
        configured = await asyncio.to_thread(load_providers_file, path)
    else:
        # Without a file: the reference providers that are served (see defaults.py), known
        # once every target of the process is bound.
        def configured() -> ConfiguredProviders:
            return default_providers(served_targets(runtime))

    def resolve(target: str) -> str:
        return resolve_target(target, runtime.peer_address)

    client = runtime.providers
    registry = ProviderRegistry(
        runtime.database(MODULE.name), configured, client=client, resolve_target=resolve
    )
    servicer = ProviderRegistryServicer(
        registry,
        default_timeout_ms=int(runtime.config["PROVIDER_TIMEOUT_MS"]),
        resolve_target=resolve,
    )
    provider_registry_service_pb2_grpc.add_ProviderRegistryServiceServicer_to_server(
        servicer, server
    )

    return Binding(service_names=[SERVICE_NAME])


MODULE = ServiceModule(
    name="providers",
    bind=bind,
    migrations=MIGRATIONS,
    metadata_module="services.registry.tables",
)
