"""Property-based tests (hypothesis) of the engine's invariants, over random carts.

For every input the strategy can build (any currency's minor unit, sub-unit prices, discounts
bigger than what they discount, global and specific order discounts, free and partial shipping
discounts, taxable and untaxable fees, tax included or excluded, several jurisdictions and tax
groups, every payment option):

- the summary identity holds: total = subtotal - discount + shipping + fees (+ tax if excluded);
- fee prices are before tax in both modes, their tax added on top;
- the summary is the sum of its rounded parts, and so is each of pay_now and pay_later, which
  add up to it;
- nothing is negative, and no discount exceeds what it discounts (lines, shipping, its own
  amount);
- every amount is a whole number of minor units and each rounded part is within half a minor
  unit of its exact value;
- the result is deterministic.
"""

from __future__ import annotations

import functools
from dataclasses import fields
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from services.pricing import (
    DiscountSource,
    DiscountSourceKind,
    DiscountType,
    FeeInput,
    Jurisdiction,
    LineDiscount,
    LineInput,
    OrderDiscount,
    PaymentOption,
    PriceSummary,
    PricingInput,
    PricingResult,
    ShippingDiscount,
    ShippingInput,
    TaxAddress,
    TaxTable,
    calculate,
    minor_unit,
    minor_units,
    quantize,
    tax_in_gross,
    tax_on_net,
)

D = Decimal
CURRENCIES = ["USD", "JPY", "KWD", "CLF", "EUR"]
ADDRESSES = [
    None,
    TaxAddress("DE"),
    TaxAddress("US", "NY"),
    TaxAddress("US", "CA"),
    TaxAddress("FR"),
]
GROUPS = [None, "reduced", "exempt"]


# Strategies are built once per (currency, magnitude, line count) and cached: building them
# inside the composite on every example costs more than running the engine.


@functools.cache
def amounts(currency: str, max_value: int, extra_places: int = 2) -> st.SearchStrategy[Decimal]:
    """Non-negative amounts with up to `extra_places` digits below the currency's minor unit."""
    places = minor_units(currency) + extra_places
    return st.integers(0, max_value * 10**places).map(lambda n: Decimal(n).scaleb(-places))


RATES = st.integers(0, 30_000).map(lambda n: Decimal(n).scaleb(-5))  # 0 .. 0.30000
SOURCES = st.builds(
    DiscountSource, st.sampled_from(list(DiscountSourceKind)), st.sampled_from(["s1", "s2", "s3"])
)
QUANTITIES = st.integers(1, 100) | st.integers(1, 100_000)
OPTIONAL_GROUPS = st.sampled_from(GROUPS)


@st.composite
def jurisdictions(draw: st.DrawFn, code: str) -> Jurisdiction:
    replaces = code == "US-CA" and draw(st.booleans())
    reduced = draw(RATES)
    return Jurisdiction(
        code, draw(RATES), "Tax " + code, {"reduced": reduced, "exempt": D(0)}, replaces
    )


TAX_TABLES = st.builds(
    TaxTable,
    st.lists(st.sampled_from(["DE", "US", "US-NY", "US-CA"]), unique=True, max_size=4).flatmap(
        lambda codes: st.tuples(*(jurisdictions(code) for code in codes))
    ),
    shipping_taxable=st.booleans(),
    fees_taxable=st.booleans(),
    shipping_tax_group=OPTIONAL_GROUPS,
)


@functools.cache
def parts(currency: str, big: int, n_lines: int) -> st.SearchStrategy[dict[str, Any]]:
    """Everything of a PricingInput but the currency, for `n_lines` lines named l0, l1, ..."""
    ids = [f"l{i}" for i in range(n_lines)]
    some_ids = st.lists(st.sampled_from(ids), unique=True).map(tuple) if ids else st.just(())
    lines = st.tuples(
        *(
            st.builds(
                LineInput,
                st.just(line_id),
                amounts(currency, big),
                QUANTITIES,
                taxable=st.booleans(),
                tax_group=OPTIONAL_GROUPS,
                payment_option=st.sampled_from(list(PaymentOption)),
                deposit_amount=st.none() | amounts(currency, big),
            )
            for line_id in ids
        )
    )
    line_discounts = (
        st.lists(
            st.builds(LineDiscount, SOURCES, st.sampled_from(ids), amounts(currency, big * 200)),
            max_size=8,
        )
        if ids
        else st.just([])
    )
    order_discounts = st.lists(
        st.builds(OrderDiscount, SOURCES, amounts(currency, big * 100), some_ids), max_size=3
    )
    shipping = st.none() | st.builds(
        ShippingInput,
        amounts(currency, big),
        st.lists(
            st.builds(ShippingDiscount, SOURCES, st.none() | amounts(currency, big * 2)),
            max_size=3,
        ),
    )
    fees = st.lists(
        st.builds(
            FeeInput,
            st.sampled_from(["f1", "f2", "f3"]),
            amounts(currency, big),
            taxable=st.booleans(),
            tax_group=OPTIONAL_GROUPS,
            line_ids=some_ids,
        ),
        max_size=3,
        unique_by=lambda fee: fee.id,
    )
    return st.fixed_dictionaries(
        {
            "lines": lines,
            "tax_included_in_prices": st.booleans(),
            "line_discounts": line_discounts,
            "order_discounts": order_discounts,
            "shipping": shipping,
            "fees": fees,
            "tax_address": st.sampled_from(ADDRESSES),
            "tax_table": st.none() | TAX_TABLES,
        }
    )


