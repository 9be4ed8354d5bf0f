"""QueryDiscountRules and QueryCoupons: typed filters, sorts and opaque keyset page tokens.

A page token holds the sort values of the last item returned (plus its id, the final
tie-breaker) and a fingerprint of the filter and sort it was issued for; reusing it with another
filter or sort is INVALID_ARGUMENT (docs/contracts.md). Keyset paging stays stable while items
are added or removed between pages.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.discounts.domain.model import CouponKind, RuleStatus
from services.platform.errors import InvalidArgument

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100
MAX_FILTER_IDS = 100


class RuleSortField(enum.IntEnum):
    """Numbers as in `DiscountRuleSortField`."""

    NAME = 1
    CREATED_DATE = 2
    UPDATED_DATE = 3


class CouponSortField(enum.IntEnum):
    """Numbers as in `CouponSortField`."""

    NAME = 1
    CODE = 2
    CREATED_DATE = 3
    UPDATED_DATE = 4
    EXPIRATION_TIME = 5
    NUMBER_OF_USAGES = 6


@dataclass(frozen=True)
class TimeRange:
    """`start` inclusive, `end` exclusive; None: open."""

    start: datetime | None = None
    end: datetime | None = None

    @property
    def bounded(self) -> bool:
        return self.start is not None or self.end is not None

    def shape(self) -> list[str | None]:
        return [_iso(self.start), _iso(self.end)]


@dataclass(frozen=True)
class SortKey:
    field: int
    descending: bool = False


@dataclass(frozen=True)
class RuleFilter:
    ids: frozenset[str] = frozenset()
    active: bool | None = None
    statuses: frozenset[RuleStatus] = frozenset()
    name_prefix: str = ""
    created: TimeRange = field(default_factory=TimeRange)
    updated: TimeRange = field(default_factory=TimeRange)
    app_ids: frozenset[str] = frozenset()

    def shape(self) -> dict[str, Any]:
        return {
            "ids": sorted(self.ids),
            "active": self.active,
            "statuses": sorted(int(s) for s in self.statuses),
            "name_prefix": self.name_prefix,
            "created": self.created.shape(),
            "updated": self.updated.shape(),
            "app_ids": sorted(self.app_ids),
        }


@dataclass(frozen=True)
class CouponFilter:
    ids: frozenset[str] = frozenset()
    code: str = ""
    name_prefix: str = ""
    active: bool | None = None
    expired: bool | None = None
    usage_limit_reached: bool | None = None
    kinds: frozenset[CouponKind] = frozenset()
    start: TimeRange = field(default_factory=TimeRange)
    expiration: TimeRange = field(default_factory=TimeRange)
    created: TimeRange = field(default_factory=TimeRange)
    updated: TimeRange = field(default_factory=TimeRange)

    def shape(self) -> dict[str, Any]:
        return {
            "ids": sorted(self.ids),
            "code": self.code,
            "name_prefix": self.name_prefix,
            "active": self.active,
            "expired": self.expired,
            "usage_limit_reached": self.usage_limit_reached,
            "kinds": sorted(int(k) for k in self.kinds),
            "start": self.start.shape(),
            "expiration": self.expiration.shape(),
            "created": self.created.shape(),
            "updated": self.updated.shape(),
        }


@dataclass(frozen=True)
class Query:
    """A filter (RuleFilter or CouponFilter), the sort (default applied) and the page asked."""

    filter: RuleFilter | CouponFilter
    sort: tuple[SortKey, ...]
    page_size: int
    #: The decoded token: sort values then id of the last item of the previous page.
    after: tuple[Any, ...] | None = None


def page_size(requested: int) -> int:
    if requested < 0:
        raise InvalidArgument.of("page_size", "must not be negative")
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def fingerprint(filter_: RuleFilter | CouponFilter, sort: Sequence[SortKey]) -> str:
    shape = {"filter": filter_.shape(), "sort": [[k.field, k.descending] for k in sort]}
    return hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()[:24]


def encode_token(after: Sequence[Any], print_: str) -> str:
    raw = json.dumps({"after": list(after), "q": print_}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str, print_: str, width: int) -> tuple[Any, ...]:
    """The values a token carries; INVALID_ARGUMENT when it is malformed or belongs to another
    filter or sort."""
    bad = InvalidArgument.of("page_token", "malformed, or issued for another filter or sort")
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error):
        raise bad from None
    if not isinstance(data, dict) or data.get("q") != print_:
        raise bad
    after = data.get("after")
    if not isinstance(after, list) or len(after) != width:
        raise bad
    if not all(isinstance(v, str | int) and not isinstance(v, bool) for v in after):
        raise bad
    return tuple(after)


def check_range(range_: TimeRange, path: str) -> list[tuple[str, str]]:
    if range_.start is not None and range_.end is not None and range_.start > range_.end:
        return [(path, "`start` is after `end`")]
    return []


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
