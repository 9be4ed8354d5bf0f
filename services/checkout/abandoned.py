"""Abandoned checkouts: the record made from an idle checkout, and the query rules of
QueryAbandonedCheckouts (filters, sorts, cursor tokens). Pure: protos in, protos out."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, localcontext
from typing import Any

from ecom.checkout.v1 import (
    abandoned_checkout_pb2,
    abandoned_checkout_service_pb2,
    checkout_pb2,
)
from ecom.common.v1 import address_pb2, query_pb2
from services.platform.errors import InvalidArgument, Violations
from services.pricing import PRICING_CONTEXT, InvalidAmountError, parse_amount

ABANDONED = abandoned_checkout_pb2.ABANDONED_CHECKOUT_STATUS_ABANDONED
RECOVERED = abandoned_checkout_pb2.ABANDONED_CHECKOUT_STATUS_RECOVERED

MAX_SORTS = 3
MAX_FILTER_VALUES = 100
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100

_FRACTION_DIGITS = 20
_INTEGER_DIGITS = 19


def total_key(amount: Decimal, *, rounding: str = ROUND_FLOOR) -> str:
    """A fixed-width string that sorts like the (non-negative) decimal."""
    amount = max(amount, Decimal(0))
    with localcontext(PRICING_CONTEXT):  # 19 + 20 digits: beyond the default precision
        scaled = amount.quantize(Decimal(1).scaleb(-_FRACTION_DIGITS), rounding=rounding)
    integer, _, fraction = f"{scaled:f}".partition(".")
    return f"{int(integer):0{_INTEGER_DIGITS}d}.{fraction.ljust(_FRACTION_DIGITS, '0')}"


def contact_details(checkout: checkout_pb2.Checkout) -> address_pb2.ContactDetails | None:
    """The billing contact, else the shipping destination's contact; None when neither."""
    for candidate in (
        checkout.billing_info.contact_details,
        checkout.shipping_info.shipping_destination.contact_details,
    ):
        if candidate.ListFields():
            return candidate
    return None


def from_checkout(
    record: abandoned_checkout_pb2.AbandonedCheckout,
    checkout: checkout_pb2.Checkout,
    *,
    checkout_url: str,
) -> abandoned_checkout_pb2.AbandonedCheckout:
    """`record` with the checkout's current buyer, contact and totals copied in."""
    updated = abandoned_checkout_pb2.AbandonedCheckout()
    updated.CopyFrom(record)
    updated.checkout_id = checkout.id
    updated.cart_id = checkout.cart_id
    updated.buyer_info.CopyFrom(checkout.buyer_info)
    updated.ClearField("contact_details")
    contact = contact_details(checkout)
    if contact is not None:
        updated.contact_details.CopyFrom(contact)
    updated.currency = checkout.currency
    updated.total_price.CopyFrom(checkout.price_summary.total)
    updated.subtotal_price.CopyFrom(checkout.price_summary.subtotal)
    updated.checkout_url = checkout_url
    updated.conversion_currency = checkout.conversion_currency
    updated.buyer_language = checkout.buyer_language
    updated.checkout_updated_date.CopyFrom(checkout.updated_date)
    return updated


def total_of(record: abandoned_checkout_pb2.AbandonedCheckout) -> Decimal:
    try:
        return parse_amount(record.total_price.amount or "0")
    except InvalidAmountError:
        return Decimal(0)


# --------------------------------------------------------------------------- queries

SORT_FIELDS = {
    abandoned_checkout_service_pb2.ABANDONED_CHECKOUT_SORT_FIELD_CREATED_DATE: "created",
    abandoned_checkout_service_pb2.ABANDONED_CHECKOUT_SORT_FIELD_UPDATED_DATE: "updated",
    abandoned_checkout_service_pb2.ABANDONED_CHECKOUT_SORT_FIELD_TOTAL_PRICE: "total_key",
}


@dataclass(frozen=True)
class TimeRange:
    start: datetime | None
    end: datetime | None


