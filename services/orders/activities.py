"""Activities as messages: the ones the suite records, and the comments and custom activities
callers add (checked against the limits of MerchantComment and CustomActivity)."""

from __future__ import annotations

import uuid
from datetime import datetime

from ecom.orders.v1 import order_pb2
from services.orders.domain.enums import ActivityType
from services.orders.record import set_timestamp
from services.platform import errors

MAX_COMMENT = 5000
MAX_NAME = 100
MAX_ADDITIONAL_DATA = 50
MAX_DATA_VALUE = 1000
MAX_AUTHOR_EMAIL = 320


def system(
    kind: ActivityType, now: datetime, *, refunded: order_pb2.OrderRefunded | None = None
) -> order_pb2.Activity:
    """An activity the suite records (no author)."""
    activity = order_pb2.Activity(
        id=str(uuid.uuid4()), type=order_pb2.ActivityType.ValueType(int(kind))
    )
    set_timestamp(activity.created_date, now)
    if refunded is not None:
        activity.order_refunded.CopyFrom(refunded)
    return activity


def kind_of(public: order_pb2.PublicActivity) -> ActivityType | None:
    content = public.WhichOneof("content")
    if content == "merchant_comment":
        return ActivityType.MERCHANT_COMMENT
    if content == "custom_activity":
        return ActivityType.CUSTOM_ACTIVITY
    return None


def check_public(
    public: order_pb2.PublicActivity, path: str, problems: errors.Violations
) -> ActivityType | None:
    """The kind of a caller's activity, with a violation for each broken limit."""
    if len(public.author_email) > MAX_AUTHOR_EMAIL:
        problems.add(f"{path}.author_email", f"at most {MAX_AUTHOR_EMAIL} characters")
    kind = kind_of(public)
    if kind is None:
        problems.add(f"{path}.content", "required: a merchant_comment or a custom_activity")
    elif kind is ActivityType.MERCHANT_COMMENT:
        if not 1 <= len(public.merchant_comment.message) <= MAX_COMMENT:
            problems.add(f"{path}.merchant_comment.message", f"must be 1..{MAX_COMMENT} characters")
    else:
        custom = public.custom_activity
        for name in ("app_id", "type"):
            if not 1 <= len(getattr(custom, name)) <= MAX_NAME:
                problems.add(f"{path}.custom_activity.{name}", f"must be 1..{MAX_NAME} characters")
        data_path = f"{path}.custom_activity.additional_data"
        if len(custom.additional_data) > MAX_ADDITIONAL_DATA:
            problems.add(data_path, f"at most {MAX_ADDITIONAL_DATA} entries")
        for key, value in custom.additional_data.items():
            if len(key) > MAX_NAME:
                problems.add(data_path, f"key {key[:20]!r}... is over {MAX_NAME} characters")
            if len(value) > MAX_DATA_VALUE:
                problems.add(f"{data_path}[{key!r}]", f"at most {MAX_DATA_VALUE} characters")
    return kind


def fill(activity: order_pb2.Activity, public: order_pb2.PublicActivity) -> None:
    """Set an activity's caller-given content (author and comment or custom activity)."""
    activity.author_email = public.author_email
    activity.ClearField("content")
    if public.HasField("merchant_comment"):
        activity.merchant_comment.CopyFrom(public.merchant_comment)
    else:
        activity.custom_activity.CopyFrom(public.custom_activity)


def from_public(public: order_pb2.PublicActivity, now: datetime) -> order_pb2.Activity:
    kind = kind_of(public)
    assert kind is not None  # checked by check_public
    activity = order_pb2.Activity(
        id=str(uuid.uuid4()), type=order_pb2.ActivityType.ValueType(int(kind))
    )
    set_timestamp(activity.created_date, now)
    fill(activity, public)
    return activity
