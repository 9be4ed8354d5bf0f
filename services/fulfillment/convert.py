"""Protos <-> the fulfillment domain (messages of ecom.fulfillment.v1 and ecom.orders.v1).

Shared by the servicer (requests and responses) and the service layer (event payloads and the
responses stored for request ids).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from google.protobuf import timestamp_pb2
from google.rpc import status_pb2

from ecom.fulfillment.v1 import events_pb2, fulfillment_pb2
from ecom.fulfillment.v1 import order_fulfillments_service_pb2 as pb
from ecom.orders.v1 import bulk_pb2, order_pb2
from services.fulfillment.domain import (
    Action,
    Draft,
    Fulfillment,
    FulfillmentStatus,
    LineQuantity,
    OrderFacts,
    OrderStatus,
    Patch,
)
from services.fulfillment.tracking import Tracking
from services.platform.errors import DomainError
from services.platform.status import to_status_proto

#: ErrorInfo.domain of the service's errors (also inside bulk item errors).
ERROR_DOMAIN = "ecom.fulfillment.v1"


# --- requests -> domain ----------------------------------------------------------------------


def tracking_from_proto(info: fulfillment_pb2.TrackingInfo) -> Tracking:
    return Tracking(
        tracking_number=info.tracking_number,
        shipping_provider=info.shipping_provider,
        tracking_link=info.tracking_link,
    )


def draft_from_proto(fulfillment: fulfillment_pb2.Fulfillment) -> Draft:
    """The creatable fields; output-only ones (id, dates, revision) are ignored."""
    return Draft(
        line_items=tuple(LineQuantity(line.id, line.quantity) for line in fulfillment.line_items),
        tracking=tracking_from_proto(fulfillment.tracking_info),
        status=fulfillment.status,
        completed=fulfillment.completed,
    )


def patch_from_proto(fulfillment: fulfillment_pb2.Fulfillment, paths: Sequence[str]) -> Patch:
    return Patch(
        paths=frozenset(paths),
        tracking=tracking_from_proto(fulfillment.tracking_info),
        status=fulfillment.status,
        completed=fulfillment.completed,
        revision=fulfillment.revision,
    )


def order_facts(order: order_pb2.Order) -> OrderFacts:
    buyer = order.buyer_info
    try:
        status: OrderStatus = OrderStatus(order.status)
    except ValueError:  # a status added to the contract later: not fulfillable here
        status = OrderStatus.UNSPECIFIED
    return OrderFacts(
        id=order.id,
        lines=tuple(LineQuantity(line.id, line.quantity) for line in order.line_items),
        visitor_id=buyer.visitor_id,
        member_id=buyer.member_id,
        status=status,
    )


# --- domain -> protos ------------------------------------------------------------------------


def _timestamp(value: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value)
    return stamp


def fulfillment_to_proto(fulfillment: Fulfillment) -> fulfillment_pb2.Fulfillment:
    message = fulfillment_pb2.Fulfillment(
        id=fulfillment.id,
        created_date=_timestamp(fulfillment.created),
        updated_date=_timestamp(fulfillment.updated),
        line_items=[
            fulfillment_pb2.FulfillmentLineItem(id=line.id, quantity=line.quantity)
            for line in fulfillment.line_items
        ],
        status=fulfillment.status,
        completed=fulfillment.completed,
        revision=fulfillment.revision,
    )
    tracking = fulfillment.tracking
    if not tracking.is_empty:  # unset when the fulfillment is not tracked
        message.tracking_info.CopyFrom(
            fulfillment_pb2.TrackingInfo(
                tracking_number=tracking.tracking_number,
                shipping_provider=tracking.shipping_provider,
                tracking_link=tracking.tracking_link,
            )
        )
    return message


def order_with_fulfillments(
    order_id: str, fulfillments: Sequence[Fulfillment]
) -> fulfillment_pb2.OrderWithFulfillments:
    return fulfillment_pb2.OrderWithFulfillments(
        order_id=order_id, fulfillments=[fulfillment_to_proto(f) for f in fulfillments]
    )


def fulfillments_updated(
    order_id: str,
    fulfillments: Sequence[Fulfillment],
    action: Action,
    fulfillment: Fulfillment,
    status: FulfillmentStatus,
) -> events_pb2.FulfillmentsUpdated:
    return events_pb2.FulfillmentsUpdated(
        order_id=order_id,
        fulfillments=[fulfillment_to_proto(f) for f in fulfillments],
        action=events_pb2.FulfillmentAction.ValueType(int(action)),
        fulfillment_id=fulfillment.id,
        fulfillment=fulfillment_to_proto(fulfillment),
        order_fulfillment_status=order_pb2.FulfillmentStatus.ValueType(int(status)),
    )


def bulk_success(
    index: int, order_id: str, fulfillments: Sequence[Fulfillment], new_ids: Sequence[str]
) -> pb.BulkCreateFulfillmentsResult:
    return pb.BulkCreateFulfillmentsResult(
        item_metadata=bulk_pb2.ItemMetadata(id=order_id, original_index=index, success=True),
        item=order_with_fulfillments(order_id, fulfillments),
        fulfillment_ids=list(new_ids),
    )


def bulk_failure(index: int, order_id: str, error: DomainError) -> pb.BulkCreateFulfillmentsResult:
    return pb.BulkCreateFulfillmentsResult(
        item_metadata=bulk_pb2.ItemMetadata(
            id=order_id, original_index=index, success=False, error=error_status(error)
        )
    )


def error_status(error: DomainError) -> status_pb2.Status:
    """The google.rpc.Status the single-item RPC would answer with."""
    return to_status_proto(error, ERROR_DOMAIN)


def bulk_response(
    results: Sequence[pb.BulkCreateFulfillmentsResult],
) -> pb.BulkCreateFulfillmentsResponse:
    successes = sum(1 for result in results if result.item_metadata.success)
    return pb.BulkCreateFulfillmentsResponse(
        results=list(results),
        bulk_action_metadata=bulk_pb2.BulkActionMetadata(
            total_successes=successes, total_failures=len(results) - successes
        ),
    )
