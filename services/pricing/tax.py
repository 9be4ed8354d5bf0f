"""A simple, configurable tax model: rates per country and per subdivision.

This is the suite's built-in tax calculation; a tax-calculation provider SPI can replace it
later. The decisions:

- **Jurisdictions.** A rate belongs to a country (ISO 3166-1 alpha-2, "DE") or to a subdivision
  (ISO 3166-2, "US-NY", "CA-QC"). A subdivision's rate is *added* to its country's (Canada: GST
  "CA" 5% + QST "CA-QC" 9.975%; the US has no country rate, so "US-NY" alone applies). A
  subdivision marked `replaces_country` is used *instead of* the country's rate (the Canary
  Islands "ES-CN" charge IGIC, not Spain's VAT). An address matching no jurisdiction is taxed at
  0 (no tax, `taxable_amount` 0).
- **Tax groups.** Each jurisdiction has a standard `rate` and optional `tax_group_rates`
  (a reduced rate for food or books, 0 for exempt goods). An item with a tax group uses the
  group's rate in every jurisdiction that defines one and the standard rate in the others.
- **Rates** are Decimal fractions ("0.19" for 19%), between 0 and 1, at most 10 decimals.
- **Shipping and fees.** `shipping_taxable` (default true) taxes shipping at the standard rate,
  or at `shipping_tax_group`'s rate when set. `fees_taxable` (default true) is a switch over the
  fees' own flag: a fee is taxed when the table allows it *and* the fee says it is taxable.
- **Inclusive and exclusive prices.** With tax-excluded prices the tax is added on top:
  `tax = net * r`. With tax-included prices it is extracted from the gross price:
  `tax = gross * r / (1 + r)`, and `net = gross - tax`. The engine rounds either to the minor
  unit once per line (see `engine.py`).

Configuration (`TaxTable.from_dict` / `from_json`, e.g. from a service setting). The three
switches are optional (defaults: `shipping_taxable` true, `fees_taxable` true,
`shipping_tax_group` "" meaning the standard rate); so are `tax_name` ("Tax"),
`tax_group_rates` and `replaces_country` (false):

    {
      "shipping_taxable": true,
      "fees_taxable": true,
      "shipping_tax_group": "",
      "jurisdictions": {
        "DE": {"tax_name": "VAT", "rate": "0.19", "tax_group_rates": {"reduced": "0.07"}},
        "US-NY": {"tax_name": "Sales tax", "rate": "0.08875"},
        "ES": {"tax_name": "VAT", "rate": "0.21"},
        "ES-CN": {"tax_name": "IGIC", "rate": "0.07", "replaces_country": true}
      }
    }

Rates are decimal strings, never JSON numbers (floats). Unknown keys are errors, so a typo never
silently means "no tax".
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from types import MappingProxyType
from typing import Any

from services.pricing.errors import InvalidAmountError, InvalidTaxTableError
from services.pricing.money import PRICING_CONTEXT, parse_amount

#: Most decimals a rate may have ("0.08875" has 5).
MAX_RATE_DECIMALS = 10

_COUNTRY_RE = re.compile(r"[A-Z]{2}", re.ASCII)
_SUBDIVISION_RE = re.compile(r"[A-Z]{2}-[A-Z0-9]{1,3}", re.ASCII)
_TABLE_KEYS = frozenset({"jurisdictions", "shipping_taxable", "fees_taxable", "shipping_tax_group"})
_JURISDICTION_KEYS = frozenset({"rate", "tax_name", "tax_group_rates", "replaces_country"})


def tax_on_net(net: Decimal, rate: Decimal) -> Decimal:
    """Tax added on top of a tax-excluded amount, unrounded: `net * rate`."""
    with localcontext(PRICING_CONTEXT):
        return net * rate


def tax_in_gross(gross: Decimal, rate: Decimal) -> Decimal:
    """Tax contained in a tax-included amount, unrounded: `gross * rate / (1 + rate)`."""
    with localcontext(PRICING_CONTEXT):
        return gross * rate / (1 + rate)


def check_rate(value: object, what: str) -> Decimal:
    """Check a tax rate: a finite Decimal in [0, 1] with at most `MAX_RATE_DECIMALS` decimals."""
    if not isinstance(value, Decimal) or not value.is_finite():
        raise InvalidTaxTableError(f"{what} must be a finite Decimal, not {value!r}")
    if value < 0 or value > 1:
        raise InvalidTaxTableError(f"{what} must be between 0 and 1 (a fraction), not {value}")
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_RATE_DECIMALS:
        raise InvalidTaxTableError(f"{what} has more than {MAX_RATE_DECIMALS} decimals ({value})")
    return abs(value) if value.is_zero() else value


@dataclass(frozen=True)
class AppliedRate:
    """One jurisdiction's rate as it applies to one item."""

    jurisdiction: str
    tax_name: str
    rate: Decimal


