"""ListProviders in plain Python: filter, sort and cursor-page a site's providers.

A site has at most 20 providers per kind (7 kinds) plus its config-file ones, so the registry
loads all that match the filter and sorts them here: that keeps the two sources in one order
without a database-side merge. Page tokens hold the sort key of the last item returned (keyset
paging, stable under inserts and deletes) and a fingerprint of the filter and sort they belong to.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from services.platform.errors import InvalidArgument
from services.platform.providers.kinds import Kind
from services.registry.domain import ProviderRecord, Source

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100
SORT_FIELDS = ("kind", "app_id", "created", "updated")


@dataclass(frozen=True)
class ProviderFilter:
    kinds: frozenset[Kind] = frozenset()
    app_ids: frozenset[str] = frozenset()
    enabled: bool | None = None
    sources: frozenset[Source] = frozenset()

    def matches(self, record: ProviderRecord) -> bool:
        return (
            (not self.kinds or record.kind in self.kinds)
            and (not self.app_ids or record.app_id in self.app_ids)
            and (self.enabled is None or record.enabled is self.enabled)
            and (not self.sources or record.source in self.sources)
        )


@dataclass(frozen=True)
class SortKey:
    field: str
    descending: bool = False


DEFAULT_SORT = (SortKey("kind"), SortKey("app_id"))


@dataclass(frozen=True)
class Page:
    records: list[ProviderRecord]
    next_page_token: str


@dataclass(frozen=True)
class ListQuery:
    filter: ProviderFilter = field(default_factory=ProviderFilter)
    sort: Sequence[SortKey] = ()
    page_size: int = 0
    page_token: str = ""

    def effective_sort(self) -> tuple[SortKey, ...]:
        return tuple(self.sort) or DEFAULT_SORT

    def fingerprint(self) -> str:
        shape = {
            "kinds": sorted(int(k) for k in self.filter.kinds),
            "app_ids": sorted(self.filter.app_ids),
            "enabled": self.filter.enabled,
            "sources": sorted(int(s) for s in self.filter.sources),
            "sort": [[k.field, k.descending] for k in self.effective_sort()],
        }
        digest = hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()
        return digest[:16]


def page_size(requested: int) -> int:
    if requested < 0:
        raise InvalidArgument.of("page_size", "must not be negative")
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def _values(record: ProviderRecord, sort: Sequence[SortKey]) -> list[Any]:
    values: list[Any] = []
    for key in sort:
        if key.field == "kind":
            values.append(int(record.kind))
        elif key.field == "app_id":
            values.append(record.app_id)
        elif key.field == "created":
            values.append(record.created.isoformat())
        else:
            values.append(record.updated.isoformat())
    values.append(record.id)
    return values


def _compare(left: Sequence[Any], right: Sequence[Any], sort: Sequence[SortKey]) -> int:
    directions = [key.descending for key in sort] + [False]  # the id: always ascending
    for a, b, descending in zip(left, right, directions, strict=True):
        if a != b:
            smaller = -1 if a < b else 1
            return -smaller if descending else smaller
    return 0


def _encode_token(after: list[Any], fingerprint: str) -> str:
    raw = json.dumps({"after": after, "q": fingerprint}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str, fingerprint: str, sort: Sequence[SortKey]) -> list[Any]:
    bad = InvalidArgument.of("page_token", "malformed, or issued for another filter or sort")
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error):
        raise bad from None
    if (
        not isinstance(data, dict)
        or data.get("q") != fingerprint
        or not isinstance(data.get("after"), list)
        or len(data["after"]) != len(sort) + 1
    ):
        raise bad
    types = [int if key.field == "kind" else str for key in sort] + [str]
    after = list(data["after"])
    if not all(type(value) is kind for value, kind in zip(after, types, strict=True)):
        raise bad
    return after


def paginate(records: Iterable[ProviderRecord], query: ListQuery) -> Page:
    """The page of `records` (already scoped to one site) that `query` asks for."""
    size = page_size(query.page_size)
    sort = query.effective_sort()
    fingerprint = query.fingerprint()
    compare = functools.partial(_compare, sort=sort)

    def by_values(a: tuple[list[Any], ProviderRecord], b: tuple[list[Any], ProviderRecord]) -> int:
        return compare(a[0], b[0])

    keyed = sorted(
        ((_values(r, sort), r) for r in records if query.filter.matches(r)),
        key=functools.cmp_to_key(by_values),
    )
    if query.page_token:
        after = _decode_token(query.page_token, fingerprint, sort)
        keyed = [(values, r) for values, r in keyed if compare(values, after) > 0]
    page = keyed[:size]
    next_token = _encode_token(page[-1][0], fingerprint) if len(keyed) > size else ""
    return Page([r for _, r in page], next_token)
