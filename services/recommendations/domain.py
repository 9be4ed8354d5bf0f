"""The recommendations rules in plain Python: references and item keys, what an order
contributes to the statistics, the windows, request validation, filtering and choosing the
winning algorithm.

No grpc, no SQL: the servicer translates protos to these types, the store persists statistics.
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from services.platform.errors import Violations

#: The `app_id` of the algorithms this service computes itself.
BUILTIN_APP_ID = "ecom.recommendations"
FREQUENTLY_BOUGHT_TOGETHER = "FREQUENTLY_BOUGHT_TOGETHER"
BEST_SELLERS = "BEST_SELLERS"

MAX_ALGORITHMS = 10
MAX_ITEMS = 100
MAX_MINIMUM = 100
#: A recommendation never holds more items than this (request and provider answers alike).
MAX_RECOMMENDED = 100
#: Longest `app_id` / `catalog_item_id` the statistics keep; order lines with longer ones are not
#: counted (no catalog the suite knows uses ids anywhere near this long).
MAX_APP_ID_LENGTH = 200
MAX_ITEM_ID_LENGTH = 500


class AlgorithmType(enum.IntEnum):
    """Numbers as in `ecom.recommendations.v1.AlgorithmType` (and the SPI's enum)."""

    UNSPECIFIED = 0
    RELATED_ITEMS = 1
    GLOBAL = 2


class SkipReason(enum.IntEnum):
    """Numbers as in `ecom.recommendations.v1.SkippedAlgorithm.Reason`."""

    ALGORITHM_NOT_FOUND = 1
    PROVIDER_UNAVAILABLE = 2
    NOT_ENOUGH_ITEMS = 3


@dataclass(frozen=True, order=True)
class ItemKey:
    """An item regardless of variant: how the built-ins and the request filter compare items."""

    app_id: str
    catalog_item_id: str


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class Ref:
    """A catalog reference; `options` is the JSON value of its Struct (empty: no options)."""

    app_id: str
    catalog_item_id: str
    options: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def item(self) -> ItemKey:
        return ItemKey(self.app_id, self.catalog_item_id)

    @property
    def key(self) -> str:
        """Equal for equal references: options compare as JSON values (key order ignored), as
        `ecom.common.v1.CatalogReference` defines."""
        return canonical_json([self.app_id, self.catalog_item_id, dict(self.options)])

    @classmethod
    def bare(cls, item: ItemKey) -> Ref:
        return cls(item.app_id, item.catalog_item_id)


def options_digest(options: Mapping[str, Any]) -> str:
    """A fixed-size key for a variant's options (they may be arbitrarily long)."""
    return hashlib.sha256(canonical_json(dict(options)).encode()).hexdigest()


@dataclass(frozen=True)
class AlgorithmName:
    app_id: str
    algorithm_id: str

    @property
    def builtin(self) -> bool:
        return self.app_id == BUILTIN_APP_ID


@dataclass(frozen=True)
class AlgorithmInfo:
    app_id: str
    algorithm_id: str
    name: str
    description: str = ""
    additional_info: str = ""
    algorithm_type: AlgorithmType = AlgorithmType.UNSPECIFIED
    catalog_app_ids: tuple[str, ...] = ()

    def accepts(self, ref: Ref) -> bool:
        """Whether items of `ref`'s catalog go to this algorithm (empty list: any catalog)."""
        return not self.catalog_app_ids or ref.app_id in self.catalog_app_ids


def builtin_algorithms(together_days: int, best_seller_days: int) -> tuple[AlgorithmInfo, ...]:
    return (
        AlgorithmInfo(
            BUILTIN_APP_ID,
            FREQUENTLY_BOUGHT_TOGETHER,
            "Frequently bought together",
            "Items that were in the same orders as the given items, most such orders first.",
            f"Approved, non-canceled orders of the last {together_days} days; an order counts "
            "within seconds of its approval. Items of any catalog; variants are merged.",
            AlgorithmType.RELATED_ITEMS,
        ),
        AlgorithmInfo(
            BUILTIN_APP_ID,
            BEST_SELLERS,
            "Best sellers",
            "The items with the most units sold.",
            f"Approved, non-canceled orders of the last {best_seller_days} days; an order counts "
            "within seconds of its approval. Items of any catalog; variants are merged.",
            AlgorithmType.GLOBAL,
        ),
    )


# -- what an order contributes -------------------------------------------------------------


@dataclass(frozen=True)
class OrderLine:
    """One order line as the statistics see it (a custom line has an empty reference)."""

    ref: Ref
    quantity: int


@dataclass(frozen=True)
class OrderFacts:
    """What one approved order adds: units per item (variants merged) and the variants bought."""

    site: str
    order_id: str
    ordered_at: datetime
    units: Mapping[ItemKey, int]
    #: Per item, the distinct variant options bought (empty options are not variants).
    variants: Mapping[ItemKey, tuple[Mapping[str, Any], ...]]

    @property
    def day(self) -> date:
        return bucket_day(self.ordered_at)

    def pairs(self) -> list[tuple[ItemKey, ItemKey]]:
        """Every ordered pair of distinct items: both directions, so a lookup by either end is
        one index range."""
        items = sorted(self.units)
        return [(a, b) for a in items for b in items if a != b]


def _countable(ref: Ref) -> bool:
    return (
        0 < len(ref.app_id) <= MAX_APP_ID_LENGTH
        and 0 < len(ref.catalog_item_id) <= MAX_ITEM_ID_LENGTH
    )


def order_facts(
    site: str, order_id: str, ordered_at: datetime, lines: Iterable[OrderLine]
) -> OrderFacts:
    """Merge an order's lines per item; custom lines (no catalog reference) do not count."""
    units: dict[ItemKey, int] = {}
    variants: dict[ItemKey, dict[str, Mapping[str, Any]]] = {}
    for line in lines:
        if not _countable(line.ref) or line.quantity <= 0:
            continue
        item = line.ref.item
        units[item] = units.get(item, 0) + line.quantity
        seen = variants.setdefault(item, {})
        if line.ref.options:
            seen.setdefault(canonical_json(dict(line.ref.options)), line.ref.options)
    return OrderFacts(
        site=site,
        order_id=order_id,
        ordered_at=ordered_at,
        units=units,
        variants={item: tuple(found.values()) for item, found in variants.items() if found},
    )


# -- windows ---------------------------------------------------------------------------------


def bucket_day(moment: datetime) -> date:
    """The UTC day an order is counted in."""
    return moment.date() if moment.utcoffset() is None else moment.astimezone(UTC).date()


def window_start(today: date, days: int) -> date:
    """The first day of a window of `days` UTC days ending today (today included)."""
    if days < 1:
        raise ValueError("a window is at least one day")
    return today - timedelta(days=days - 1)


# -- requests --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecommendationQuery:
    items: tuple[Ref, ...]
    algorithms: tuple[AlgorithmName, ...]
    #: At least 1 (0 in the request means 1).
    minimum: int

    @property
    def item_keys(self) -> frozenset[ItemKey]:
        return frozenset(ref.item for ref in self.items)

    def distinct_items(self) -> list[ItemKey]:
        """The request's items without variants or repeats, in request order."""
        return list(dict.fromkeys(ref.item for ref in self.items))


def check_query(items: Sequence[Ref], algorithms: Sequence[AlgorithmName], minimum: int) -> int:
    """Validate a GetRecommendation request; returns the effective minimum (0 means 1)."""
    problems = Violations()
    if not algorithms:
        problems.add("algorithms", "name 1 to 10 algorithms")
    elif len(algorithms) > MAX_ALGORITHMS:
        problems.add("algorithms", f"at most {MAX_ALGORITHMS} algorithms")
    for i, algorithm in enumerate(algorithms[: MAX_ALGORITHMS + 1]):
        if not algorithm.app_id:
            problems.add(f"algorithms[{i}].app_id", "required")
        if not algorithm.algorithm_id:
            problems.add(f"algorithms[{i}].algorithm_id", "required")
    if len(items) > MAX_ITEMS:
        problems.add("items", f"at most {MAX_ITEMS} items")
    for i, ref in enumerate(items[: MAX_ITEMS + 1]):
        if not ref.app_id:
            problems.add(f"items[{i}].app_id", "required")
        if not ref.catalog_item_id:
            problems.add(f"items[{i}].catalog_item_id", "required")
    if not 0 <= minimum <= MAX_MINIMUM:
        problems.add("minimum_recommended_items", f"must be 0..{MAX_MINIMUM}")
    problems.raise_if_any()
    return max(minimum, 1)


# -- filtering and choosing ------------------------------------------------------------------


def without_repeats(candidates: Iterable[Ref], excluded: frozenset[ItemKey]) -> list[Ref]:
    """Candidates in order, without duplicates (equal references) and without the request's
    items (any variant of them)."""
    seen: set[str] = set()
    kept: list[Ref] = []
    for ref in candidates:
        if ref.item in excluded or ref.key in seen:
            continue
        seen.add(ref.key)
        kept.append(ref)
    return kept


@dataclass(frozen=True)
class Yielded:
    """An algorithm's items after filtering (at most MAX_RECOMMENDED)."""

    items: tuple[Ref, ...]


@dataclass(frozen=True)
class Skipped:
    reason: SkipReason
    item_count: int = 0


AlgorithmResult = Yielded | Skipped


def judge(result: AlgorithmResult, minimum: int) -> AlgorithmResult:
    """A result that yields fewer than `minimum` items is passed over (NOT_ENOUGH_ITEMS)."""
    if isinstance(result, Yielded) and len(result.items) < minimum:
        return Skipped(SkipReason.NOT_ENOUGH_ITEMS, len(result.items))
    return result


@dataclass(frozen=True)
class Decision:
    """The winner (None when no algorithm yielded enough) and those passed over before it."""

    winner: AlgorithmName | None
    items: tuple[Ref, ...]
    skipped: tuple[tuple[AlgorithmName, Skipped], ...]
