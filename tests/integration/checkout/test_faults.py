"""Faults over real gRPC: the orders service down or losing answers in the middle of a placement,
an inventory that cannot commit, slow, failing and lying providers. Failures are real (a stopped
server, a proxy that drops an answer, providers that sleep or fail), not patched internals."""

from __future__ import annotations

import time

import grpc
import pytest
from google.protobuf import field_mask_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from ecom.checkout.v1 import checkout_pb2, checkout_service_pb2
from ecom.common.v1 import buyer_pb2, line_item_pb2
from ecom.orders.v1 import orders_service_pb2
from services.platform.providers import Kind
from tests.helpers import eventually
from tests.integration.checkout.conftest import SQLITE_ONLY, StartSuite, Suite, product
from tests.integration.checkout.kit import (
    CatalogProvider,
    FeesProvider,
    InventoryProvider,
    ShippingProvider,
    ValidationsProvider,
    address,
    error_info,
    item,
    line,
)
from tests.integration.checkout.orders_front import OrdersFront

pytestmark = pytest.mark.integration
pb = checkout_service_pb2


def ready() -> checkout_pb2.Checkout:
    info = checkout_pb2.Checkout(
        buyer_info=buyer_pb2.BuyerInfo(email="buyer@example.com"), billing_info=address()
    )
    info.shipping_info.shipping_destination.CopyFrom(address())
    return info


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


async def place(suite: Suite, checkout_id: str) -> checkout_service_pb2.CreateOrderResponse:
    response: checkout_service_pb2.CreateOrderResponse = await suite.checkout.CreateOrder(
        pb.CreateOrderRequest(id=checkout_id), metadata=suite.visitor()
    )
    return response


async def retry_placing(suite: Suite, checkout_id: str) -> checkout_service_pb2.CreateOrderResponse:
    """What a client does with UNAVAILABLE + RetryInfo: call again until it works (a restarted
    peer is reached once the channel's reconnect backoff has passed)."""
    placed: list[checkout_service_pb2.CreateOrderResponse] = []

    async def attempt() -> bool:
        try:
            placed.append(await place(suite, checkout_id))
        except grpc.aio.AioRpcError as exc:
            assert exc.code() is grpc.StatusCode.UNAVAILABLE, exc
            return False
        return True

    await eventually(attempt, timeout_s=15, interval_s=0.2)
    return placed[0]


async def lamp_checkout(suite: Suite, quantity: int = 2) -> checkout_pb2.Checkout:
    await suite.products(product("lamp", "30.00"), stock={"lamp": 5})
    await suite.provide(
        Kind.SHIPPING_RATES, "ship", ShippingProvider(rates={"standard": ("Standard", "5.00")})
    )
    return await suite.create([line("lamp", quantity)], info=ready())


async def test_orders_down_after_the_reservation_then_a_retry_finishes(suite: Suite) -> None:
    checkout = await lamp_checkout(suite)
    await suite.stop_orders()
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await place(suite, checkout.id)
    assert caught.value.code() is grpc.StatusCode.UNAVAILABLE
    assert error_info(caught.value)[0] == "ORDERS_UNAVAILABLE"
    status = rpc_status.from_call(caught.value)
    assert status is not None
    assert any(d.Is(error_details_pb2.RetryInfo.DESCRIPTOR) for d in status.details)
    # The stock stays reserved for the retry, and the checkout is frozen meanwhile.
    stock = await suite.product_stock("lamp")
    assert (stock.quantity, stock.reserved) == (5, 2)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await suite.checkout.UpdateCheckout(
            pb.UpdateCheckoutRequest(
                checkout=checkout_pb2.Checkout(id=checkout.id, buyer_note="hi"),
                update_mask=field_mask_pb2.FieldMask(paths=["buyer_note"]),
            ),
            metadata=suite.visitor(),
        )
    assert error_info(caught.value)[0] == "ORDER_CREATION_IN_PROGRESS"

    await suite.start_orders()
    placed = await retry_placing(suite, checkout.id)
    assert await orders_of(suite, checkout.id) == [placed.order_id]
    stock = await suite.product_stock("lamp")
    assert (stock.quantity, stock.reserved) == (3, 0)  # committed once


@SQLITE_ONLY
async def test_an_answer_lost_after_the_order_was_made_is_recovered(
    start_suite: StartSuite,
) -> None:
    front = OrdersFront(lose_answers=1)
    suite = await start_suite(orders_front=front.start)
    try:
        checkout = await lamp_checkout(suite)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await place(suite, checkout.id)
        assert caught.value.code() is grpc.StatusCode.UNAVAILABLE
        assert len(front.created) == 1  # the order exists; checkout did not hear of it
        placed = await place(suite, checkout.id)
        assert placed.order_id == front.created[0]
        assert await orders_of(suite, checkout.id) == [placed.order_id]
        stock = await suite.product_stock("lamp")
        assert (stock.quantity, stock.reserved) == (3, 0)
        assert await suite.events("ecom.checkout.v1.checkout_completed") == [
            "ecom.checkout.v1.checkout_completed"
        ]
    finally:
        await front.stop()


