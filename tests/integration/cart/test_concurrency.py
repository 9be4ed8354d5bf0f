"""No lost update: concurrent adds to one cart, and concurrent first adds of one visitor, over
separate channels, on SQLite + in-process sessions and on PostgreSQL + Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import grpc
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ecom.cart.v1 import cart_pb2, cart_service_pb2_grpc, current_cart_service_pb2_grpc
from ecom.cart.v1 import cart_service_pb2 as cart_pb
from ecom.cart.v1 import current_cart_service_pb2 as current_pb
from services.platform.providers import Kind
from services.platform.schema.tables import outbox
from tests.integration.cart.conftest import DEMO_ITEMS, Suite
from tests.integration.cart.kit import CatalogProvider, item, line

pytestmark = pytest.mark.integration

CALLS = 50


@pytest.fixture
async def channels(suite: Suite) -> AsyncIterator[list[grpc.aio.Channel]]:
    opened = [grpc.aio.insecure_channel(suite.running.address) for _ in range(CALLS)]
    yield opened
    await asyncio.gather(*(channel.close() for channel in opened))


@pytest.fixture
async def many_items(suite: Suite) -> CatalogProvider:
    items = dict(DEMO_ITEMS)
    items.update({f"sku-{i}": item(f"Item {i}", f"{i + 1}.00") for i in range(CALLS)})
    provider = CatalogProvider(items)
    await suite.provide(Kind.CATALOG, "shop", provider)
    return provider


async def _events(suite: Suite, cart_id: str) -> list[str]:
    async def read(session: AsyncSession) -> list[str]:
        rows = await session.execute(
            sa.select(outbox.c.type).where(outbox.c.entity_id == cart_id).order_by(outbox.c.id)
        )
        return [row.type for row in rows]

    return await suite.runtime.database("cart").run(read, readonly=True)


def _check(cart: cart_pb2.Cart, responses: Sequence[cart_pb2.Cart]) -> None:
    by_item = {li.catalog_reference.catalog_item_id: li.quantity for li in cart.line_items}
    assert by_item == {"tee": CALLS, **{f"sku-{i}": i + 1 for i in range(CALLS)}}
    # Every response is the cart right after its own write: all revisions are distinct.
    assert len({r.revision for r in responses}) == CALLS


async def test_concurrent_adds_to_one_cart_lose_nothing(
    suite: Suite, many_items: CatalogProvider, channels: list[grpc.aio.Channel]
) -> None:
    me = suite.member()
    created = await suite.cart.CreateCart(cart_pb.CreateCartRequest(), metadata=me)
    cart_id = created.cart.id

    async def add(i: int, channel: grpc.aio.Channel) -> cart_pb2.Cart:
        stub = cart_service_pb2_grpc.CartServiceStub(channel)
        reply: cart_pb.AddToCartResponse = await stub.AddToCart(
            cart_pb.AddToCartRequest(id=cart_id, line_items=[line(f"sku-{i}", i + 1), line("tee")]),
            metadata=me,
        )
        return reply.cart

    responses = await asyncio.gather(*(add(i, ch) for i, ch in enumerate(channels)))
    final = (await suite.cart.GetCart(cart_pb.GetCartRequest(id=cart_id), metadata=me)).cart
    _check(final, responses)
    assert final.revision == 1 + CALLS
    assert (
        await _events(suite, cart_id)
        == ["ecom.cart.v1.cart_created"] + ["ecom.cart.v1.cart_updated"] * CALLS
    )


async def test_concurrent_first_adds_of_a_new_visitor_share_one_cart(
    suite: Suite, many_items: CatalogProvider, channels: list[grpc.aio.Channel]
) -> None:
    me = suite.visitor()

    async def add(i: int, channel: grpc.aio.Channel) -> cart_pb2.Cart:
        stub = current_cart_service_pb2_grpc.CurrentCartServiceStub(channel)
        reply: current_pb.AddToCurrentCartResponse = await stub.AddToCurrentCart(
            current_pb.AddToCurrentCartRequest(line_items=[line(f"sku-{i}", i + 1), line("tee")]),
            metadata=me,
        )
        return reply.cart

    responses = await asyncio.gather(*(add(i, ch) for i, ch in enumerate(channels)))
    assert len({r.id for r in responses}) == 1  # one cart: the session was claimed once
    final = (
        await suite.current.GetCurrentCart(current_pb.GetCurrentCartRequest(), metadata=me)
    ).cart
    assert final.id == responses[0].id
    _check(final, responses)
    # The first write created the cart (revision 1), each of the other 49 added to it.
    assert final.revision == CALLS
    assert await _events(suite, final.id) == ["ecom.cart.v1.cart_created"] + [
        "ecom.cart.v1.cart_updated"
    ] * (CALLS - 1)
