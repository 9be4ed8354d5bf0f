"""The catalog's pure rules: references, item data, stock and reservation allocation, product
checks, and the registry's default reference providers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from services.platform.errors import (
    FailedPrecondition,
    InvalidArgument,
    RevisionMismatch,
    Violations,
)
from services.platform.providers.kinds import Kind
from services.providers.catalog import DEFAULT_APP_ID
from services.providers.catalog.domain import (
    ItemTypePreset,
    ProductInput,
    StockKey,
    VariantInput,
    WeightUnit,
    check_product,
    check_products,
    upserted,
)
from services.providers.catalog.items import available, convert_weight, item_data
from services.providers.catalog.references import Ref, resolve
from services.providers.catalog.reservations import (
    InsufficientStock,
    Line,
    Reservation,
    Status,
    Target,
    allocate,
)
from services.providers.catalog.stock import (
    Stock,
    StockSetting,
    adjust_stock,
    after_sale,
    set_stock,
)
from services.registry.defaults import REFERENCE_PROVIDERS, default_providers

NOW = datetime(2025, 1, 1, tzinfo=UTC)
APP = "ecom.catalog"


def _tee():  # type: ignore[no-untyped-def]
    (product,) = check_products(
        [
            ProductInput(
                id="tee",
                name="Tee",
                price="10",
                compare_at_price="12",
                weight="1",
                variants=[
                    VariantInput("s-red", {"Size": "S", "Color": "Red"}),
                    VariantInput("m-red", {"Size": "M", "Color": "Red"}, price="13"),
                ],
            )
        ]
    )
    return product


def test_references_select_variants_by_id_or_options() -> None:
    products = {"tee": _tee()}
    by_id = resolve(Ref("tee", APP, {"variantId": "m-red"}), APP, products)
    by_options = resolve(Ref("tee", APP, {"options": {"Color": "Red", "Size": "M"}}), APP, products)
    assert by_id is not None and by_options is not None
    assert by_id.variant == by_options.variant and by_id.stock_key == StockKey("tee", "m-red")
    both = {"variantId": "s-red", "options": {"Size": "S", "Color": "Red"}, "extra": [1]}
    assert resolve(Ref("tee", APP, both), APP, products) is not None
    unknown: list[dict[str, Any]] = [
        {},
        {"options": {}},
        {"variantId": ""},
        {"variantId": "s-red", "options": {"Size": "M", "Color": "Red"}},
        {"options": {"Size": "S"}},
        {"options": "S"},
    ]
    for options in unknown:
        assert resolve(Ref("tee", APP, options), APP, products) is None, options
    assert resolve(Ref("tee", "other", {"variantId": "s-red"}), APP, products) is None


def test_reference_keys_ignore_key_order() -> None:
    a = Ref("tee", APP, {"options": {"Size": "S", "Color": "Red"}, "variantId": "x"})
    b = Ref("tee", APP, {"variantId": "x", "options": {"Color": "Red", "Size": "S"}})
    assert a.key == b.key and a.key != Ref("tee", "x", dict(a.options)).key


def test_item_data_falls_back_to_the_product() -> None:
    product = _tee()
    small = resolve(Ref("tee", APP, {"variantId": "s-red"}), APP, {"tee": product})
    medium = resolve(Ref("tee", APP, {"variantId": "m-red"}), APP, {"tee": product})
    assert small is not None and medium is not None
    data = item_data(small, WeightUnit.KG, 4)
    assert (data.price, data.full_price, data.weight, data.root_catalog_item_id) == (
        "10.00",
        "12.00",
        "1",
        "tee",
    )
    assert data.description_lines == (("Color", "Red"), ("Size", "S"))
    # The product's compare-at price is below this variant's price: no "full price" below it.
    assert item_data(medium, WeightUnit.LB, None).full_price == "13.00"
    assert item_data(medium, WeightUnit.LB, None).weight == "2.205"


def test_weight_conversion_and_availability() -> None:
    assert convert_weight(Decimal("1"), WeightUnit.LB, WeightUnit.KG) == Decimal("0.454")
    assert convert_weight(Decimal("2.5"), WeightUnit.KG, WeightUnit.KG) == Decimal("2.5")
    assert available(visible=False, tracked=False, quantity=0, held=0) == 0
    assert available(visible=True, tracked=False, quantity=0, held=0) is None
    assert available(visible=True, tracked=True, quantity=3, held=5) == 0
    assert available(visible=True, tracked=True, quantity=2**40, held=0) == 2**31 - 1


def test_product_defaults_and_upserts() -> None:
    violations = Violations()
    ebook = check_product(
        ProductInput(id="e", name="E", price="1", item_type_preset=ItemTypePreset.DIGITAL),
        "p",
        violations,
    )
    assert not violations
    assert (ebook.currency, ebook.shippable, ebook.visible, ebook.weight_unit) == (
        "USD",
        False,
        True,
        WeightUnit.KG,
    )
    created = upserted(None, ebook, NOW)
    assert created is not None and created.revision == 1
    assert upserted(created, ebook, NOW + timedelta(1)) is None  # same content
    changed = upserted(created, check_product(ProductInput("e", "F", "1"), "p", violations), NOW)
    assert changed is not None and changed.revision == 2 and changed.created == NOW
    with pytest.raises(RevisionMismatch):
        upserted(
            created, check_product(ProductInput("e", "F", "1", revision=5), "p", violations), NOW
        )
    with pytest.raises(InvalidArgument) as bad:
        check_products([ProductInput("a", "A", "1"), ProductInput("a", "A", "1", weight_unit=9)])
    assert {v.field for v in bad.value.violations} == {"products[1].id", "products[1].weight_unit"}


def test_stock_rules() -> None:
    key = StockKey("mug")
    untracked = Stock(key)
    tracked = set_stock(untracked, StockSetting(key, 5), NOW)
    assert tracked is not None and (tracked.quantity, tracked.revision) == (5, 1)
    assert set_stock(tracked, StockSetting(key, 5), NOW) is None
    with pytest.raises(RevisionMismatch):
        set_stock(tracked, StockSetting(key, 6, revision=9), NOW)
    with pytest.raises(FailedPrecondition) as untracked_adjust:
        adjust_stock(untracked, 1, NOW)
    assert untracked_adjust.value.reason == "STOCK_NOT_TRACKED"
    with pytest.raises(FailedPrecondition) as negative:
        adjust_stock(tracked, -6, NOW)
    assert negative.value.reason == "STOCK_WOULD_BE_NEGATIVE"
    # An admin may lower stock under what reservations hold; sales never take it below 0.
    assert after_sale(tracked, 9, NOW).quantity == 0


def test_allocation_is_all_or_nothing_in_request_order() -> None:
    hot, cold = StockKey("hot"), StockKey("cold")
    a, b, c, d = (Ref(x, APP) for x in "abcd")
    lines = allocate("r", [Target(a, 2, hot, 3), Target(b, 1, hot, 3), Target(c, 9, cold, None)])
    assert [(line.held, line.stock) for line in lines] == [(2, hot), (1, hot), (0, None)]
    with pytest.raises(InsufficientStock) as short:
        allocate("r", [Target(a, 2, hot, 3), Target(b, 2, hot, 3), Target(d, 1, None, 0)])
    assert [(s.ref, s.requested, s.available) for s in short.value.shortages] == [
        (b, 2, 1),
        (d, 1, 0),
    ]
    assert short.value.metadata == {"reservation_id": "r"}


def test_reservations_expire_by_the_clock_and_compare_items() -> None:
    line = Line(Ref("a", APP, {"o": 1}), 2, StockKey("a"), 2)
    held = Reservation("r", Status.RESERVED, (line,), NOW)
    assert held.effective_status(NOW - timedelta(seconds=1)) is Status.RESERVED
    assert held.effective_status(NOW) is Status.EXPIRED
    assert held.same_items([(Ref("a", APP, {"o": 1}), 2)])
    assert not held.same_items([(Ref("a", APP, {"o": 1}), 3)])


def test_default_providers_cover_the_served_reference_targets() -> None:
    assert REFERENCE_PROVIDERS["catalog"] == (
        (Kind.CATALOG, DEFAULT_APP_ID),
        (Kind.INVENTORY, DEFAULT_APP_ID),
    )
    defaults = default_providers({"catalog"})
    assert [(e.kind, e.app_id, e.target) for e in defaults.for_site("any-site")] == [
        (Kind.CATALOG, "ecom.catalog", "@catalog"),
        (Kind.INVENTORY, "ecom.catalog", "@catalog"),
    ]
    assert len(default_providers(())) == 0
