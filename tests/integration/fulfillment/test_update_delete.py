"""UpdateFulfillment and DeleteFulfillment: masks, tracking links, revisions, not-found cases."""

from __future__ import annotations

import uuid

import grpc
import pytest
from google.protobuf import field_mask_pb2

from ecom.fulfillment.v1 import fulfillment_pb2
from ecom.fulfillment.v1 import order_fulfillments_service_pb2 as pb
from ecom.fulfillment.v1 import order_fulfillments_service_pb2_grpc as pb_grpc
from services.platform.identity import Role
from tests.integration.fulfillment.kit import (
    CREATED,
    PARTIALLY_FULFILLED,
    UPDATED,
    Suite,
    create_request,
    details,
    events_of,
    statuses,
)

pytestmark = pytest.mark.integration


def update(
    order_id: str, fulfillment: fulfillment_pb2.Fulfillment, *paths: str
) -> pb.UpdateFulfillmentRequest:
    return pb.UpdateFulfillmentRequest(
        order_id=order_id,
        fulfillment=fulfillment,
        update_mask=field_mask_pb2.FieldMask(paths=list(paths)),
    )


def tracking(number: str = "", provider: str = "", link: str = "") -> fulfillment_pb2.TrackingInfo:
    return fulfillment_pb2.TrackingInfo(
        tracking_number=number, shipping_provider=provider, tracking_link=link
    )


async def _updated(
    stub: pb_grpc.OrderFulfillmentsServiceStub,
    md: tuple[tuple[str, str], ...],
    request: pb.UpdateFulfillmentRequest,
) -> fulfillment_pb2.Fulfillment:
    response = await stub.UpdateFulfillment(request, metadata=md)
    found: list[fulfillment_pb2.Fulfillment] = [
        f for f in response.order_with_fulfillments.fulfillments if f.id == request.fulfillment.id
    ]
    assert len(found) == 1
    return found[0]


async def test_tracking_status_and_completion_change_with_revisions(
    suite: Suite, site: str
) -> None:
    order = suite.orders.add(site, 2)
    stub, md = suite.stub(), suite.md(site)
    created = await stub.CreateFulfillment(
        create_request(order, (0, 1), provider="ups", number="111"), metadata=md
    )
    fid = created.fulfillment_id

    # A new number: the link follows it.
    step = await _updated(
        stub,
        md,
        update(
            order.id,
            fulfillment_pb2.Fulfillment(id=fid, tracking_info=tracking("222")),
            "tracking_info.tracking_number",
        ),
    )
    assert step.tracking_info == tracking("222", "ups", "https://www.ups.com/track?tracknum=222")
    assert step.revision == 2
    assert step.updated_date.ToDatetime() > step.created_date.ToDatetime()

    # A custom carrier: the link is emptied; a known one again: filled.
    step = await _updated(
        stub,
        md,
        update(
            order.id,
            fulfillment_pb2.Fulfillment(id=fid, tracking_info=tracking(provider="Bike Courier")),
            "tracking_info.shipping_provider",
        ),
    )
    assert step.tracking_info == tracking("222", "Bike Courier", "")
    step = await _updated(
        stub,
        md,
        update(
            order.id,
            fulfillment_pb2.Fulfillment(id=fid, tracking_info=tracking(provider="USPS")),
            "tracking_info.shipping_provider",
        ),
    )
    assert step.tracking_info.tracking_link == (
        "https://tools.usps.com/go/TrackConfirmAction?tLabels=222"
    )

    # A link named in the mask is kept as given.
    step = await _updated(
        stub,
        md,
        update(
            order.id,
            fulfillment_pb2.Fulfillment(
                id=fid, tracking_info=tracking("333", link="https://t.example/333")
            ),
            "tracking_info.tracking_number",
            "tracking_info.tracking_link",
        ),
    )
    assert step.tracking_info == tracking("333", "usps", "https://t.example/333")

    # Status and completion; the revision the caller read is checked.
    step = await _updated(
        stub,
        md,
        update(
            order.id,
            fulfillment_pb2.Fulfillment(id=fid, status="Delivered", completed=True, revision=5),
            "status",
            "completed",
        ),
    )
    assert (step.status, step.completed, step.revision) == ("Delivered", True, 6)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.UpdateFulfillment(
            update(order.id, fulfillment_pb2.Fulfillment(id=fid, revision=5), "completed"),
            metadata=md,
        )
    assert caught.value.code() == grpc.StatusCode.ABORTED
    info = details(caught.value)[0]
    assert (info["reason"], info["current_revision"]) == ("REVISION_MISMATCH", "6")

    # Replacing tracking_info whole with nothing: untracked.
    step = await _updated(
        stub, md, update(order.id, fulfillment_pb2.Fulfillment(id=fid), "tracking_info")
    )
    assert not step.HasField("tracking_info")
    assert step.revision == 7
    # Line items never change.
    assert [(line.quantity) for line in step.line_items] == [1]

    announced = await events_of(suite.bus, site, order.id, 7)
    assert statuses(announced) == [(1, CREATED, PARTIALLY_FULFILLED)] + [
        (n, UPDATED, PARTIALLY_FULFILLED) for n in range(2, 8)
    ]