@dataclass(frozen=True)
class Jurisdiction:
    """The tax of one country ("DE") or subdivision ("US-NY")."""

    code: str
    rate: Decimal
    tax_name: str = "Tax"
    tax_group_rates: Mapping[str, Decimal] = field(default_factory=dict)
    replaces_country: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.code, str) or not (
            _COUNTRY_RE.fullmatch(self.code) or _SUBDIVISION_RE.fullmatch(self.code)
        ):
            raise InvalidTaxTableError(
                f"jurisdiction {self.code!r} is neither a country (ISO 3166-1 alpha-2, 'DE') nor "
                "a subdivision (ISO 3166-2, 'US-NY'); codes are upper case"
            )
        check_rate(self.rate, f"rate of {self.code}")
        if not isinstance(self.tax_name, str) or not self.tax_name.strip():
            raise InvalidTaxTableError(f"tax_name of {self.code} must be a non-empty string")
        groups: dict[str, Decimal] = {}
        for group, rate in self.tax_group_rates.items():
            if not isinstance(group, str) or not group:
                raise InvalidTaxTableError(f"tax group ids of {self.code} must be non-empty")
            groups[group] = check_rate(rate, f"rate of tax group {group!r} in {self.code}")
        object.__setattr__(self, "tax_group_rates", MappingProxyType(groups))
        if self.replaces_country and "-" not in self.code:
            raise InvalidTaxTableError(
                f"{self.code} is a country; only a subdivision can replace its country's rate"
            )

    @property
    def country(self) -> str:
        """The country the jurisdiction is in ("US" for "US-NY")."""
        return self.code[:2]

    def rate_for(self, tax_group: str | None) -> Decimal:
        """The group's rate when this jurisdiction defines one, else the standard rate."""
        if tax_group:
            return self.tax_group_rates.get(tax_group, self.rate)
        return self.rate

    def applied(self, tax_group: str | None) -> AppliedRate:
        return AppliedRate(self.code, self.tax_name, self.rate_for(tax_group))


@dataclass(frozen=True)
class TaxAddress:
    """Where tax is due: a country and optionally a subdivision.

    `subdivision` may be the ISO 3166-2 code ("US-NY") or only its part after the dash ("NY");
    matching is case-insensitive.
    """

    country: str
    subdivision: str = ""

    def country_code(self) -> str:
        return self.country.strip().upper()

    def subdivision_code(self) -> str | None:
        """The full ISO 3166-2 code ("US-NY"), or None when there is no subdivision."""
        sub = self.subdivision.strip().upper()
        if not sub:
            return None
        country = self.country_code()
        return sub if sub.startswith(country + "-") else f"{country}-{sub}"


