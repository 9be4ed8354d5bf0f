"""The shared request checks (services.platform.inputs) and the site settings (sites.py)."""

from __future__ import annotations

import json
import math
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import struct_pb2

from ecom.common.v1 import address_pb2, catalog_pb2, line_item_pb2, pricing_pb2
from services.platform import inputs
from services.platform.config import ConfigError, load_config
from services.platform.errors import Violations
from services.platform.sites import SiteDirectory, SiteSettings


def fields(check: object, *args: object, **kwargs: object) -> list[str]:
    violations = Violations()
    check(violations, *args, **kwargs)  # type: ignore[operator]
    try:
        violations.raise_if_any()
    except Exception as exc:  # noqa: BLE001 - InvalidArgument; its fields are the answer
        return [v.field for v in exc.violations]  # type: ignore[attr-defined]
    return []


@pytest.mark.parametrize("tag", ["en", "de", "de-AT", "zh-Hant-TW", "gsw", "es-419"])
def test_bcp47_tags_are_languages(tag: str) -> None:
    assert inputs.is_language_tag(tag)
    assert fields(inputs.check_language, "buyer_language", tag) == []


@pytest.mark.parametrize("tag", ["German", "EN", "e", "de_AT", "de-", "-de", "de-AT-"])
def test_other_texts_are_not(tag: str) -> None:
    assert not inputs.is_language_tag(tag)
    assert fields(inputs.check_language, "buyer_language", tag) == ["buyer_language"]


def test_empty_language_means_unset() -> None:
    assert fields(inputs.check_language, "buyer_language", "") == []


def _reference(
    item: str = "item", app: str = "app", **options: Any
) -> catalog_pb2.CatalogReference:
    reference = catalog_pb2.CatalogReference(catalog_item_id=item, app_id=app)
    reference.options.update(options)
    return reference


def test_catalog_reference_options_are_canonical() -> None:
    violations = Violations()
    one = _reference(options={"Size": "M", "Color": "red"}, variant=2)
    other = _reference(variant=2.0, options={"Color": "red", "Size": "M"})
    first = inputs.check_catalog_reference(violations, "ref", one)
    second = inputs.check_catalog_reference(violations, "ref", other)
    assert not violations
    assert first == second == '{"options":{"Color":"red","Size":"M"},"variant":2}'
    assert inputs.check_catalog_reference(violations, "ref", _reference()) == "{}"


def test_catalog_reference_problems_name_their_fields() -> None:
    bad_ids = _reference(item="", app="a" * (inputs.MAX_APP_ID_LENGTH + 1))
    assert fields(inputs.check_catalog_reference, "line_items[0].catalog_reference", bad_ids) == [
        "line_items[0].catalog_reference.catalog_item_id",
        "line_items[0].catalog_reference.app_id",
    ]
    long_item = _reference(item="i" * (inputs.MAX_ITEM_ID_LENGTH + 1))
    assert fields(inputs.check_catalog_reference, "r", long_item) == ["r.catalog_item_id"]
    nan = _reference()
    nan.options.fields["x"].number_value = math.nan
    no_kind = _reference()
    no_kind.options.fields["x"].CopyFrom(struct_pb2.Value())
    deep: dict[str, Any] = {}
    cursor = deep
    for _ in range(inputs.MAX_OPTIONS_DEPTH + 1):
        cursor["n"] = {}
        cursor = cursor["n"]
    too_deep = _reference(**deep)
    too_big = _reference(blob="x" * inputs.MAX_OPTIONS_BYTES)
    for reference in (nan, no_kind, too_deep, too_big):
        violations = Violations()
        assert inputs.check_catalog_reference(violations, "r", reference) is None
        assert fields(inputs.check_catalog_reference, "r", reference) == ["r.options"]


def test_quantities_and_line_counts() -> None:
    assert fields(inputs.check_quantity, "q", 1) == []
    assert fields(inputs.check_quantity, "q", inputs.MAX_QUANTITY) == []
    assert fields(inputs.check_quantity, "q", 0) == ["q"]
    assert fields(inputs.check_quantity, "q", inputs.MAX_QUANTITY + 1) == ["q"]
    assert fields(inputs.check_line_count, "lines", 0, required=True) == ["lines"]
    assert fields(inputs.check_line_count, "lines", 0, required=False) == []
    assert fields(inputs.check_line_count, "lines", inputs.MAX_LINES + 1, required=False) == [
        "lines"
    ]