async def test_an_update_that_changes_nothing_keeps_the_revision_and_emits_nothing(
    suite: Suite, site: str
) -> None:
    order = suite.orders.add(site, 2)
    stub, md = suite.stub(), suite.md(site)
    created = await stub.CreateFulfillment(
        create_request(order, (0, 1), status="Ready"), metadata=md
    )
    same = await _updated(
        stub,
        md,
        update(
            order.id,
            fulfillment_pb2.Fulfillment(id=created.fulfillment_id, status="Ready", revision=1),
            "status",
        ),
    )
    assert same.revision == 1
    await stub.CreateFulfillment(create_request(order, (0, 1)), metadata=md)
    # The no-op made no event: the next change of the order is its second event.
    assert [a.sequence for a in await events_of(suite.bus, site, order.id, 2)] == [1, 2]
    assert (await events_of(suite.bus, site, order.id, 2))[1].payload.action == CREATED


async def test_bad_updates_are_rejected(suite: Suite, site: str) -> None:
    order = suite.orders.add(site, 2)
    stub, md = suite.stub(), suite.md(site)
    created = await stub.CreateFulfillment(create_request(order, (0, 1)), metadata=md)
    fid = created.fulfillment_id
    cases = [
        (update(order.id, fulfillment_pb2.Fulfillment(id=fid)), {"update_mask"}),
        (update(order.id, fulfillment_pb2.Fulfillment(id=fid), "line_items"), {"update_mask"}),
        (update("", fulfillment_pb2.Fulfillment(id=fid), "status"), {"order_id"}),
        (update(order.id, fulfillment_pb2.Fulfillment(), "status"), {"fulfillment.id"}),
        (
            update(order.id, fulfillment_pb2.Fulfillment(id=fid, status="s" * 101), "status"),
            {"fulfillment.status"},
        ),
        (
            update(
                order.id,
                fulfillment_pb2.Fulfillment(id=fid, tracking_info=tracking(link="nope")),
                "tracking_info",
            ),
            {"fulfillment.tracking_info.tracking_link"},
        ),
    ]
    for request, fields in cases:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.UpdateFulfillment(request, metadata=md)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, request
        assert details(caught.value)[1] == fields

    for request, reason in [
        (
            update(order.id, fulfillment_pb2.Fulfillment(id="nope"), "status"),
            "FULFILLMENT_NOT_FOUND",
        ),
        (
            update(str(uuid.uuid4()), fulfillment_pb2.Fulfillment(id=fid), "status"),
            "ORDER_NOT_FOUND",
        ),
    ]:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.UpdateFulfillment(request, metadata=md)
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
        assert details(caught.value)[0]["reason"] == reason

    # An order that exists but never had a fulfillment: the fulfillment is what is missing.
    bare = suite.orders.add(site, 1)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.UpdateFulfillment(
            update(bare.id, fulfillment_pb2.Fulfillment(id=fid), "status"), metadata=md
        )
    assert details(caught.value)[0]["reason"] == "FULFILLMENT_NOT_FOUND"
    # Another site's admin finds nothing.
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.UpdateFulfillment(
            update(order.id, fulfillment_pb2.Fulfillment(id=fid), "status"),
            metadata=suite.md("another-site"),
        )
    assert details(caught.value)[0]["reason"] == "ORDER_NOT_FOUND"
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.UpdateFulfillment(
            update(order.id, fulfillment_pb2.Fulfillment(id=fid), "status"),
            metadata=suite.md(site, Role.MEMBER, "m-1"),
        )
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_delete_checks_the_revision_and_is_not_found_when_repeated(
    suite: Suite, site: str
) -> None:
    order = suite.orders.add(site, 3)
    stub, md = suite.stub(), suite.md(site)
    first = await stub.CreateFulfillment(create_request(order, (0, 1)), metadata=md)
    second = await stub.CreateFulfillment(create_request(order, (0, 1)), metadata=md)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.DeleteFulfillment(
            pb.DeleteFulfillmentRequest(
                order_id=order.id, fulfillment_id=first.fulfillment_id, revision=2
            ),
            metadata=md,
        )
    assert caught.value.code() == grpc.StatusCode.ABORTED
    delete = pb.DeleteFulfillmentRequest(
        order_id=order.id, fulfillment_id=first.fulfillment_id, revision=1
    )
    remaining = await stub.DeleteFulfillment(delete, metadata=md)
    assert [f.id for f in remaining.order_with_fulfillments.fulfillments] == [second.fulfillment_id]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.DeleteFulfillment(delete, metadata=md)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert details(caught.value)[0]["reason"] == "FULFILLMENT_NOT_FOUND"
    # The deleted units can be fulfilled again; the new one sorts after the older one.
    again = await stub.CreateFulfillment(create_request(order, (0, 0)), metadata=md)
    assert [f.id for f in again.order_with_fulfillments.fulfillments] == [
        second.fulfillment_id,
        again.fulfillment_id,
    ]
    assert again.order_with_fulfillments.fulfillments[1].line_items[0].quantity == 2
    for request in (
        pb.DeleteFulfillmentRequest(order_id=order.id),
        pb.DeleteFulfillmentRequest(fulfillment_id="x"),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.DeleteFulfillment(request, metadata=md)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.DeleteFulfillment(
            pb.DeleteFulfillmentRequest(order_id=str(uuid.uuid4()), fulfillment_id="x"),
            metadata=md,
        )
    assert details(caught.value)[0]["reason"] == "ORDER_NOT_FOUND"
