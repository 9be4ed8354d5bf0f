"""ISO 4217 currencies: minor units and display symbols. Static data, no I/O.

`MINOR_UNITS` holds every currency of ISO 4217 list one (as published 2026-01-01) that has a
minor unit, i.e. every code a price can be in. The codes whose minor unit ISO gives as "N.A."
(precious metals XAU XAG XPD XPT, the units of account XBA XBB XBC XBD XDR XSU XUA, and the test
and no-currency codes XTS XXX) are left out: nothing is sold in them. A handful of codes withdrawn
since 2023 (ANG, BGN, CUC, HRK, SLL, ZWL) are kept so that carts, checkouts and orders stored in
them still price and format; new sites should not use them.

The minor unit is the number of decimal places amounts are rounded to: 0 for JPY ("1200"), 2 for
USD ("10.50"), 3 for KWD ("10.500"), 4 for the Chilean and Uruguayan units of account (CLF, UYW).
MGA and MRU divide into fifths, which ISO still lists as 2 decimal places; so do we.

`SYMBOLS` is the small table `format_amount` uses: the English (CLDR "en") symbol of the
currencies that have a distinct one. Every other currency is written with its code after the
amount ("10.500 KWD").
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

_NO_DECIMALS = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE_DECIMALS = "BHD IQD JOD KWD LYD OMR TND"
_FOUR_DECIMALS = "CLF UYW"
_TWO_DECIMALS = (
    "AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BMD BND BOB BOV BRL BSD BTN BWP BYN BZD "
    "CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP "
    "GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK "
    "LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO "
    "NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS "
    "SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED VES WST "
    "XAD XCD XCG YER ZAR ZMW ZWG"
)
# Withdrawn since 2023, kept for stored data (see the module docstring).
_WITHDRAWN_TWO_DECIMALS = "ANG BGN CUC HRK SLL ZWL"


def _table() -> dict[str, int]:
    table: dict[str, int] = {}
    groups = (
        (_NO_DECIMALS, 0),
        (_TWO_DECIMALS, 2),
        (_WITHDRAWN_TWO_DECIMALS, 2),
        (_THREE_DECIMALS, 3),
        (_FOUR_DECIMALS, 4),
    )
    for codes, minor in groups:
        for code in codes.split():
            if code in table:  # pragma: no cover - guards the literal above
                raise AssertionError(f"currency {code} listed twice")
            table[code] = minor
    return dict(sorted(table.items()))


#: ISO 4217 code -> number of decimal places of the minor unit.
MINOR_UNITS: Mapping[str, int] = MappingProxyType(_table())

#: ISO 4217 code -> English display symbol, for the currencies that have a distinct one.
SYMBOLS: Mapping[str, str] = MappingProxyType(
    {
        "AUD": "A$",
        "BRL": "R$",
        "CAD": "CA$",
        "CNY": "CN¥",
        "EUR": "€",
        "GBP": "£",
        "HKD": "HK$",
        "ILS": "₪",
        "INR": "₹",
        "JPY": "¥",
        "KRW": "₩",
        "MXN": "MX$",
        "NZD": "NZ$",
        "PHP": "₱",
        "TWD": "NT$",
        "USD": "$",
        "VND": "₫",
        "XAF": "FCFA",
        "XCD": "EC$",
        "XOF": "F\u202fCFA",
        "XPF": "CFPF",
    }
)
