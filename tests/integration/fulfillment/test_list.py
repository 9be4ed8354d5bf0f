"""Listing fulfillments: one order or many, for staff and for the orders' own buyers."""

from __future__ import annotations

import uuid

import grpc
import pytest

from ecom.fulfillment.v1 import order_fulfillments_service_pb2 as pb
from services.platform.identity import Role
from tests.integration.fulfillment.kit import Suite, create_request, details

pytestmark = pytest.mark.integration


async def test_staff_list_one_order_or_many(suite: Suite, site: str) -> None:
    with_two = suite.orders.add(site, 3, visitor_id="v-1")
    without = suite.orders.add(site, 1, member_id="m-1")
    stub, md = suite.stub(), suite.md(site)
    first = await stub.CreateFulfillment(create_request(with_two, (0, 1)), metadata=md)
    second = await stub.CreateFulfillment(create_request(with_two, (0, 2)), metadata=md)

    single = await stub.ListFulfillmentsForSingleOrder(
        pb.ListFulfillmentsForSingleOrderRequest(order_id=with_two.id), metadata=md
    )
    assert [f.id for f in single.order_with_fulfillments.fulfillments] == [
        first.fulfillment_id,
        second.fulfillment_id,
    ]
    empty = await stub.ListFulfillmentsForSingleOrder(
        pb.ListFulfillmentsForSingleOrderRequest(order_id=without.id), metadata=md
    )
    assert empty.order_with_fulfillments.order_id == without.id
    assert list(empty.order_with_fulfillments.fulfillments) == []

    unknown = str(uuid.uuid4())
    many = await stub.ListFulfillmentsForMultipleOrders(
        pb.ListFulfillmentsForMultipleOrdersRequest(
            order_ids=[without.id, unknown, with_two.id, without.id]
        ),
        metadata=md,
    )
    assert [(o.order_id, len(o.fulfillments)) for o in many.orders_with_fulfillments] == [
        (without.id, 0),
        (with_two.id, 2),
    ]
    for request in (
        pb.ListFulfillmentsForSingleOrderRequest(order_id=unknown),
        pb.ListFulfillmentsForSingleOrderRequest(order_id=with_two.id),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            # the second: the order exists, but on another site than this admin's
            await stub.ListFulfillmentsForSingleOrder(
                request, metadata=md if request.order_id == unknown else suite.md("elsewhere")
            )
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
        assert details(caught.value)[0]["reason"] == "ORDER_NOT_FOUND"
    elsewhere = await stub.ListFulfillmentsForMultipleOrders(
        pb.ListFulfillmentsForMultipleOrdersRequest(order_ids=[with_two.id, without.id]),
        metadata=suite.md("elsewhere"),
    )
    assert list(elsewhere.orders_with_fulfillments) == []


async def test_buyers_see_their_own_orders_only(suite: Suite, site: str) -> None:
    visitors = suite.orders.add(site, 2, visitor_id="v-1")
    members = suite.orders.add(site, 2, member_id="m-1")
    fresh_members = suite.orders.add(site, 1, member_id="m-1")  # no fulfillments yet
    stub, md = suite.stub(), suite.md(site)
    for order in (visitors, members):
        await stub.CreateFulfillment(create_request(order, (0, 1)), metadata=md)
    visitor = suite.md(site, Role.VISITOR, "v-1")
    member = suite.md(site, Role.MEMBER, "m-1")

    own = await stub.ListFulfillmentsForSingleOrder(
        pb.ListFulfillmentsForSingleOrderRequest(order_id=visitors.id), metadata=visitor
    )
    assert len(own.order_with_fulfillments.fulfillments) == 1
    own = await stub.ListFulfillmentsForSingleOrder(
        pb.ListFulfillmentsForSingleOrderRequest(order_id=fresh_members.id), metadata=member
    )
    assert list(own.order_with_fulfillments.fulfillments) == []
    for order_id, caller in (
        (members.id, visitor),
        (visitors.id, member),
        (fresh_members.id, visitor),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.ListFulfillmentsForSingleOrder(
                pb.ListFulfillmentsForSingleOrderRequest(order_id=order_id), metadata=caller
            )
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED

    all_ids = [visitors.id, members.id, fresh_members.id]
    mine = await stub.ListFulfillmentsForMultipleOrders(
        pb.ListFulfillmentsForMultipleOrdersRequest(order_ids=all_ids), metadata=member
    )
    assert [(o.order_id, len(o.fulfillments)) for o in mine.orders_with_fulfillments] == [
        (members.id, 1),
        (fresh_members.id, 0),
    ]
    stranger = suite.md(site, Role.VISITOR, "v-2")
    none = await stub.ListFulfillmentsForMultipleOrders(
        pb.ListFulfillmentsForMultipleOrdersRequest(order_ids=all_ids), metadata=stranger
    )
    assert list(none.orders_with_fulfillments) == []


async def test_list_requests_are_checked(suite: Suite, site: str) -> None:
    stub, md = suite.stub(), suite.md(site)
    cases = [
        (stub.ListFulfillmentsForSingleOrder, pb.ListFulfillmentsForSingleOrderRequest()),
        (stub.ListFulfillmentsForMultipleOrders, pb.ListFulfillmentsForMultipleOrdersRequest()),
        (
            stub.ListFulfillmentsForMultipleOrders,
            pb.ListFulfillmentsForMultipleOrdersRequest(order_ids=["a", ""]),
        ),
        (
            stub.ListFulfillmentsForMultipleOrders,
            pb.ListFulfillmentsForMultipleOrdersRequest(order_ids=[str(n) for n in range(101)]),
        ),
    ]
    for method, request in cases:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await method(request, metadata=md)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