@st.composite
def pricing_inputs(draw: st.DrawFn) -> PricingInput:
    currency = draw(st.sampled_from(CURRENCIES))
    big = draw(st.sampled_from([100, 10_000, 10**9]))
    n_lines = draw(st.integers(0, 6))
    return PricingInput(currency=currency, **draw(parts(currency, big, n_lines)))


def identity_holds(s: PriceSummary, tax_included: bool) -> bool:
    expected = s.subtotal - s.discount + s.shipping + s.additional_fees
    if not tax_included:
        expected += s.tax
    return s.total == expected


def all_amounts(result: PricingResult) -> list[Decimal]:
    found: list[Decimal] = []
    summaries = [result.price_summary, result.pay_now, result.pay_later]
    found += [getattr(s, f.name) for s in summaries for f in fields(s)]
    found += [result.tax_summary.taxable_amount, result.tax_summary.total_tax]
    details = [line.tax_details for line in result.lines] + [f.tax_details for f in result.fees]
    for line in result.lines:
        found += [
            line.line_item_price,
            line.total_discount,
            line.total_price_before_tax,
            line.total_price_after_tax,
        ]
        found += [part.amount for part in line.discounts]
    if result.shipping is not None:
        s = result.shipping
        found += [s.price, s.total_discount, s.total_price_before_tax, s.total_price_after_tax]
        found += [part.amount for part in s.discounts]
        details.append(s.tax_details)
    for fee in result.fees:
        found += [fee.price, fee.price_before_tax, fee.price_after_tax]
    for d in details:
        found += [d.taxable_amount, d.total_tax] + [b.tax_amount for b in d.tax_breakdown]
    found += [d.amount for d in result.applied_discounts]
    return found


