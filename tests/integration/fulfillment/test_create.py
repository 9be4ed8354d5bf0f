"""CreateFulfillment on a real server (SQLite and PostgreSQL): remainders, tracking links,
validation, preconditions, request ids, and concurrent creates that race for the same units."""

from __future__ import annotations

import asyncio
import uuid

import grpc
import pytest

from ecom.fulfillment.v1 import order_fulfillments_service_pb2 as pb
from services.platform.identity import Role
from tests.integration.fulfillment.kit import (
    CANCELED,
    CREATED,
    FULFILLED,
    INITIALIZED,
    Suite,
    create_request,
    details,
    events_of,
    statuses,
)

pytestmark = pytest.mark.integration


async def test_an_omitted_quantity_takes_the_remainder(suite: Suite, site: str) -> None:
    order = suite.orders.add(site, 5, 2)
    stub, md = suite.stub(), suite.md(site)
    first = await stub.CreateFulfillment(create_request(order, (0, 2)), metadata=md)
    second = await stub.CreateFulfillment(
        create_request(order, (0, 0), (1, 0), status="Ready", completed=True), metadata=md
    )
    fulfillments = second.order_with_fulfillments.fulfillments
    assert second.order_with_fulfillments.order_id == order.id
    assert [f.id for f in fulfillments] == [first.fulfillment_id, second.fulfillment_id]
    new = fulfillments[1]
    assert [(line.id, line.quantity) for line in new.line_items] == [
        (order.line_items[0].id, 3),
        (order.line_items[1].id, 2),
    ]
    assert (new.status, new.completed, new.revision) == ("Ready", True, 1)
    assert new.created_date.ToDatetime() == new.updated_date.ToDatetime()
    assert not new.HasField("tracking_info")
    # The service read the order with its own service token, on the caller's site.
    assert {(c.role, c.site) for c in suite.orders.callers} == {(Role.SERVICE, site)}
    announced = await events_of(suite.bus, site, order.id, 2)
    assert statuses(announced)[-1] == (2, CREATED, FULFILLED)


@pytest.mark.parametrize(
    ("given", "stored", "link"),
    [
        ("fedex", "fedex", "https://www.fedex.com/fedextrack/?trknbr=AB%2012"),
        ("UPS", "ups", "https://www.ups.com/track?tracknum=AB%2012"),
        ("Usps", "usps", "https://tools.usps.com/go/TrackConfirmAction?tLabels=AB%2012"),
        (
            "DHL",
            "dhl",
            "https://www.dhl.com/global-en/home/tracking/tracking-express.html"
            "?submit=1&tracking-id=AB%2012",
        ),
        (
            "canadapost",
            "canadaPost",
            "https://www.canadapost-postescanada.ca/track-reperage/en#/search?searchFor=AB%2012",
        ),
        ("Pony Express", "Pony Express", ""),
    ],
)
async def test_tracking_links_are_filled_for_known_carriers(
    suite: Suite, site: str, given: str, stored: str, link: str
) -> None:
    order = suite.orders.add(site, 1)
    created = await suite.stub().CreateFulfillment(
        create_request(order, (0, 1), provider=given, number="AB 12"), metadata=suite.md(site)
    )
    info = created.order_with_fulfillments.fulfillments[0].tracking_info
    assert (info.tracking_number, info.shipping_provider, info.tracking_link) == (
        "AB 12",
        stored,
        link,
    )


async def test_a_given_link_is_kept(suite: Suite, site: str) -> None:
    order = suite.orders.add(site, 1)
    created = await suite.stub().CreateFulfillment(
        create_request(order, (0, 1), provider="ups", number="1", link="https://t.example/1"),
        metadata=suite.md(site),
    )
    assert created.order_with_fulfillments.fulfillments[0].tracking_info.tracking_link == (
        "https://t.example/1"
    )


async def test_malformed_requests_are_invalid_argument_with_every_field(
    suite: Suite, site: str
) -> None:
    order = suite.orders.add(site, 2)
    line = order.line_items[0].id
    stub, md = suite.stub(), suite.md(site)
    bad = pb.CreateFulfillmentRequest(order_id="")
    bad.fulfillment.line_items.add(id=line, quantity=-1)
    bad.fulfillment.line_items.add(id=line)
    bad.fulfillment.line_items.add(id="")
    bad.fulfillment.tracking_info.tracking_link = "javascript:alert(1)"
    bad.fulfillment.status = "x" * 101
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.CreateFulfillment(bad, metadata=md)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert details(caught.value)[1] == {
        "order_id",
        "fulfillment.line_items[0].quantity",
        "fulfillment.line_items[1].id",
        "fulfillment.line_items[2].id",
        "fulfillment.tracking_info.tracking_link",
        "fulfillment.status",
    }
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.CreateFulfillment(pb.CreateFulfillmentRequest(order_id=order.id), metadata=md)
    assert details(caught.value)[1] == {"fulfillment.line_items"}


