"""AggregateOrders: counts and exact sums per group key and currency."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from decimal import Decimal, localcontext
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services.orders.domain.enums import GroupBy
from services.platform import errors
from services.pricing.money import PRICING_CONTEXT

MAX_BUCKETS = 1000
AMOUNT_NAMES = (
    "subtotal",
    "shipping",
    "tax",
    "discount",
    "additional_fees",
    "total",
    "paid",
    "refunded",
)
_ZERO = Decimal(0)


class TooManyBuckets(errors.InvalidArgument):
    """INVALID_ARGUMENT with the reason TOO_MANY_BUCKETS: the filter spans too many groups."""

    def __init__(self) -> None:
        message = f"the result would exceed {MAX_BUCKETS} buckets; narrow filter.created_date"
        super().__init__(
            errors.FieldViolation("filter.created_date", message),
            reason="TOO_MANY_BUCKETS",
            message=message,
            metadata={"limit": str(MAX_BUCKETS)},
        )


def time_zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise errors.InvalidArgument.of("time_zone", "not an IANA time zone name") from None


@dataclass(frozen=True)
class AggregationRow:
    """One order as the aggregation sees it."""

    status: int
    payment_status: int
    fulfillment_status: int
    created: datetime
    currency: str
    amounts: tuple[str, ...]  # in AMOUNT_NAMES order; "" counts as 0


BucketKey = int | date | None


@dataclass
class Bucket:
    key: BucketKey
    currency: str
    order_count: int = 0
    sums: list[Decimal] = field(default_factory=lambda: [_ZERO] * len(AMOUNT_NAMES))


def _key(row: AggregationRow, group_by: GroupBy, zone: tzinfo) -> BucketKey:
    if group_by is GroupBy.STATUS:
        return row.status
    if group_by is GroupBy.PAYMENT_STATUS:
        return row.payment_status
    if group_by is GroupBy.FULFILLMENT_STATUS:
        return row.fulfillment_status
    if group_by is GroupBy.DAY:
        return row.created.astimezone(zone).date()
    return None


class Aggregator:
    """Adds orders into buckets one by one (the store streams them), exactly."""

    def __init__(self, group_by: GroupBy, zone: tzinfo) -> None:
        self._group_by = group_by
        self._zone = zone
        self._buckets: dict[tuple[BucketKey, str], Bucket] = {}

    def add(self, row: AggregationRow) -> None:
        key = (_key(row, self._group_by, self._zone), row.currency)
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= MAX_BUCKETS:
                raise TooManyBuckets()
            bucket = self._buckets[key] = Bucket(key[0], row.currency)
        bucket.order_count += 1
        with localcontext(PRICING_CONTEXT):  # exact sums of amounts up to 46 digits long
            for index, text in enumerate(row.amounts):
                if text:
                    bucket.sums[index] += Decimal(text)

    def buckets(self) -> list[Bucket]:
        """Sorted by key (enum number or day), then currency."""
        return sorted(self._buckets.values(), key=lambda b: (_sortable(b.key), b.currency))


def _sortable(key: BucketKey) -> tuple[int, int]:
    if isinstance(key, date):
        return (0, key.toordinal())
    return (0, key or 0)


def show_sum(value: Decimal) -> str:
    """Exact decimal text; "0" when nothing adds up."""
    return "0" if value.is_zero() else f"{value:f}"
