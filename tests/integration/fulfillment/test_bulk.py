"""BulkCreateFulfillments: per-order atomic results in request order, whole-call validation,
events per fulfillment, request ids."""

from __future__ import annotations

import uuid

import grpc
import pytest
from google.rpc import code_pb2, error_details_pb2

from ecom.fulfillment.v1 import fulfillment_pb2
from ecom.fulfillment.v1 import order_fulfillments_service_pb2 as pb
from ecom.orders.v1 import order_pb2
from tests.integration.fulfillment.kit import (
    CREATED,
    FULFILLED,
    PARTIALLY_FULFILLED,
    Suite,
    details,
    events_of,
    new_fulfillment,
    statuses,
)

pytestmark = pytest.mark.integration


def entry(
    order: order_pb2.Order | str, *fulfillments: list[tuple[int, int]]
) -> fulfillment_pb2.OrderWithFulfillments:
    """An order (or a bare id) with fulfillments given as [(line index, quantity), ...]."""
    if isinstance(order, str):
        return fulfillment_pb2.OrderWithFulfillments(
            order_id=order, fulfillments=[new_fulfillment(("x", 1))]
        )
    return fulfillment_pb2.OrderWithFulfillments(
        order_id=order.id,
        fulfillments=[
            new_fulfillment(*[(order.line_items[i].id, q) for i, q in lines])
            for lines in fulfillments
        ],
    )


def reason(result: pb.BulkCreateFulfillmentsResult) -> str:
    for detail in result.item_metadata.error.details:
        # types-protobuf types Message.DESCRIPTOR wider than Any.Is accepts; it is a Descriptor.
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):  # type: ignore[arg-type]
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info.reason
    return ""


async def test_each_order_succeeds_or_fails_on_its_own_and_atomically(
    suite: Suite, site: str
) -> None:
    full = suite.orders.add(site, 2, 1)
    half = suite.orders.add(site, 4)
    over = suite.orders.add(site, 2)
    canceled = suite.orders.add(site, 1, status=order_pb2.ORDER_STATUS_CANCELED)
    invalid = suite.orders.add(site, 1)
    unknown = str(uuid.uuid4())
    request = pb.BulkCreateFulfillmentsRequest(
        orders_with_fulfillments=[
            entry(full, [(0, 1)], [(0, 0), (1, 0)]),
            entry(unknown),
            entry(half, [(0, 2)]),
            entry(over, [(0, 1)], [(0, 2)]),  # the second exceeds: the first is not kept either
            entry(canceled, [(0, 1)]),
            entry(invalid, [(0, -1)]),
        ]
    )
    stub, md = suite.stub(), suite.md(site)
    response = await stub.BulkCreateFulfillments(request, metadata=md)
    results = response.results
    assert [(r.item_metadata.id, r.item_metadata.original_index) for r in results] == [
        (full.id, 0),
        (unknown, 1),
        (half.id, 2),
        (over.id, 3),
        (canceled.id, 4),
        (invalid.id, 5),
    ]
    assert [r.item_metadata.success for r in results] == [True, False, True, False, False, False]
    assert [r.item_metadata.error.code for r in results] == [
        code_pb2.OK,
        code_pb2.NOT_FOUND,
        code_pb2.OK,
        code_pb2.FAILED_PRECONDITION,
        code_pb2.FAILED_PRECONDITION,
        code_pb2.INVALID_ARGUMENT,
    ]
    assert [reason(r) for r in results] == [
        "",
        "ORDER_NOT_FOUND",
        "",
        "FULFILLMENT_QUANTITY_EXCEEDED",
        "ORDER_CANCELED",
        "",
    ]
    assert (
        response.bulk_action_metadata.total_successes,
        response.bulk_action_metadata.total_failures,
    ) == (2, 4)
    ok = results[0]
    assert len(ok.fulfillment_ids) == 2
    assert [f.id for f in ok.item.fulfillments] == list(ok.fulfillment_ids)
    assert [[line.quantity for line in f.line_items] for f in ok.item.fulfillments] == [[1], [1, 1]]
    listed = await stub.ListFulfillmentsForMultipleOrders(
        pb.ListFulfillmentsForMultipleOrdersRequest(order_ids=[over.id, half.id]), metadata=md
    )
    assert [len(o.fulfillments) for o in listed.orders_with_fulfillments] == [0, 1]
    # The failed order's savepoint took its event sequence back with it: its next change is
    # its first event.
    await stub.CreateFulfillment(
        pb.CreateFulfillmentRequest(
            order_id=over.id, fulfillment=new_fulfillment((over.line_items[0].id, 2))
        ),
        metadata=md,
    )
    assert statuses(await events_of(suite.bus, site, over.id, 1)) == [(1, CREATED, FULFILLED)]
    # One event per fulfillment, each with the status after it.
    assert statuses(await events_of(suite.bus, site, full.id, 2)) == [
        (1, CREATED, PARTIALLY_FULFILLED),
        (2, CREATED, FULFILLED),
    ]


async def test_the_whole_call_is_invalid_for_bad_shapes(suite: Suite, site: str) -> None:
    order = suite.orders.add(site, 20)
    stub, md = suite.stub(), suite.md(site)
    cases = [
        (pb.BulkCreateFulfillmentsRequest(), {"orders_with_fulfillments"}),
        (
            pb.BulkCreateFulfillmentsRequest(
                orders_with_fulfillments=[entry(order, [(0, 1)]), entry(order, [(0, 1)])]
            ),
            {"orders_with_fulfillments[1].order_id"},
        ),
        (
            pb.BulkCreateFulfillmentsRequest(
                orders_with_fulfillments=[entry(order, *[[(0, 1)]] * 11), entry(order.id + "x")]
            ),
            {"orders_with_fulfillments[0].fulfillments"},
        ),
        (
            pb.BulkCreateFulfillmentsRequest(
                orders_with_fulfillments=[fulfillment_pb2.OrderWithFulfillments(order_id="")]
            ),
            {"orders_with_fulfillments[0].order_id", "orders_with_fulfillments[0].fulfillments"},
        ),
        (
            pb.BulkCreateFulfillmentsRequest(
                orders_with_fulfillments=[entry(str(n)) for n in range(101)]
            ),
            {"orders_with_fulfillments"},
        ),
    ]
    for request, fields in cases:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.BulkCreateFulfillments(request, metadata=md)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert details(caught.value)[1] == fields


async def test_a_retried_request_id_returns_the_first_response(suite: Suite, site: str) -> None:
    order = suite.orders.add(site, 3)
    stub, md = suite.stub(), suite.md(site)
    request = pb.BulkCreateFulfillmentsRequest(
        orders_with_fulfillments=[entry(order, [(0, 1)])], request_id=str(uuid.uuid4())
    )
    first = await stub.BulkCreateFulfillments(request, metadata=md)
    assert await stub.BulkCreateFulfillments(request, metadata=md) == first
    changed = pb.BulkCreateFulfillmentsRequest()
    changed.CopyFrom(request)
    changed.orders_with_fulfillments[0].fulfillments[0].line_items[0].quantity = 2
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.BulkCreateFulfillments(changed, metadata=md)
    assert details(caught.value)[0]["reason"] == "REQUEST_ID_REUSED"
    listed = await stub.ListFulfillmentsForSingleOrder(
        pb.ListFulfillmentsForSingleOrderRequest(order_id=order.id), metadata=md
    )
    assert len(listed.order_with_fulfillments.fulfillments) == 1
