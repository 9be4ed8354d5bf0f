"""Helpers of the recommendations tests: the served suite part (registry, reference catalog,
recommendations) and its stubs, order events built as the orders service builds them, waiting
for the consumer, and a scriptable recommendations provider on a real grpc.aio server."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import grpc
import sqlalchemy as sa
from google.protobuf import any_pb2, duration_pb2, json_format, struct_pb2, timestamp_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from ecom.catalog.v1 import catalog_admin_service_pb2 as admin_pb
from ecom.catalog.v1 import catalog_admin_service_pb2_grpc, product_pb2
from ecom.common.v1 import catalog_pb2
from ecom.events.v1 import event_pb2
from ecom.orders.v1 import events_pb2 as order_events_pb2
from ecom.orders.v1 import order_pb2
from ecom.providers.v1 import (
    provider_pb2,
    provider_registry_service_pb2,
    provider_registry_service_pb2_grpc,
)
from ecom.recommendations.v1 import (
    recommendation_pb2,
    recommendations_service_pb2,
    recommendations_service_pb2_grpc,
)
from ecom.spi.recommendations.v1 import recommendations_provider_service_pb2 as spi
from ecom.spi.recommendations.v1 import recommendations_provider_service_pb2_grpc as spi_grpc
from services.platform.identity import Role
from services.platform.schema.tables import consumed_events
from services.platform.server import RunningServer
from services.recommendations.events import CONSUMER_NAME
from tests.helpers import eventually

Metadata = tuple[tuple[str, str], ...]
pb = recommendations_service_pb2
CATALOG = "ecom.catalog"
BUILTIN = "ecom.recommendations"
FBT = "FREQUENTLY_BOUGHT_TOGETHER"
BEST = "BEST_SELLERS"
Reason = pb.SkippedAlgorithm.Reason


@dataclass
class Served:
    running: RunningServer
    channel: grpc.aio.Channel
    extra_channels: list[grpc.aio.Channel] = field(default_factory=list)

    @property
    def recommendations(self) -> recommendations_service_pb2_grpc.RecommendationsServiceStub:
        return recommendations_service_pb2_grpc.RecommendationsServiceStub(self.channel)

    @property
    def registry(self) -> provider_registry_service_pb2_grpc.ProviderRegistryServiceStub:
        return provider_registry_service_pb2_grpc.ProviderRegistryServiceStub(self.channel)

    @property
    def catalog_admin(self) -> catalog_admin_service_pb2_grpc.CatalogAdminServiceStub:
        return catalog_admin_service_pb2_grpc.CatalogAdminServiceStub(self.channel)

    def new_stub(self) -> recommendations_service_pb2_grpc.RecommendationsServiceStub:
        channel = grpc.aio.insecure_channel(self.running.address)
        self.extra_channels.append(channel)
        return recommendations_service_pb2_grpc.RecommendationsServiceStub(channel)

    def token(self, site: str, role: Role = Role.ADMIN, subject: str = "admin-1") -> Metadata:
        minted = self.running.runtime.tokens.mint(role=role, site=site, subject=subject)
        return (("authorization", f"Bearer {minted}"),)

    def visitor(self, site: str) -> Metadata:
        return self.token(site, Role.VISITOR, f"visitor-{uuid.uuid4().hex[:6]}")

    async def close(self) -> None:
        for channel in [self.channel, *self.extra_channels]:
            await channel.close()
        await self.running.stop(0)

    # -- catalog ----------------------------------------------------------------------------

    async def products(self, site: str, *products: product_pb2.Product) -> None:
        for start in range(0, len(products), 100):
            await self.catalog_admin.UpsertProducts(
                admin_pb.UpsertProductsRequest(products=products[start : start + 100]),
                metadata=self.token(site),
            )

    async def set_stock(self, site: str, product_id: str, quantity: int) -> None:
        await self.catalog_admin.SetStock(
            admin_pb.SetStockRequest(
                items=[admin_pb.StockSetting(product_id=product_id, quantity=quantity)]
            ),
            metadata=self.token(site),
        )

    async def delete_product(self, site: str, product_id: str) -> None:
        await self.catalog_admin.DeleteProduct(
            admin_pb.DeleteProductRequest(id=product_id), metadata=self.token(site)
        )

    # -- providers --------------------------------------------------------------------------

    async def register(
        self, site: str, app_id: str, target: str, *, timeout_ms: int = 0
    ) -> provider_pb2.Provider:
        provider = provider_pb2.Provider(
            kind=provider_pb2.PROVIDER_KIND_RECOMMENDATIONS, app_id=app_id, target=target
        )
        if timeout_ms:
            provider.timeout.CopyFrom(duration_pb2.Duration(nanos=timeout_ms * 1_000_000))
        response: provider_registry_service_pb2.RegisterProviderResponse = (
            await self.registry.RegisterProvider(
                provider_registry_service_pb2.RegisterProviderRequest(provider=provider),
                metadata=self.token(site),
            )
        )
        return response.provider

    # -- events -----------------------------------------------------------------------------

    async def publish(self, events: Sequence[event_pb2.Event]) -> None:
        await self.running.runtime.bus.publish(events)

    async def consumed(self, event_ids: Iterable[str], timeout_s: float = 30.0) -> None:
        """Wait until the recommendations consumer has handled every one of `event_ids`."""
        wanted = set(event_ids)
        database = self.running.runtime.database("recommendations")

        async def count(session: Any) -> int:
            done = 0
            ids = list(wanted)
            for start in range(0, len(ids), 500):
                done += int(
                    await session.scalar(
                        sa.select(sa.func.count())
                        .select_from(consumed_events)
                        .where(
                            consumed_events.c.consumer == CONSUMER_NAME,
                            consumed_events.c.event_id.in_(ids[start : start + 500]),
                        )
                    )
                )
            return done

        async def all_done() -> bool:
            return await database.run(count, readonly=True) == len(wanted)

        # Polled gently: the count competes with the consumer it waits for.
        await eventually(all_done, timeout_s=timeout_s, interval_s=0.1)

    async def apply(self, events: Sequence[event_pb2.Event]) -> None:
        await self.publish(events)
        await self.consumed(e.id for e in events)

    # -- calls ------------------------------------------------------------------------------

    async def recommend(
        self,
        site: str,
        algorithms: Sequence[tuple[str, str]],
        items: Sequence[catalog_pb2.CatalogReference] = (),
        minimum: int = 0,
        metadata: Metadata | None = None,
    ) -> pb.GetRecommendationResponse:
        response: pb.GetRecommendationResponse = await self.recommendations.GetRecommendation(
            pb.GetRecommendationRequest(
                items=items,
                algorithms=[
                    recommendation_pb2.Algorithm(app_id=app, algorithm_id=algorithm)
                    for app, algorithm in algorithms
                ],
                minimum_recommended_items=minimum,
            ),
            metadata=metadata or self.visitor(site),
        )
        return response


# -- building orders and events --------------------------------------------------------------


def ref(item_id: str, app_id: str = CATALOG, **options: Any) -> catalog_pb2.CatalogReference:
    reference = catalog_pb2.CatalogReference(catalog_item_id=item_id, app_id=app_id)
    if options:
        reference.options.CopyFrom(json_format.ParseDict(options, struct_pb2.Struct()))
    return reference


def ids(references: Iterable[catalog_pb2.CatalogReference]) -> list[str]:
    return [r.catalog_item_id for r in references]


def product(product_id: str, *, price: str = "10.00", visible: bool = True) -> product_pb2.Product:
    return product_pb2.Product(
        id=product_id, name=f"Product {product_id}", price=price, visible=visible
    )


@dataclass(frozen=True)
class Line:
    item_id: str
    quantity: int = 1
    app_id: str = CATALOG
    options: Mapping[str, Any] | None = None


def order(order_id: str, created: datetime, lines: Sequence[Line]) -> order_pb2.Order:
    built = order_pb2.Order(
        id=order_id, currency="USD", status=order_pb2.ORDER_STATUS_APPROVED, revision=1
    )
    built.created_date.FromDatetime(created)
    for number, line in enumerate(lines):
        item = built.line_items.add(id=f"line-{number}", quantity=line.quantity)
        item.product_name.original = f"Product {line.item_id or 'custom'}"
        item.price.amount = "10.00"
        if line.item_id:
            item.catalog_reference.CopyFrom(ref(line.item_id, line.app_id, **(line.options or {})))
        else:
            item.custom_line_item = True
    return built


def envelope(
    site: str, event_type: str, entity_id: str, payload: Any, sequence: int = 1
) -> event_pb2.Event:
    """An event as the outbox relay publishes it (services/platform/outbox.py to_event)."""
    packed = any_pb2.Any()
    packed.Pack(payload, deterministic=True)
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(datetime.now(UTC))
    return event_pb2.Event(
        id=str(uuid.uuid4()),
        type=event_type,
        site=site,
        entity_id=entity_id,
        entity_sequence=sequence,
        event_time=stamp,
        payload=packed,
    )


def approved(site: str, placed: order_pb2.Order) -> event_pb2.Event:
    return envelope(
        site,
        "ecom.orders.v1.order_approved",
        placed.id,
        order_events_pb2.OrderApproved(order=placed),
        2,
    )


def canceled(site: str, placed: order_pb2.Order) -> event_pb2.Event:
    gone = order_pb2.Order()
    gone.CopyFrom(placed)
    gone.status = order_pb2.ORDER_STATUS_CANCELED
    return envelope(
        site,
        "ecom.orders.v1.order_canceled",
        placed.id,
        order_events_pb2.OrderCanceled(order=gone),
        3,
    )


def new_order_id() -> str:
    return str(uuid.uuid4())


def bad_fields(exc: grpc.aio.AioRpcError) -> set[str]:
    status = rpc_status.from_call(exc)
    fields: set[str] = set()
    if status is not None:
        for detail in status.details:
            if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad = error_details_pb2.BadRequest()
                detail.Unpack(bad)
                fields |= {v.field for v in bad.field_violations}
    return fields


def skipped(response: pb.GetRecommendationResponse) -> list[tuple[str, str, int, int]]:
    return [
        (s.algorithm.app_id, s.algorithm.algorithm_id, s.reason, s.item_count)
        for s in response.skipped_algorithms
    ]


# -- a recommendations provider ----------------------------------------------------------------


class ScriptedProvider(spi_grpc.RecommendationsProviderServiceServicer):
    """A recommendations provider whose algorithms and answers the test sets, recording calls."""

    def __init__(self) -> None:
        self.algorithms: list[spi.Algorithm] = []
        #: Items per algorithm id; an algorithm missing here is omitted from answers.
        self.answers: dict[str, list[catalog_pb2.CatalogReference]] = {}
        self.fail_list: grpc.StatusCode | None = None
        self.fail_recommend: grpc.StatusCode | None = None
        self.delay_s = 0.0
        self.list_calls = 0
        self.requests: list[spi.GetRecommendationsRequest] = []
        self.metadata: list[dict[str, str]] = []

    def offer(
        self,
        algorithm_id: str,
        items: Sequence[catalog_pb2.CatalogReference],
        *,
        kind: int = spi.ALGORITHM_TYPE_GLOBAL,
        catalogs: Sequence[str] = (),
    ) -> None:
        self.algorithms.append(
            spi.Algorithm(
                algorithm_id=algorithm_id,
                name=f"Algorithm {algorithm_id}",
                description="scripted",
                algorithm_type=kind,  # type: ignore[arg-type]
                catalog_app_ids=list(catalogs),
            )
        )
        self.answers[algorithm_id] = list(items)

    async def ListAlgorithms(
        self, request: spi.ListAlgorithmsRequest, context: grpc.aio.ServicerContext
    ) -> spi.ListAlgorithmsResponse:
        self.list_calls += 1
        if self.fail_list is not None:
            await context.abort(self.fail_list, "scripted failure")
        return spi.ListAlgorithmsResponse(algorithms=self.algorithms)

    async def GetRecommendations(
        self, request: spi.GetRecommendationsRequest, context: grpc.aio.ServicerContext
    ) -> spi.GetRecommendationsResponse:
        self.requests.append(request)
        self.metadata.append({k: str(v) for k, v in context.invocation_metadata() or ()})
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.fail_recommend is not None:
            await context.abort(self.fail_recommend, "scripted failure")
        return spi.GetRecommendationsResponse(
            recommendations=[
                spi.Recommendation(algorithm_id=a, items=self.answers[a])
                for a in request.algorithm_ids
                if a in self.answers
            ]
        )

    def asked(self) -> list[list[str]]:
        """The algorithm ids of each GetRecommendations call, in call order."""
        return [list(r.algorithm_ids) for r in self.requests]


@dataclass
class ProviderServer:
    servicer: ScriptedProvider
    server: grpc.aio.Server
    port: int

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"


async def start_provider() -> ProviderServer:
    server = grpc.aio.server()
    servicer = ScriptedProvider()
    spi_grpc.add_RecommendationsProviderServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return ProviderServer(servicer, server, port)
