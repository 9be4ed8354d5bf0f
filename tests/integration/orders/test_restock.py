"""Restock through the inventory provider (ecom.spi.inventory.v1.RestockInventory) after
CancelOrder with restock_all_items and AddRefund with restock: a tiny provider on port 0,
registered through the real provider registry, receives the units after the commit, with an
idempotency key derived from the order, and the call is retried until it succeeds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import grpc
import pytest
import pytest_asyncio

from ecom.orders.v1 import order_pb2, transactions_pb2
from ecom.providers.v1 import (
    provider_pb2,
    provider_registry_service_pb2,
    provider_registry_service_pb2_grpc,
)
from ecom.spi.inventory.v1 import inventory_provider_service_pb2 as inventory_pb2
from ecom.spi.inventory.v1 import inventory_provider_service_pb2_grpc as inventory_grpc
from services.orders import MODULE
from services.registry import MODULE as REGISTRY
from tests.helpers import eventually
from tests.integration.orders.conftest import serve, stop
from tests.integration.orders.kit import Served, create, details, line, new_order, pb, regular, tx
from tests.integration.unimplemented import UnimplementedInventoryProvider

pytestmark = pytest.mark.asyncio(loop_scope="module")

STOCK_APP = "stock-app"


@dataclass
class InventoryProvider(UnimplementedInventoryProvider):
    """Keeps stock per catalog item id and records every RestockInventory call."""

    stock: dict[str, int] = field(default_factory=dict)
    calls: list[inventory_pb2.RestockInventoryRequest] = field(default_factory=list)
    sites: list[str] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    fail_next: int = 0

    async def RestockInventory(
        self, request: inventory_pb2.RestockInventoryRequest, context: grpc.aio.ServicerContext
    ) -> inventory_pb2.RestockInventoryResponse:
        self.calls.append(request)
        self.sites.append(dict(context.invocation_metadata() or ()).get("x-ecom-site", ""))
        if self.fail_next:
            self.fail_next -= 1
            await context.abort(grpc.StatusCode.UNAVAILABLE, "stock store is down")
        if request.request_id not in self.seen:  # idempotent by request id
            self.seen.add(request.request_id)
            for item in request.items:
                key = item.catalog_reference.catalog_item_id
                self.stock[key] = self.stock.get(key, 0) + item.quantity
        return inventory_pb2.RestockInventoryResponse()


@dataclass
class World:
    served: Served
    provider: InventoryProvider
    provider_server: grpc.aio.Server
    target: str


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(
    tmp_path_factory: pytest.TempPathFactory, postgres_url: str
) -> AsyncIterator[World]:
    provider = InventoryProvider()
    server = grpc.aio.server()
    inventory_grpc.add_InventoryProviderServiceServicer_to_server(provider, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    served = await serve(
        tmp_path_factory.mktemp("restock"),
        {"ECOM_DATABASE_URL": postgres_url},
        [REGISTRY, MODULE],
    )
    yield World(served, provider, server, f"127.0.0.1:{port}")
    await stop(served)
    await server.stop(0)


async def register(world: World, site: str) -> None:
    registry = provider_registry_service_pb2_grpc.ProviderRegistryServiceStub(world.served.channel)
    await registry.RegisterProvider(
        provider_registry_service_pb2.RegisterProviderRequest(
            provider=provider_pb2.Provider(
                kind=provider_pb2.PROVIDER_KIND_INVENTORY, app_id=STOCK_APP, target=world.target
            )
        ),
        metadata=world.served.admin(site),
    )


def stocked_order() -> order_pb2.Order:
    return new_order(
        total="70.00",
        lines=[
            line(item_id="mug", app_id=STOCK_APP, quantity=2),
            line(item_id="cap", app_id=STOCK_APP, quantity=3),
            line(item_id="poster", app_id="print-on-demand", quantity=1),  # no inventory provider
            line(quantity=1),  # a custom line: no catalog
        ],
    )


def calls_for(world: World, order_id: str) -> list[inventory_pb2.RestockInventoryRequest]:
    return [call for call in world.provider.calls if call.order_id == order_id]


async def test_cancel_with_restock_puts_every_unit_back_once(world: World, site: str) -> None:
    await register(world, site)
    served = world.served
    order = await create(served, site, stocked_order())
    world.provider.fail_next = 2  # the provider is down for the first two attempts
    canceled = (
        await served.orders.CancelOrder(
            pb.CancelOrderRequest(id=order.id, restock_all_items=True), metadata=served.admin(site)
        )
    ).order
    assert canceled.status == order_pb2.ORDER_STATUS_CANCELED
    assert [li.restock_quantity for li in canceled.line_items] == [2, 3, 1, 1]

    async def restocked() -> bool:
        return world.provider.stock.get("mug") == 2 and world.provider.stock.get("cap") == 3

    await eventually(restocked, timeout_s=15)
    calls = calls_for(world, order.id)
    assert len(calls) == 3  # two failures, then success; retries keep the idempotency key
    assert len({call.request_id for call in calls}) == 1
    items = {(i.catalog_reference.catalog_item_id, i.quantity) for i in calls[-1].items}
    assert items == {("mug", 2), ("cap", 3)}
    assert set(world.provider.sites) >= {site}
    assert world.provider.stock.get("poster") is None


async def test_refund_with_restock_returns_the_chosen_units(world: World, site: str) -> None:
    await register(world, site)
    served = world.served
    admin = served.admin(site)
    order = await create(served, site, stocked_order())
    mug, cap = order.line_items[0].id, order.line_items[1].id
    payment_id = (
        await served.transactions.AddPayments(
            tx.AddPaymentsRequest(order_id=order.id, payments=[regular("70.00")]), metadata=admin
        )
    ).payments_ids[0]
    refund = transactions_pb2.Refund(
        details=transactions_pb2.RefundDetails(
            items=[transactions_pb2.RefundItem(line_item_id=mug, quantity=1)]
        )
    )
    refund.transactions.add(payment_id=payment_id).amount.amount = "10.00"
    await served.transactions.AddRefund(
        tx.AddRefundRequest(
            order_id=order.id,
            refund=refund,
            side_effects=transactions_pb2.RefundSideEffects(
                restock_info=transactions_pb2.RestockInfo(
                    type=transactions_pb2.RESTOCK_TYPE_ALL_ITEMS
                )
            ),
        ),
        metadata=admin,
    )
    some = transactions_pb2.RefundSideEffects(
        restock_info=transactions_pb2.RestockInfo(
            type=transactions_pb2.RESTOCK_TYPE_SOME_ITEMS,
            items=[transactions_pb2.RestockItem(line_item_id=cap, quantity=3)],
        )
    )
    second = transactions_pb2.Refund()
    second.transactions.add(payment_id=payment_id).amount.amount = "5.00"
    await served.transactions.AddRefund(
        tx.AddRefundRequest(order_id=order.id, refund=second, side_effects=some), metadata=admin
    )
    reread = (await served.orders.GetOrder(pb.GetOrderRequest(id=order.id), metadata=admin)).order
    assert [li.restock_quantity for li in reread.line_items] == [1, 3, 0, 0]
    assert [li.refund_quantity for li in reread.line_items] == [1, 0, 0, 0]

    async def both_sent() -> bool:
        return len(calls_for(world, order.id)) == 2

    await eventually(both_sent, timeout_s=10)
    sent = {
        (i.catalog_reference.catalog_item_id, i.quantity)
        for call in calls_for(world, order.id)
        for i in call.items
    }
    assert sent == {("mug", 1), ("cap", 3)}
    assert len({call.request_id for call in calls_for(world, order.id)}) == 2

    # Units already restocked cannot be restocked again.
    third = transactions_pb2.Refund()
    third.transactions.add(payment_id=payment_id).amount.amount = "1.00"
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await served.transactions.AddRefund(
            tx.AddRefundRequest(order_id=order.id, refund=third, side_effects=some), metadata=admin
        )
    reason, metadata, _ = details(failure.value)
    assert reason == "RESTOCK_QUANTITY_EXCEEDED" and metadata["line_item_id"] == cap
