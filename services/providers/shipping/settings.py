"""The shipping provider's settings: regions of destinations, each with its rate table.

The JSON schema (docs/reference-providers.md has the full description and examples):

    {
      "currency": "USD",                       optional; absent: amounts in the request's currency
      "weight_unit": "KG",                     unit of `up_to_weight` (KG or LB; default KG)
      "regions": [                             at most 100
        {
          "id": "domestic", "name": "United States",
          "countries": ["US"], "subdivisions": ["US-PR"],   at least one; "*" = any country
          "rates": [                           at most 50
            {"code": "standard", "title": "Standard", "type": "flat", "price": "5.00",
             "free_over": "100.00", "delivery_time": "3-5 business days", "instructions": ""},
            {"code": "economy", "title": "Economy", "type": "weight_tiers",
             "tiers": [{"up_to_weight": "1", "price": "3.50"}, {"price": "9.00"}]},
            {"code": "pickup-nyc", "title": "Pickup", "type": "pickup", "price": "0",
             "pickup": {"address": {"country": "US", "city": "New York", ...},
                        "business_location": true, "method": "STORE_PICKUP"}}
          ]
        }
      ]
    }

`parse_settings` checks all of it and raises `InvalidArgument` naming every bad setting by its
path. `DEFAULT_SETTINGS` is the demo setup used when a registration has no settings.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from services.providers.common.lines import WeightUnit, convert_weight
from services.providers.common.places import ANYWHERE, Destination, Match, PlaceSet, read_places
from services.providers.common.reading import ROOT, SettingsReader, child, item

MAX_REGIONS = 100
#: The SPI accepts at most 50 rates in an answer, and an answer is at most one region's rates
#: (or every region's pickup rates).
MAX_RATES = 50
MAX_TIERS = 100

_COUNTRY = re.compile(r"[A-Z]{2}")


class RateType(enum.Enum):
    FLAT = "flat"
    WEIGHT_TIERS = "weight_tiers"
    PICKUP = "pickup"


class PickupMethod(enum.IntEnum):
    """Numbers as in `ecom.common.v1.PickupDetails.PickupMethod`."""

    STORE_PICKUP = 1
    PICKUP_POINT = 2


@dataclass(frozen=True)
class Tier:
    #: Upper bound (inclusive) of the order's weight in KG; None: no bound (the last tier).
    up_to_kg: Decimal | None
    price: Decimal


@dataclass(frozen=True)
class PickupAddress:
    country: str
    city: str
    subdivision: str = ""
    postal_code: str = ""
    address_line: str = ""
    address_line_2: str = ""
    street_number: str = ""
    street_name: str = ""


@dataclass(frozen=True)
class Pickup:
    address: PickupAddress
    business_location: bool = True
    method: PickupMethod = PickupMethod.STORE_PICKUP


@dataclass(frozen=True)
class Rate:
    code: str
    title: str
    type: RateType
    #: The price of FLAT and PICKUP rates (0 for WEIGHT_TIERS, which price by `tiers`).
    price: Decimal = Decimal(0)
    tiers: tuple[Tier, ...] = ()
    #: The rate is free when the shippable lines' subtotal is at least this much.
    free_over: Decimal | None = None
    delivery_time: str = ""
    instructions: str = ""
    pickup: Pickup | None = None

    def base_price(self, weight_kg: Decimal) -> Decimal | None:
        """The price for an order of `weight_kg`; None when no tier takes that weight."""
        if self.type is not RateType.WEIGHT_TIERS:
            return self.price
        for tier in self.tiers:
            if tier.up_to_kg is None or weight_kg <= tier.up_to_kg:
                return tier.price
        return None


@dataclass(frozen=True)
class Region:
    id: str
    name: str
    places: PlaceSet
    rates: tuple[Rate, ...]


@dataclass(frozen=True)
class ShippingSettings:
    currency: str | None
    regions: tuple[Region, ...]

    def region_for(self, destination: Destination) -> Region | None:
        """The region that names `destination` most specifically (subdivision, then country,
        then "*"). Settings never name one place in two regions, so there are no ties."""
        best: tuple[Match, Region | None] = (Match.NONE, None)
        for region in self.regions:
            match = region.places.match(destination)
            if match > best[0]:
                best = (match, region)
        return best[1]

    def pickup_rates(self) -> list[Rate]:
        return [
            rate for region in self.regions for rate in region.rates if rate.type is RateType.PICKUP
        ]


_TOP_KEYS = ("currency", "weight_unit", "regions")
_REGION_KEYS = ("id", "name", "countries", "subdivisions", "rates")
_RATE_KEYS = (
    "code",
    "title",
    "type",
    "price",
    "tiers",
    "free_over",
    "delivery_time",
    "instructions",
    "pickup",
)
_TIER_KEYS = ("up_to_weight", "price")
_PICKUP_KEYS = ("address", "business_location", "method")
_ADDRESS_KEYS = (
    "country",
    "subdivision",
    "city",
    "postal_code",
    "address_line",
    "address_line_2",
    "street_address",
)
_STREET_KEYS = ("number", "name")


def parse_settings(document: Mapping[str, Any]) -> ShippingSettings:
    reader = SettingsReader()
    top = reader.obj(document, ROOT, _TOP_KEYS)
    currency = reader.currency(top, ROOT)
    unit = reader.choice(top, ROOT, "weight_unit", WeightUnit, default=WeightUnit.KG)
    path = child(ROOT, "regions")
    regions = [
        _region(reader, raw, item(path, index), currency, unit)
        for index, raw in enumerate(reader.list(top.get("regions"), path, max_items=MAX_REGIONS))
    ]
    _check_unique_places(reader, regions, path)
    _check_unique_ids(reader, regions, path)
    _check_pickup_codes(reader, regions, path)
    reader.violations.raise_if_any()
    return ShippingSettings(currency, tuple(regions))


def _region(
    reader: SettingsReader, raw: Any, path: str, currency: str | None, unit: WeightUnit
) -> Region:
    obj = reader.obj(raw, path, _REGION_KEYS)
    if not isinstance(raw, Mapping):
        return Region(id="", name="", places=PlaceSet(), rates=())
    rates_path = child(path, "rates")
    rates = [
        _rate(reader, rate, item(rates_path, index), currency, unit)
        for index, rate in enumerate(reader.list(obj.get("rates"), rates_path, max_items=MAX_RATES))
    ]
    seen: dict[str, int] = {}
    for index, rate in enumerate(rates):
        if rate.code in seen:
            reader.problem(
                child(item(rates_path, index), "code"),
                f"{rate.code!r} is already the code of {item(rates_path, seen[rate.code])}",
            )
        seen.setdefault(rate.code, index)
    return Region(
        id=reader.code(obj, path, "id"),
        name=reader.text(obj, path, "name", required=True),
        places=read_places(reader, obj, path),
        rates=tuple(rates),
    )


def _rate(
    reader: SettingsReader, raw: Any, path: str, currency: str | None, unit: WeightUnit
) -> Rate:
    obj = reader.obj(raw, path, _RATE_KEYS)
    if not isinstance(raw, Mapping):
        return Rate(code="", title="", type=RateType.FLAT)
    kind = _rate_type(reader, obj, path)
    price = reader.amount(obj, path, "price", currency, required=kind is RateType.FLAT)
    tiers: tuple[Tier, ...] = ()
    pickup: Pickup | None = None
    if kind is RateType.WEIGHT_TIERS:
        if "price" in obj:
            reader.problem(child(path, "price"), "a weight_tiers rate is priced by its tiers")
        tiers = _tiers(reader, obj.get("tiers"), child(path, "tiers"), currency, unit)
    elif "tiers" in obj:
        reader.problem(
            child(path, "tiers"), f"only weight_tiers rates have tiers, not {kind.value}"
        )
    if kind is RateType.PICKUP:
        pickup = _pickup(reader, obj, path)
    elif "pickup" in obj:
        reader.problem(
            child(path, "pickup"), f"only pickup rates have pickup details, not {kind.value}"
        )
    return Rate(
        code=reader.code(obj, path, "code"),
        title=reader.text(obj, path, "title", required=True),
        type=kind,
        price=price or Decimal(0),
        tiers=tiers,
        free_over=reader.amount(obj, path, "free_over", currency),
        delivery_time=reader.text(obj, path, "delivery_time"),
        instructions=reader.text(obj, path, "instructions"),
        pickup=pickup,
    )


def _rate_type(reader: SettingsReader, obj: Mapping[str, Any], path: str) -> RateType:
    if obj.get("type") is None:
        reader.problem(child(path, "type"), "is required: flat, weight_tiers or pickup")
    return reader.choice(obj, path, "type", RateType, default=RateType.FLAT)


def _tiers(
    reader: SettingsReader, raw: Any, path: str, currency: str | None, unit: WeightUnit
) -> tuple[Tier, ...]:
    if raw is None:
        reader.problem(path, "is required for a weight_tiers rate")
        return ()
    entries = reader.list(raw, path, max_items=MAX_TIERS, min_items=1)
    tiers: list[Tier] = []
    previous: Decimal | None = None
    for index, entry in enumerate(entries):
        tier_path = item(path, index)
        obj = reader.obj(entry, tier_path, _TIER_KEYS)
        last = index == len(entries) - 1
        bound = reader.decimal(obj, tier_path, "up_to_weight", required=not last)
        if bound is not None and bound <= 0:
            reader.problem(child(tier_path, "up_to_weight"), "must be more than 0")
        if bound is not None and previous is not None and bound <= previous:
            reader.problem(
                child(tier_path, "up_to_weight"),
                f"must be more than the previous tier's up_to_weight ({previous})",
            )
        price = reader.amount(obj, tier_path, "price", currency, required=True)
        tiers.append(
            Tier(
                None if bound is None else convert_weight(bound, unit, WeightUnit.KG),
                price or Decimal(0),
            )
        )
        previous = bound if bound is not None else previous
    return tuple(tiers)


def _pickup(reader: SettingsReader, obj: Mapping[str, Any], path: str) -> Pickup | None:
    where = child(path, "pickup")
    if obj.get("pickup") is None:
        reader.problem(where, "is required for a pickup rate (at least its address)")
        return None
    details = reader.obj(obj["pickup"], where, _PICKUP_KEYS)
    address_path = child(where, "address")
    if details.get("address") is None:
        reader.problem(address_path, "is required")
        address = PickupAddress(country="", city="")
    else:
        address = _address(reader, details["address"], address_path)
    return Pickup(
        address=address,
        business_location=reader.flag(details, where, "business_location", default=True),
        method=reader.choice(
            details, where, "method", PickupMethod, default=PickupMethod.STORE_PICKUP
        ),
    )


def _address(reader: SettingsReader, raw: Any, path: str) -> PickupAddress:
    obj = reader.obj(raw, path, _ADDRESS_KEYS)
    street_path = child(path, "street_address")
    street = reader.obj(obj.get("street_address") or {}, street_path, _STREET_KEYS)
    country = reader.text(obj, path, "country", required=True).upper()
    if country and _COUNTRY.fullmatch(country) is None:
        reader.problem(child(path, "country"), f'{country!r} is not ISO 3166-1 alpha-2 ("US")')
    address = PickupAddress(
        country=country,
        city=reader.text(obj, path, "city", required=True),
        subdivision=reader.text(obj, path, "subdivision").upper(),
        postal_code=reader.text(obj, path, "postal_code"),
        address_line=reader.text(obj, path, "address_line"),
        address_line_2=reader.text(obj, path, "address_line_2"),
        street_number=reader.text(street, street_path, "number"),
        street_name=reader.text(street, street_path, "name"),
    )
    if isinstance(raw, Mapping) and not (address.address_line or address.street_name):
        reader.problem(
            child(path, "address_line"),
            "give the street: address_line, or street_address.name (and number)",
        )
    return address


def _check_unique_ids(reader: SettingsReader, regions: list[Region], path: str) -> None:
    seen: dict[str, int] = {}
    for index, region in enumerate(regions):
        if region.id and region.id in seen:
            reader.problem(
                child(item(path, index), "id"),
                f"{region.id!r} is already the id of {item(path, seen[region.id])}",
            )
        seen.setdefault(region.id, index)


def _check_unique_places(reader: SettingsReader, regions: list[Region], path: str) -> None:
    """A place in two regions would make the choice depend on their order: refuse it."""
    owners: dict[tuple[str, str], int] = {}
    for index, region in enumerate(regions):
        places = [("countries", c) for c in sorted(region.places.countries)] + [
            ("subdivisions", s) for s in sorted(region.places.subdivisions)
        ]
        for key, place in places:
            owner = owners.setdefault((key, place), index)
            if owner != index:
                shown = 'the wildcard "*"' if place == ANYWHERE else place
                reader.problem(
                    child(item(path, index), key),
                    f"{shown} is already in {item(path, owner)}; a place belongs to one region",
                )


def _check_pickup_codes(reader: SettingsReader, regions: list[Region], path: str) -> None:
    """Without a destination every region's pickup rates are offered together, so their codes
    must be unique across regions and there may be no more of them than one answer holds."""
    seen: dict[str, int] = {}
    count = 0
    for index, region in enumerate(regions):
        for rate in region.rates:
            if rate.type is not RateType.PICKUP:
                continue
            count += 1
            owner = seen.setdefault(rate.code, index)
            if owner != index:
                reader.problem(
                    child(item(path, index), "rates"),
                    f"pickup rate code {rate.code!r} is also used in {item(path, owner)}; "
                    "pickup codes must be unique across regions",
                )
    if count > MAX_RATES:
        reader.problem(path, f"has {count} pickup rates; at most {MAX_RATES} in all regions")


# The 27 member states of the European Union.
_EU = [
    *("AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE"),
    *("IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"),
]

#: The demo setup a registration without settings gets (docs/reference-providers.md).
DEFAULT_SETTINGS: dict[str, Any] = {
    "weight_unit": "KG",
    "regions": [
        {
            "id": "domestic",
            "name": "United States",
            "countries": ["US"],
            "rates": [
                {
                    "code": "standard",
                    "title": "Standard delivery",
                    "type": "flat",
                    "price": "5.00",
                    "free_over": "100.00",
                    "delivery_time": "3-5 business days",
                },
                {
                    "code": "economy",
                    "title": "Economy (by weight)",
                    "type": "weight_tiers",
                    "tiers": [
                        {"up_to_weight": "1", "price": "3.50"},
                        {"up_to_weight": "5", "price": "7.00"},
                        {"up_to_weight": "20", "price": "12.00"},
                    ],
                    "delivery_time": "5-8 business days",
                },
                {
                    "code": "express",
                    "title": "Express delivery",
                    "type": "flat",
                    "price": "15.00",
                    "delivery_time": "1-2 business days",
                },
                {
                    "code": "pickup-new-york",
                    "title": "Store pickup (New York)",
                    "type": "pickup",
                    "price": "0",
                    "delivery_time": "Ready the next business day",
                    "instructions": "Bring your order number and a photo ID.",
                    "pickup": {
                        "address": {
                            "country": "US",
                            "subdivision": "US-NY",
                            "city": "New York",
                            "postal_code": "10001",
                            "address_line": "1 Demo Plaza",
                        },
                        "business_location": True,
                        "method": "STORE_PICKUP",
                    },
                },
            ],
        },
        {
            "id": "us-remote",
            "name": "Alaska and Hawaii",
            "subdivisions": ["US-AK", "US-HI"],
            "rates": [
                {
                    "code": "standard",
                    "title": "Standard delivery",
                    "type": "flat",
                    "price": "20.00",
                    "delivery_time": "7-10 business days",
                }
            ],
        },
        {
            "id": "eu",
            "name": "European Union",
            "countries": _EU,
            "rates": [
                {
                    "code": "international",
                    "title": "International delivery",
                    "type": "flat",
                    "price": "25.00",
                    "free_over": "200.00",
                    "delivery_time": "5-10 business days",
                },
                {
                    "code": "international-economy",
                    "title": "International economy (by weight)",
                    "type": "weight_tiers",
                    "tiers": [
                        {"up_to_weight": "2", "price": "14.00"},
                        {"up_to_weight": "10", "price": "30.00"},
                    ],
                    "delivery_time": "10-15 business days",
                },
            ],
        },
    ],
}

DEFAULTS = parse_settings(DEFAULT_SETTINGS)
