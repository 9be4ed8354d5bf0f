"""CreateOrder over real gRPC: one order per checkout under concurrency, stock contention, and
every precondition with its own reason."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest
from google.protobuf import field_mask_pb2

from ecom.checkout.v1 import checkout_pb2, checkout_service_pb2, checkout_service_pb2_grpc
from ecom.common.v1 import buyer_pb2, line_item_pb2
from ecom.orders.v1 import orders_service_pb2
from services.platform.providers import Kind
from tests.helpers import eventually
from tests.integration.checkout.conftest import SQLITE_ONLY, Suite, product
from tests.integration.checkout.kit import (
    ShippingProvider,
    ValidationsProvider,
    address,
    error_info,
    line,
)

pytestmark = pytest.mark.integration
pb = checkout_service_pb2


def ready(**extra: object) -> checkout_pb2.Checkout:
    """checkout_info with everything an order needs."""
    info = checkout_pb2.Checkout(
        buyer_info=buyer_pb2.BuyerInfo(email="buyer@example.com"), billing_info=address()
    )
    info.shipping_info.shipping_destination.CopyFrom(address())
    return info


async def shipping(suite: Suite) -> None:
    await suite.provide(
        Kind.SHIPPING_RATES, "ship", ShippingProvider(rates={"standard": ("Standard", "5.00")})
    )


async def orders_of(suite: Suite, checkout_id: str) -> list[str]:
    response = await suite.orders().SearchOrders(
        orders_service_pb2.SearchOrdersRequest(
            filter=orders_service_pb2.OrderFilter(
                checkout_ids=[checkout_id], include_initialized=True
            )
        ),
        metadata=suite.admin(),
    )
    return [order.id for order in response.orders]


async def test_twenty_concurrent_calls_make_one_order(suite: Suite) -> None:
    await suite.products(product("lamp", "30.00"), stock={"lamp": 5})
    await shipping(suite)
    checkout = await suite.create([line("lamp", 2)], info=ready())
    channels = [grpc.aio.insecure_channel(suite.running.address) for _ in range(20)]
    try:
        results = await asyncio.gather(
            *(
                pb_stub(channel).CreateOrder(
                    pb.CreateOrderRequest(id=checkout.id), metadata=suite.visitor()
                )
                for channel in channels
            )
        )
    finally:
        await asyncio.gather(*(channel.close() for channel in channels))
    order_ids = {result.order_id for result in results}
    assert len(order_ids) == 1
    assert await orders_of(suite, checkout.id) == list(order_ids)
    stock = await suite.product_stock("lamp")
    assert (stock.quantity, stock.reserved) == (3, 0)  # committed once
    assert (await suite.events("ecom.checkout.v1.checkout_completed")) == [
        "ecom.checkout.v1.checkout_completed"
    ]


def pb_stub(channel: grpc.aio.Channel) -> checkout_service_pb2_grpc.CheckoutServiceStub:
    return checkout_service_pb2_grpc.CheckoutServiceStub(channel)


async def test_thirty_checkouts_compete_for_the_last_ten_units(suite: Suite) -> None:
    await suite.products(product("last", "10.00"), stock={"last": 10})
    await shipping(suite)
    checkouts: list[checkout_pb2.Checkout] = []
    for batch in range(5):  # six at a time: creation is not what this test is about
        checkouts += await asyncio.gather(
            *(
                suite.create([line("last", 1)], info=ready(), metadata=suite.visitor(f"v{i}"))
                for i in range(batch * 6, batch * 6 + 6)
            )
        )
    channels = [grpc.aio.insecure_channel(suite.running.address) for _ in range(30)]

    async def place(index: int) -> str:
        try:
            response = await pb_stub(channels[index]).CreateOrder(
                pb.CreateOrderRequest(id=checkouts[index].id), metadata=suite.visitor(f"v{index}")
            )
        except grpc.aio.AioRpcError as exc:
            assert exc.code() is grpc.StatusCode.FAILED_PRECONDITION
            return error_info(exc)[0]
        return "ORDER" if response.order_id else "?"

    try:
        outcomes = await asyncio.gather(*(place(i) for i in range(30)))
    finally:
        await asyncio.gather(*(channel.close() for channel in channels))
    assert outcomes.count("ORDER") == 10
    # A checkout that validated while stock was left is refused by the reservation; one that
    # validated after the stock was gone is refused already by the availability check.
    assert set(outcomes) - {"ORDER"} <= {"INSUFFICIENT_INVENTORY", "LINE_ITEMS_NOT_AVAILABLE"}
    assert "INSUFFICIENT_INVENTORY" in outcomes
    # A commit that did not go through within the placement's follow-up time (a loaded machine)
    # is owed and finished by the background job: the stock converges, it is never oversold.

    async def settled() -> bool:
        stock = await suite.product_stock("last")
        assert stock.quantity >= 0 and stock.available == 0
        return (stock.quantity, stock.reserved) == (0, 0)

    await eventually(settled, timeout_s=90)
    # The losers stay open, and say why.
    loser = checkouts[outcomes.index("INSUFFICIENT_INVENTORY")]
    current = (
        await suite.checkout.GetCheckout(pb.GetCheckoutRequest(id=loser.id), metadata=suite.admin())
    ).checkout
    assert not current.completed
    assert current.line_items[0].availability.status != 1  # not AVAILABLE any more


async def expect_refusal(
    suite: Suite, checkout_id: str, reason: str, **request: Any
) -> tuple[dict[str, str], set[str]]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await suite.checkout.CreateOrder(
            pb.CreateOrderRequest(id=checkout_id, **request), metadata=suite.admin()
        )
    got, metadata, fields = error_info(caught.value)
    assert (caught.value.code(), got) == (grpc.StatusCode.FAILED_PRECONDITION, reason)
    return metadata, fields


@SQLITE_ONLY
async def test_each_precondition_refuses_with_its_own_reason(suite: Suite) -> None:
    await suite.products(
        product("pen", "2.00"), product("book", "15.00", shippable=False), stock={"pen": 1}
    )
    admin = suite.admin()

    # NO_LINE_ITEMS
    empty = await suite.create([line("book")], info=ready(), metadata=admin)
    await suite.checkout.RemoveLineItems(
        pb.RemoveLineItemsRequest(id=empty.id, line_item_ids=[empty.line_items[0].id]),
        metadata=admin,
    )
    _, fields = await expect_refusal(suite, empty.id, "NO_LINE_ITEMS")
    assert fields == {"line_items"}

    # LINE_ITEMS_NOT_AVAILABLE: two pens asked, one in stock.
    short = await suite.create([line("book"), line("pen", 2)], info=ready(), metadata=admin)
    metadata, fields = await expect_refusal(suite, short.id, "LINE_ITEMS_NOT_AVAILABLE")
    assert metadata["line_item_ids"] == short.line_items[1].id
    assert fields == {"line_items[1].availability"}

    # BILLING_ADDRESS_REQUIRED (the book does not ship).
    unbilled = await suite.create(
        [line("book")],
        info=checkout_pb2.Checkout(buyer_info=buyer_pb2.BuyerInfo(email="b@example.com")),
        metadata=admin,
    )
    _, fields = await expect_refusal(suite, unbilled.id, "BILLING_ADDRESS_REQUIRED")
    assert fields == {"billing_info.address"}

    # SHIPPING_OPTION_REQUIRED: the pen ships, nobody offers shipping yet.
    no_option = await suite.create([line("pen")], info=ready(), metadata=admin)
    _, fields = await expect_refusal(suite, no_option.id, "SHIPPING_OPTION_REQUIRED")
    assert fields == {"shipping_info.selected_carrier_service_option"}

    # SHIPPING_DESTINATION_REQUIRED: an option exists but nowhere to ship to.
    await shipping(suite)
    info = ready()
    info.shipping_info.ClearField("shipping_destination")
    nowhere = await suite.create([line("pen")], info=info, metadata=admin)
    _, fields = await expect_refusal(suite, nowhere.id, "SHIPPING_DESTINATION_REQUIRED")
    assert fields == {"shipping_info.shipping_destination"}

    # CALCULATION_ERRORS: a coupon cannot be applied (the discounts service knows no "X").
    couponed = await suite.create([line("book")], info=ready(), metadata=admin, coupon_code="X")
    assert couponed.calculation_errors.coupon_calculation_error.code == "COUPON_NOT_FOUND"
    metadata, fields = await expect_refusal(suite, couponed.id, "CALCULATION_ERRORS")
    assert metadata["areas"] == "coupon_calculation_error"
    assert fields == {"calculation_errors.coupon_calculation_error"}

    # TOTAL_CHANGED
    book = await suite.create([line("book")], info=ready(), metadata=admin)
    metadata, _ = await expect_refusal(suite, book.id, "TOTAL_CHANGED", expected_total="1.00")
    assert metadata["total"] == book.price_summary.total.amount == "16.33"  # NY tax 1.33

    # CHECKOUT_ALREADY_COMPLETED: completed elsewhere, it never gets an order.
    await suite.checkout.MarkCheckoutAsCompleted(
        pb.MarkCheckoutAsCompletedRequest(id=book.id), metadata=admin
    )
    await expect_refusal(suite, book.id, "CHECKOUT_ALREADY_COMPLETED")

    # VIOLATIONS: a rule of a validations provider.
    await suite.provide(Kind.VALIDATIONS, "rules", ValidationsProvider(max_quantity=1))
    many = await suite.create([line("book", 3)], info=ready(), metadata=admin)
    assert many.violations[0].target.line_item.id == many.line_items[0].id
    metadata, _ = await expect_refusal(suite, many.id, "VIOLATIONS")
    assert metadata["violation_count"] == "1"
    # A refused placement leaves the checkout open and writable.
    assert await orders_of(suite, many.id) == []
    fixed = await suite.checkout.UpdateLineItemsQuantity(
        pb.UpdateLineItemsQuantityRequest(
            id=many.id,
            line_items=[line_item_pb2.LineItemQuantityUpdate(id=many.line_items[0].id, quantity=1)],
        ),
        metadata=admin,
    )
    assert not fixed.checkout.violations
    placed = await suite.checkout.CreateOrder(pb.CreateOrderRequest(id=many.id), metadata=admin)
    assert placed.order_id


@SQLITE_ONLY
async def test_request_ids_revisions_and_owners(suite: Suite) -> None:
    await suite.products(product("book", "15.00", shippable=False), stock={})
    first = await suite.create([line("book")], info=ready())
    second = await suite.create([line("book")], info=ready())
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await suite.checkout.CreateOrder(
            pb.CreateOrderRequest(id=first.id, revision=first.revision + 5),
            metadata=suite.visitor(),
        )
    assert caught.value.code() is grpc.StatusCode.ABORTED
    assert error_info(caught.value)[:2] == (
        "REVISION_MISMATCH",
        {"current_revision": str(first.revision), "resource": "checkout"},
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await suite.checkout.CreateOrder(
            pb.CreateOrderRequest(id=first.id), metadata=suite.visitor("someone-else")
        )
    assert caught.value.code() is grpc.StatusCode.PERMISSION_DENIED
    request_id = "3d0c0f8e-8a8b-4b5e-9a55-2f4c1f3a9d11"
    placed = await suite.checkout.CreateOrder(
        pb.CreateOrderRequest(id=first.id, request_id=request_id), metadata=suite.visitor()
    )
    again = await suite.checkout.CreateOrder(
        pb.CreateOrderRequest(id=first.id, request_id=request_id), metadata=suite.visitor()
    )
    assert again.order_id == placed.order_id
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await suite.checkout.CreateOrder(
            pb.CreateOrderRequest(id=second.id, request_id=request_id), metadata=suite.visitor()
        )
    assert caught.value.code() is grpc.StatusCode.ALREADY_EXISTS
    assert error_info(caught.value)[0] == "REQUEST_ID_REUSED"
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await suite.checkout.CreateOrder(
            pb.CreateOrderRequest(id=second.id, expected_total="12,00"), metadata=suite.visitor()
        )
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    # A completed checkout is frozen.
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await suite.checkout.UpdateCheckout(
            pb.UpdateCheckoutRequest(
                checkout=checkout_pb2.Checkout(id=first.id, buyer_note="late"),
                update_mask=field_mask_pb2.FieldMask(paths=["buyer_note"]),
            ),
            metadata=suite.visitor(),
        )
    assert error_info(caught.value)[0] == "CHECKOUT_ALREADY_COMPLETED"