def test_quantity_updates_name_each_bad_entry() -> None:
    update = line_item_pb2.LineItemQuantityUpdate
    violations = Violations()
    given = [update(id="a", quantity=2), update(id="a", quantity=3), update(id="", quantity=0)]
    assert inputs.check_quantity_updates(violations, "line_items", given) == {"a": 3, "": 0}
    assert fields(inputs.check_quantity_updates, "line_items", given) == [
        "line_items[1].id",
        "line_items[2].id",
        "line_items[2].quantity",
    ]
    assert fields(inputs.check_quantity_updates, "line_items", []) == ["line_items"]
    assert fields(inputs.check_line_ids, "ids", ["a", "x" * (inputs.MAX_LINE_ID + 1)]) == ["ids[1]"]


def test_emails_and_their_limits() -> None:
    longest = "a" * (inputs.MAX_EMAIL - len("@example.com")) + "@example.com"
    assert fields(inputs.check_email, "email", longest) == []
    assert fields(inputs.check_email, "email", longest, max_length=250) == ["email"]
    assert fields(inputs.check_email, "email", "not an email") == ["email"]
    assert fields(inputs.check_email, "email", "") == []


def test_addresses() -> None:
    good = address_pb2.Address(country="US", subdivision="US-NY", city="New York")
    assert fields(inputs.check_address, "a", good) == []
    bad = address_pb2.Address(country="usa", subdivision="CA-QC", city="x" * 501)
    assert fields(inputs.check_address, "a", bad) == ["a.country", "a.subdivision", "a.city"]
    contact = address_pb2.AddressWithContact(address=good)
    contact.contact_details.phone = "1" * 501
    assert fields(inputs.check_address_with_contact, "info", contact) == [
        "info.contact_details.phone"
    ]


def test_amounts() -> None:
    violations = Violations()
    assert inputs.check_amount(violations, "p", "10.50") == Decimal("10.50")
    assert inputs.check_amount(violations, "p", "") is None
    assert not violations
    assert fields(inputs.check_amount, "p", "", required=True) == ["p"]
    assert fields(inputs.check_amount, "p", "-1") == ["p"]
    assert fields(inputs.check_amount, "p", "1e3") == ["p"]


def test_merchant_discounts() -> None:
    given = pricing_pb2.MerchantDiscountInput
    violations = Violations()
    good = given(amount="5", description="Sorry", line_item_ids=["a", "b"])
    assert inputs.check_merchant_discount(violations, "d", good) == Decimal(5)
    assert not violations
    bad = given(amount="0", description="x" * 501, line_item_ids=["a", "a"])
    assert fields(inputs.check_merchant_discount, "d", bad) == [
        "d.amount",
        "d.description",
        "d.line_item_ids",
    ]
    too_many = [good] * (inputs.MAX_MERCHANT_DISCOUNTS + 1)
    assert fields(inputs.check_merchant_discount_count, "m", too_many) == ["m"]


def test_conversion_currency_follows_the_site() -> None:
    site = SiteSettings("USD", "en", "KG", False, None, {"EUR": Decimal("0.9")})
    check = inputs.check_conversion_currency
    assert fields(check, "c", "", site) == fields(check, "c", "EUR", site) == []
    assert fields(check, "c", "USD", site) == []
    assert fields(check, "c", "JPY", site) == ["c"]
    assert fields(check, "c", "eur", site) == ["c"]


def test_site_languages_are_bcp47_tags(tmp_path: Path) -> None:
    def directory(**environ: str) -> SiteDirectory:
        return SiteDirectory.from_config(load_config({"ECOM_DATA_DIR": str(tmp_path), **environ}))

    sites = directory(
        ECOM_SITE_LANGUAGE="de-AT",
        ECOM_SITE_SETTINGS=json.dumps({"ch": {"site_language": "gsw-CH"}}),
    )
    assert sites.for_site("any").site_language == "de-AT"
    assert sites.for_site("ch").site_language == "gsw-CH"
    with pytest.raises(ConfigError, match="BCP 47"):
        directory(ECOM_SITE_SETTINGS=json.dumps({"x": {"site_language": "German"}}))
    with pytest.raises(ConfigError, match="ECOM_SITE_LANGUAGE"):
        directory(ECOM_SITE_LANGUAGE="EN")
