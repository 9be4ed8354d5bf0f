"""Stock of products and variants, in plain Python: the admin's absolute settings and deltas, and
what sales (committed reservations) and restocks do to it.

A stock is either unlimited (not tracked) or a quantity on hand, 0..MAX_STOCK, that includes the
units reservations hold. Its revision moves whenever the quantity or the tracking changes; holding
units does not change the stock row at all (holds are reservation lines, see `reservations`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from services.platform.errors import (
    FailedPrecondition,
    NotFound,
    Violations,
    check_revision,
)
from services.providers.catalog.domain import (
    Product,
    StockKey,
    check_id,
    product_not_found,
    variant_not_found,
)

RESOURCE = "stock"
MAX_STOCK = 1_000_000_000
MAX_STOCK_ITEMS = 300


@dataclass(frozen=True)
class Stock:
    key: StockKey
    tracked: bool = False
    quantity: int = 0
    revision: int = 0
    updated: datetime | None = None


@dataclass(frozen=True)
class StockLevel:
    """A stock with the units that unexpired reservations hold."""

    stock: Stock
    reserved: int = 0

    @property
    def available(self) -> int:
        if not self.stock.tracked:
            return 0
        return max(0, self.stock.quantity - self.reserved)


@dataclass(frozen=True)
class StockSetting:
    key: StockKey
    #: None: unlimited.
    quantity: int | None
    revision: int = 0


@dataclass(frozen=True)
class StockAdjustment:
    key: StockKey
    delta: int


def check_settings(
    raw: Sequence[tuple[str, str, int | None, bool, int]],
) -> list[StockSetting]:
    """(product_id, variant_id, quantity or None, unlimited, revision) per item -> settings;
    raises InvalidArgument listing every problem."""
    violations = Violations()
    _check_count(violations, len(raw))
    settings = []
    for index, (product_id, variant_id, quantity, unlimited, revision) in enumerate(raw):
        path = f"items[{index}]"
        _check_key(violations, path, product_id, variant_id)
        if quantity is None and not unlimited:
            violations.add(f"{path}.quantity", "set exactly one of `quantity` or `unlimited: true`")
        elif quantity is not None and not 0 <= quantity <= MAX_STOCK:
            violations.add(f"{path}.quantity", f"must be 0..{MAX_STOCK:,}")
        if revision < 0:
            violations.add(f"{path}.revision", "must not be negative")
        settings.append(StockSetting(StockKey(product_id, variant_id), quantity, revision))
    _check_unique(violations, [s.key for s in settings])
    violations.raise_if_any()
    return settings


def check_adjustments(raw: Sequence[tuple[str, str, int]]) -> list[StockAdjustment]:
    violations = Violations()
    _check_count(violations, len(raw))
    adjustments = []
    for index, (product_id, variant_id, delta) in enumerate(raw):
        path = f"items[{index}]"
        _check_key(violations, path, product_id, variant_id)
        if delta == 0:
            violations.add(f"{path}.delta", "must not be 0")
        elif abs(delta) > MAX_STOCK:
            violations.add(f"{path}.delta", f"must be within -{MAX_STOCK:,}..{MAX_STOCK:,}")
        adjustments.append(StockAdjustment(StockKey(product_id, variant_id), delta))
    _check_unique(violations, [a.key for a in adjustments])
    violations.raise_if_any()
    return adjustments


def _check_count(violations: Violations, count: int) -> None:
    if count == 0:
        violations.add("items", f"required: 1..{MAX_STOCK_ITEMS} items")
    elif count > MAX_STOCK_ITEMS:
        violations.add("items", f"at most {MAX_STOCK_ITEMS} items per call")


def _check_key(violations: Violations, path: str, product_id: str, variant_id: str) -> None:
    check_id(violations, f"{path}.product_id", product_id)
    if variant_id:
        check_id(violations, f"{path}.variant_id", variant_id)


def _check_unique(violations: Violations, keys: Sequence[StockKey]) -> None:
    seen: set[StockKey] = set()
    for index, key in enumerate(keys):
        if key in seen:
            violations.add(f"items[{index}]", "this product or variant appears twice")
        seen.add(key)


def check_targets(keys: Sequence[StockKey], products: Mapping[str, Product]) -> None:
    """Every key names an existing product without variants, or an existing variant."""
    violations = Violations()
    missing: NotFound | None = None
    for index, key in enumerate(keys):
        product = products.get(key.product_id)
        if product is None:
            missing = missing or product_not_found(key.product_id)
        elif product.variants and not key.variant_id:
            violations.add(f"items[{index}].variant_id", "required: the product has variants")
        elif not product.variants and key.variant_id:
            violations.add(f"items[{index}].variant_id", "must be empty: the product has none")
        elif key.variant_id and product.variant(key.variant_id) is None:
            missing = missing or variant_not_found(key.product_id, key.variant_id)
    violations.raise_if_any()
    if missing is not None:
        raise missing


def set_stock(current: Stock, setting: StockSetting, now: datetime) -> Stock | None:
    """The stock after `setting`, or None when it already is that (nothing to write)."""
    check_revision(RESOURCE, setting.revision, current.revision)
    tracked = setting.quantity is not None
    quantity = setting.quantity or 0
    if current.tracked == tracked and current.quantity == quantity:
        return None
    return replace(
        current, tracked=tracked, quantity=quantity, revision=current.revision + 1, updated=now
    )


def _metadata(key: StockKey, **extra: str) -> dict[str, str]:
    return {"product_id": key.product_id, "variant_id": key.variant_id, **extra}


def adjust_stock(current: Stock, delta: int, now: datetime) -> Stock:
    if not current.tracked:
        raise FailedPrecondition(
            "STOCK_NOT_TRACKED",
            f"the stock of {_name(current.key)} is unlimited; set a quantity with SetStock first",
            metadata=_metadata(current.key),
        )
    quantity = current.quantity + delta
    if quantity < 0:
        raise FailedPrecondition(
            "STOCK_WOULD_BE_NEGATIVE",
            f"{_name(current.key)} has {current.quantity} on hand; cannot take {-delta}",
            metadata=_metadata(current.key, quantity=str(current.quantity)),
        )
    if quantity > MAX_STOCK:
        raise FailedPrecondition(
            "STOCK_LIMIT_EXCEEDED",
            f"{_name(current.key)} would have more than {MAX_STOCK:,} on hand",
            metadata=_metadata(current.key, quantity=str(current.quantity)),
        )
    return replace(current, quantity=quantity, revision=current.revision + 1, updated=now)


def after_sale(current: Stock, sold: int, now: datetime) -> Stock:
    """The stock once `sold` units leave for good. Never below 0: an admin may have set the
    quantity below what reservations held, and those reservations still complete."""
    return replace(
        current,
        quantity=max(0, current.quantity - sold),
        revision=current.revision + 1,
        updated=now,
    )


def after_restock(current: Stock, returned: int, now: datetime) -> Stock:
    """The stock once `returned` units come back (saturating at MAX_STOCK)."""
    return replace(
        current,
        quantity=min(MAX_STOCK, current.quantity + returned),
        revision=current.revision + 1,
        updated=now,
    )


def _name(key: StockKey) -> str:
    if key.variant_id:
        return f"variant {key.variant_id!r} of product {key.product_id!r}"
    return f"product {key.product_id!r}"
