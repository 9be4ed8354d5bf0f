"""When the orders service cannot be read: UNAVAILABLE with RetryInfo for what needs it, while
changes that need nothing from it still commit (and announce the order's new status)."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import field_mask_pb2

from ecom.fulfillment.v1 import fulfillment_pb2
from ecom.fulfillment.v1 import order_fulfillments_service_pb2 as pb
from tests.integration.fulfillment.kit import (
    CREATED,
    DELETED,
    FULFILLED,
    PARTIALLY_FULFILLED,
    UPDATED,
    Suite,
    create_request,
    details,
    events_of,
    statuses,
)

pytestmark = pytest.mark.integration


def assert_unavailable(error: grpc.aio.AioRpcError) -> None:
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    info, _, retry = details(error)
    assert (info["reason"], info["domain"]) == ("ORDERS_UNAVAILABLE", "ecom.fulfillment.v1")
    assert retry is not None and retry > 0


async def test_a_stopped_orders_service_makes_reads_of_orders_unavailable(
    suite: Suite, site: str
) -> None:
    order = suite.orders.add(site, 2)
    bare = suite.orders.add(site, 1)
    stub, md = suite.stub(), suite.md(site)
    first = await stub.CreateFulfillment(create_request(order, (0, 1)), metadata=md)
    second = await stub.CreateFulfillment(create_request(order, (0, 1)), metadata=md)
    await suite.stop_orders()

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.CreateFulfillment(create_request(order, (0, 1)), metadata=md)
    assert_unavailable(caught.value)
    bulk = pb.BulkCreateFulfillmentsRequest(
        orders_with_fulfillments=[
            fulfillment_pb2.OrderWithFulfillments(
                order_id=bare.id, fulfillments=[create_request(bare, (0, 1)).fulfillment]
            )
        ]
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.BulkCreateFulfillments(bulk, metadata=md)
    assert_unavailable(caught.value)
    with pytest.raises(grpc.aio.AioRpcError) as caught:  # unknown here: must ask orders
        await stub.ListFulfillmentsForSingleOrder(
            pb.ListFulfillmentsForSingleOrderRequest(order_id=bare.id), metadata=md
        )
    assert_unavailable(caught.value)

    # The order's lines are known here since its first fulfillment: these need no orders call.
    listed = await stub.ListFulfillmentsForMultipleOrders(
        pb.ListFulfillmentsForMultipleOrdersRequest(order_ids=[order.id]), metadata=md
    )
    assert len(listed.orders_with_fulfillments[0].fulfillments) == 2
    await stub.UpdateFulfillment(
        pb.UpdateFulfillmentRequest(
            order_id=order.id,
            fulfillment=fulfillment_pb2.Fulfillment(id=first.fulfillment_id, completed=True),
            update_mask=field_mask_pb2.FieldMask(paths=["completed"]),
        ),
        metadata=md,
    )
    await stub.DeleteFulfillment(
        pb.DeleteFulfillmentRequest(order_id=order.id, fulfillment_id=second.fulfillment_id),
        metadata=md,
    )
    assert statuses(await events_of(suite.bus, site, order.id, 4)) == [
        (1, CREATED, PARTIALLY_FULFILLED),
        (2, CREATED, FULFILLED),
        (3, UPDATED, FULFILLED),
        (4, DELETED, PARTIALLY_FULFILLED),
    ]


@pytest.mark.parametrize(
    "code",
    [
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
    ],
)
async def test_failures_of_the_orders_service_are_never_internal_here(
    suite: Suite, site: str, code: grpc.StatusCode
) -> None:
    order = suite.orders.add(site, 1)
    suite.orders.fail = code
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await suite.stub().CreateFulfillment(create_request(order, (0, 1)), metadata=suite.md(site))
    assert_unavailable(caught.value)
    assert details(caught.value)[0]["orders_status"] == code.name
    suite.orders.fail = None
    created = await suite.stub().CreateFulfillment(
        create_request(order, (0, 1)), metadata=suite.md(site)
    )
    assert created.fulfillment_id