@SQLITE_ONLY
async def test_a_definitive_refusal_releases_the_stock(start_suite: StartSuite) -> None:
    front = OrdersFront(refuse=True)
    suite = await start_suite(orders_front=front.start)
    try:
        checkout = await lamp_checkout(suite)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await place(suite, checkout.id)
        reason, metadata, _ = error_info(caught.value)
        assert (caught.value.code(), reason) == (
            grpc.StatusCode.FAILED_PRECONDITION,
            "ORDER_REJECTED",
        )
        assert metadata["orders_code"] == "INVALID_ARGUMENT"
        stock = await suite.product_stock("lamp")
        assert (stock.quantity, stock.reserved) == (5, 0)
        # The checkout is open again.
        await suite.checkout.RemoveCoupon(
            pb.RemoveCouponRequest(id=checkout.id), metadata=suite.visitor()
        )
    finally:
        await front.stop()


@SQLITE_ONLY
async def test_an_unresumed_placement_is_finished_in_the_background(
    start_suite: StartSuite,
) -> None:
    front = OrdersFront(lose_answers=1)
    suite = await start_suite(orders_front=front.start, CHECKOUT_RESERVATION_TIMEOUT_S=0.5)
    try:
        made = await lamp_checkout(suite)
        with pytest.raises(grpc.aio.AioRpcError):
            await place(suite, made.id)
        # Nobody retries: the finisher finds the order and completes the checkout.

        async def completed() -> bool:
            current: pb.GetCheckoutResponse = await suite.checkout.GetCheckout(
                pb.GetCheckoutRequest(id=made.id), metadata=suite.visitor()
            )
            return current.checkout.completed

        await eventually(completed)
        current = await suite.checkout.GetCheckout(
            pb.GetCheckoutRequest(id=made.id), metadata=suite.visitor()
        )
        assert current.checkout.order_id == front.created[0]

        async def committed() -> bool:
            stock = await suite.product_stock("lamp")
            return (stock.quantity, stock.reserved) == (3, 0)

        await eventually(committed)

        # And a placement that never reached the orders service is released.
        await suite.stop_orders()
        other = await suite.create([line("lamp", 1)], info=ready())
        with pytest.raises(grpc.aio.AioRpcError):
            await place(suite, other.id)
        assert (await suite.product_stock("lamp")).reserved == 1
        await suite.start_orders()

        async def reopened() -> bool:
            try:
                await suite.checkout.UpdateCheckout(
                    pb.UpdateCheckoutRequest(
                        checkout=checkout_pb2.Checkout(id=other.id, buyer_note="still here"),
                        update_mask=field_mask_pb2.FieldMask(paths=["buyer_note"]),
                    ),
                    metadata=suite.visitor(),
                )
            except grpc.aio.AioRpcError as exc:
                assert error_info(exc)[0] == "ORDER_CREATION_IN_PROGRESS"
                return False
            return True

        await eventually(reopened)
        assert (await suite.product_stock("lamp")).reserved == 0
        assert await orders_of(suite, other.id) == []
    finally:
        await front.stop()


@SQLITE_ONLY
async def test_a_commit_that_fails_is_retried_until_it_succeeds(start_suite: StartSuite) -> None:
    suite = await start_suite(CHECKOUT_RESERVATION_TIMEOUT_S=0.5)
    catalog = CatalogProvider(items={"kite": item("Kite", "25.00")})
    inventory = InventoryProvider(stock={"kite": 4}, commit_down=True)
    await suite.provide(Kind.CATALOG, "shop", catalog)
    # Inventory routing follows the catalog app id; here it is served by a server of its own.
    await suite.provide(Kind.INVENTORY, "shop", inventory)
    await suite.provide(
        Kind.SHIPPING_RATES, "ship", ShippingProvider(rates={"standard": ("Standard", "5.00")})
    )
    checkout = await suite.create([line("kite", 3, app_id="shop")], info=ready())
    placed = await place(suite, checkout.id)
    assert placed.checkout.completed  # the order is placed even though the commit failed
    assert inventory.committed == {}
    assert inventory.reservations[checkout.id] == {"kite": 3}
    inventory.commit_down = False  # the stock store is back

    async def committed() -> bool:
        return checkout.id in inventory.committed

    await eventually(committed)
    assert inventory.stock == {"kite": 1}
    assert inventory.commit_calls >= 2