@dataclass(frozen=True)
class TaxTable:
    """Tax rates per jurisdiction plus the shipping and fee switches (see the module docstring)."""

    jurisdictions: tuple[Jurisdiction, ...] = ()
    shipping_taxable: bool = True
    fees_taxable: bool = True
    shipping_tax_group: str | None = None
    _by_code: Mapping[str, Jurisdiction] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        jurisdictions = tuple(self.jurisdictions)
        by_code: dict[str, Jurisdiction] = {}
        for jurisdiction in jurisdictions:
            if not isinstance(jurisdiction, Jurisdiction):
                raise InvalidTaxTableError(f"not a Jurisdiction: {jurisdiction!r}")
            if jurisdiction.code in by_code:
                raise InvalidTaxTableError(f"jurisdiction {jurisdiction.code} is given twice")
            by_code[jurisdiction.code] = jurisdiction
        for flag in ("shipping_taxable", "fees_taxable"):
            if not isinstance(getattr(self, flag), bool):
                raise InvalidTaxTableError(f"{flag} must be true or false")
        if self.shipping_tax_group is not None and not isinstance(self.shipping_tax_group, str):
            raise InvalidTaxTableError("shipping_tax_group must be a string")
        object.__setattr__(self, "jurisdictions", jurisdictions)
        object.__setattr__(self, "_by_code", MappingProxyType(by_code))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TaxTable:
        """Build a table from its configuration (the format in the module docstring)."""
        if not isinstance(data, Mapping):
            raise InvalidTaxTableError("a tax table must be an object")
        _reject_unknown(data, _TABLE_KEYS, "tax table")
        raw_jurisdictions = data.get("jurisdictions", {})
        if not isinstance(raw_jurisdictions, Mapping):
            raise InvalidTaxTableError("jurisdictions must be an object keyed by country code")
        jurisdictions = [
            _jurisdiction_from_dict(code, entry) for code, entry in raw_jurisdictions.items()
        ]
        group = data.get("shipping_tax_group") or None
        return cls(
            jurisdictions=tuple(jurisdictions),
            shipping_taxable=data.get("shipping_taxable", True),
            fees_taxable=data.get("fees_taxable", True),
            shipping_tax_group=group,
        )

    @classmethod
    def from_json(cls, text: str) -> TaxTable:
        """Build a table from JSON text (the format in the module docstring)."""
        try:
            data = json.loads(text, parse_float=_reject_float)
        except json.JSONDecodeError as exc:
            raise InvalidTaxTableError(f"tax table is not valid JSON: {exc}") from None
        return cls.from_dict(data)

    def to_dict(self) -> dict[str, Any]:
        """The table's configuration; `from_dict(table.to_dict()) == table`."""
        jurisdictions: dict[str, Any] = {}
        for j in self.jurisdictions:
            entry: dict[str, Any] = {"tax_name": j.tax_name, "rate": str(j.rate)}
            if j.tax_group_rates:
                entry["tax_group_rates"] = {g: str(r) for g, r in j.tax_group_rates.items()}
            if j.replaces_country:
                entry["replaces_country"] = True
            jurisdictions[j.code] = entry
        return {
            "shipping_taxable": self.shipping_taxable,
            "fees_taxable": self.fees_taxable,
            "shipping_tax_group": self.shipping_tax_group or "",
            "jurisdictions": jurisdictions,
        }

    def get(self, code: str) -> Jurisdiction | None:
        """The jurisdiction with that code, if the table has it."""
        return self._by_code.get(code)

    def rates_for(
        self, address: TaxAddress | None, tax_group: str | None = None
    ) -> tuple[AppliedRate, ...]:
        """The rates that apply to an item at `address`: the country's, then the subdivision's.

        Empty when there is no address or no jurisdiction matches it.
        """
        if address is None:
            return ()
        country = self._by_code.get(address.country_code())
        sub_code = address.subdivision_code()
        subdivision = self._by_code.get(sub_code) if sub_code else None
        rates: list[AppliedRate] = []
        if country is not None and not (subdivision is not None and subdivision.replaces_country):
            rates.append(country.applied(tax_group))
        if subdivision is not None:
            rates.append(subdivision.applied(tax_group))
        return tuple(rates)


def _reject_unknown(data: Mapping[str, Any], allowed: Iterable[str], what: str) -> None:
    unknown = sorted(str(key) for key in data if key not in allowed)
    if unknown:
        raise InvalidTaxTableError(f"unknown key(s) in {what}: {', '.join(unknown)}")


def _reject_float(text: str) -> Any:
    raise InvalidTaxTableError(
        f'tax table has the JSON number {text}; write rates as decimal strings ("0.19")'
    )


def _parse_rate(value: object, what: str) -> Decimal:
    if not isinstance(value, str):
        raise InvalidTaxTableError(f'{what} must be a decimal string such as "0.19"')
    try:
        rate = parse_amount(value, non_negative=True)
    except InvalidAmountError as exc:
        raise InvalidTaxTableError(f"{what}: {exc}") from None
    return check_rate(rate, what)


def _jurisdiction_from_dict(code: object, entry: object) -> Jurisdiction:
    if not isinstance(code, str):
        raise InvalidTaxTableError(f"jurisdiction code {code!r} must be a string")
    if not isinstance(entry, Mapping):
        raise InvalidTaxTableError(f"jurisdiction {code} must be an object")
    _reject_unknown(entry, _JURISDICTION_KEYS, f"jurisdiction {code}")
    if "rate" not in entry:
        raise InvalidTaxTableError(f"jurisdiction {code} has no rate")
    raw_groups = entry.get("tax_group_rates", {})
    if not isinstance(raw_groups, Mapping):
        raise InvalidTaxTableError(f"tax_group_rates of {code} must be an object")
    replaces = entry.get("replaces_country", False)
    if not isinstance(replaces, bool):
        raise InvalidTaxTableError(f"replaces_country of {code} must be true or false")
    return Jurisdiction(
        code=code,
        rate=_parse_rate(entry["rate"], f"rate of {code}"),
        tax_name=entry.get("tax_name", "Tax"),
        tax_group_rates={
            str(group): _parse_rate(rate, f"rate of tax group {group!r} in {code}")
            for group, rate in raw_groups.items()
        },
        replaces_country=replaces,
    )
