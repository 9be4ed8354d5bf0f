"""`ecom.providers.v1.ProviderRegistryService`: proto <-> domain translation only.

The site is always the caller's (from the verified token); errors are domain exceptions that the
platform interceptor maps to statuses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

import grpc
from google.protobuf import duration_pb2, json_format, struct_pb2, timestamp_pb2

from ecom.providers.v1 import (
    provider_pb2,
    provider_registry_service_pb2,
    provider_registry_service_pb2_grpc,
)
from services.platform.errors import InvalidArgument
from services.platform.identity import current_caller
from services.platform.providers.kinds import Kind
from services.registry.domain import ProviderRecord, Registration, Source
from services.registry.listing import ListQuery, ProviderFilter, SortKey
from services.registry.service import ProviderRegistry

pb = provider_registry_service_pb2

_SORT_FIELDS = {
    pb.PROVIDER_SORT_FIELD_KIND: "kind",
    pb.PROVIDER_SORT_FIELD_APP_ID: "app_id",
    pb.PROVIDER_SORT_FIELD_CREATED_DATE: "created",
    pb.PROVIDER_SORT_FIELD_UPDATED_DATE: "updated",
}
_SORT_DESC = 2  # ecom.common.v1.SortOrder.SORT_ORDER_DESC


def _kind(value: int) -> Kind | None:
    try:
        return Kind(value)
    except ValueError:
        return None  # unset or unknown: the registration check names the field


def _timeout_ms(duration: duration_pb2.Duration) -> int:
    nanos = duration.ToNanoseconds()
    if nanos < 0:
        return -1  # rejected by the registration check, whatever its size
    # Round up: a positive sub-millisecond timeout must not become 0 ("use the default").
    return -(-nanos // 1_000_000)


def registration_from_proto(provider: provider_pb2.Provider) -> Registration:
    return Registration(
        kind=_kind(provider.kind),
        app_id=provider.app_id,
        target=provider.target,
        tls=provider.tls,
        timeout_ms=_timeout_ms(provider.timeout),
        settings=json_format.MessageToDict(provider.settings),
        validate_in_cart=provider.validate_in_cart,
        enabled=provider.enabled if provider.HasField("enabled") else True,
    )


def _timestamp(value: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value)
    return stamp


class ProviderRegistryServicer(provider_registry_service_pb2_grpc.ProviderRegistryServiceServicer):
    def __init__(
        self,
        registry: ProviderRegistry,
        *,
        default_timeout_ms: int,
        resolve_target: Callable[[str], str],
    ) -> None:
        self._registry = registry
        self._default_timeout_ms = default_timeout_ms
        self._resolve_target = resolve_target

    def _to_proto(self, record: ProviderRecord) -> provider_pb2.Provider:
        timeout = duration_pb2.Duration()
        timeout.FromMilliseconds(record.timeout_ms or self._default_timeout_ms)
        settings = struct_pb2.Struct()
        settings.update(dict(record.settings))
        return provider_pb2.Provider(
            id=record.id,
            kind=provider_pb2.ProviderKind.ValueType(int(record.kind)),
            app_id=record.app_id,
            target=self._resolve_target(record.target),
            tls=record.tls,
            timeout=timeout,
            settings=settings,
            validate_in_cart=record.validate_in_cart,
            enabled=record.enabled,
            source=provider_pb2.ProviderSource.ValueType(int(record.source)),
            revision=record.revision,
            created_date=_timestamp(record.created),
            updated_date=_timestamp(record.updated),
        )

    async def RegisterProvider(
        self, request: pb.RegisterProviderRequest, context: grpc.aio.ServicerContext
    ) -> pb.RegisterProviderResponse:
        return await self._registry.register(
            current_caller().site,
            registration_from_proto(request.provider),
            request_id=request.request_id,
            request=request,
            respond=lambda record: pb.RegisterProviderResponse(provider=self._to_proto(record)),
            response_type=pb.RegisterProviderResponse,
        )

    async def GetProvider(
        self, request: pb.GetProviderRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetProviderResponse:
        record = await self._registry.get(current_caller().site, request.id)
        return pb.GetProviderResponse(provider=self._to_proto(record))

    async def ListProviders(
        self, request: pb.ListProvidersRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListProvidersResponse:
        page = await self._registry.list(current_caller().site, _list_query(request))
        return pb.ListProvidersResponse(
            providers=[self._to_proto(record) for record in page.records],
            next_page_token=page.next_page_token,
        )

    async def UpdateProvider(
        self, request: pb.UpdateProviderRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpdateProviderResponse:
        provider = request.provider
        values = registration_from_proto(provider)
        if not provider.HasField("enabled"):
            values = replace(values, enabled=False)  # named in the mask and unset: the default
        record = await self._registry.update(
            current_caller().site,
            provider.id,
            values,
            frozenset(request.update_mask.paths),
            provider.revision,
        )
        return pb.UpdateProviderResponse(provider=self._to_proto(record))

    async def DeleteProvider(
        self, request: pb.DeleteProviderRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeleteProviderResponse:
        await self._registry.delete(current_caller().site, request.id, request.revision)
        return pb.DeleteProviderResponse()

    async def CheckProvider(
        self, request: pb.CheckProviderRequest, context: grpc.aio.ServicerContext
    ) -> pb.CheckProviderResponse:
        result = await self._registry.check(
            current_caller().site, request.id, ignore_circuit=request.ignore_circuit
        )
        response = pb.CheckProviderResponse(
            health=provider_pb2.ProviderHealth.ValueType(int(result.health)),
            error_message=result.error_message,
            circuit_state=provider_pb2.CircuitState.ValueType(int(result.circuit_state)),
            probe=result.probe,
            checked_time=_timestamp(result.checked),
        )
        if result.latency_s is not None:
            response.latency.FromNanoseconds(int(result.latency_s * 1e9))
        return response


def _list_query(request: pb.ListProvidersRequest) -> ListQuery:
    sort: list[SortKey] = []
    for index, key in enumerate(request.sort):
        field = _SORT_FIELDS.get(key.field)
        if field is None:
            raise InvalidArgument.of(f"sort[{index}].field", "required: a PROVIDER_SORT_FIELD_*")
        sort.append(SortKey(field, descending=key.order == _SORT_DESC))
    wanted = request.filter
    kinds: set[Kind] = set()
    for index, kind_value in enumerate(wanted.kinds):
        kind = _kind(kind_value)
        if kind is None:
            raise InvalidArgument.of(f"filter.kinds[{index}]", "not a known provider kind")
        kinds.add(kind)
    sources: set[Source] = set()
    for index, source_value in enumerate(wanted.sources):
        try:
            sources.add(Source(source_value))
        except ValueError:
            raise InvalidArgument.of(
                f"filter.sources[{index}]", "not a known provider source"
            ) from None
    return ListQuery(
        filter=ProviderFilter(
            kinds=frozenset(kinds),
            app_ids=frozenset(wanted.app_ids),
            enabled=wanted.enabled if wanted.HasField("enabled") else None,
            sources=frozenset(sources),
        ),
        sort=tuple(sort),
        page_size=request.page_size,
        page_token=request.page_token,
    )
