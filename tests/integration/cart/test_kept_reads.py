"""A cart server keeps the carts it read until anything is committed to the database (SQLite;
PostgreSQL reads every time): a change made through another server over the same database
(another process, in production) shows in the very next read, on both backends."""

from __future__ import annotations

import grpc
import pytest

from ecom.cart.v1 import cart_service_pb2 as cart_pb
from ecom.common.v1 import line_item_pb2
from tests.integration.cart.conftest import StartSuite, Suite
from tests.integration.cart.kit import CatalogProvider, line


async def test_a_change_through_another_server_shows_at_once(
    start_suite: StartSuite, suite: Suite, catalog: CatalogProvider
) -> None:
    reader = await start_suite()  # the same database, and so the same catalog registration
    me = suite.visitor()
    created = await suite.cart.CreateCart(
        cart_pb.CreateCartRequest(line_items=[line("tee")]), metadata=me
    )
    cart = created.cart
    for _ in range(2):  # the second answer comes from what the reader kept
        read = await reader.cart.GetCart(cart_pb.GetCartRequest(id=cart.id), metadata=me)
        assert [item.quantity for item in read.cart.line_items] == [1]

    changed = line_item_pb2.LineItemQuantityUpdate(id=cart.line_items[0].id, quantity=3)
    await suite.cart.UpdateLineItemsQuantity(
        cart_pb.UpdateLineItemsQuantityRequest(id=cart.id, line_items=[changed]), metadata=me
    )
    read = await reader.cart.GetCart(cart_pb.GetCartRequest(id=cart.id), metadata=me)
    assert [item.quantity for item in read.cart.line_items] == [3]
    assert read.cart.revision == cart.revision + 1

    await suite.cart.DeleteCart(cart_pb.DeleteCartRequest(id=cart.id), metadata=me)
    with pytest.raises(grpc.aio.AioRpcError) as gone:
        await reader.cart.GetCart(cart_pb.GetCartRequest(id=cart.id), metadata=me)
    assert gone.value.code() == grpc.StatusCode.NOT_FOUND