@SQLITE_ONLY
async def test_slow_and_failing_providers_cost_at_most_the_budget(suite: Suite) -> None:
    await suite.products(product("lamp", "30.00"), stock={"lamp": 5})
    await suite.provide(
        Kind.SHIPPING_RATES, "ship", ShippingProvider(rates={"standard": ("Standard", "5.00")})
    )
    checkout = await suite.create([line("lamp", 1)], metadata=suite.visitor())
    # A carrier that sleeps 5 s (registered with a 10 s timeout, so only the caller's deadline
    # bounds it) and a fee provider that fails.
    slow = ShippingProvider(rates={"express": ("Express", "9.00")}, delay_s=5)
    await suite.provide(Kind.SHIPPING_RATES, "slow-ship", slow, timeout_ms=10_000)
    await suite.provide(
        Kind.ADDITIONAL_FEES,
        "broken-fees",
        FeesProvider(fees={"h": ("H", "1.00", True)}, fail=grpc.StatusCode.INTERNAL),
    )
    update = ready()
    update.id = checkout.id
    started = time.monotonic()
    # A deadline well under the carrier's 5 s, with room for a loaded machine to store the
    # result after the carrier is cut off.
    response = await suite.checkout.UpdateCheckout(
        pb.UpdateCheckoutRequest(checkout=update), metadata=suite.visitor(), timeout=4.0
    )
    elapsed = time.monotonic() - started
    assert elapsed < 4.0
    updated = response.checkout
    errors = updated.calculation_errors
    assert [(e.carrier_id, e.error.code) for e in errors.carrier_errors] == [
        ("slow-ship", "PROVIDER_TIMEOUT")
    ]
    assert [(e.app_id, e.code) for e in errors.additional_fees_errors] == [
        ("broken-fees", "PROVIDER_ERROR")
    ]
    # The healthy carrier's option is in effect; the fee error blocks the order (the slow
    # carrier is quick again now: it would not block anyway, not being the selected one).
    assert updated.shipping_info.selected_carrier_service_option.carrier_id == "ship"
    slow.delay_s = 0
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await place(suite, checkout.id)
    reason, metadata, _ = error_info(caught.value)
    assert reason == "CALCULATION_ERRORS"
    assert metadata["areas"] == "additional_fees_errors"


@SQLITE_ONLY
async def test_answers_that_break_the_spi_are_reported_not_trusted(suite: Suite) -> None:
    catalog = CatalogProvider(items={"kite": item("Kite", "25.00")})
    await suite.provide(Kind.CATALOG, "shop", catalog)
    lying = ShippingProvider(rates={"standard": ("Standard", "5.00")}, garbage=True)
    await suite.provide(Kind.SHIPPING_RATES, "liar", lying)
    checkout = await suite.create([line("kite", 1, app_id="shop")], info=ready())
    assert checkout.line_items[0].price.amount == "25.00"
    error = checkout.calculation_errors.carrier_errors[0]
    assert (error.carrier_id, error.error.code) == ("liar", "PROVIDER_ERROR")
    assert "XXX" in error.error.description
    assert not checkout.shipping_info.carrier_service_options

    catalog.garbage = True  # a negative price now
    refreshed = (
        await suite.checkout.UpdateLineItemsQuantity(
            pb.UpdateLineItemsQuantityRequest(
                id=checkout.id,
                line_items=[
                    line_item_pb2.LineItemQuantityUpdate(id=checkout.line_items[0].id, quantity=2)
                ],
            ),
            metadata=suite.visitor(),
        )
    ).checkout
    catalog_error = refreshed.calculation_errors.catalog_errors[0]
    assert (catalog_error.app_id, catalog_error.code) == ("shop", "PROVIDER_ERROR")
    # The line keeps the price last read, flagged; it is never priced at -5.
    assert refreshed.line_items[0].price.amount == "25.00"
    assert refreshed.line_items[0].availability.status == 0


@SQLITE_ONLY
async def test_error_violations_block_the_order_and_warnings_do_not(suite: Suite) -> None:
    await suite.products(product("book", "15.00", shippable=False), stock={})
    rules = ValidationsProvider(max_quantity=2)
    await suite.provide(Kind.VALIDATIONS, "rules", rules)
    checkout = await suite.create([line("book", 3)], info=ready())
    assert [v.severity for v in checkout.violations] == [2]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await place(suite, checkout.id)
    assert error_info(caught.value)[0] == "VIOLATIONS"
    assert rules.seen[-1].source == 2  # SOURCE_CHECKOUT
    rules.severity = 1  # the rule becomes a warning
    placed = await place(suite, checkout.id)
    assert [v.severity for v in placed.checkout.violations] == [1]
