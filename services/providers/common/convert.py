"""Proto -> plain Python for the reference providers' servicers: request lines, destination,
currency and weight unit (problems collected as field violations with request paths), and the
registration's `settings` Struct parsed once per distinct value."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Generic, TypeVar

from google.protobuf import json_format, struct_pb2

from ecom.common.v1 import address_pb2, catalog_pb2, line_item_pb2
from services.platform.errors import InvalidArgument, Violations
from services.pricing import InvalidAmountError, UnknownCurrencyError, minor_units, parse_amount
from services.providers.common.lines import Line, WeightUnit
from services.providers.common.places import Destination

S = TypeVar("S")

#: Distinct settings values kept parsed per provider (one per registration in practice).
SETTINGS_CACHE_SIZE = 256


def currency(value: str, violations: Violations, field: str = "currency") -> str:
    if not value:
        violations.add(field, "is required (an ISO 4217 code such as USD)")
        return ""
    try:
        minor_units(value)
    except UnknownCurrencyError as exc:
        violations.add(field, str(exc))
        return ""
    return value


def weight_unit(value: int, violations: Violations, field: str = "weight_unit") -> WeightUnit:
    try:
        return WeightUnit(value)
    except ValueError:
        violations.add(field, "must be WEIGHT_UNIT_KG or WEIGHT_UNIT_LB")
        return WeightUnit.KG


def destination(address: address_pb2.Address) -> Destination | None:
    return Destination.of(address.country, address.subdivision)


def lines(
    items: Sequence[line_item_pb2.LineItem], violations: Violations, field: str = "line_items"
) -> list[Line]:
    converted = []
    for index, line in enumerate(items):
        path = f"{field}[{index}]"
        if line.quantity < 1:
            violations.add(f"{path}.quantity", f"must be at least 1, not {line.quantity}")
        converted.append(
            Line(
                id=line.id,
                quantity=max(line.quantity, 0),
                unit_price=_decimal(line.price.amount, violations, f"{path}.price.amount")
                or Decimal(0),
                weight=_decimal(
                    line.physical_properties.weight,
                    violations,
                    f"{path}.physical_properties.weight",
                ),
                shippable=line.physical_properties.shippable,
                item_type=_item_type(line.item_type),
                catalog_item_id=line.catalog_reference.catalog_item_id,
                app_id=line.catalog_reference.app_id,
                name=line.product_name.translated or line.product_name.original,
            )
        )
    return converted


def amount(value: str, violations: Violations, field: str) -> Decimal | None:
    """A request amount (may be negative, as a discount total is not); None when empty."""
    if not value:
        return None
    try:
        return parse_amount(value)
    except InvalidAmountError as exc:
        violations.add(field, str(exc))
        return None


def _decimal(value: str, violations: Violations, field: str) -> Decimal | None:
    """A non-negative decimal string of the request; None when empty (unknown)."""
    if not value:
        return None
    try:
        return parse_amount(value, non_negative=True)
    except InvalidAmountError as exc:
        violations.add(field, str(exc))
        return None


def _item_type(item_type: catalog_pb2.ItemType) -> str:
    kind = item_type.WhichOneof("kind")
    if kind == "custom":
        return item_type.custom
    if kind == "preset" and item_type.preset:
        return catalog_pb2.ItemTypePreset.Name(item_type.preset).removeprefix("ITEM_TYPE_PRESET_")
    return ""


class SettingsCache(Generic[S]):
    """Parses a registration's `settings` Struct into a provider's settings object, keeping the
    last few results: the same registration sends the same settings on every call, and parsing
    up to 64 KiB of JSON each time would be wasted work. An empty Struct means the built-in
    defaults. A Struct that does not parse raises (the servicer's INVALID_ARGUMENT) and is not
    kept. Parsed settings are immutable, so sharing them between calls is safe."""

    def __init__(
        self,
        parse: Callable[[Mapping[str, Any]], S],
        defaults: S,
        size: int = SETTINGS_CACHE_SIZE,
    ) -> None:
        self._parse = parse
        self._defaults = defaults
        self._size = size
        self._parsed: OrderedDict[bytes, S] = OrderedDict()

    def get(self, settings: struct_pb2.Struct) -> S:
        if not settings.fields:
            return self._defaults
        key = settings.SerializeToString(deterministic=True)
        found = self._parsed.get(key)
        if found is not None:
            self._parsed.move_to_end(key)
            return found
        parsed = self._parse(json_format.MessageToDict(settings))
        self._parsed[key] = parsed
        if len(self._parsed) > self._size:
            self._parsed.popitem(last=False)
        return parsed


def read_settings(
    cache: SettingsCache[S], settings: struct_pb2.Struct, violations: Violations
) -> S | None:
    """`cache.get(settings)`, with its problems added to `violations` (so that a request's own
    problems and its settings' are reported together) instead of raised."""
    try:
        return cache.get(settings)
    except InvalidArgument as exc:
        for problem in exc.violations:
            violations.add(problem.field, problem.description)
        return None
