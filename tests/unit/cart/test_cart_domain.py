"""The cart's pure rules: line merging, limits, removal, the merge of a visitor cart."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from services.cart import domain
from services.cart.domain import (
    Buyer,
    BuyerKind,
    Cart,
    CatalogEntry,
    CatalogRef,
    CatalogStatus,
    Line,
    MerchantDiscount,
    NewLine,
)
from services.platform.errors import FailedPrecondition
from services.platform.identity import Caller, Role

NOW = datetime(2025, 1, 1, tzinfo=UTC)


def cart(*lines: Line, buyer: Buyer | None = None) -> Cart:
    return Cart(
        id="c1",
        site="s",
        buyer=buyer or Buyer(BuyerKind.VISITOR, "v"),
        currency="USD",
        site_language="en",
        tax_included_in_prices=False,
        weight_unit="KG",
        purchase_flow_id="p",
        created=NOW,
        updated=NOW,
        lines=lines,
    )


def ref(item: str, options: str = "{}") -> CatalogRef:
    return CatalogRef("shop", item, options)


def test_equal_references_add_up_and_new_ones_append_in_order() -> None:
    start = cart(Line("a", ref("tee"), 1))
    result = domain.add_lines(
        start,
        [
            NewLine(ref("mug"), 2, 0, "l1"),
            NewLine(ref("tee"), 3, 1, "l2"),
            NewLine(ref("mug"), 1, 2, "l3"),
        ],
    )
    assert [(line.id, line.ref.item_id, line.quantity) for line in result.lines] == [
        ("a", "tee", 4),
        ("l1", "mug", 3),
    ]


def test_a_request_names_its_new_lines_alike_each_time_its_rule_runs() -> None:
    items = [NewLine(ref("mug"), 1, 0), NewLine(ref("tee"), 1, 1)]
    start = cart(Line("a", ref("tee"), 1))
    first, again = domain.add_lines(start, items), domain.add_lines(start, items)
    assert first.lines == again.lines
    assert first.lines[1].id == items[0].line_id


def test_options_tell_variants_apart() -> None:
    result = domain.add_lines(
        cart(),
        [NewLine(ref("tee", '{"size":"M"}'), 1, 0), NewLine(ref("tee", '{"size":"L"}'), 1, 1)],
    )
    assert len(result.lines) == 2


def test_quantity_and_line_limits_name_the_request_line() -> None:
    with pytest.raises(FailedPrecondition) as within_request:
        domain.add_lines(cart(), [NewLine(ref("a"), 99_999, 0), NewLine(ref("a"), 2, 1)])
    assert within_request.value.reason == "LINE_ITEM_QUANTITY_LIMIT_EXCEEDED"
    assert within_request.value.metadata == {"line_item_index": "1"}
    with pytest.raises(FailedPrecondition) as with_cart:
        domain.add_lines(cart(Line("x", ref("a"), 100_000)), [NewLine(ref("a"), 1, 0)])
    assert with_cart.value.metadata == {"line_item_index": "0"}
    full = cart(*(Line(f"x{n}", ref(f"i{n}"), 1) for n in range(300)))
    assert domain.add_lines(full, [NewLine(ref("i7"), 1, 0)]).lines[7].quantity == 2
    with pytest.raises(FailedPrecondition) as too_many:
        domain.add_lines(full, [NewLine(ref("new"), 1, 0)])
    assert too_many.value.reason == "LINE_ITEMS_LIMIT_EXCEEDED"


def test_removing_lines_trims_merchant_discounts() -> None:
    start = replace(
        cart(Line("a", ref("a"), 1), Line("b", ref("b"), 1)),
        merchant_discounts=(
            MerchantDiscount(Decimal("1"), ("a",)),
            MerchantDiscount(Decimal("2"), ("a", "b")),
            MerchantDiscount(Decimal("3")),
        ),
    )
    result = domain.remove_lines(start, ["a", "zz"])
    assert [line.id for line in result.lines] == ["b"]
    assert result.merchant_discounts == (
        MerchantDiscount(Decimal("2"), ("b",)),
        MerchantDiscount(Decimal("3")),
    )
    assert domain.remove_lines(start, ["zz"]) is start


def test_set_quantities_is_all_or_nothing() -> None:
    start = cart(Line("a", ref("a"), 1))
    assert domain.set_quantities(start, {"a": 4}).lines[0].quantity == 4
    with pytest.raises(FailedPrecondition) as unknown:
        domain.set_quantities(start, {"a": 4, "b": 1})
    assert unknown.value.metadata == {"line_item_id": "b"}


def test_catalog_refreshes_are_not_changes_and_unknown_items_keep_their_last_data() -> None:
    start = cart(Line("a", ref("a"), 1, CatalogEntry(CatalogStatus.FOUND, b"old")))
    forgotten = domain.apply_catalog(start, {ref("a"): CatalogEntry(CatalogStatus.NOT_FOUND)})
    assert forgotten.lines[0].catalog == CatalogEntry(CatalogStatus.NOT_FOUND, b"old")
    assert not domain.changed(start, forgotten)
    assert domain.changed(start, domain.set_quantities(start, {"a": 2}))


def test_merge_rule() -> None:
    member = cart(Line("m1", ref("a"), 99_990), buyer=Buyer(BuyerKind.MEMBER, "m"))
    visitor = replace(
        cart(Line("v1", ref("a"), 20), Line("v2", ref("b"), 2)),
        coupon_code="HELLO",
        buyer_note="visitor note",
        merchant_discounts=(MerchantDiscount(Decimal("5")),),
    )
    result = domain.merge(member, visitor)
    assert [(line.id, line.quantity) for line in result.cart.lines] == [("m1", 100_000), ("v2", 2)]
    assert result.cart.coupon_code == "HELLO" and result.cart.buyer_note == "visitor note"
    assert result.cart.merchant_discounts == ()  # never carried over
    assert result.cart.buyer == member.buyer and not result.skipped


def test_access_is_by_role_and_subject() -> None:
    visitor_cart = cart()
    assert domain.owns(visitor_cart, Caller("s", "v", Role.VISITOR))
    assert not domain.owns(visitor_cart, Caller("s", "v", Role.MEMBER))
    domain.check_access(visitor_cart, Caller("s", "anyone", Role.ADMIN))
    with pytest.raises(domain.PermissionDenied):
        domain.check_access(visitor_cart, Caller("s", "w", Role.VISITOR))