async def test_unknown_orders_and_lines_are_not_found(suite: Suite, site: str) -> None:
    order = suite.orders.add(site, 2)
    stub, md = suite.stub(), suite.md(site)
    unknown = pb.CreateFulfillmentRequest(order_id=str(uuid.uuid4()))
    unknown.fulfillment.line_items.add(id="x")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.CreateFulfillment(unknown, metadata=md)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert details(caught.value)[0]["reason"] == "ORDER_NOT_FOUND"

    # An admin of another site does not see the order either.
    other = create_request(order, (0, 1))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.CreateFulfillment(other, metadata=suite.md("another-site"))
    assert details(caught.value)[0]["reason"] == "ORDER_NOT_FOUND"

    stray = create_request(order, (0, 1))
    stray.fulfillment.line_items.add(id="no-such-line", quantity=1)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.CreateFulfillment(stray, metadata=md)
    info = details(caught.value)[0]
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert (info["reason"], info["line_item_id"], info["domain"]) == (
        "LINE_ITEM_NOT_FOUND",
        "no-such-line",
        "ecom.fulfillment.v1",
    )


@pytest.mark.parametrize(
    ("status", "reason"), [(INITIALIZED, "ORDER_NOT_APPROVED"), (CANCELED, "ORDER_CANCELED")]
)
async def test_only_approved_orders_can_be_fulfilled(
    suite: Suite, site: str, status: int, reason: str
) -> None:
    order = suite.orders.add(site, 1, status=status)  # type: ignore[arg-type]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await suite.stub().CreateFulfillment(create_request(order, (0, 1)), metadata=suite.md(site))
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert details(caught.value)[0]["reason"] == reason


async def test_more_than_remains_creates_nothing(suite: Suite, site: str) -> None:
    order = suite.orders.add(site, 3, 3)
    stub, md = suite.stub(), suite.md(site)
    await stub.CreateFulfillment(create_request(order, (0, 2)), metadata=md)
    # The first line fits, the second does not: neither is fulfilled.
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.CreateFulfillment(create_request(order, (1, 1), (0, 2)), metadata=md)
    info = details(caught.value)[0]
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert (info["reason"], info["line_item_id"], info["remaining_quantity"]) == (
        "FULFILLMENT_QUANTITY_EXCEEDED",
        order.line_items[0].id,
        "1",
    )
    listed = await stub.ListFulfillmentsForSingleOrder(
        pb.ListFulfillmentsForSingleOrderRequest(order_id=order.id), metadata=md
    )
    assert len(listed.order_with_fulfillments.fulfillments) == 1


async def test_buyers_cannot_create(suite: Suite, site: str) -> None:
    order = suite.orders.add(site, 1, visitor_id="v-1")
    for role in (Role.VISITOR, Role.MEMBER):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await suite.stub().CreateFulfillment(
                create_request(order, (0, 1)), metadata=suite.md(site, role, "v-1")
            )
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_a_retried_request_id_returns_the_first_response(suite: Suite, site: str) -> None:
    order = suite.orders.add(site, 4)
    stub, md = suite.stub(), suite.md(site)
    request_id = str(uuid.uuid4())
    request = create_request(order, (0, 1), request_id=request_id)
    first = await stub.CreateFulfillment(request, metadata=md)
    again = await stub.CreateFulfillment(request, metadata=md)
    assert again == first
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.CreateFulfillment(
            create_request(order, (0, 2), request_id=request_id), metadata=md
        )
    assert caught.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert details(caught.value)[0]["reason"] == "REQUEST_ID_REUSED"
    listed = await stub.ListFulfillmentsForSingleOrder(
        pb.ListFulfillmentsForSingleOrderRequest(order_id=order.id), metadata=md
    )
    assert [f.id for f in listed.order_with_fulfillments.fulfillments] == [first.fulfillment_id]


async def test_concurrent_creates_for_the_full_remainder_let_exactly_one_win(
    suite: Suite, site: str, database_backend: str
) -> None:
    order = suite.orders.add(site, 7, 1)
    md = suite.md(site)
    # The order already has a fulfillment (of its other line), so the racers meet on the lock
    # of an existing order row, not on the insert of a new one.
    await suite.stub().CreateFulfillment(create_request(order, (1, 1)), metadata=md)
    # Ten callers on ten channels, each asking for all 7 units of the first line: half name
    # the quantity, half omit it (= the remainder).
    requests = [create_request(order, (0, 7 if n % 2 else 0)) for n in range(10)]
    stubs = [suite.stub() for _ in requests]
    outcomes = await asyncio.gather(
        *(
            stub.CreateFulfillment(request, metadata=md)
            for stub, request in zip(stubs, requests, strict=True)
        ),
        return_exceptions=True,
    )
    won = [o for o in outcomes if isinstance(o, pb.CreateFulfillmentResponse)]
    lost = [o for o in outcomes if isinstance(o, grpc.aio.AioRpcError)]
    assert len(won) == 1, outcomes
    assert len(lost) == 9
    for error in lost:
        assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
        info = details(error)[0]
        assert (info["reason"], info["remaining_quantity"]) == (
            "FULFILLMENT_QUANTITY_EXCEEDED",
            "0",
        )
    listed = await suite.stub().ListFulfillmentsForSingleOrder(
        pb.ListFulfillmentsForSingleOrderRequest(order_id=order.id), metadata=md
    )
    fulfillments = listed.order_with_fulfillments.fulfillments
    assert [f.id for f in fulfillments][1:] == [won[0].fulfillment_id]
    assert fulfillments[1].line_items[0].quantity == 7
    # One event for the winner: the one before it was the order's first, a later change is third.
    await suite.stub().DeleteFulfillment(
        pb.DeleteFulfillmentRequest(order_id=order.id, fulfillment_id=fulfillments[0].id),
        metadata=md,
    )
    assert [a.sequence for a in await events_of(suite.bus, site, order.id, 3)] == [1, 2, 3]
