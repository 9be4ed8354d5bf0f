"""A visitor's current cart end to end over real gRPC: add demo items, exact totals, change
quantities, remove lines, delete; another visitor never sees or touches it."""

from __future__ import annotations

import grpc
import pytest

from ecom.cart.v1 import cart_service_pb2 as cart_pb
from ecom.cart.v1 import current_cart_service_pb2 as current_pb
from ecom.common.v1 import catalog_pb2, line_item_pb2
from tests.integration.cart.conftest import Suite
from tests.integration.cart.kit import CatalogProvider, error_info, line

pytestmark = pytest.mark.integration


async def test_a_visitor_builds_prices_changes_and_deletes_their_cart(
    suite: Suite, catalog: CatalogProvider
) -> None:
    me = suite.visitor()
    with pytest.raises(grpc.aio.AioRpcError) as none_yet:
        await suite.current.GetCurrentCart(current_pb.GetCurrentCartRequest(), metadata=me)
    assert none_yet.value.code() is grpc.StatusCode.NOT_FOUND
    assert error_info(none_yet.value)[0] == "OWNED_CART_NOT_FOUND"

    added = await suite.current.AddToCurrentCart(
        current_pb.AddToCurrentCartRequest(line_items=[line("tee", 2), line("mug", 1)]),
        metadata=me,
    )
    cart = added.cart
    assert cart.revision == 1
    assert [(li.product_name.original, li.quantity) for li in cart.line_items] == [
        ("T-shirt", 2),
        ("Mug", 1),
    ]
    tee, mug = cart.line_items
    assert tee.price.amount == "19.99" and tee.full_price.amount == "24.99"
    assert tee.price.formatted_amount == "$19.99"
    assert tee.availability.status == catalog_pb2.AVAILABILITY_STATUS_AVAILABLE
    assert mug.availability.quantity_available == 3
    assert cart.buyer_info.visitor_id and cart.currency == "USD"

    # Same reference again: the line's quantity grows, no new line.
    again = await suite.current.AddToCurrentCart(
        current_pb.AddToCurrentCartRequest(line_items=[line("tee", 1)]), metadata=me
    )
    assert [li.quantity for li in again.cart.line_items] == [3, 1]
    assert again.cart.revision == 2

    totals = await suite.current.EstimateCurrentCartTotals(
        current_pb.EstimateCurrentCartTotalsRequest(), metadata=me
    )
    # 3 x 19.99 + 1 x 8.50 = 68.47; no shipping or fee providers, no tax table.
    assert totals.price_summary.subtotal.amount == "68.47"
    assert totals.price_summary.total.amount == "68.47"
    assert [c.prices_breakdown.line_item_price.amount for c in totals.calculated_line_items] == [
        "59.97",
        "8.50",
    ]

    changed = await suite.current.UpdateCurrentCartLineItemQuantity(
        current_pb.UpdateCurrentCartLineItemQuantityRequest(
            line_items=[line_item_pb2.LineItemQuantityUpdate(id=mug.id, quantity=5)]
        ),
        metadata=me,
    )
    changed_mug = changed.cart.line_items[1]
    assert changed_mug.quantity == 5
    assert changed_mug.availability.status == catalog_pb2.AVAILABILITY_STATUS_PARTIALLY_AVAILABLE

    removed = await suite.current.RemoveLineItemsFromCurrentCart(
        current_pb.RemoveLineItemsFromCurrentCartRequest(line_item_ids=[tee.id]), metadata=me
    )
    assert [li.id for li in removed.cart.line_items] == [mug.id]
    assert removed.cart.revision == 4

    # Another visitor: no current cart, and the cart by id is someone else's.
    other = suite.visitor()
    with pytest.raises(grpc.aio.AioRpcError) as theirs:
        await suite.current.GetCurrentCart(current_pb.GetCurrentCartRequest(), metadata=other)
    assert theirs.value.code() is grpc.StatusCode.NOT_FOUND
    for call in (
        suite.cart.GetCart(cart_pb.GetCartRequest(id=cart.id), metadata=other),
        suite.cart.AddToCart(
            cart_pb.AddToCartRequest(id=cart.id, line_items=[line("tee")]), metadata=other
        ),
        suite.cart.DeleteCart(cart_pb.DeleteCartRequest(id=cart.id), metadata=other),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as denied:
            await call
        assert denied.value.code() is grpc.StatusCode.PERMISSION_DENIED

    await suite.current.DeleteCurrentCart(current_pb.DeleteCurrentCartRequest(), metadata=me)
    with pytest.raises(grpc.aio.AioRpcError) as gone:
        await suite.current.GetCurrentCart(current_pb.GetCurrentCartRequest(), metadata=me)
    assert error_info(gone.value)[0] == "OWNED_CART_NOT_FOUND"
    fresh = await suite.current.AddToCurrentCart(
        current_pb.AddToCurrentCartRequest(line_items=[line("ebook")]), metadata=me
    )
    assert fresh.cart.id != cart.id and fresh.cart.revision == 1
