"""The order's fulfillment status through a sequence of changes, and the events announcing it:
none, partial, full, over-fulfil rejected, delete back to partial, update, delete to none."""

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
    NOT_FULFILLED,
    PARTIALLY_FULFILLED,
    UPDATED,
    Suite,
    create_request,
    details,
    events_of,
    statuses,
)

pytestmark = pytest.mark.integration


async def test_the_fulfillment_status_table_with_its_events_in_order(
    suite: Suite, site: str
) -> None:
    order = suite.orders.add(site, 2, 1)
    other = suite.orders.add(site, 1)  # interleaved changes of another order
    stub, md = suite.stub(), suite.md(site)

    first = await stub.CreateFulfillment(create_request(order, (0, 1)), metadata=md)  # partial
    await stub.CreateFulfillment(create_request(other, (0, 1)), metadata=md)
    second = await stub.CreateFulfillment(create_request(order, (0, 0), (1, 0)), metadata=md)
    with pytest.raises(grpc.aio.AioRpcError) as caught:  # over-fulfil: rejected, no event
        await stub.CreateFulfillment(create_request(order, (1, 1)), metadata=md)
    assert details(caught.value)[0]["reason"] == "FULFILLMENT_QUANTITY_EXCEEDED"
    await stub.DeleteFulfillment(
        pb.DeleteFulfillmentRequest(order_id=order.id, fulfillment_id=second.fulfillment_id),
        metadata=md,
    )  # back to partial
    await stub.UpdateFulfillment(
        pb.UpdateFulfillmentRequest(
            order_id=order.id,
            fulfillment=fulfillment_pb2.Fulfillment(id=first.fulfillment_id, status="Shipped"),
            update_mask=field_mask_pb2.FieldMask(paths=["status"]),
        ),
        metadata=md,
    )  # still partial: the event is emitted all the same
    await stub.DeleteFulfillment(
        pb.DeleteFulfillmentRequest(order_id=order.id, fulfillment_id=first.fulfillment_id),
        metadata=md,
    )  # none again

    announced = await events_of(suite.bus, site, order.id, 5)
    assert statuses(announced) == [
        (1, CREATED, PARTIALLY_FULFILLED),
        (2, CREATED, FULFILLED),
        (3, DELETED, PARTIALLY_FULFILLED),
        (4, UPDATED, PARTIALLY_FULFILLED),
        (5, DELETED, NOT_FULFILLED),
    ]
    payloads = [a.payload for a in announced]
    assert [p.fulfillment_id for p in payloads] == [
        first.fulfillment_id,
        second.fulfillment_id,
        second.fulfillment_id,
        first.fulfillment_id,
        first.fulfillment_id,
    ]
    assert [len(p.fulfillments) for p in payloads] == [1, 2, 1, 1, 0]
    assert all(p.order_id == order.id for p in payloads)
    # DELETED carries the fulfillment as it was; UPDATED as it is now.
    assert [(line.quantity) for line in payloads[2].fulfillment.line_items] == [1, 1]
    assert (payloads[3].fulfillment.status, payloads[3].fulfillment.revision) == ("Shipped", 2)
    assert payloads[4].fulfillment.status == "Shipped"
    # The other order's events are counted on their own.
    assert statuses(await events_of(suite.bus, site, other.id, 1)) == [(1, CREATED, FULFILLED)]
