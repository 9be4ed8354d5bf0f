"""Field masks and Price normalization on the order messages."""

from __future__ import annotations

import pytest

from ecom.orders.v1 import order_pb2
from services.orders import masks, prices
from services.platform import errors


def test_mask_copies_and_clears() -> None:
    target = order_pb2.Order()
    target.recipient_info.address.city = "Paris"
    target.recipient_info.contact_details.first_name = "Ann"
    target.buyer_info.email = "a@b.co"
    target.buyer_info.member_id = "m"
    source = order_pb2.Order(seen_by_a_human=True)
    source.buyer_info.email = "new@b.co"
    masks.apply(["recipient_info.address", "buyer_info.email", "seen_by_a_human"], source, target)
    assert not target.recipient_info.HasField("address")
    assert target.recipient_info.contact_details.first_name == "Ann"
    assert (target.buyer_info.email, target.buyer_info.member_id) == ("new@b.co", "m")
    assert target.seen_by_a_human
    line = order_pb2.OrderLineItem()
    line.description_lines.add().name.original = "Size"
    masks.apply(["description_lines"], order_pb2.OrderLineItem(), line)
    assert not line.description_lines


def test_mask_paths_and_emails() -> None:
    problems = errors.Violations()
    assert masks.check_paths(
        ["seen_by_a_human", "seen_by_a_human"], masks.ORDER_PATHS, problems
    ) == ("seen_by_a_human",)
    assert not problems
    masks.check_paths(["buyer_note"], masks.ORDER_PATHS, problems)
    masks.check_email("nope", "email", problems)
    masks.check_email("", "email", problems)
    with pytest.raises(errors.InvalidArgument) as failure:
        problems.raise_if_any()
    assert [v.field for v in failure.value.violations] == ["update_mask.paths[0]", "email", "email"]


def test_prices_are_checked_and_rewritten() -> None:
    order = order_pb2.Order()
    order.price_summary.total.amount = "12.5"
    order.price_summary.total.formatted_amount = "ignored"
    line = order.line_items.add()
    line.price.amount = "-1"
    line.tax_details.total_tax.amount = "0.125"
    order.price_summary.tax.formatted_amount = "no amount"
    problems = errors.Violations()
    prices.normalize_prices(order, "EUR", "de", problems, "order")
    total = order.price_summary.total
    assert (total.amount, total.converted_amount, total.formatted_amount) == (
        "12.50",
        "12.50",
        "12,50 €",
    )
    assert order.line_items[0].tax_details.total_tax.amount == "0.125"
    assert not order.price_summary.HasField("tax") or not order.price_summary.tax.formatted_amount
    with pytest.raises(errors.InvalidArgument) as failure:
        problems.raise_if_any()
    assert [v.field for v in failure.value.violations] == ["order.line_items[0].price.amount"]
