"""QueryDiscountRules' and QueryCoupons' messages -> the domain's `Query`, with every malformed
part reported as a field violation."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ecom.common.v1 import query_pb2
from ecom.discounts.v1 import coupons_service_pb2, discount_rules_service_pb2
from services.discounts.domain.model import CouponKind, RuleStatus
from services.discounts.domain.queries import (
    MAX_FILTER_IDS,
    CouponFilter,
    CouponSortField,
    Query,
    RuleFilter,
    RuleSortField,
    SortKey,
    TimeRange,
    check_range,
    decode_token,
    fingerprint,
    page_size,
)
from services.discounts.proto_common import optional_time
from services.platform.errors import InvalidArgument, Violations

_DESC = query_pb2.SORT_ORDER_DESC


def _range(problems: Violations, path: str, message: query_pb2.TimestampRange) -> TimeRange:
    found = TimeRange(optional_time(message, "start"), optional_time(message, "end"))
    for where, why in check_range(found, path):
        problems.add(where, why)
    return found


def _ids(problems: Violations, path: str, ids: Sequence[str]) -> frozenset[str]:
    if len(ids) > MAX_FILTER_IDS:
        problems.add(path, f"at most {MAX_FILTER_IDS} ids")
    return frozenset(ids)


def _enums(
    problems: Violations, path: str, values: Sequence[int], kind: Callable[[int], Any]
) -> frozenset[Any]:
    found = set()
    for i, value in enumerate(values):
        try:
            found.add(kind(value))
        except ValueError:
            problems.add(f"{path}[{i}]", "not a known value")
    return frozenset(found)


def _sort(
    problems: Violations, sorts: Sequence[Any], kind: Callable[[int], Any], default: int
) -> tuple[SortKey, ...]:
    keys = []
    for i, key in enumerate(sorts):
        try:
            field = kind(key.field or default)
        except ValueError:
            problems.add(f"sort[{i}].field", "not a known sort field")
            continue
        keys.append(SortKey(int(field), descending=key.order == _DESC))
    # Default: newest first (the id breaks ties).
    return tuple(keys) or (SortKey(default, descending=True),)


def _query(
    problems: Violations,
    filter_: RuleFilter | CouponFilter,
    sort: tuple[SortKey, ...],
    requested_size: int,
    token: str,
) -> Query:
    size = 0
    try:
        size = page_size(requested_size)
    except InvalidArgument as exc:  # reported with the rest
        for violation in exc.violations:
            problems.add(violation.field, violation.description)
    after = None
    if token and not problems:
        after = decode_token(token, fingerprint(filter_, sort), len(sort) + 1)
    problems.raise_if_any()
    return Query(filter_, sort, size, after)


def rule_query(request: discount_rules_service_pb2.QueryDiscountRulesRequest) -> Query:
    problems = Violations()
    wanted = request.filter
    filter_ = RuleFilter(
        ids=_ids(problems, "filter.ids", wanted.ids),
        active=wanted.active if wanted.HasField("active") else None,
        statuses=_enums(problems, "filter.status", wanted.status, RuleStatus),
        name_prefix=wanted.name_prefix,
        created=_range(problems, "filter.created_date", wanted.created_date),
        updated=_range(problems, "filter.updated_date", wanted.updated_date),
        app_ids=frozenset(wanted.app_ids),
    )
    sort = _sort(problems, request.sort, RuleSortField, RuleSortField.CREATED_DATE)
    return _query(problems, filter_, sort, request.page_size, request.page_token)


def coupon_query(request: coupons_service_pb2.QueryCouponsRequest) -> Query:
    problems = Violations()
    wanted = request.filter

    def flag(name: str) -> bool | None:
        return bool(getattr(wanted, name)) if wanted.HasField(name) else None  # type: ignore[arg-type]

    kinds = _enums(
        problems, "filter.discount_kinds", [k for k in wanted.discount_kinds if k], CouponKind
    )
    filter_ = CouponFilter(
        ids=_ids(problems, "filter.ids", wanted.ids),
        code=wanted.code.strip(),
        name_prefix=wanted.name_prefix,
        active=flag("active"),
        expired=flag("expired"),
        usage_limit_reached=flag("usage_limit_reached"),
        kinds=kinds,
        start=_range(problems, "filter.start_time", wanted.start_time),
        expiration=_range(problems, "filter.expiration_time", wanted.expiration_time),
        created=_range(problems, "filter.created_date", wanted.created_date),
        updated=_range(problems, "filter.updated_date", wanted.updated_date),
    )
    sort = _sort(problems, request.sort, CouponSortField, CouponSortField.CREATED_DATE)
    return _query(problems, filter_, sort, request.page_size, request.page_token)
