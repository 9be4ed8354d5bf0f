"""The tax model: configuration, jurisdiction lookup, inclusive and exclusive tax math."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from services.pricing import (
    InvalidTaxTableError,
    Jurisdiction,
    TaxAddress,
    TaxTable,
    tax_in_gross,
    tax_on_net,
)

D = Decimal

CONFIG = {
    "shipping_taxable": True,
    "fees_taxable": False,
    "shipping_tax_group": "reduced",
    "jurisdictions": {
        "DE": {"tax_name": "VAT", "rate": "0.19", "tax_group_rates": {"reduced": "0.07"}},
        "CA": {"tax_name": "GST", "rate": "0.05"},
        "CA-QC": {"tax_name": "QST", "rate": "0.09975"},
        "ES": {"tax_name": "VAT", "rate": "0.21"},
        "ES-CN": {"tax_name": "IGIC", "rate": "0.07", "replaces_country": True},
        "US-NY": {"tax_name": "Sales tax", "rate": "0.08875", "tax_group_rates": {"food": "0"}},
    },
}


def table() -> TaxTable:
    return TaxTable.from_dict(CONFIG)


def rates(address: TaxAddress | None, group: str | None = None) -> list[tuple[str, Decimal]]:
    return [(r.jurisdiction, r.rate) for r in table().rates_for(address, group)]


def test_from_dict_reads_everything() -> None:
    t = table()
    assert t.shipping_taxable is True
    assert t.fees_taxable is False
    assert t.shipping_tax_group == "reduced"
    de = t.get("DE")
    assert de is not None
    assert de.rate == D("0.19")
    assert de.tax_name == "VAT"
    assert de.rate_for("reduced") == D("0.07")
    assert de.rate_for("unknown-group") == D("0.19")


def test_defaults() -> None:
    t = TaxTable.from_dict({})
    assert t.shipping_taxable is True
    assert t.fees_taxable is True
    assert t.shipping_tax_group is None
    assert t.jurisdictions == ()
    assert Jurisdiction("FR", D("0.2")).tax_name == "Tax"


def test_round_trip_through_json() -> None:
    t = table()
    assert TaxTable.from_json(json.dumps(t.to_dict())) == t
    assert TaxTable.from_json(json.dumps(CONFIG)) == t


def test_country_rate() -> None:
    assert rates(TaxAddress("DE")) == [("DE", D("0.19"))]
    assert rates(TaxAddress("de", "DE-BY")) == [("DE", D("0.19"))]  # no DE-BY entry: country only
    assert rates(TaxAddress("DE"), "reduced") == [("DE", D("0.07"))]


def test_subdivision_adds_to_country() -> None:
    assert rates(TaxAddress("CA", "CA-QC")) == [("CA", D("0.05")), ("CA-QC", D("0.09975"))]
    assert rates(TaxAddress("CA", "qc")) == [("CA", D("0.05")), ("CA-QC", D("0.09975"))]
    assert rates(TaxAddress("CA", "CA-ON")) == [("CA", D("0.05"))]


def test_subdivision_alone_when_the_country_has_no_rate() -> None:
    assert rates(TaxAddress("US", "US-NY")) == [("US-NY", D("0.08875"))]
    assert rates(TaxAddress("US", "NY"), "food") == [("US-NY", D("0"))]
    assert rates(TaxAddress("US", "US-CA")) == []


def test_subdivision_replacing_the_country() -> None:
    assert rates(TaxAddress("ES", "ES-CN")) == [("ES-CN", D("0.07"))]
    assert rates(TaxAddress("ES", "ES-MD")) == [("ES", D("0.21"))]


def test_no_address_or_unknown_country_means_no_rates() -> None:
    assert rates(None) == []
    assert rates(TaxAddress("JP")) == []


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ({"jurisdiction": {}}, "unknown key"),
        ({"jurisdictions": {"DE": {"rate": "0.19", "rat": "1"}}}, "unknown key.*rat"),
        ({"jurisdictions": {"DE": {}}}, "no rate"),
        ({"jurisdictions": {"DE": {"rate": 0.19}}}, "decimal string"),
        ({"jurisdictions": {"DE": {"rate": "19%"}}}, "rate of DE"),
        ({"jurisdictions": {"DE": {"rate": "19"}}}, "between 0 and 1"),
        ({"jurisdictions": {"DE": {"rate": "-0.1"}}}, "negative"),
        ({"jurisdictions": {"DE": {"rate": "0.12345678901"}}}, "decimals"),
        ({"jurisdictions": {"de": {"rate": "0.19"}}}, "upper case"),
        ({"jurisdictions": {"Germany": {"rate": "0.19"}}}, "neither a country"),
        ({"jurisdictions": {"DE": {"rate": "0.19", "replaces_country": True}}}, "is a country"),
        ({"jurisdictions": {"DE": {"rate": "0.19", "tax_name": ""}}}, "tax_name"),
        ({"jurisdictions": {"DE": {"rate": "0.1", "tax_group_rates": {"r": "2"}}}}, "group"),
        ({"jurisdictions": []}, "object keyed"),
        ({"shipping_taxable": "yes"}, "true or false"),
        ({"jurisdictions": {"ES-CN": {"rate": "0.07", "replaces_country": 1}}}, "true or false"),
    ],
)
def test_bad_configuration_is_an_error(config: dict[str, object], problem: str) -> None:
    with pytest.raises(InvalidTaxTableError, match=problem):
        TaxTable.from_dict(config)


def test_json_rates_must_be_strings() -> None:
    with pytest.raises(InvalidTaxTableError, match=r"JSON number 0\.19"):
        TaxTable.from_json('{"jurisdictions": {"DE": {"rate": 0.19}}}')
    with pytest.raises(InvalidTaxTableError, match="not valid JSON"):
        TaxTable.from_json("{")


def test_duplicate_jurisdiction() -> None:
    with pytest.raises(InvalidTaxTableError, match="twice"):
        TaxTable((Jurisdiction("DE", D("0.19")), Jurisdiction("DE", D("0.07"))))


def test_tax_math() -> None:
    assert tax_on_net(D("100.00"), D("0.19")) == D("19.0000")
    assert tax_in_gross(D("119.00"), D("0.19")) == D("19")
    assert tax_on_net(D("39.98"), D("0.08875")) == D("3.5482250")
    # Tax inside a gross price: 29.97 * 0.19 / 1.19 = 4.785126...
    assert D("4.7851") < tax_in_gross(D("29.97"), D("0.19")) < D("4.7852")
    assert tax_in_gross(D("10"), D("0")) == 0


def test_the_documented_configuration_parses() -> None:
    import services.pricing.tax as tax_module

    doc = tax_module.__doc__ or ""
    example = doc[doc.index("    {\n") : doc.index("\n\nRates are")]
    parsed = TaxTable.from_json(example)
    assert [j.code for j in parsed.jurisdictions] == ["DE", "US-NY", "ES", "ES-CN"]
    assert parsed.shipping_tax_group is None