@settings(max_examples=100, deadline=None)
@given(pricing_inputs())
def test_invariants(data: PricingInput) -> None:
    result = calculate(data)
    included = data.tax_included_in_prices
    unit = minor_unit(data.currency)
    zero = D(0)
    s = result.price_summary

    # total = subtotal - discount + shipping + fees (+ tax when excluded), for every summary.
    for summary in (s, result.pay_now, result.pay_later):
        assert identity_holds(summary, included)
    # pay_now + pay_later = price_summary, field by field.
    for f in fields(PriceSummary):
        assert getattr(result.pay_now, f.name) + getattr(result.pay_later, f.name) == getattr(
            s, f.name
        )

    # Every amount is a whole number of minor units and none is negative.
    for amount in all_amounts(result):
        assert amount >= 0
        assert amount.as_tuple().exponent == -minor_units(data.currency)

    # The summary is the sum of the rounded parts; nothing is rounded twice.
    lines = result.lines
    assert s.subtotal == sum((line.line_item_price for line in lines), zero)
    assert s.discount == sum((line.total_discount for line in lines), zero)
    assert s.additional_fees == sum((fee.price for fee in result.fees), zero)
    taxes = [line.tax_details.total_tax for line in lines]
    taxes += [fee.tax_details.total_tax for fee in result.fees]
    after_tax = [line.total_price_after_tax for line in lines]
    after_tax += [fee.price_after_tax for fee in result.fees]
    if result.shipping is not None:
        taxes.append(result.shipping.tax_details.total_tax)
        after_tax.append(result.shipping.total_price_after_tax)
        assert s.shipping == result.shipping.price - result.shipping.total_discount
    else:
        assert s.shipping == 0
    assert s.tax == sum(taxes, zero) == result.tax_summary.total_tax
    assert s.total == sum(after_tax, zero)

    # Discounts never exceed what they discount; the parts add up.
    for line, given_line in zip(lines, data.lines, strict=True):
        assert line.total_discount <= line.line_item_price
        assert line.total_discount == sum((p.amount for p in line.discounts), zero)
        # Rounding drifts at most half a minor unit from the exact line price.
        assert abs(line.line_item_price - given_line.price * given_line.quantity) <= unit / 2
        details = line.tax_details
        assert details.total_tax == sum((b.tax_amount for b in details.tax_breakdown), zero)
        net_or_gross = line.line_item_price - line.total_discount
        if details.tax_breakdown:
            exact = (tax_in_gross if included else tax_on_net)(net_or_gross, details.tax_rate)
            assert abs(details.total_tax - exact) <= unit / 2
            assert line.total_price_after_tax - line.total_price_before_tax == details.total_tax
        else:
            assert details.total_tax == 0
    # Fee prices are before tax in both modes (the fees SPI); their tax is added on top, and the
    # fee is charged in the terms of the other prices.
    for fee, given_fee in zip(result.fees, data.fees, strict=True):
        assert fee.price_before_tax == quantize(given_fee.price, data.currency)
        assert fee.price_after_tax - fee.price_before_tax == fee.tax_details.total_tax
        assert fee.price == (fee.price_after_tax if included else fee.price_before_tax)
        if fee.tax_details.tax_breakdown:
            exact = tax_on_net(fee.price_before_tax, fee.tax_details.tax_rate)
            assert abs(fee.tax_details.total_tax - exact) <= unit / 2
    if result.shipping is not None:
        assert data.shipping is not None
        assert result.shipping.total_discount <= result.shipping.price
        assert abs(result.shipping.price - data.shipping.price) <= unit / 2

    # Each applied discount took at most what it asked for.
    requested: dict[tuple[DiscountSource, DiscountType], Decimal] = {}
    for d in data.line_discounts:
        key = (d.source, DiscountType.SPECIFIC_ITEMS)
        requested[key] = requested.get(key, zero) + quantize(d.amount, data.currency)
    for o in data.order_discounts:
        key = (o.source, DiscountType.SPECIFIC_ITEMS if o.line_ids else DiscountType.GLOBAL)
        requested[key] = requested.get(key, zero) + quantize(o.amount, data.currency)
    shipping_taken = zero
    line_taken = zero
    for applied in result.applied_discounts:
        if applied.discount_type is DiscountType.SHIPPING:
            shipping_taken += applied.amount
        else:
            line_taken += applied.amount
            assert applied.amount <= requested[(applied.source, applied.discount_type)]
    assert line_taken == s.discount
    shipping_discount = result.shipping.total_discount if result.shipping else zero
    assert shipping_taken == shipping_discount

    # Deterministic.
    assert calculate(data) == result


@st.composite
def order_discount_inputs(draw: st.DrawFn) -> PricingInput:
    currency = draw(st.sampled_from(CURRENCIES))
    prices = draw(st.lists(amounts(currency, 10_000), min_size=1, max_size=8))
    lines = [LineInput(f"l{i}", price, draw(st.integers(1, 20))) for i, price in enumerate(prices)]
    ids = [line.id for line in lines]
    named = draw(st.lists(st.sampled_from(ids), unique=True))
    source = DiscountSource(DiscountSourceKind.MERCHANT_DISCOUNT, "m")
    discount = OrderDiscount(source, draw(amounts(currency, 200_000)), tuple(named))
    return PricingInput(currency=currency, lines=lines, order_discounts=[discount])


@settings(max_examples=60, deadline=None)
@given(order_discount_inputs())
def test_order_discount_shares_add_up_and_stay_proportional(data: PricingInput) -> None:
    """An order discount's shares add up to what it took (its amount, capped at the lines'
    total) and each is within one minor unit of its exact proportional share."""
    result = calculate(data)
    unit = minor_unit(data.currency)
    order = data.order_discounts[0]
    targets = [
        line for line in result.lines if not order.line_ids or line.line_id in order.line_ids
    ]
    pool = sum((line.line_item_price for line in targets), D(0))
    taken = sum((line.total_discount for line in targets), D(0))
    assert taken == min(quantize(order.amount, data.currency), pool)
    assert result.applied_discounts[0].amount == taken
    for line in result.lines:
        if line not in targets:
            assert line.total_discount == 0
    for line in targets:
        exact = taken * line.line_item_price / pool if pool else D(0)
        assert abs(line.total_discount - exact) < unit
