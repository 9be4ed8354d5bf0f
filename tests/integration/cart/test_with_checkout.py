"""CreateCheckout against the checkout service (when its target is built): the cart gets its
checkout id once, later calls update the same checkout, GetCartByCheckoutId finds the cart."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import grpc
import pytest

from ecom.cart.v1 import cart_service_pb2 as cart_pb
from ecom.cart.v1 import current_cart_service_pb2 as current_pb
from ecom.common.v1 import channel_pb2
from services import targets
from services.cart import MODULE as CART
from services.discounts import MODULE as DISCOUNTS
from services.platform.config import Config
from services.platform.providers import Kind
from services.platform.runtime import Runtime
from services.platform.server import start_server
from services.registry import MODULE as REGISTRY
from tests.integration.cart.conftest import DEMO_ITEMS, Suite
from tests.integration.cart.kit import CatalogProvider, line

pytestmark = pytest.mark.integration


@pytest.fixture
async def with_checkout(
    make_config: Callable[..., Config], stack: dict[str, str], site: str
) -> AsyncIterator[Suite]:
    try:
        checkout = targets.load("checkout")
    except targets.UnknownTarget:
        pytest.skip("the checkout target is not built")
    running = await start_server(
        Runtime(make_config(**stack)), [REGISTRY, DISCOUNTS, CART, checkout]
    )
    suite = Suite(running, grpc.aio.insecure_channel(running.address), site)
    yield suite
    await suite.channel.close()
    await running.stop(0)
    await asyncio.gather(*(p.server.stop(0) for p in suite.providers))


async def test_create_checkout_sets_the_carts_checkout_once(with_checkout: Suite) -> None:
    suite = with_checkout
    await suite.provide(Kind.CATALOG, "shop", CatalogProvider(DEMO_ITEMS))
    me = suite.visitor()
    cart = (
        await suite.current.AddToCurrentCart(
            current_pb.AddToCurrentCartRequest(line_items=[line("tee", 2)]), metadata=me
        )
    ).cart
    web = channel_pb2.CHANNEL_TYPE_WEB
    first = await suite.cart.CreateCheckout(
        cart_pb.CreateCheckoutRequest(id=cart.id, channel_type=web), metadata=me
    )
    assert first.checkout_id
    again = await suite.current.CreateCheckoutFromCurrentCart(
        current_pb.CreateCheckoutFromCurrentCartRequest(channel_type=web), metadata=me
    )
    assert again.checkout_id == first.checkout_id
    found = await suite.cart.GetCartByCheckoutId(
        cart_pb.GetCartByCheckoutIdRequest(id=first.checkout_id), metadata=me
    )
    assert found.cart.id == cart.id and found.cart.checkout_id == first.checkout_id
    assert found.cart.revision == cart.revision + 1  # set once, by the first call
