"""The RPCs that change an order after creation, with their events and activities, over real gRPC
and PostgreSQL."""

from __future__ import annotations

import uuid

import grpc
import pytest
from google.protobuf import field_mask_pb2

from ecom.orders.v1 import events_pb2, order_pb2
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


def mask(*paths: str) -> field_mask_pb2.FieldMask:
    return field_mask_pb2.FieldMask(paths=list(paths))


def activity_types(order: order_pb2.Order) -> list[int]:
    return [a.type for a in order.activities]


async def expect_error(call: object, code: grpc.StatusCode, reason: str = "") -> set[str]:
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await call  # type: ignore[misc]
    assert failure.value.code() == code, failure.value.details()
    found_reason, _, fields = details(failure.value)
    if reason:
        assert found_reason == reason
    return fields


async def test_update_order_changes_only_the_allowed_fields(pg: Served, site: str) -> None:
    admin = pg.admin(site)
    order = await create(pg, site, new_order(email="old@example.com"))
    values = order_pb2.Order(id=order.id, revision=order.revision, seen_by_a_human=True)
    values.buyer_info.email = "new@example.com"
    values.shipping_info.logistics.shipping_destination.address.city = "Berlin"
    values.recipient_info.contact_details.first_name = "Ada"
    updated = (
        await pg.orders.UpdateOrder(
            pb.UpdateOrderRequest(
                order=values,
                update_mask=mask(
                    "buyer_info.email",
                    "shipping_info.logistics.shipping_destination",
                    "recipient_info.contact_details",
                    "seen_by_a_human",
                ),
            ),
            metadata=admin,
        )
    ).order
    assert updated.revision == 2
    assert updated.buyer_info.email == "new@example.com"
    assert updated.shipping_info.logistics.shipping_destination.address.city == "Berlin"
    assert updated.recipient_info.contact_details.first_name == "Ada"
    assert updated.seen_by_a_human
    assert activity_types(updated)[1:] == [
        order_pb2.ACTIVITY_TYPE_EMAIL_EDITED,
        order_pb2.ACTIVITY_TYPE_SHIPPING_ADDRESS_EDITED,
    ]
    events = await pg.events(site, order.id, 2)
    assert event_types(events) == ["order_created", "order_updated"]
    assert payload(events[1]).order == updated  # type: ignore[attr-defined]

    # The same values again change nothing: same revision, no event.
    values.revision = 2
    again = await pg.orders.UpdateOrder(
        pb.UpdateOrderRequest(order=values, update_mask=mask("buyer_info.email")),
        metadata=admin,
    )
    assert again.order.revision == 2
    # A stale revision, a forbidden path, a bad email.
    values.revision = 1
    await expect_error(
        pg.orders.UpdateOrder(
            pb.UpdateOrderRequest(order=values, update_mask=mask("seen_by_a_human")),
            metadata=admin,
        ),
        grpc.StatusCode.ABORTED,
        "REVISION_MISMATCH",
    )
    values.revision = 0
    fields = await expect_error(
        pg.orders.UpdateOrder(
            pb.UpdateOrderRequest(order=values, update_mask=mask("buyer_note", "currency")),
            metadata=admin,
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert fields == {"update_mask.paths[0]", "update_mask.paths[1]"}
    values.buyer_info.email = "not-an-email"
    await expect_error(
        pg.orders.UpdateOrder(
            pb.UpdateOrderRequest(order=values, update_mask=mask("buyer_info.email")),
            metadata=admin,
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    await expect_error(
        pg.orders.UpdateOrder(
            pb.UpdateOrderRequest(
                order=order_pb2.Order(id=str(uuid.uuid4())), update_mask=mask("seen_by_a_human")
            ),
            metadata=admin,
        ),
        grpc.StatusCode.NOT_FOUND,
        "ORDER_NOT_FOUND",
    )
    final = (await pg.orders.GetOrder(pb.GetOrderRequest(id=order.id), metadata=admin)).order
    assert final.revision == 2 and final.buyer_info.email == "new@example.com"


async def test_bulk_update_orders_reports_each_item(pg: Served, site: str) -> None:
    admin = pg.admin(site)
    first = await create(pg, site, new_order())
    second = await create(pg, site, new_order())
    response = await pg.orders.BulkUpdateOrders(
        pb.BulkUpdateOrdersRequest(
            orders=[
                pb.MaskedOrder(
                    order=order_pb2.Order(id=first.id, seen_by_a_human=True),
                    update_mask=mask("seen_by_a_human"),
                ),
                pb.MaskedOrder(
                    order=order_pb2.Order(id=str(uuid.uuid4()), seen_by_a_human=True),
                    update_mask=mask("seen_by_a_human"),
                ),
                pb.MaskedOrder(
                    order=order_pb2.Order(id=second.id, revision=7),
                    update_mask=mask("seen_by_a_human"),
                ),
                pb.MaskedOrder(
                    order=order_pb2.Order(id=str(uuid.uuid4())), update_mask=mask("buyer_note")
                ),
            ],
            return_entity=True,
        ),
        metadata=admin,
    )
    results = response.results
    assert [r.item_metadata.success for r in results] == [True, False, False, False]
    assert [r.item_metadata.original_index for r in results] == [0, 1, 2, 3]
    assert results[0].item.seen_by_a_human and results[0].item.revision == 2
    assert [r.item_metadata.error.code for r in results[1:]] == [5, 10, 3]
    assert results[1].item_metadata.id and not results[1].HasField("item")
    assert response.bulk_action_metadata.total_successes == 1
    assert response.bulk_action_metadata.total_failures == 3

    duplicate = pb.MaskedOrder(
        order=order_pb2.Order(id=first.id), update_mask=mask("seen_by_a_human")
    )
    await expect_error(
        pg.orders.BulkUpdateOrders(
            pb.BulkUpdateOrdersRequest(orders=[duplicate, duplicate]), metadata=admin
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    await expect_error(
        pg.orders.BulkUpdateOrders(
            pb.BulkUpdateOrdersRequest(orders=[duplicate] * 101), metadata=admin
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )


async def test_cancel_is_terminal(pg: Served, site: str) -> None:
    admin = pg.admin(site)
    order = await create(pg, site, new_order())
    canceled = (
        await pg.orders.CancelOrder(
            pb.CancelOrderRequest(
                id=order.id,
                send_order_canceled_email=True,
                custom_message="sorry",
                revision=order.revision,
            ),
            metadata=admin,
        )
    ).order
    assert canceled.status == order_pb2.ORDER_STATUS_CANCELED
    assert canceled.revision == 2
    assert activity_types(canceled)[-1] == order_pb2.ACTIVITY_TYPE_ORDER_CANCELED
    assert all(li.restock_quantity == 0 for li in canceled.line_items)
    events = await pg.events(site, order.id, 3)
    assert event_types(events) == ["order_created", "order_canceled", "order_updated"]
    assert [e.entity_sequence for e in events] == [1, 2, 3]
    notice = payload(events[1])
    assert isinstance(notice, events_pb2.OrderCanceled)
    assert notice.send_order_canceled_email and notice.custom_message == "sorry"
    assert notice.order == canceled

    await expect_error(
        pg.orders.CancelOrder(pb.CancelOrderRequest(id=order.id), metadata=admin),
        grpc.StatusCode.FAILED_PRECONDITION,
        "ORDER_ALREADY_CANCELED",
    )
    await expect_error(
        pg.orders.ApproveOrder(pb.ApproveOrderRequest(id=order.id), metadata=admin),
        grpc.StatusCode.FAILED_PRECONDITION,
        "ORDER_CANCELED",
    )
    await expect_error(
        pg.orders.CancelOrder(
            pb.CancelOrderRequest(id=order.id, custom_message="x" * 1001), metadata=admin
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    other = await create(pg, site, new_order())
    await expect_error(
        pg.orders.CancelOrder(pb.CancelOrderRequest(id=other.id, revision=5), metadata=admin),
        grpc.StatusCode.ABORTED,
        "REVISION_MISMATCH",
    )


async def test_approve_once(pg: Served, site: str) -> None:
    admin = pg.admin(site)
    order = await create(pg, site, new_order())
    approved = (
        await pg.orders.ApproveOrder(pb.ApproveOrderRequest(id=order.id), metadata=admin)
    ).order
    assert approved.status == order_pb2.ORDER_STATUS_APPROVED
    assert activity_types(approved)[-1] == order_pb2.ACTIVITY_TYPE_ORDER_APPROVED
    again = (
        await pg.orders.ApproveOrder(pb.ApproveOrderRequest(id=order.id), metadata=admin)
    ).order
    assert again == approved
    events = await pg.events(site, order.id, 3)
    assert event_types(events) == ["order_created", "order_approved", "order_updated"]


async def test_update_order_line_item(pg: Served, site: str) -> None:
    admin = pg.admin(site)
    order = await create(pg, site, new_order(lines=[line(item_id="mug")], total="10.00"))
    line_id = order.line_items[0].id
    values = order_pb2.OrderLineItem(id=line_id, fulfiller_id="warehouse-2")
    values.product_name.original = "Big mug"
    values.physical_properties.sku = "MUG-1"
    values.quantity = 99  # not in the mask: ignored
    updated = (
        await pg.orders.UpdateOrderLineItem(
            pb.UpdateOrderLineItemRequest(
                id=order.id,
                line_item=values,
                update_mask=mask("product_name", "fulfiller_id", "physical_properties.sku"),
                revision=1,
            ),
            metadata=admin,
        )
    ).order
    changed = updated.line_items[0]
    assert (
        changed.product_name.original,
        changed.fulfiller_id,
        changed.physical_properties.sku,
    ) == (
        "Big mug",
        "warehouse-2",
        "MUG-1",
    )
    assert changed.quantity == 1 and changed.price.amount == "10.00"
    assert updated.revision == 2
    assert event_types(await pg.events(site, order.id, 2)) == ["order_created", "order_updated"]

    await expect_error(
        pg.orders.UpdateOrderLineItem(
            pb.UpdateOrderLineItemRequest(
                id=order.id,
                line_item=order_pb2.OrderLineItem(id="nope", fulfiller_id="x"),
                update_mask=mask("fulfiller_id"),
            ),
            metadata=admin,
        ),
        grpc.StatusCode.NOT_FOUND,
        "LINE_ITEM_NOT_FOUND",
    )
    for paths in (["quantity"], [], ["product_name"]):
        await expect_error(
            pg.orders.UpdateOrderLineItem(
                pb.UpdateOrderLineItemRequest(
                    id=order.id,
                    line_item=order_pb2.OrderLineItem(id=line_id),
                    update_mask=mask(*paths),
                ),
                metadata=admin,
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
        )


def comment(text: str, author: str = "") -> order_pb2.PublicActivity:
    return order_pb2.PublicActivity(
        author_email=author, merchant_comment=order_pb2.MerchantComment(message=text)
    )


def custom(kind: str) -> order_pb2.PublicActivity:
    return order_pb2.PublicActivity(
        custom_activity=order_pb2.CustomActivity(
            app_id="label-app", type=kind, additional_data={"carrier": "dhl"}
        )
    )


async def test_activities_add_edit_delete(pg: Served, site: str) -> None:
    admin = pg.admin(site)
    order = await create(pg, site, new_order())
    request_id = str(uuid.uuid4())
    added = await pg.orders.AddActivity(
        pb.AddActivityRequest(
            id=order.id, activity=comment("Call first", "ann@shop.com"), request_id=request_id
        ),
        metadata=admin,
    )
    retried = await pg.orders.AddActivity(
        pb.AddActivityRequest(
            id=order.id, activity=comment("Call first", "ann@shop.com"), request_id=request_id
        ),
        metadata=admin,
    )
    assert retried == added
    assert added.order.revision == 2
    assert activity_types(added.order) == [
        order_pb2.ACTIVITY_TYPE_ORDER_PLACED,
        order_pb2.ACTIVITY_TYPE_MERCHANT_COMMENT,
    ]
    assert added.order.activities[1].id == added.activity_id
    assert added.order.activities[1].author_email == "ann@shop.com"

    many = await pg.orders.AddActivities(
        pb.AddActivitiesRequest(
            order_id=order.id, order_activities=[custom("label_printed"), comment("Fragile")]
        ),
        metadata=admin,
    )
    assert len(many.activity_ids) == 2
    assert many.order.revision == 3
    assert [a.id for a in many.order.activities[2:]] == list(many.activity_ids)

    edited = (
        await pg.orders.UpdateActivity(
            pb.UpdateActivityRequest(
                id=order.id, activity_id=added.activity_id, activity=comment("Call twice")
            ),
            metadata=admin,
        )
    ).order
    edited_activity = edited.activities[1]
    assert edited_activity.merchant_comment.message == "Call twice"
    assert edited_activity.author_email == ""  # replaced entirely
    assert edited_activity.created_date == added.order.activities[1].created_date
    await expect_error(
        pg.orders.UpdateActivity(
            pb.UpdateActivityRequest(
                id=order.id, activity_id=added.activity_id, activity=custom("x")
            ),
            metadata=admin,
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    placed_id = edited.activities[0].id
    await expect_error(
        pg.orders.UpdateActivity(
            pb.UpdateActivityRequest(id=order.id, activity_id=placed_id, activity=comment("no")),
            metadata=admin,
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
        "ACTIVITY_NOT_EDITABLE",
    )
    await expect_error(
        pg.orders.DeleteActivity(
            pb.DeleteActivityRequest(id=order.id, activity_id=placed_id), metadata=admin
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
        "ACTIVITY_NOT_EDITABLE",
    )
    deleted = (
        await pg.orders.DeleteActivity(
            pb.DeleteActivityRequest(id=order.id, activity_id=added.activity_id), metadata=admin
        )
    ).order
    assert added.activity_id not in [a.id for a in deleted.activities]
    await expect_error(
        pg.orders.DeleteActivity(
            pb.DeleteActivityRequest(id=order.id, activity_id=added.activity_id), metadata=admin
        ),
        grpc.StatusCode.NOT_FOUND,
        "ACTIVITY_NOT_FOUND",
    )
    reread = (await pg.orders.GetOrder(pb.GetOrderRequest(id=order.id), metadata=admin)).order
    assert reread == deleted
    events = await pg.events(site, order.id, 5)
    assert event_types(events) == ["order_created"] + ["order_updated"] * 4

    fields = await expect_error(
        pg.orders.AddActivities(
            pb.AddActivitiesRequest(
                order_id=order.id,
                order_activities=[comment(""), order_pb2.PublicActivity(), custom("")],
            ),
            metadata=admin,
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert {
        "order_activities[0].merchant_comment.message",
        "order_activities[1].content",
        "order_activities[2].custom_activity.type",
    } <= fields


async def test_at_most_1000_comments_and_custom_activities(pg: Served, site: str) -> None:
    admin = pg.admin(site)
    order = await create(pg, site, new_order())
    for batch in range(3):
        await pg.orders.AddActivities(
            pb.AddActivitiesRequest(
                order_id=order.id,
                order_activities=[comment(f"{batch}-{i}") for i in range(300)],
            ),
            metadata=admin,
        )
    await expect_error(
        pg.orders.AddActivities(
            pb.AddActivitiesRequest(order_id=order.id, order_activities=[comment("x")] * 101),
            metadata=admin,
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
        "ACTIVITY_LIMIT_EXCEEDED",
    )
    done = await pg.orders.AddActivities(
        pb.AddActivitiesRequest(order_id=order.id, order_activities=[comment("x")] * 100),
        metadata=admin,
    )
    assert len(done.order.activities) == 1001  # ORDER_PLACED does not count


async def test_bulk_update_order_tags(pg: Served, site: str) -> None:
    admin = pg.admin(site)
    first = await create(pg, site, new_order())
    second = await create(pg, site, new_order())
    missing = str(uuid.uuid4())
    response = await pg.orders.BulkUpdateOrderTags(
        pb.BulkUpdateOrderTagsRequest(
            order_ids=[first.id, missing, second.id],
            assign_tags=order_pb2.TagList(tags=["gift", " rush "], private_tags=["vip"]),
        ),
        metadata=admin,
    )
    assert [r.item_metadata.success for r in response.results] == [True, False, True]
    assert response.results[1].item_metadata.error.code == 5
    reread = (await pg.orders.GetOrder(pb.GetOrderRequest(id=first.id), metadata=admin)).order
    assert list(reread.tags.tags) == ["gift", "rush"] and list(reread.tags.private_tags) == ["vip"]
    assert reread.revision == 2

    # Idempotent: assigning again changes nothing (same revision, no event).
    await pg.orders.BulkUpdateOrderTags(
        pb.BulkUpdateOrderTagsRequest(
            order_ids=[first.id], assign_tags=order_pb2.TagList(tags=["gift"])
        ),
        metadata=admin,
    )
    await pg.orders.BulkUpdateOrderTags(
        pb.BulkUpdateOrderTagsRequest(
            order_ids=[first.id],
            unassign_tags=order_pb2.TagList(tags=["rush"], private_tags=["vip"]),
        ),
        metadata=admin,
    )
    reread = (await pg.orders.GetOrder(pb.GetOrderRequest(id=first.id), metadata=admin)).order
    assert list(reread.tags.tags) == ["gift"] and not reread.tags.private_tags
    assert reread.revision == 3
    assert (
        event_types(await pg.events(site, first.id, 3)) == ["order_created"] + ["order_updated"] * 2
    )
    search = await pg.orders.SearchOrders(
        pb.SearchOrdersRequest(filter=pb.OrderFilter(tags=["rush"], include_initialized=True)),
        metadata=admin,
    )
    assert [o.id for o in search.orders] == [second.id]

    too_many = await pg.orders.BulkUpdateOrderTags(
        pb.BulkUpdateOrderTagsRequest(
            order_ids=[second.id], assign_tags=order_pb2.TagList(tags=[f"t{i}" for i in range(99)])
        ),
        metadata=admin,
    )
    assert too_many.results[0].item_metadata.error.code == 9  # FAILED_PRECONDITION
    for bad in (
        pb.BulkUpdateOrderTagsRequest(order_ids=[first.id]),
        pb.BulkUpdateOrderTagsRequest(
            order_ids=[first.id, first.id], assign_tags=order_pb2.TagList(tags=["a"])
        ),
        pb.BulkUpdateOrderTagsRequest(
            order_ids=[first.id],
            assign_tags=order_pb2.TagList(tags=["a"]),
            unassign_tags=order_pb2.TagList(tags=["a"]),
        ),
        pb.BulkUpdateOrderTagsRequest(
            order_ids=[first.id], assign_tags=order_pb2.TagList(tags=["x" * 101])
        ),
    ):
        await expect_error(
            pg.orders.BulkUpdateOrderTags(bad, metadata=admin), grpc.StatusCode.INVALID_ARGUMENT
        )


async def test_archive_and_unarchive(pg: Served, site: str) -> None:
    admin = pg.admin(site)
    order = await create(pg, site, new_order())
    archived = (
        await pg.orders.ArchiveOrder(pb.ArchiveOrderRequest(id=order.id), metadata=admin)
    ).order
    assert archived.archived and archived.revision == 2
    again = (
        await pg.orders.ArchiveOrder(pb.ArchiveOrderRequest(id=order.id), metadata=admin)
    ).order
    assert again == archived
    back = (
        await pg.orders.UnarchiveOrder(pb.UnarchiveOrderRequest(id=order.id), metadata=admin)
    ).order
    assert not back.archived and back.revision == 3
    assert (
        event_types(await pg.events(site, order.id, 3)) == ["order_created"] + ["order_updated"] * 2
    )
    await expect_error(
        pg.orders.ArchiveOrder(pb.ArchiveOrderRequest(id=str(uuid.uuid4())), metadata=admin),
        grpc.StatusCode.NOT_FOUND,
        "ORDER_NOT_FOUND",
    )
