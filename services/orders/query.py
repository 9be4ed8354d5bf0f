"""SearchOrders' and AggregateOrders' filter and sorts: from their messages to the domain's
query, with every malformed part reported as a field violation."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from enum import IntEnum
from typing import TypeVar

from ecom.common.v1 import query_pb2
from ecom.orders.v1 import orders_service_pb2
from services.orders.domain.enums import FulfillmentStatus, OrderStatus, PaymentStatus, SortField
from services.orders.domain.search import (
    MAX_FILTER_VALUES,
    OrderFilter,
    SortKey,
    TimeRange,
    check_sorts,
)
from services.orders.record import to_datetime
from services.platform import errors
from services.pricing.errors import InvalidAmountError
from services.pricing.money import parse_amount

E = TypeVar("E", bound=IntEnum)
_DESC = query_pb2.SORT_ORDER_DESC


def _count(values: Sequence[object], path: str, problems: errors.Violations) -> None:
    if len(values) > MAX_FILTER_VALUES:
        problems.add(path, f"at most {MAX_FILTER_VALUES} values")


def _enums(
    values: Sequence[int], kind: type[E], path: str, problems: errors.Violations
) -> tuple[E, ...]:
    _count(values, path, problems)
    found = []
    for index, value in enumerate(values):
        try:
            found.append(kind(value))
        except ValueError:
            problems.add(f"{path}[{index}]", "not a known value (UNSPECIFIED included)")
    return tuple(found)


def _range(stamps: query_pb2.TimestampRange) -> TimeRange:
    start: datetime | None = to_datetime(stamps.start) if stamps.HasField("start") else None
    end: datetime | None = to_datetime(stamps.end) if stamps.HasField("end") else None
    return TimeRange(start, end)


def _bound(text: str, path: str, problems: errors.Violations) -> Decimal | None:
    if not text:
        return None
    try:
        return parse_amount(text)
    except InvalidAmountError as exc:
        problems.add(path, str(exc))
        return None


def order_filter(wanted: orders_service_pb2.OrderFilter, path: str = "filter") -> OrderFilter:
    problems = errors.Violations()

    def strings(name: str) -> tuple[str, ...]:
        values: Sequence[str] = getattr(wanted, name)
        _count(values, f"{path}.{name}", problems)
        return tuple(values)

    _count(wanted.numbers, f"{path}.numbers", problems)
    _count(wanted.channel_types, f"{path}.channel_types", problems)
    result = OrderFilter(
        ids=strings("ids"),
        numbers=tuple(wanted.numbers),
        statuses=_enums(wanted.statuses, OrderStatus, f"{path}.statuses", problems),
        archived=wanted.archived if wanted.HasField("archived") else None,
        created=_range(wanted.created_date),
        updated=_range(wanted.updated_date),
        buyer_emails=strings("buyer_emails"),
        member_ids=strings("member_ids"),
        visitor_ids=strings("visitor_ids"),
        contact_ids=strings("contact_ids"),
        payment_statuses=_enums(
            wanted.payment_statuses, PaymentStatus, f"{path}.payment_statuses", problems
        ),
        fulfillment_statuses=_enums(
            wanted.fulfillment_statuses,
            FulfillmentStatus,
            f"{path}.fulfillment_statuses",
            problems,
        ),
        catalog_item_ids=strings("catalog_item_ids"),
        total_min=_bound(wanted.total.min, f"{path}.total.min", problems),
        total_max=_bound(wanted.total.max, f"{path}.total.max", problems),
        channel_types=tuple(int(value) for value in wanted.channel_types),
        checkout_ids=strings("checkout_ids"),
        tags=strings("tags"),
        private_tags=strings("private_tags"),
        include_initialized=wanted.include_initialized,
    )
    problems.raise_if_any()
    return result


def sorts(given: Sequence[orders_service_pb2.OrderSort]) -> tuple[SortKey, ...]:
    keys = []
    for index, key in enumerate(given):
        try:
            field = SortField(key.field)
        except ValueError:
            raise errors.InvalidArgument.of(
                f"sort[{index}].field", "required: an ORDER_SORT_FIELD_* other than UNSPECIFIED"
            ) from None
        keys.append(SortKey(field, descending=key.order == _DESC))
    return check_sorts(keys)
