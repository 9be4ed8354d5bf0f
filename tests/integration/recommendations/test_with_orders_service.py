"""End to end with the real orders service in the same server: orders it approves count, orders it
only initializes do not, and orders it cancels are taken back out, all through the events its
outbox relay publishes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from ecom.common.v1 import channel_pb2
from ecom.orders.v1 import order_pb2, orders_service_pb2, orders_service_pb2_grpc
from services.orders import MODULE as ORDERS
from tests.helpers import eventually
from tests.integration.recommendations.conftest import backend_environ, serve
from tests.integration.recommendations.kit import BEST, BUILTIN, FBT, Served, ids, product, ref

pytestmark = pytest.mark.asyncio(loop_scope="module")

WATCHED = ["ecom.orders.v1.order_approved", "ecom.orders.v1.order_canceled"]


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=["sqlite", "postgresql"])
async def suite(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Served]:
    backend = str(request.param)
    running = await serve(
        tmp_path_factory.mktemp(f"with-orders-{backend}"),
        backend_environ(request, backend),
        extra=(ORDERS,),
    )
    yield running
    await running.close()


def placed(total: str, *items: tuple[str, int]) -> order_pb2.Order:
    built = order_pb2.Order(currency="USD")
    built.channel_info.type = channel_pb2.CHANNEL_TYPE_WEB
    built.price_summary.subtotal.amount = total
    built.price_summary.total.amount = total
    for item_id, quantity in items:
        line = built.line_items.add(quantity=quantity)
        line.product_name.original = item_id
        line.price.amount = "0" if total == "0" else "10.00"
        line.catalog_reference.CopyFrom(ref(item_id))
    return built


async def settled(suite: Served, site: str, count: int) -> None:
    """Wait until `count` watched events of the site are published and consumed."""
    bus = suite.running.runtime.bus
    found: list[str] = []

    async def published() -> bool:
        nonlocal found
        found = [e.id for e in await bus.read(site, types=WATCHED, limit=1000)]
        return len(found) >= count

    await eventually(published)
    await suite.consumed(found)


async def test_orders_placed_and_canceled_through_the_orders_service(
    suite: Served, site: str
) -> None:
    await suite.products(site, *(product(p) for p in "abcd"))
    orders = orders_service_pb2_grpc.OrdersServiceStub(suite.channel)
    admin = suite.token(site)

    async def create(order: order_pb2.Order) -> order_pb2.Order:
        response: orders_service_pb2.CreateOrderResponse = await orders.CreateOrder(
            orders_service_pb2.CreateOrderRequest(order=order), metadata=admin
        )
        return response.order

    # Nothing is due: approved at creation.
    first = await create(placed("0", ("a", 1), ("b", 2)))
    second = await create(placed("0", ("a", 1), ("c", 5)))
    assert first.status == second.status == order_pb2.ORDER_STATUS_APPROVED
    # Payment due online: INITIALIZED, not counted.
    waiting = await create(placed("40.00", ("d", 4)))
    assert waiting.status == order_pb2.ORDER_STATUS_INITIALIZED
    await settled(suite, site, 2)

    best = await suite.recommend(site, [(BUILTIN, BEST)])
    assert ids(best.recommendation.items) == ["c", "a", "b"]
    together = await suite.recommend(site, [(BUILTIN, FBT)], [ref("a")])
    assert ids(together.recommendation.items) == ["c", "b"]  # a tie: the later order first

    await orders.CancelOrder(orders_service_pb2.CancelOrderRequest(id=second.id), metadata=admin)
    await settled(suite, site, 3)
    best = await suite.recommend(site, [(BUILTIN, BEST)])
    assert ids(best.recommendation.items) == ["b", "a"]
    together = await suite.recommend(site, [(BUILTIN, FBT)], [ref("a")])
    assert ids(together.recommendation.items) == ["b"]
