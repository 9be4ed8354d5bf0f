"""`ecom.orders.v1.OrdersService`: proto <-> service translation only.

The site is always the caller's (from the verified token); errors are domain exceptions that the
platform interceptor maps to statuses.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import grpc
from google.type import date_pb2

from ecom.orders.v1 import bulk_pb2, order_pb2, orders_service_pb2, orders_service_pb2_grpc
from services.orders import query
from services.orders.domain import aggregation, tags
from services.orders.domain.enums import GroupBy
from services.orders.service import ItemResult, OrdersService
from services.platform import errors, status
from services.platform.identity import Caller, current_caller

pb = orders_service_pb2
DOMAIN = "ecom.orders.v1"


def visible(order: order_pb2.Order, caller: Caller) -> order_pb2.Order:
    """Visitors and members get their orders without activities and private tags."""
    if caller.is_staff:
        return order
    order.ClearField("activities")
    order.tags.ClearField("private_tags")
    return order


def item_metadata(
    item_id: str, index: int, error: errors.DomainError | None
) -> bulk_pb2.ItemMetadata:
    metadata = bulk_pb2.ItemMetadata(id=item_id, original_index=index, success=error is None)
    if error is not None:
        metadata.error.CopyFrom(status.to_status_proto(error, DOMAIN))
    return metadata


def bulk_counts(successes: int, total: int) -> bulk_pb2.BulkActionMetadata:
    return bulk_pb2.BulkActionMetadata(total_successes=successes, total_failures=total - successes)


def _tag_changes(
    assign: order_pb2.TagList, unassign: order_pb2.TagList
) -> tuple[tags.TagChange, tags.TagChange]:
    problems = errors.Violations()
    changes = []
    for name in ("tags", "private_tags"):
        added = tags.clean(getattr(assign, name), f"assign_tags.{name}", problems)
        removed = tags.clean(getattr(unassign, name), f"unassign_tags.{name}", problems)
        for tag in sorted(set(added) & set(removed)):
            problems.add(f"unassign_tags.{name}", f"tag {tag!r} is also assigned")
        changes.append(tags.TagChange(added, removed))
    if not any(change.assign or change.unassign for change in changes):
        problems.add("assign_tags", "both tag lists are empty")
    problems.raise_if_any()
    return changes[0], changes[1]


def _set_key(out: pb.OrderAggregationBucket, group_by: GroupBy, key: aggregation.BucketKey) -> None:
    if isinstance(key, date):
        out.day.CopyFrom(date_pb2.Date(year=key.year, month=key.month, day=key.day))
    elif key is None:
        return
    elif group_by is GroupBy.STATUS:
        out.status = order_pb2.OrderStatus.ValueType(key)
    elif group_by is GroupBy.PAYMENT_STATUS:
        out.payment_status = order_pb2.PaymentStatus.ValueType(key)
    elif group_by is GroupBy.FULFILLMENT_STATUS:
        out.fulfillment_status = order_pb2.FulfillmentStatus.ValueType(key)


class OrdersServicer(orders_service_pb2_grpc.OrdersServiceServicer):
    def __init__(self, orders: OrdersService) -> None:
        self._orders = orders

    async def CreateOrder(
        self, request: pb.CreateOrderRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateOrderResponse:
        order = await self._orders.create(request, current_caller())
        return pb.CreateOrderResponse(order=order)

    async def GetOrder(
        self, request: pb.GetOrderRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetOrderResponse:
        caller = current_caller()
        order = await self._orders.get(caller, request.id)
        return pb.GetOrderResponse(order=visible(order, caller))

    async def SearchOrders(
        self, request: pb.SearchOrdersRequest, context: grpc.aio.ServicerContext
    ) -> pb.SearchOrdersResponse:
        caller = current_caller()
        page = await self._orders.search(
            caller,
            query.order_filter(request.filter),
            query.sorts(request.sort),
            request.page_size,
            request.page_token,
        )
        response = pb.SearchOrdersResponse(next_page_token=page.next_page_token)
        for document in page.documents:
            order = response.orders.add()
            order.MergeFromString(document)
            visible(order, caller)
        return response

    async def UpdateOrder(
        self, request: pb.UpdateOrderRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpdateOrderResponse:
        order = await self._orders.update(
            current_caller().site, request.order, list(request.update_mask.paths)
        )
        return pb.UpdateOrderResponse(order=order)

    async def BulkUpdateOrders(
        self, request: pb.BulkUpdateOrdersRequest, context: grpc.aio.ServicerContext
    ) -> pb.BulkUpdateOrdersResponse:
        results = await self._orders.bulk_update(
            current_caller().site,
            [(item.order, list(item.update_mask.paths)) for item in request.orders],
        )
        return pb.BulkUpdateOrdersResponse(
            results=[
                pb.BulkOrderResult(
                    item_metadata=item_metadata(r.id, r.index, r.error),
                    item=r.order if request.return_entity and r.order is not None else None,
                )
                for r in results
            ],
            bulk_action_metadata=_counts(results),
        )

    async def CancelOrder(
        self, request: pb.CancelOrderRequest, context: grpc.aio.ServicerContext
    ) -> pb.CancelOrderResponse:
        order = await self._orders.cancel(
            current_caller().site,
            request.id,
            send_email=request.send_order_canceled_email,
            custom_message=request.custom_message,
            restock_items=request.restock_all_items,
            revision=request.revision,
        )
        return pb.CancelOrderResponse(order=order)

    async def ApproveOrder(
        self, request: pb.ApproveOrderRequest, context: grpc.aio.ServicerContext
    ) -> pb.ApproveOrderResponse:
        order = await self._orders.approve(current_caller().site, request.id, request.revision)
        return pb.ApproveOrderResponse(order=order)

    async def UpdateOrderLineItem(
        self, request: pb.UpdateOrderLineItemRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpdateOrderLineItemResponse:
        order = await self._orders.update_line_item(
            current_caller().site,
            request.id,
            request.line_item,
            list(request.update_mask.paths),
            request.revision,
        )
        return pb.UpdateOrderLineItemResponse(order=order)

    async def AddActivity(
        self, request: pb.AddActivityRequest, context: grpc.aio.ServicerContext
    ) -> pb.AddActivityResponse:
        return await self._orders.add_activities(
            current_caller().site,
            request.id,
            [request.activity],
            id_field="id",
            list_field=None,
            request=request,
            request_id=request.request_id,
            respond=lambda order, ids: pb.AddActivityResponse(order=order, activity_id=ids[0]),
            response_type=pb.AddActivityResponse,
        )

    async def AddActivities(
        self, request: pb.AddActivitiesRequest, context: grpc.aio.ServicerContext
    ) -> pb.AddActivitiesResponse:
        return await self._orders.add_activities(
            current_caller().site,
            request.order_id,
            list(request.order_activities),
            id_field="order_id",
            list_field="order_activities",
            request=request,
            request_id=request.request_id,
            respond=lambda order, ids: pb.AddActivitiesResponse(order=order, activity_ids=ids),
            response_type=pb.AddActivitiesResponse,
        )

    async def UpdateActivity(
        self, request: pb.UpdateActivityRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpdateActivityResponse:
        order = await self._orders.update_activity(
            current_caller().site,
            request.id,
            request.activity_id,
            request.activity,
            request.revision,
        )
        return pb.UpdateActivityResponse(order=order)

    async def DeleteActivity(
        self, request: pb.DeleteActivityRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeleteActivityResponse:
        order = await self._orders.delete_activity(
            current_caller().site, request.id, request.activity_id, request.revision
        )
        return pb.DeleteActivityResponse(order=order)

    async def AggregateOrders(
        self, request: pb.AggregateOrdersRequest, context: grpc.aio.ServicerContext
    ) -> pb.AggregateOrdersResponse:
        try:
            group_by = GroupBy(request.group_by)
        except ValueError:
            raise errors.InvalidArgument.of("group_by", "not a known grouping") from None
        buckets = await self._orders.aggregate(
            current_caller().site,
            query.order_filter(request.filter),
            group_by,
            aggregation.time_zone(request.time_zone),
        )
        response = pb.AggregateOrdersResponse()
        for bucket in buckets:
            out = response.buckets.add(currency=bucket.currency, order_count=bucket.order_count)
            _set_key(out, group_by, bucket.key)
            for name, value in zip(aggregation.AMOUNT_NAMES, bucket.sums, strict=True):
                setattr(out.totals, name, aggregation.show_sum(value))
        return response

    async def BulkUpdateOrderTags(
        self, request: pb.BulkUpdateOrderTagsRequest, context: grpc.aio.ServicerContext
    ) -> pb.BulkUpdateOrderTagsResponse:
        public, private = _tag_changes(request.assign_tags, request.unassign_tags)
        results = await self._orders.bulk_update_tags(
            current_caller().site, list(request.order_ids), public, private
        )
        return pb.BulkUpdateOrderTagsResponse(
            results=[
                pb.BulkUpdateOrderTagsResult(item_metadata=item_metadata(r.id, r.index, r.error))
                for r in results
            ],
            bulk_action_metadata=_counts(results),
        )

    async def ArchiveOrder(
        self, request: pb.ArchiveOrderRequest, context: grpc.aio.ServicerContext
    ) -> pb.ArchiveOrderResponse:
        order = await self._orders.set_archived(current_caller().site, request.id, True)
        return pb.ArchiveOrderResponse(order=order)

    async def UnarchiveOrder(
        self, request: pb.UnarchiveOrderRequest, context: grpc.aio.ServicerContext
    ) -> pb.UnarchiveOrderResponse:
        order = await self._orders.set_archived(current_caller().site, request.id, False)
        return pb.UnarchiveOrderResponse(order=order)


def _counts(results: Sequence[ItemResult]) -> bulk_pb2.BulkActionMetadata:
    return bulk_counts(sum(1 for r in results if r.error is None), len(results))
