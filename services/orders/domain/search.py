"""SearchOrders and AggregateOrders queries in plain Python: the filter, the sorts, and the keyset
page tokens.

A page token holds the sort values and id of the last order returned plus a fingerprint of the
filter, sorts and caller scope it was issued for, so it cannot be replayed against another query.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from services.orders.domain.enums import (
    FulfillmentStatus,
    OrderStatus,
    PaymentStatus,
    SortField,
)
from services.platform import errors

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100
MAX_FILTER_VALUES = 100
MAX_SORTS = 4
#: Amount keys: integer digits and fraction digits of the fixed-width sortable text.
_KEY_INTEGER_DIGITS = 18
_KEY_FRACTION_DIGITS = 28


@dataclass(frozen=True)
class TimeRange:
    start: datetime | None = None
    end: datetime | None = None


@dataclass(frozen=True)
class OrderFilter:
    ids: tuple[str, ...] = ()
    numbers: tuple[int, ...] = ()
    statuses: tuple[OrderStatus, ...] = ()
    archived: bool | None = None
    created: TimeRange = field(default_factory=TimeRange)
    updated: TimeRange = field(default_factory=TimeRange)
    buyer_emails: tuple[str, ...] = ()
    member_ids: tuple[str, ...] = ()
    visitor_ids: tuple[str, ...] = ()
    contact_ids: tuple[str, ...] = ()
    payment_statuses: tuple[PaymentStatus, ...] = ()
    fulfillment_statuses: tuple[FulfillmentStatus, ...] = ()
    catalog_item_ids: tuple[str, ...] = ()
    total_min: Decimal | None = None
    total_max: Decimal | None = None
    channel_types: tuple[int, ...] = ()
    checkout_ids: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    private_tags: tuple[str, ...] = ()
    include_initialized: bool = False
    #: Visitors and members: only orders whose visitor_id or member_id is this subject.
    owner: str | None = None

    @property
    def shows_initialized(self) -> bool:
        return self.include_initialized or OrderStatus.INITIALIZED in self.statuses


@dataclass(frozen=True)
class SortKey:
    field: SortField
    descending: bool = False


DEFAULT_SORT = (SortKey(SortField.CREATED_DATE, descending=True),)

#: One sort value as the store returns it: a datetime, an order number or an amount key.
SortValue = datetime | int | str


@dataclass(frozen=True)
class OrderQuery:
    filter: OrderFilter
    sort: tuple[SortKey, ...]
    page_size: int
    #: The sort values and id of the last order of the previous page; None on the first page.
    after: tuple[SortValue, ...] | None = None


def check_sorts(sorts: Sequence[SortKey]) -> tuple[SortKey, ...]:
    if len(sorts) > MAX_SORTS:
        raise errors.InvalidArgument.of("sort", f"at most {MAX_SORTS} sort keys")
    seen: set[SortField] = set()
    for index, key in enumerate(sorts):
        if key.field in seen:
            raise errors.InvalidArgument.of(f"sort[{index}].field", "sorts on a field given before")
        seen.add(key.field)
    return tuple(sorts) or DEFAULT_SORT


def page_size(requested: int) -> int:
    if requested < 0:
        raise errors.InvalidArgument.of("page_size", "must not be negative")
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def fingerprint(query_filter: OrderFilter, sort: Sequence[SortKey]) -> str:
    """What a page token is bound to: the filter (caller scope included) and the sorts. The repr
    of these frozen dataclasses of tuples, enums, datetimes and decimals is deterministic."""
    text = repr((query_filter, tuple(sort)))
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _encode_value(value: SortValue) -> Any:
    if isinstance(value, datetime):
        stamp = value.astimezone(UTC)
        return {"t": stamp.strftime("%Y-%m-%dT%H:%M:%S.%f")}
    return value


def _decode_value(raw: Any, sort_field: SortField | None) -> SortValue:
    if sort_field in (SortField.CREATED_DATE, SortField.UPDATED_DATE):
        if not isinstance(raw, dict) or not isinstance(raw.get("t"), str):
            raise ValueError("not a time")
        return datetime.strptime(raw["t"], "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=UTC)
    if sort_field is SortField.NUMBER:
        if type(raw) is not int:
            raise ValueError("not a number")
        return raw
    if not isinstance(raw, str):  # amount key, or the id (sort_field None)
        raise ValueError("not a string")
    return raw


def encode_token(values: Sequence[SortValue], query_fingerprint: str) -> str:
    payload = {"a": [_encode_value(v) for v in values], "q": query_fingerprint}
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(
    token: str, query_fingerprint: str, sort: Sequence[SortKey]
) -> tuple[SortValue, ...]:
    bad = errors.InvalidArgument.of("page_token", "malformed, or issued for another filter or sort")
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error):
        raise bad from None
    if not isinstance(data, dict) or data.get("q") != query_fingerprint:
        raise bad
    after = data.get("a")
    if not isinstance(after, list) or len(after) != len(sort) + 1:
        raise bad
    fields: list[SortField | None] = [key.field for key in sort] + [None]
    try:
        return tuple(_decode_value(raw, f) for raw, f in zip(after, fields, strict=True))
    except ValueError:
        raise bad from None


def amount_key(amount: Decimal) -> str:
    """A fixed-width text whose byte order is the numeric order of non-negative amounts, so that
    totals sort and range-filter exactly, and use an index, on every backend."""
    if amount < 0:
        raise ValueError("amount keys are for non-negative amounts")
    integer, _, fraction = f"{amount:f}".partition(".")
    return integer.zfill(_KEY_INTEGER_DIGITS) + "." + fraction.ljust(_KEY_FRACTION_DIGITS, "0")