@dataclass(frozen=True)
class Query:
    ids: tuple[str, ...]
    checkout_ids: tuple[str, ...]
    cart_ids: tuple[str, ...]
    statuses: tuple[int, ...]
    buyer_emails: tuple[str, ...]
    created: TimeRange | None
    updated: TimeRange | None
    recovered: TimeRange | None
    total_min: str | None
    total_max: str | None
    #: (column, descending) most significant first; the id is appended as tie-breaker.
    sort: tuple[tuple[str, bool], ...]
    page_size: int
    #: Values of the sort columns (and id) of the last row of the previous page.
    after: tuple[Any, ...] | None
    fingerprint: str


def _range(value: query_pb2.TimestampRange) -> TimeRange:
    return TimeRange(
        value.start.ToDatetime(tzinfo=UTC) if value.HasField("start") else None,
        value.end.ToDatetime(tzinfo=UTC) if value.HasField("end") else None,
    )


def parse_query(request: abandoned_checkout_service_pb2.QueryAbandonedCheckoutsRequest) -> Query:
    violations = Violations()
    f = request.filter
    for name in ("ids", "checkout_ids", "statuses", "buyer_emails", "cart_ids"):
        if len(getattr(f, name)) > MAX_FILTER_VALUES:
            violations.add(f"filter.{name}", f"at most {MAX_FILTER_VALUES} values")
    for index, status in enumerate(f.statuses):
        if status not in (ABANDONED, RECOVERED):
            violations.add(f"filter.statuses[{index}]", "must be ABANDONED or RECOVERED")
    total_min = total_max = None
    if f.HasField("total_price"):
        for bound in ("min", "max"):
            text = getattr(f.total_price, bound)
            if not text:
                continue
            try:
                value = parse_amount(text)
            except InvalidAmountError as exc:
                violations.add(f"filter.total_price.{bound}", str(exc))
                continue
            if bound == "min":
                total_min = total_key(value, rounding=ROUND_CEILING)
            else:
                # A negative maximum matches nothing: totals are never negative.
                total_max = total_key(value) if value >= 0 else ""
    if request.page_size < 0:
        violations.add("page_size", "must not be negative")
    if len(request.sort) > MAX_SORTS:
        violations.add("sort", f"at most {MAX_SORTS} sort keys")
    sort: list[tuple[str, bool]] = []
    seen: set[str] = set()
    for index, key in enumerate(request.sort):
        column = SORT_FIELDS.get(key.field)
        if column is None:
            violations.add(f"sort[{index}].field", "required")
            continue
        if column in seen:
            violations.add(f"sort[{index}].field", "a field may be sorted by only once")
        seen.add(column)
        sort.append((column, key.order == query_pb2.SORT_ORDER_DESC))
    violations.raise_if_any()
    if not sort:
        sort = [("created", True)]
    # The page token is bound to the filter and sort it came from.
    shape = request.__class__()
    shape.CopyFrom(request)
    shape.ClearField("page_token")
    shape.ClearField("page_size")
    fingerprint = hashlib.sha256(shape.SerializeToString(deterministic=True)).hexdigest()[:16]
    after = _decode_token(request.page_token, fingerprint, len(sort) + 1)
    return Query(
        ids=tuple(f.ids),
        checkout_ids=tuple(f.checkout_ids),
        cart_ids=tuple(f.cart_ids),
        statuses=tuple(int(s) for s in f.statuses),
        buyer_emails=tuple(email.lower() for email in f.buyer_emails),
        created=_range(f.created_date) if f.HasField("created_date") else None,
        updated=_range(f.updated_date) if f.HasField("updated_date") else None,
        recovered=_range(f.checkout_recovered_date)
        if f.HasField("checkout_recovered_date")
        else None,
        total_min=total_min,
        total_max=total_max,
        sort=tuple(sort),
        page_size=min(request.page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE),
        after=after,
        fingerprint=fingerprint,
    )


def encode_token(fingerprint: str, values: tuple[Any, ...]) -> str:
    encoded = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    raw = json.dumps({"f": fingerprint, "v": encoded}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii")


def _decode_token(token: str, fingerprint: str, width: int) -> tuple[Any, ...] | None:
    if not token:
        return None
    try:
        raw = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
        values = raw["v"]
        if raw["f"] != fingerprint:
            raise InvalidArgument.of(
                "page_token", "the token belongs to a query with another filter or sort"
            )
        if not isinstance(values, list) or len(values) != width:
            raise ValueError("wrong width")
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeError):
        raise InvalidArgument.of("page_token", "malformed page token") from None
    return tuple(values)
