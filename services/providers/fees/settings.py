"""The fee provider's settings: a handling fee per item and order-level fees by destination.

    {
      "currency": "USD",                      optional; absent: amounts in the request's currency
      "handling_fee_per_item": {              optional; absent: no handling fee
        "code": "handling", "name": "Handling",
        "amount": "0.50",                     per unit (or per line with "per": "line")
        "per": "unit",
        "item_types": ["PHYSICAL"],           presets PHYSICAL, DIGITAL, GIFT_CARD, SERVICE or
                                              custom type names; default ["PHYSICAL"]
        "taxable": true, "tax_group_id": ""
      },
      "order_fees_by_region": [               at most 49; each matching one is charged
        {"code": "co-retail-delivery", "name": "Retail delivery fee",
         "countries": [], "subdivisions": ["US-CO"], "amount": "0.29",
         "taxable": false, "tax_group_id": ""}
      ]
    }

`parse_settings` checks all of it and raises `InvalidArgument` naming every bad setting by its
path. `DEFAULT_SETTINGS` is the demo setup used when a registration has no settings.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from services.providers.common.places import PlaceSet, read_places
from services.providers.common.reading import MAX_TEXT, ROOT, SettingsReader, child, item

#: The SPI accepts at most 50 fees in an answer: the handling fee and 49 regional ones.
MAX_REGION_FEES = 49
MAX_ITEM_TYPES = 50
PRESET_ITEM_TYPES = ("PHYSICAL", "DIGITAL", "GIFT_CARD", "SERVICE")


class Per(enum.Enum):
    UNIT = "unit"
    LINE = "line"


@dataclass(frozen=True)
class Taxes:
    taxable: bool = True
    tax_group_id: str = ""


@dataclass(frozen=True)
class HandlingFee:
    code: str
    name: str
    amount: Decimal
    per: Per
    item_types: frozenset[str]
    taxes: Taxes


@dataclass(frozen=True)
class RegionFee:
    code: str
    name: str
    places: PlaceSet
    amount: Decimal
    taxes: Taxes


@dataclass(frozen=True)
class FeeSettings:
    currency: str | None
    handling: HandlingFee | None
    region_fees: tuple[RegionFee, ...]


_TOP_KEYS = ("currency", "handling_fee_per_item", "order_fees_by_region")
_HANDLING_KEYS = ("code", "name", "amount", "per", "item_types", "taxable", "tax_group_id")
_REGION_KEYS = ("code", "name", "countries", "subdivisions", "amount", "taxable", "tax_group_id")


def parse_settings(document: Mapping[str, Any]) -> FeeSettings:
    reader = SettingsReader()
    top = reader.obj(document, ROOT, _TOP_KEYS)
    currency = reader.currency(top, ROOT)
    handling = None
    if top.get("handling_fee_per_item") is not None:
        handling = _handling(
            reader, top["handling_fee_per_item"], child(ROOT, "handling_fee_per_item"), currency
        )
    path = child(ROOT, "order_fees_by_region")
    region_fees = [
        _region_fee(reader, raw, item(path, index), currency)
        for index, raw in enumerate(
            reader.list(top.get("order_fees_by_region"), path, max_items=MAX_REGION_FEES)
        )
    ]
    _check_codes(reader, handling, region_fees, path)
    reader.violations.raise_if_any()
    return FeeSettings(currency, handling, tuple(region_fees))


def _handling(
    reader: SettingsReader, raw: Any, path: str, currency: str | None
) -> HandlingFee | None:
    obj = reader.obj(raw, path, _HANDLING_KEYS)
    if not isinstance(raw, Mapping):
        return None
    per = reader.choice(obj, path, "per", Per, default=Per.UNIT)
    types_path = child(path, "item_types")
    item_types: set[str] = set()
    raw_types = obj.get("item_types", ["PHYSICAL"])
    for index, value in enumerate(
        reader.list(raw_types, types_path, max_items=MAX_ITEM_TYPES, min_items=1)
    ):
        if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
            reader.problem(item(types_path, index), "must be an item type name such as PHYSICAL")
            continue
        name = value.strip()
        # Presets are matched in any case; custom type names exactly as the catalog writes them.
        item_types.add(name.upper() if name.upper() in PRESET_ITEM_TYPES else name)
    return HandlingFee(
        code=reader.code(obj, path, "code", default="handling"),
        name=reader.text(obj, path, "name") or "Handling fee",
        amount=reader.amount(obj, path, "amount", currency, required=True) or Decimal(0),
        per=per,
        item_types=frozenset(item_types),
        taxes=_taxes(reader, obj, path),
    )


def _region_fee(reader: SettingsReader, raw: Any, path: str, currency: str | None) -> RegionFee:
    obj = reader.obj(raw, path, _REGION_KEYS)
    if not isinstance(raw, Mapping):
        return RegionFee("", "", PlaceSet(), Decimal(0), Taxes())
    return RegionFee(
        code=reader.code(obj, path, "code"),
        name=reader.text(obj, path, "name", required=True),
        places=read_places(reader, obj, path),
        amount=reader.amount(obj, path, "amount", currency, required=True) or Decimal(0),
        taxes=_taxes(reader, obj, path),
    )


def _taxes(reader: SettingsReader, obj: Mapping[str, Any], path: str) -> Taxes:
    return Taxes(
        taxable=reader.flag(obj, path, "taxable", default=True),
        tax_group_id=reader.text(obj, path, "tax_group_id"),
    )


def _check_codes(
    reader: SettingsReader,
    handling: HandlingFee | None,
    region_fees: list[RegionFee],
    path: str,
) -> None:
    """Codes identify fees in the answer, where the SPI wants them unique."""
    seen: dict[str, str] = {}
    if handling is not None:
        seen[handling.code] = child(ROOT, "handling_fee_per_item")
    for index, fee in enumerate(region_fees):
        where = item(path, index)
        if fee.code and fee.code in seen:
            reader.problem(
                child(where, "code"), f"{fee.code!r} is already the code of {seen[fee.code]}"
            )
        seen.setdefault(fee.code, where)


#: The demo setup a registration without settings gets (docs/reference-providers.md).
DEFAULT_SETTINGS: dict[str, Any] = {
    "handling_fee_per_item": {
        "code": "handling",
        "name": "Handling fee",
        "amount": "0.50",
        "per": "unit",
        "item_types": ["PHYSICAL"],
        "taxable": True,
    },
    "order_fees_by_region": [
        {
            # Colorado charges a retail delivery fee on orders delivered by motor vehicle; it is
            # not subject to sales tax. (The amount changes yearly; this is a demo figure.)
            "code": "co-retail-delivery-fee",
            "name": "Retail delivery fee (Colorado)",
            "subdivisions": ["US-CO"],
            "amount": "0.29",
            "taxable": False,
        }
    ],
}

DEFAULTS = parse_settings(DEFAULT_SETTINGS)
