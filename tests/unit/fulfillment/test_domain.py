"""The fulfillment rules without a server: remainders, limits, the status rule, updates."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from services.fulfillment import domain
from services.fulfillment.domain import (
    Draft,
    Fulfillment,
    FulfillmentStatus,
    LineQuantity,
    OrderFacts,
    OrderStatus,
    Patch,
)
from services.fulfillment.tracking import Tracking
from services.platform.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    RevisionMismatch,
    Violations,
)

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
ORDER = OrderFacts(
    id="o1",
    lines=(LineQuantity("a", 3), LineQuantity("b", 1)),
    visitor_id="v1",
    status=OrderStatus.APPROVED,
)


def made(*lines: tuple[str, int], position: int = 1) -> Fulfillment:
    return domain.new_fulfillment(
        "o1",
        position,
        tuple(LineQuantity(i, q) for i, q in lines),
        Draft(line_items=()),
        NOW,
    )


def draft(*lines: tuple[str, int], **fields: object) -> Draft:
    return Draft(line_items=tuple(LineQuantity(i, q) for i, q in lines), **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fulfilled", "status"),
    [
        ([], FulfillmentStatus.NOT_FULFILLED),
        ([("a", 1)], FulfillmentStatus.PARTIALLY_FULFILLED),
        ([("b", 1)], FulfillmentStatus.PARTIALLY_FULFILLED),
        ([("a", 3)], FulfillmentStatus.PARTIALLY_FULFILLED),
        ([("a", 2), ("b", 1), ("a", 1)], FulfillmentStatus.FULFILLED),
    ],
)
def test_the_status_rule(fulfilled: list[tuple[str, int]], status: FulfillmentStatus) -> None:
    fulfillments = [made(line) for line in fulfilled]
    assert domain.fulfillment_status(ORDER.lines, fulfillments) is status


def test_an_omitted_quantity_takes_what_remains() -> None:
    existing = [made(("a", 1))]
    resolved = domain.resolve_lines(ORDER, existing, draft(("a", 0), ("b", 0)))
    assert resolved == (LineQuantity("a", 2), LineQuantity("b", 1))


@pytest.mark.parametrize(
    ("existing", "wanted", "remaining"),
    [([("a", 1)], ("a", 3), "2"), ([("a", 3)], ("a", 0), "0"), ([("a", 3)], ("a", 1), "0")],
)
def test_more_than_remains_is_refused_with_what_remains(
    existing: list[tuple[str, int]], wanted: tuple[str, int], remaining: str
) -> None:
    with pytest.raises(FailedPrecondition) as caught:
        domain.resolve_lines(ORDER, [made(line) for line in existing], draft(wanted))
    assert caught.value.reason == "FULFILLMENT_QUANTITY_EXCEEDED"
    assert caught.value.metadata == {"line_item_id": "a", "remaining_quantity": remaining}


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (OrderStatus.INITIALIZED, "ORDER_NOT_APPROVED"),
        (OrderStatus.CANCELED, "ORDER_CANCELED"),
        (OrderStatus.UNSPECIFIED, "ORDER_NOT_APPROVED"),
    ],
)
def test_only_approved_orders_are_fulfilled(status: OrderStatus, reason: str) -> None:
    with pytest.raises(FailedPrecondition) as caught:
        domain.resolve_lines(replace(ORDER, status=status), [], draft(("a", 1)))
    assert caught.value.reason == reason


def test_a_line_that_is_not_on_the_order_is_not_found() -> None:
    with pytest.raises(NotFound) as caught:
        domain.resolve_lines(ORDER, [], draft(("a", 1), ("zz", 1)))
    assert caught.value.reason == "LINE_ITEM_NOT_FOUND"
    assert caught.value.metadata == {"line_item_id": "zz"}


def test_an_order_holds_at_most_300_fulfillments() -> None:
    big = replace(ORDER, lines=(LineQuantity("a", 1000),))
    existing = [made(("a", 1), position=n) for n in range(1, 301)]
    with pytest.raises(FailedPrecondition) as caught:
        domain.resolve_lines(big, existing, draft(("a", 1)))
    assert caught.value.reason == "FULFILLMENT_LIMIT_EXCEEDED"
    assert domain.resolve_lines(big, existing[:299], draft(("a", 1))) == (LineQuantity("a", 1),)


def test_draft_checks_report_every_problem() -> None:
    violations = Violations()
    bad = draft(("", 1), ("a", 1), ("a", -1), status="s" * 101)
    domain.check_draft(bad, "f", violations)
    with pytest.raises(InvalidArgument) as caught:
        violations.raise_if_any()
    assert [v.field for v in caught.value.violations] == [
        "f.line_items[0].id",
        "f.line_items[2].id",
        "f.line_items[2].quantity",
        "f.status",
    ]
    for lines in ([], [("x", 1)] * 301):
        violations = Violations()
        numbered = [(f"{i}{n}", q) for n, (i, q) in enumerate(lines)]
        domain.check_draft(draft(*numbered), "f", violations)
        assert violations


def test_mask_paths_are_limited_to_tracking_status_and_completion() -> None:
    assert domain.check_mask(["status", "tracking_info.tracking_number"]) == {
        "status",
        "tracking_info.tracking_number",
    }
    for paths in ([], ["line_items"], ["status", "tracking_info.carrier"]):
        with pytest.raises(InvalidArgument):
            domain.check_mask(paths)


TRACKED = replace(
    made(("a", 1)),
    tracking=Tracking("111", "ups", "https://www.ups.com/track?tracknum=111"),
)
LATER = NOW + timedelta(minutes=1)


def test_a_new_number_recomputes_the_link_unless_the_link_is_named() -> None:
    patch = Patch(paths=frozenset({"tracking_info.tracking_number"}), tracking=Tracking("222"))
    updated = domain.apply_patch(TRACKED, patch, LATER)
    assert updated is not None
    assert updated.tracking == Tracking("222", "ups", "https://www.ups.com/track?tracknum=222")
    assert (updated.revision, updated.updated) == (2, LATER)

    named = Patch(
        paths=frozenset({"tracking_info.tracking_number", "tracking_info.tracking_link"}),
        tracking=Tracking("222", "", "https://mine.example/222"),
    )
    kept = domain.apply_patch(TRACKED, named, LATER)
    assert kept is not None
    assert kept.tracking == Tracking("222", "ups", "https://mine.example/222")


def test_a_custom_carrier_empties_the_link_and_a_known_one_fills_it() -> None:
    to_custom = Patch(
        paths=frozenset({"tracking_info.shipping_provider"}),
        tracking=Tracking(shipping_provider="Bike Courier"),
    )
    custom = domain.apply_patch(TRACKED, to_custom, LATER)
    assert custom is not None
    assert custom.tracking == Tracking("111", "Bike Courier", "")
    back = Patch(
        paths=frozenset({"tracking_info.shipping_provider"}),
        tracking=Tracking(shipping_provider="FEDEX"),
    )
    fedex = domain.apply_patch(custom, back, LATER)
    assert fedex is not None
    assert fedex.tracking.tracking_link == "https://www.fedex.com/fedextrack/?trknbr=111"


def test_replacing_tracking_info_whole_keeps_a_given_link_and_fills_an_empty_one() -> None:
    whole = Patch(paths=frozenset({"tracking_info"}), tracking=Tracking("9", "dhl"))
    updated = domain.apply_patch(TRACKED, whole, LATER)
    assert updated is not None
    assert updated.tracking.shipping_provider == "dhl"
    assert updated.tracking.tracking_link.endswith("tracking-id=9")
    cleared = domain.apply_patch(TRACKED, Patch(paths=frozenset({"tracking_info"})), LATER)
    assert cleared is not None
    assert cleared.tracking.is_empty


def test_an_update_that_changes_nothing_is_none_and_stale_revisions_abort() -> None:
    same = Patch(paths=frozenset({"status", "completed"}), status="", completed=False)
    assert domain.apply_patch(TRACKED, same, LATER) is None
    unchanged_number = Patch(
        paths=frozenset({"tracking_info.tracking_number"}), tracking=Tracking("111")
    )
    assert domain.apply_patch(TRACKED, unchanged_number, LATER) is None
    with pytest.raises(RevisionMismatch):
        domain.apply_patch(TRACKED, replace(same, revision=7), LATER)
    status = domain.apply_patch(TRACKED, Patch(paths=frozenset({"status"}), status="Ready"), LATER)
    assert status is not None
    assert (status.status, status.revision) == ("Ready", 2)


def test_patch_checks_only_the_named_fields() -> None:
    junk = Tracking(tracking_link="not a url")
    domain.check_patch("o1", "f1", Patch(paths=frozenset({"status"}), tracking=junk))
    with pytest.raises(InvalidArgument) as caught:
        domain.check_patch(
            "o1", "f1", Patch(paths=frozenset({"tracking_info.tracking_link"}), tracking=junk)
        )
    assert [v.field for v in caught.value.violations] == ["fulfillment.tracking_info.tracking_link"]


def test_buyers_own_orders_by_visitor_or_member_id() -> None:
    domain.check_owner(ORDER, "v1")
    domain.check_owner(replace(ORDER, visitor_id="", member_id="m1"), "m1")
    with pytest.raises(PermissionDenied):
        domain.check_owner(ORDER, "v2")
    with pytest.raises(PermissionDenied):
        domain.check_owner(replace(ORDER, visitor_id=""), "")


def test_order_ids_of_a_list_are_checked_and_deduplicated() -> None:
    assert domain.check_order_ids(["b", "a", "b"], "order_ids") == ["b", "a"]
    for ids in ([], ["a", ""], [str(n) for n in range(101)]):
        with pytest.raises(InvalidArgument):
            domain.check_order_ids(ids, "order_ids")
