"""The validations provider's settings: quantity limits per item, a minimum order value and
blocked destinations, each with the severity of its violations.

    {
      "currency": "USD",                      optional; absent: amounts in the request's currency
      "per_item": {                           optional; absent: no quantity limits
        "default": {"min": 1, "max": 10, "severity": "ERROR"},
        "items": {                            by catalog item id; at most 1000
          "gift-card": {"max": null},         fields override the default's; null removes one
          "sticker": {"min": 5, "severity": "WARNING"}
        }
      },
      "minimum_order_value": {                optional
        "amount": "5.00", "basis": "subtotal_after_discounts",   or "subtotal"
        "severity": "WARNING", "message": ""  message: replaces the built-in text
      },
      "blocked_destinations": {               optional
        "countries": ["AQ"], "subdivisions": ["US-UM"],
        "severity": "ERROR", "message": ""
      }
    }

Severity is ERROR (blocks the order) or WARNING (only shown); ERROR when not given.
`parse_settings` checks all of it and raises `InvalidArgument` naming every bad setting by its
path. `DEFAULT_SETTINGS` is the demo setup used when a registration has no settings.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from services.pricing import MAX_QUANTITY
from services.providers.common.places import PlaceSet, read_places
from services.providers.common.reading import ROOT, SettingsReader, Severity, child, item

MAX_ITEM_RULES = 1000
MAX_ITEM_ID = 200


class Basis(enum.Enum):
    """What the minimum order value is compared with."""

    #: Lines' unit price times quantity, before discounts.
    SUBTOTAL = "subtotal"
    #: The subtotal minus the order's discounts (the default): what the goods actually cost.
    SUBTOTAL_AFTER_DISCOUNTS = "subtotal_after_discounts"


@dataclass(frozen=True)
class QuantityLimit:
    min: int | None = None
    max: int | None = None
    severity: Severity = Severity.ERROR

    def __bool__(self) -> bool:
        return self.min is not None or self.max is not None


@dataclass(frozen=True)
class MinimumOrderValue:
    amount: Decimal
    basis: Basis
    severity: Severity
    message: str = ""


@dataclass(frozen=True)
class BlockedDestinations:
    places: PlaceSet
    severity: Severity
    message: str = ""


@dataclass(frozen=True)
class ValidationSettings:
    currency: str | None
    default_limit: QuantityLimit = QuantityLimit()
    #: Limits by catalog item id, already merged with the default.
    item_limits: Mapping[str, QuantityLimit] = field(default_factory=dict)
    minimum_order_value: MinimumOrderValue | None = None
    blocked_destinations: BlockedDestinations | None = None

    def limit_for(self, catalog_item_id: str) -> QuantityLimit:
        return self.item_limits.get(catalog_item_id, self.default_limit)


_TOP_KEYS = ("currency", "per_item", "minimum_order_value", "blocked_destinations")
_PER_ITEM_KEYS = ("default", "items")
_LIMIT_KEYS = ("min", "max", "severity")
_MINIMUM_KEYS = ("amount", "basis", "severity", "message")
_BLOCKED_KEYS = ("countries", "subdivisions", "severity", "message")


def parse_settings(document: Mapping[str, Any]) -> ValidationSettings:
    reader = SettingsReader()
    top = reader.obj(document, ROOT, _TOP_KEYS)
    currency = reader.currency(top, ROOT)
    default_limit = QuantityLimit()
    item_limits: dict[str, QuantityLimit] = {}
    if top.get("per_item") is not None:
        default_limit, item_limits = _per_item(reader, top["per_item"], child(ROOT, "per_item"))
    minimum = None
    if top.get("minimum_order_value") is not None:
        minimum = _minimum(
            reader, top["minimum_order_value"], child(ROOT, "minimum_order_value"), currency
        )
    blocked = None
    if top.get("blocked_destinations") is not None:
        blocked = _blocked(reader, top["blocked_destinations"], child(ROOT, "blocked_destinations"))
    reader.violations.raise_if_any()
    return ValidationSettings(currency, default_limit, item_limits, minimum, blocked)


def _per_item(
    reader: SettingsReader, raw: Any, path: str
) -> tuple[QuantityLimit, dict[str, QuantityLimit]]:
    obj = reader.obj(raw, path, _PER_ITEM_KEYS)
    default = QuantityLimit()
    if obj.get("default") is not None:
        default = _limit(reader, obj["default"], child(path, "default"), QuantityLimit())
    items_path = child(path, "items")
    raw_items = obj.get("items")
    limits: dict[str, QuantityLimit] = {}
    if raw_items is None:
        return default, limits
    if not isinstance(raw_items, Mapping):
        reader.obj(raw_items, items_path, ())
        return default, limits
    if len(raw_items) > MAX_ITEM_RULES:
        reader.problem(
            items_path, f"has {len(raw_items)} items; at most {MAX_ITEM_RULES} are allowed"
        )
    for item_id, value in list(raw_items.items())[:MAX_ITEM_RULES]:
        where = item(items_path, item_id)
        if not item_id.strip() or len(item_id) > MAX_ITEM_ID:
            reader.problem(where, f"a catalog item id is 1..{MAX_ITEM_ID} characters")
            continue
        limits[item_id] = _limit(reader, value, where, default)
    return default, limits


def _limit(reader: SettingsReader, raw: Any, path: str, base: QuantityLimit) -> QuantityLimit:
    """A limit whose fields override `base`'s; a field set to null removes `base`'s value."""
    obj = reader.obj(raw, path, _LIMIT_KEYS)
    low = reader.integer(obj, path, "min", minimum=1, maximum=MAX_QUANTITY)
    high = reader.integer(obj, path, "max", minimum=1, maximum=MAX_QUANTITY)
    limit = QuantityLimit(
        min=low if "min" in obj else base.min,
        max=high if "max" in obj else base.max,
        severity=reader.severity(obj, path, default=base.severity),
    )
    if limit.min is not None and limit.max is not None and limit.min > limit.max:
        reader.problem(child(path, "min"), f"min ({limit.min}) is more than max ({limit.max})")
    return limit


def _minimum(
    reader: SettingsReader, raw: Any, path: str, currency: str | None
) -> MinimumOrderValue | None:
    obj = reader.obj(raw, path, _MINIMUM_KEYS)
    if not isinstance(raw, Mapping):
        return None
    return MinimumOrderValue(
        amount=reader.amount(obj, path, "amount", currency, required=True) or Decimal(0),
        basis=reader.choice(obj, path, "basis", Basis, default=Basis.SUBTOTAL_AFTER_DISCOUNTS),
        severity=reader.severity(obj, path),
        message=reader.text(obj, path, "message"),
    )


def _blocked(reader: SettingsReader, raw: Any, path: str) -> BlockedDestinations | None:
    obj = reader.obj(raw, path, _BLOCKED_KEYS)
    if not isinstance(raw, Mapping):
        return None
    return BlockedDestinations(
        places=read_places(reader, obj, path),
        severity=reader.severity(obj, path),
        message=reader.text(obj, path, "message"),
    )


#: The demo setup a registration without settings gets (docs/reference-providers.md).
DEFAULT_SETTINGS: dict[str, Any] = {
    "per_item": {"default": {"max": 10, "severity": "ERROR"}},
    "minimum_order_value": {
        "amount": "5.00",
        "basis": "subtotal_after_discounts",
        "severity": "WARNING",
    },
    # An example: the store does not deliver to Antarctica or the US Minor Outlying Islands.
    "blocked_destinations": {
        "countries": ["AQ"],
        "subdivisions": ["US-UM"],
        "severity": "ERROR",
    },
}

DEFAULTS = parse_settings(DEFAULT_SETTINGS)
