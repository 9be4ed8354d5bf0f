"""The reference providers' shared parts: the settings cache, places, weights."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import pytest
from google.protobuf import json_format, struct_pb2

from services.platform.errors import InvalidArgument
from services.providers.common.convert import SettingsCache
from services.providers.common.lines import WeightUnit, convert_weight
from services.providers.common.places import Destination, Match, PlaceSet
from services.providers.fees.settings import DEFAULT_SETTINGS as FEES_DEFAULTS
from services.providers.fees.settings import parse_settings as parse_fees
from services.providers.shipping.settings import DEFAULT_SETTINGS as SHIPPING_DEFAULTS
from services.providers.shipping.settings import parse_settings as parse_shipping
from services.providers.validations.settings import DEFAULT_SETTINGS as VALIDATION_DEFAULTS
from services.providers.validations.settings import parse_settings as parse_validations


def _struct(document: dict[str, Any]) -> struct_pb2.Struct:
    settings = struct_pb2.Struct()
    settings.update(document)
    return settings


def test_demo_settings_survive_the_wire() -> None:
    """The demo setups are valid settings, also after a trip through a protobuf Struct (which is
    how a registration holding them would send them)."""
    for parse, document in (
        (parse_shipping, SHIPPING_DEFAULTS),
        (parse_fees, FEES_DEFAULTS),
        (parse_validations, VALIDATION_DEFAULTS),
    ):
        assert parse(document) == parse(json_format.MessageToDict(_struct(document)))


def test_settings_cache_parses_each_value_once_and_stays_bounded() -> None:
    calls: list[Mapping[str, Any]] = []

    def parse(document: Mapping[str, Any]) -> str:
        calls.append(document)
        if document.get("bad"):
            raise InvalidArgument.of("settings.bad", "is bad")
        return str(document["n"])

    cache = SettingsCache(parse, "defaults", size=2)

    assert cache.get(struct_pb2.Struct()) == "defaults"
    assert cache.get(_struct({"n": 1})) == "1.0"
    assert cache.get(_struct({"n": 1})) == "1.0"
    assert len(calls) == 1
    cache.get(_struct({"n": 2}))
    cache.get(_struct({"n": 3}))  # evicts n=1, the least recently used
    cache.get(_struct({"n": 1}))
    assert len(calls) == 4
    for _ in range(2):  # failures are not kept
        with pytest.raises(InvalidArgument):
            cache.get(_struct({"bad": True}))
    assert len(calls) == 6


def test_destinations_and_place_sets() -> None:
    assert Destination.of("") is None
    assert Destination.of(" us ", "ny") == Destination("US", "US-NY")
    assert Destination.of("US", "US-NY") == Destination("US", "US-NY")

    places = PlaceSet(frozenset({"US"}), frozenset({"CA-QC"}))
    assert places.match(Destination("US", "US-NY")) is Match.COUNTRY
    assert places.match(Destination("CA", "CA-QC")) is Match.SUBDIVISION
    assert places.match(Destination("CA", "CA-ON")) is Match.NONE
    assert places.match(None) is Match.NONE
    assert PlaceSet(frozenset({"*"})).match(Destination("JP")) is Match.ANYWHERE


def test_pounds_convert_to_kilograms_exactly() -> None:
    assert convert_weight(Decimal("10"), WeightUnit.LB, WeightUnit.KG) == Decimal("4.5359237")
    assert convert_weight(Decimal("4.5359237"), WeightUnit.KG, WeightUnit.LB) == Decimal(10)
    assert convert_weight(Decimal("3"), WeightUnit.KG, WeightUnit.KG) == Decimal(3)
