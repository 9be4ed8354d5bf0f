"""The store settings of every site: currency, languages, weight unit, tax, exchange rates.

Carts are created with them and checkouts, recommendations and the rest read the same ones, so a
cart and its checkout always agree.

Values come from `ECOM_CURRENCY`, `ECOM_SITE_LANGUAGE`, `ECOM_WEIGHT_UNIT`,
`ECOM_TAX_INCLUDED_IN_PRICES`, `ECOM_TAX_RATES` and `ECOM_EXCHANGE_RATES`; `ECOM_SITE_SETTINGS`
overrides any of them per site:

    {"shop-jp": {"currency": "JPY", "site_language": "ja", "tax_included_in_prices": true,
                 "tax_rates": {"jurisdictions": {"JP": {"tax_name": "JCT", "rate": "0.10"}}}}}

Everything is checked once, at start-up, so a typo stops the server instead of mispricing carts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from services.platform.config import Config, ConfigError
from services.platform.inputs import is_language_tag
from services.pricing import (
    InvalidAmountError,
    InvalidTaxTableError,
    TaxTable,
    UnknownCurrencyError,
    minor_units,
    parse_amount,
)

_KEYS = frozenset(
    {
        "currency",
        "site_language",
        "weight_unit",
        "tax_included_in_prices",
        "tax_rates",
        "exchange_rates",
    }
)


@dataclass(frozen=True)
class SiteSettings:
    currency: str
    site_language: str
    #: "KG" or "LB".
    weight_unit: str
    tax_included_in_prices: bool
    #: None: no tax is computed.
    tax_table: TaxTable | None
    #: Conversion currency -> units of it per unit of `currency`.
    exchange_rates: Mapping[str, Decimal] = field(default_factory=dict)

    def supports_conversion_to(self, currency: str) -> bool:
        return currency == self.currency or currency in self.exchange_rates


class SiteDirectory:
    """The settings of every site: per-site overrides over the deployment defaults."""

    def __init__(self, default: SiteSettings, overrides: Mapping[str, SiteSettings]) -> None:
        self._default = default
        self._overrides = dict(overrides)

    def for_site(self, site: str) -> SiteSettings:
        return self._overrides.get(site, self._default)

    @classmethod
    def from_config(cls, config: Config) -> SiteDirectory:
        base: dict[str, Any] = {
            "currency": config["CURRENCY"],
            "site_language": config["SITE_LANGUAGE"],
            "weight_unit": config["WEIGHT_UNIT"],
            "tax_included_in_prices": config["TAX_INCLUDED_IN_PRICES"],
            "tax_rates": config["TAX_RATES"],
            "exchange_rates": config["EXCHANGE_RATES"],
        }
        default = _settings(base, "ECOM_* store settings")
        overrides: dict[str, SiteSettings] = {}
        for site, entry in (config["SITE_SETTINGS"] or {}).items():
            where = f"ECOM_SITE_SETTINGS[{site!r}]"
            if not isinstance(entry, dict):
                raise ConfigError(f"{where}: must be an object")
            unknown = sorted(set(entry) - _KEYS)
            if unknown:
                raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}")
            overrides[str(site)] = _settings({**base, **entry}, where)
        return cls(default, overrides)


def _settings(values: Mapping[str, Any], where: str) -> SiteSettings:
    currency = values["currency"]
    try:
        minor_units(currency)
    except UnknownCurrencyError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    language = values["site_language"]
    if not isinstance(language, str) or not is_language_tag(language):
        raise ConfigError(
            f"{where}: site_language must be an IETF BCP 47 language tag such as 'en' or 'de-AT'"
        )
    weight_unit = str(values["weight_unit"]).upper()
    if weight_unit not in ("KG", "LB"):
        raise ConfigError(f"{where}: weight_unit must be KG or LB")
    included = values["tax_included_in_prices"]
    if not isinstance(included, bool):
        raise ConfigError(f"{where}: tax_included_in_prices must be true or false")
    table = None
    if values["tax_rates"] is not None:
        try:
            table = TaxTable.from_dict(values["tax_rates"])
        except InvalidTaxTableError as exc:
            raise ConfigError(f"{where}: tax_rates: {exc}") from None
    rates: dict[str, Decimal] = {}
    raw_rates = values["exchange_rates"] or {}
    if not isinstance(raw_rates, dict):
        raise ConfigError(f"{where}: exchange_rates must be an object")
    for code, rate in raw_rates.items():
        try:
            minor_units(code)
            if not isinstance(rate, str):
                raise InvalidAmountError('write rates as decimal strings ("0.92")')
            parsed = parse_amount(rate, non_negative=True)
        except (UnknownCurrencyError, InvalidAmountError) as exc:
            raise ConfigError(f"{where}: exchange_rates[{code!r}]: {exc}") from None
        if parsed <= 0:
            raise ConfigError(f"{where}: exchange_rates[{code!r}] must be positive")
        rates[code] = parsed
    return SiteSettings(
        currency=currency,
        site_language=language,
        weight_unit=weight_unit,
        tax_included_in_prices=included,
        tax_table=table,
        exchange_rates=MappingProxyType(rates),
    )
