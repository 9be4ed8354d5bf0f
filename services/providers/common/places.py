"""Where an order goes, and sets of places in settings ("countries": ["US"], "subdivisions":
["US-AK"]) matched against it.

A destination matches a place set by its subdivision (ISO 3166-2, "US-AK"), by its country
(ISO 3166-1 alpha-2, "US") or by the wildcard country "*". `PlaceSet.match` says how specifically,
so that a provider can prefer the region that names the subdivision over the one that names the
whole country, whatever their order in the settings.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services.providers.common.reading import SettingsReader, child, item

#: Matches any country in a place set's `countries`.
ANYWHERE = "*"
MAX_PLACES = 300

_COUNTRY = re.compile(r"[A-Z]{2}")
_SUBDIVISION = re.compile(r"[A-Z]{2}-[A-Z0-9]{1,3}")


class Match(enum.IntEnum):
    """How specifically a place set names a destination; higher wins."""

    NONE = 0
    ANYWHERE = 1
    COUNTRY = 2
    SUBDIVISION = 3


@dataclass(frozen=True)
class Destination:
    """A destination as the providers compare it: upper-case country, full ISO 3166-2
    subdivision ("US-NY") or "" when the address gives none."""

    country: str
    subdivision: str = ""

    @classmethod
    def of(cls, country: str, subdivision: str = "") -> Destination | None:
        """From an address's fields; None when there is no country (no destination yet).

        A subdivision given without its country prefix ("NY") is read as the country's ("US-NY"),
        since that is how many forms collect it.
        """
        country = country.strip().upper()
        if not country:
            return None
        subdivision = subdivision.strip().upper()
        if subdivision and "-" not in subdivision:
            subdivision = f"{country}-{subdivision}"
        return cls(country, subdivision)

    def describe(self) -> str:
        return self.subdivision or self.country


@dataclass(frozen=True)
class PlaceSet:
    countries: frozenset[str] = frozenset()
    subdivisions: frozenset[str] = frozenset()

    def match(self, destination: Destination | None) -> Match:
        if destination is None:
            return Match.NONE
        if destination.subdivision and destination.subdivision in self.subdivisions:
            return Match.SUBDIVISION
        if destination.country in self.countries:
            return Match.COUNTRY
        if ANYWHERE in self.countries:
            return Match.ANYWHERE
        return Match.NONE

    def __bool__(self) -> bool:
        return bool(self.countries or self.subdivisions)


def read_places(reader: SettingsReader, obj: Mapping[str, Any], path: str) -> PlaceSet:
    """The `countries` and `subdivisions` keys of `obj`; at least one place is required."""
    countries = _codes(reader, obj, path, "countries", _COUNTRY, 'ISO 3166-1 alpha-2 ("US") or "*"')
    subdivisions = _codes(reader, obj, path, "subdivisions", _SUBDIVISION, 'ISO 3166-2 ("US-AK")')
    places = PlaceSet(frozenset(countries), frozenset(subdivisions))
    listed = [obj.get(key) for key in ("countries", "subdivisions")]
    if all(value is None or value == [] for value in listed):
        # Bad entries and non-lists are reported above; this is for naming no place at all.
        reader.problem(child(path, "countries"), "name at least one country or subdivision")
    return places


def _codes(
    reader: SettingsReader,
    obj: Mapping[str, Any],
    path: str,
    key: str,
    pattern: re.Pattern[str],
    what: str,
) -> list[str]:
    where = child(path, key)
    codes = []
    for index, raw in enumerate(reader.list(obj.get(key), where, max_items=MAX_PLACES)):
        code = raw.strip().upper() if isinstance(raw, str) else None
        if code is None or not (
            pattern.fullmatch(code) or (key == "countries" and code == ANYWHERE)
        ):
            reader.problem(item(where, index), f"{raw!r} is not a code {what}")
            continue
        codes.append(code)
    return codes
