"""CreateOrder, GetOrder and who sees which orders, over real gRPC."""

from __future__ import annotations

import asyncio
import uuid

import grpc
import pytest

from ecom.common.v1 import catalog_pb2
from ecom.orders.v1 import order_pb2
from services.platform.identity import Role
from tests.integration.orders.kit import (
    Served,
    create,
    details,
    event_types,
    line,
    new_order,
    payload,
    pb,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_an_order_is_recorded_as_given_with_what_the_suite_assigns(
    pg: Served, site: str
) -> None:
    given = new_order(total="30.5", lines=[line(price_amount="10.5", quantity=3)])
    given.number = 777  # output only: ignored
    given.payment_status = order_pb2.PAYMENT_STATUS_PAID
    given.tags.private_tags.extend([" vip ", "vip", "wholesale"])
    order = await create(pg, site, given)

    assert order.number == 10001
    assert order.revision == 1
    assert order.status == order_pb2.ORDER_STATUS_INITIALIZED
    assert order.payment_status == order_pb2.PAYMENT_STATUS_NOT_PAID
    assert order.fulfillment_status == order_pb2.FULFILLMENT_STATUS_NOT_FULFILLED
    assert order.created_by.user_id == "admin-1"
    assert order.line_items[0].id  # assigned
    assert order.line_items[0].price.amount == "10.50"
    assert order.line_items[0].price.formatted_amount == "$10.50"
    assert order.price_summary.total.amount == "30.50"
    assert order.balance_summary.balance.amount == "30.50"
    assert order.balance_summary.paid.amount == "0.00"
    assert list(order.tags.private_tags) == ["vip", "wholesale"]
    assert [a.type for a in order.activities] == [order_pb2.ACTIVITY_TYPE_ORDER_PLACED]

    events = await pg.events(site, order.id, 1)
    assert event_types(events) == ["order_created"]
    assert events[0].entity_sequence == 1
    assert payload(events[0]).order == order  # type: ignore[attr-defined]


async def test_approval_at_creation_follows_the_strategy(pg: Served, site: str) -> None:
    free = await create(pg, site, new_order(total="0"))
    assert free.status == order_pb2.ORDER_STATUS_APPROVED
    assert free.payment_status == order_pb2.PAYMENT_STATUS_PAID

    offline_line = line(price_amount="5.00")
    offline_line.payment_option = catalog_pb2.PAYMENT_OPTION_FULL_PAYMENT_OFFLINE
    offline = await create(pg, site, new_order(total="5.00", lines=[offline_line]))
    assert offline.status == order_pb2.ORDER_STATUS_APPROVED
    assert offline.payment_status == order_pb2.PAYMENT_STATUS_NOT_PAID
    assert event_types(await pg.events(site, offline.id, 2)) == ["order_created", "order_approved"]

    strict = await create(
        pg,
        site,
        new_order(total="5.00", lines=[offline_line]),
        settings=pb.OrderCreationSettings(
            order_approval_strategy=pb.ORDER_APPROVAL_STRATEGY_PAYMENT_RECEIVED
        ),
    )
    assert strict.status == order_pb2.ORDER_STATUS_INITIALIZED


async def test_a_service_caller_may_name_the_creator(pg: Served, site: str) -> None:
    given = new_order()
    given.created_by.member_id = "member-9"
    service = pg.token(site, Role.SERVICE, "checkout")
    order = (
        await pg.orders.CreateOrder(pb.CreateOrderRequest(order=given), metadata=service)
    ).order
    assert order.created_by.member_id == "member-9"
    plain = (
        await pg.orders.CreateOrder(pb.CreateOrderRequest(order=new_order()), metadata=service)
    ).order
    assert plain.created_by.app_id == "checkout"
    by_admin = await create(pg, site, given)
    assert by_admin.created_by.user_id == "admin-1"


async def test_every_problem_of_a_malformed_order_is_reported(pg: Served, site: str) -> None:
    bad = new_order(total="-1", currency="usd", lines=[line(quantity=0), line(price_amount="1e3")])
    bad.line_items[0].id = bad.line_items[1].id = "same"
    bad.line_items[1].product_name.original = ""
    bad.channel_info.type = 0  # type: ignore[assignment]
    bad.buyer_note = "x" * 1001
    discount = bad.applied_discounts.add()
    discount.line_item_ids.append("nope")
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await create(pg, site, bad)
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    _, _, fields = details(failure.value)
    assert {
        "order.currency",
        "order.channel_info.type",
        "order.buyer_note",
        "order.line_items[0].quantity",
        "order.line_items[1].id",
        "order.line_items[1].product_name.original",
        "order.line_items[1].price.amount",
        "order.price_summary.total.amount",
        "order.applied_discounts[0].line_item_ids[0]",
    } <= fields

    empty = new_order(lines=[])
    empty.price_summary.ClearField("total")
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await create(pg, site, empty)
    assert {"order.line_items", "order.price_summary.total"} <= details(failure.value)[2]


async def test_buyers_may_not_create_orders(pg: Served, site: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await pg.orders.CreateOrder(
            pb.CreateOrderRequest(order=new_order()),
            metadata=pg.token(site, Role.MEMBER, "m-1"),
        )
    assert failure.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_one_order_per_checkout_however_often_and_concurrently_it_is_created(
    pg: Served, site: str
) -> None:
    checkout_id = str(uuid.uuid4())
    channels = [grpc.aio.insecure_channel(pg.running.address) for _ in range(10)]
    try:
        from ecom.orders.v1 import orders_service_pb2_grpc

        calls = [
            orders_service_pb2_grpc.OrdersServiceStub(channel).CreateOrder(
                pb.CreateOrderRequest(
                    order=new_order(checkout_id=checkout_id, total=f"{10 + index}.00"),
                    request_id=str(uuid.uuid4()),
                ),
                metadata=pg.admin(site),
            )
            for index, channel in enumerate(channels)
        ]
        responses = await asyncio.gather(*calls)
    finally:
        await asyncio.gather(*(channel.close() for channel in channels))
    ids = {response.order.id for response in responses}
    assert len(ids) == 1
    (order_id,) = ids
    # A later retry with other content still returns the same order, unchanged.
    again = await create(pg, site, new_order(checkout_id=checkout_id, total="99.00"))
    assert again == responses[0].order
    search = await pg.orders.SearchOrders(
        pb.SearchOrdersRequest(
            filter=pb.OrderFilter(checkout_ids=[checkout_id], include_initialized=True)
        ),
        metadata=pg.admin(site),
    )
    assert [o.id for o in search.orders] == [order_id]
    events = await pg.events(site, order_id, 1)
    assert event_types(events) == ["order_created"]


async def test_a_request_id_makes_a_retry_return_the_first_order(pg: Served, site: str) -> None:
    request_id = str(uuid.uuid4())
    first, second = await asyncio.gather(
        create(pg, site, new_order(), request_id=request_id),
        create(pg, site, new_order(), request_id=request_id),
    )
    assert first == second
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await create(pg, site, new_order(total="31.00"), request_id=request_id)
    assert failure.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert details(failure.value)[0] == "REQUEST_ID_REUSED"
    other = await create(pg, site, new_order())
    assert other.number == first.number + 1


async def test_concurrent_creations_get_distinct_consecutive_numbers(
    served: Served, site: str
) -> None:
    from ecom.orders.v1 import orders_service_pb2_grpc

    channels = [grpc.aio.insecure_channel(served.running.address) for _ in range(10)]
    try:
        stubs = [orders_service_pb2_grpc.OrdersServiceStub(channel) for channel in channels]
        responses = await asyncio.gather(
            *(
                stubs[index % len(stubs)].CreateOrder(
                    pb.CreateOrderRequest(order=new_order()), metadata=served.admin(site)
                )
                for index in range(100)
            )
        )
    finally:
        await asyncio.gather(*(channel.close() for channel in channels))
    numbers = sorted(response.order.number for response in responses)
    assert numbers == list(range(10001, 10101))
    assert len({response.order.id for response in responses}) == 100


async def test_buyers_see_their_own_orders_only(pg: Served, site: str) -> None:
    mine = new_order(member_id="member-1", email="me@example.com")
    mine.tags.private_tags.append("vip")
    mine.tags.tags.append("gift")
    own = await create(pg, site, mine)
    theirs = await create(pg, site, new_order(member_id="member-2"))
    visitor_order = await create(pg, site, new_order(visitor_id="visitor-1"))
    for order in (own, theirs, visitor_order):
        await pg.orders.ApproveOrder(pb.ApproveOrderRequest(id=order.id), metadata=pg.admin(site))
    member = pg.token(site, Role.MEMBER, "member-1")

    got = (await pg.orders.GetOrder(pb.GetOrderRequest(id=own.id), metadata=member)).order
    assert got.id == own.id
    assert not got.activities
    assert list(got.tags.tags) == ["gift"] and not got.tags.private_tags
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await pg.orders.GetOrder(pb.GetOrderRequest(id=theirs.id), metadata=member)
    assert failure.value.code() == grpc.StatusCode.PERMISSION_DENIED

    # Another buyer's id in the filter simply matches nothing.
    search = await pg.orders.SearchOrders(pb.SearchOrdersRequest(), metadata=member)
    assert [o.id for o in search.orders] == [own.id]
    assert not search.orders[0].activities and not search.orders[0].tags.private_tags
    others = await pg.orders.SearchOrders(
        pb.SearchOrdersRequest(filter=pb.OrderFilter(member_ids=["member-2"])), metadata=member
    )
    assert not others.orders
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await pg.orders.SearchOrders(
            pb.SearchOrdersRequest(filter=pb.OrderFilter(private_tags=["vip"])), metadata=member
        )
    assert failure.value.code() == grpc.StatusCode.PERMISSION_DENIED
    visitor = pg.token(site, Role.VISITOR, "visitor-1")
    search = await pg.orders.SearchOrders(pb.SearchOrdersRequest(), metadata=visitor)
    assert [o.id for o in search.orders] == [visitor_order.id]

    # An admin of another site sees none of them.
    stranger = pg.admin(f"{site}-other")
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await pg.orders.GetOrder(pb.GetOrderRequest(id=own.id), metadata=stranger)
    assert failure.value.code() == grpc.StatusCode.NOT_FOUND
    assert details(failure.value)[0] == "ORDER_NOT_FOUND"
    search = await pg.orders.SearchOrders(
        pb.SearchOrdersRequest(filter=pb.OrderFilter(include_initialized=True)), metadata=stranger
    )
    assert not search.orders


async def test_get_order_needs_an_id(pg: Served, site: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await pg.orders.GetOrder(pb.GetOrderRequest(), metadata=pg.admin(site))
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
