"""Hand-computed examples of the engine: each number below was worked out on paper."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.pricing import (
    DiscountSource,
    DiscountSourceKind,
    DiscountType,
    FeeInput,
    InvalidAmountError,
    InvalidPricingInputError,
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
    UnknownCurrencyError,
    calculate,
    format_amount,
    to_wire,
)

D = Decimal

RULE = DiscountSourceKind.DISCOUNT_RULE
COUPON = DiscountSourceKind.COUPON
MERCHANT = DiscountSourceKind.MERCHANT_DISCOUNT


def src(kind: DiscountSourceKind, source_id: str) -> DiscountSource:
    return DiscountSource(kind, source_id)


def summary(result: PricingResult) -> dict[str, str]:
    s = result.price_summary
    return {k: str(getattr(s, k)) for k in PriceSummary.__dataclass_fields__}


def money(*values: str) -> dict[str, str]:
    keys = ("subtotal", "discount", "shipping", "additional_fees", "tax", "total")
    return dict(zip(keys, values, strict=True))


def table(
    *jurisdictions: Jurisdiction, shipping_taxable: bool = True, fees_taxable: bool = True
) -> TaxTable:
    return TaxTable(jurisdictions, shipping_taxable=shipping_taxable, fees_taxable=fees_taxable)


# --------------------------------------------------------------------------- currencies


def test_usd_line_totals_are_rounded_once_per_line_half_even() -> None:
    result = calculate(
        PricingInput(
            currency="USD",
            lines=[
                LineInput("a", D("10.50"), 3),
                LineInput("b", D("0.125"), 3),  # 0.375 -> 0.38 (half-even: 7 is odd)
                LineInput("c", D("0.125"), 1),  # 0.125 -> 0.12 (half-even: 2 is even)
            ],
            shipping=ShippingInput(D("5")),
        )
    )
    assert [str(line.line_item_price) for line in result.lines] == ["31.50", "0.38", "0.12"]
    assert result.lines[1].price == D("0.125")  # unit prices are echoed exactly
    assert to_wire(result.lines[1].price, "USD", keep_precision=True) == "0.125"
    assert summary(result) == money("32.00", "0.00", "5.00", "0.00", "0.00", "37.00")
    assert result.pay_now == result.price_summary
    assert result.pay_later.total == D("0.00")


def test_jpy_has_no_decimals_and_ties_go_to_even_yen() -> None:
    jp = table(Jurisdiction("JP", D("0.10"), "Consumption tax"))
    result = calculate(
        PricingInput(
            currency="JPY",
            lines=[
                LineInput("a", D("1205"), 1),  # tax 120.5 -> 120
                LineInput("b", D("1215"), 1),  # tax 121.5 -> 122
                LineInput("c", D("1200"), 2),  # tax 240
            ],
            shipping=ShippingInput(D("500")),  # tax 50
            tax_address=TaxAddress("JP"),
            tax_table=jp,
        )
    )
    assert [str(line.tax_details.total_tax) for line in result.lines] == ["120", "122", "240"]
    assert summary(result) == money("4820", "0", "500", "0", "532", "5852")
    assert format_amount(result.price_summary.total, "JPY") == "¥5,852"


def test_kwd_has_three_decimals() -> None:
    result = calculate(
        PricingInput(
            currency="KWD",
            lines=[
                LineInput("a", D("1.2345"), 1),  # -> 1.234
                LineInput("b", D("2.0005"), 1),  # -> 2.000
                LineInput("c", D("1.2355"), 1),  # -> 1.236
            ],
            line_discounts=[LineDiscount(src(RULE, "r"), "a", D("0.1235"))],  # -> 0.124
        )
    )
    assert [str(line.line_item_price) for line in result.lines] == ["1.234", "2.000", "1.236"]
    assert summary(result) == money("4.470", "0.124", "0.000", "0.000", "0.000", "4.346")
    assert format_amount(result.price_summary.total, "KWD") == "4.346 KWD"


# --------------------------------------------------------------------------- tax


def test_tax_included_vat_19_percent_de() -> None:
    de = table(Jurisdiction("DE", D("0.19"), "VAT", {"reduced": D("0.07")}))
    result = calculate(
        PricingInput(
            currency="EUR",
            tax_included_in_prices=True,
            lines=[
                LineInput("a", D("119.00"), 1),  # tax 19.00, net 100.00
                LineInput("b", D("9.99"), 3),  # 29.97 * 0.19 / 1.19 = 4.7851.. -> 4.79
                LineInput("c", D("10.70"), 1, tax_group="reduced"),  # 10.70 * .07 / 1.07 = 0.70
            ],
            shipping=ShippingInput(D("4.90")),  # 0.7823.. -> 0.78
            tax_address=TaxAddress("DE"),
            tax_table=de,
        )
    )
    a, b, c = result.lines
    assert (a.tax_details.total_tax, a.total_price_before_tax, a.total_price_after_tax) == (
        D("19.00"),
        D("100.00"),
        D("119.00"),
    )
    assert (b.tax_details.total_tax, b.total_price_before_tax) == (D("4.79"), D("25.18"))
    assert b.tax_details.taxable_amount == D("25.18")
    assert (c.tax_details.tax_rate, c.tax_details.total_tax) == (D("0.07"), D("0.70"))
    assert result.shipping is not None
    assert result.shipping.tax_details.total_tax == D("0.78")
    assert result.shipping.total_price_before_tax == D("4.12")
    # Tax included: the total is what the prices say; tax is the part of it that is tax.
    assert summary(result) == money("159.67", "0.00", "4.90", "0.00", "25.27", "164.57")
    assert result.tax_summary.total_tax == D("25.27")
    assert result.tax_summary.taxable_amount == D("100.00") + D("25.18") + D("10.00") + D("4.12")


def test_tax_excluded_us_ny_8_875_percent() -> None:
    ny = table(Jurisdiction("US-NY", D("0.08875"), "Sales tax"))
    result = calculate(
        PricingInput(
            currency="USD",
            lines=[
                LineInput("a", D("19.99"), 2),  # 39.98 * 0.08875 = 3.548225 -> 3.55
                LineInput("b", D("5.00"), 1),  # 0.44375 -> 0.44
            ],
            shipping=ShippingInput(D("7.50")),  # 0.665625 -> 0.67
            fees=[FeeInput("handling", D("2.00"), taxable=False)],
            tax_address=TaxAddress("US", "NY"),
            tax_table=ny,
        )
    )
    a, b = result.lines
    assert (a.tax_details.total_tax, a.total_price_after_tax) == (D("3.55"), D("43.53"))
    assert (b.tax_details.total_tax, b.total_price_after_tax) == (D("0.44"), D("5.44"))
    assert a.tax_details.tax_breakdown[0].jurisdiction == "US-NY"
    assert a.tax_details.tax_breakdown[0].tax_amount == D("3.55")
    assert result.shipping is not None
    assert result.shipping.total_price_after_tax == D("8.17")
    assert result.fees[0].tax_details.total_tax == D("0.00")
    assert result.fees[0].tax_details.taxable_amount == D("0.00")
    # 44.98 + 7.50 + 2.00 + 4.66
    assert summary(result) == money("44.98", "0.00", "7.50", "2.00", "4.66", "59.14")
    assert result.tax_summary.taxable_amount == D("52.48")


def test_subdivision_tax_adds_to_country_and_the_breakdown_adds_up() -> None:
    canada = table(Jurisdiction("CA", D("0.05"), "GST"), Jurisdiction("CA-QC", D("0.09975"), "QST"))
    result = calculate(
        PricingInput(
            currency="CAD",
            lines=[LineInput("a", D("100.00"), 1)],  # 14.975 -> 14.98
            tax_address=TaxAddress("CA", "CA-QC"),
            tax_table=canada,
        )
    )
    details = result.lines[0].tax_details
    assert details.tax_rate == D("0.14975")
    assert details.total_tax == D("14.98")
    assert [(t.tax_name, t.jurisdiction, t.tax_amount) for t in details.tax_breakdown] == [
        ("GST", "CA", D("5.00")),
        ("QST", "CA-QC", D("9.98")),
    ]


def test_subdivision_replacing_its_country() -> None:
    spain = table(
        Jurisdiction("ES", D("0.21"), "VAT"),
        Jurisdiction("ES-CN", D("0.07"), "IGIC", replaces_country=True),
    )
    line = [LineInput("a", D("100.00"), 1)]
    canaries = calculate(
        PricingInput("EUR", line, tax_address=TaxAddress("ES", "CN"), tax_table=spain)
    )
    madrid = calculate(
        PricingInput("EUR", line, tax_address=TaxAddress("ES", "MD"), tax_table=spain)
    )
    assert canaries.price_summary.tax == D("7.00")
    assert madrid.price_summary.tax == D("21.00")


def test_no_tax_without_address_or_for_untaxable_lines() -> None:
    de = table(Jurisdiction("DE", D("0.19"), "VAT"))
    lines = [LineInput("a", D("10.00"), 1), LineInput("gift-card", D("25.00"), 1, taxable=False)]
    untaxed = calculate(PricingInput("EUR", lines, tax_table=de))
    assert untaxed.price_summary.tax == D("0.00")
    assert untaxed.tax_summary.taxable_amount == D("0.00")
    taxed = calculate(PricingInput("EUR", lines, tax_address=TaxAddress("DE"), tax_table=de))
    assert [line.tax_details.total_tax for line in taxed.lines] == [D("1.90"), D("0.00")]
    assert taxed.tax_summary.taxable_amount == D("10.00")
    elsewhere = calculate(PricingInput("EUR", lines, tax_address=TaxAddress("FR"), tax_table=de))
    assert elsewhere.price_summary.tax == D("0.00")


# --------------------------------------------------------------------------- discounts


def test_a_discount_bigger_than_its_line_is_capped() -> None:
    result = calculate(
        PricingInput(
            currency="USD",
            lines=[LineInput("a", D("10.00"), 1), LineInput("b", D("4.00"), 1)],
            line_discounts=[
                LineDiscount(src(RULE, "r1"), "a", D("15.00")),  # takes 10.00
                LineDiscount(src(COUPON, "c1"), "a", D("1.00")),  # nothing left: takes 0.00
                LineDiscount(src(RULE, "r1"), "b", D("1.00")),
            ],
        )
    )
    a, b = result.lines
    assert (a.total_discount, a.total_price_after_tax) == (D("10.00"), D("0.00"))
    assert [part.amount for part in a.discounts] == [D("10.00"), D("0.00")]
    assert (b.total_discount, b.total_price_after_tax) == (D("1.00"), D("3.00"))
    assert [
        (d.source.id, d.discount_type, d.amount, d.line_ids) for d in result.applied_discounts
    ] == [
        ("r1", DiscountType.SPECIFIC_ITEMS, D("11.00"), ("a", "b")),
        ("c1", DiscountType.SPECIFIC_ITEMS, D("0.00"), ()),
    ]
    assert summary(result) == money("14.00", "11.00", "0.00", "0.00", "0.00", "3.00")


def test_global_discount_is_spread_by_largest_remainder() -> None:
    result = calculate(
        PricingInput(
            currency="USD",
            lines=[
                LineInput("a", D("10.00"), 1),
                LineInput("b", D("20.00"), 1),
                LineInput("c", D("30.00"), 1),
            ],
            order_discounts=[
                # exact shares 1.666.., 3.333.., 5.000: a has the largest remainder
                OrderDiscount(src(MERCHANT, "m1"), D("10.00")),
                # only b and c, far more than is left of them: capped at 16.67 + 25.00
                OrderDiscount(src(MERCHANT, "m2"), D("100.00"), ("c", "b")),
            ],
        )
    )
    assert [[p.amount for p in line.discounts] for line in result.lines] == [
        [D("1.67")],
        [D("3.33"), D("16.67")],
        [D("5.00"), D("25.00")],
    ]
    assert [(d.discount_type, d.amount, d.line_ids) for d in result.applied_discounts] == [
        (DiscountType.GLOBAL, D("10.00"), ()),
        (DiscountType.SPECIFIC_ITEMS, D("41.67"), ("b", "c")),
    ]
    assert summary(result) == money("60.00", "51.67", "0.00", "0.00", "0.00", "8.33")


def test_even_global_split_gives_the_extra_cent_to_the_first_line() -> None:
    lines = [LineInput(name, D("1.00"), 1) for name in "abc"]
    result = calculate(
        PricingInput("USD", lines, order_discounts=[OrderDiscount(src(MERCHANT, "m"), D("1"))])
    )
    assert [line.total_discount for line in result.lines] == [D("0.34"), D("0.33"), D("0.33")]


def test_global_discount_is_spread_over_what_line_discounts_left() -> None:
    result = calculate(
        PricingInput(
            currency="USD",
            lines=[LineInput("a", D("10.00"), 1), LineInput("b", D("10.00"), 1)],
            line_discounts=[LineDiscount(src(RULE, "r"), "a", D("5.00"))],
            order_discounts=[OrderDiscount(src(MERCHANT, "m"), D("3.00"))],  # weights 5 and 10
        )
    )
    assert [line.total_discount for line in result.lines] == [D("6.00"), D("2.00")]


def test_discounts_apply_before_tax() -> None:
    de = table(Jurisdiction("DE", D("0.19"), "VAT"))
    result = calculate(
        PricingInput(
            currency="EUR",
            lines=[LineInput("a", D("100.00"), 1)],
            line_discounts=[LineDiscount(src(COUPON, "c"), "a", D("10.00"))],
            tax_address=TaxAddress("DE"),
            tax_table=de,
        )
    )
    line = result.lines[0]
    assert (line.total_price_before_tax, line.tax_details.total_tax) == (D("90.00"), D("17.10"))
    assert summary(result) == money("100.00", "10.00", "0.00", "0.00", "17.10", "107.10")


# --------------------------------------------------------------------------- shipping and fees


def test_shipping_discounts_are_capped_at_the_shipping_price() -> None:
    result = calculate(
        PricingInput(
            currency="USD",
            lines=[LineInput("a", D("20.00"), 1)],
            shipping=ShippingInput(
                D("10.00"),
                [
                    ShippingDiscount(src(RULE, "ship3"), D("3.00")),
                    ShippingDiscount(src(COUPON, "free")),  # free shipping: what is left
                    ShippingDiscount(src(MERCHANT, "m"), D("5.00")),  # nothing left
                ],
            ),
        )
    )
    shipping = result.shipping
    assert shipping is not None
    assert (shipping.price, shipping.total_discount, shipping.total_price_after_tax) == (
        D("10.00"),
        D("10.00"),
        D("0.00"),
    )
    assert [(d.discount_type, d.amount) for d in result.applied_discounts] == [
        (DiscountType.SHIPPING, D("3.00")),
        (DiscountType.SHIPPING, D("7.00")),
        (DiscountType.SHIPPING, D("0.00")),
    ]
    # The summary's discount is line discounts only; shipping is already after its discounts.
    assert summary(result) == money("20.00", "0.00", "0.00", "0.00", "0.00", "20.00")


def test_discounted_shipping_is_taxed_on_what_is_left() -> None:
    ny = table(Jurisdiction("US-NY", D("0.08875"), "Sales tax"))
    result = calculate(
        PricingInput(
            currency="USD",
            shipping=ShippingInput(D("10.00"), [ShippingDiscount(src(RULE, "s"), D("3.00"))]),
            tax_address=TaxAddress("US", "US-NY"),
            tax_table=ny,
        )
    )
    assert result.shipping is not None
    assert result.shipping.tax_details.total_tax == D("0.62")  # 7.00 * 0.08875 = 0.62125
    assert summary(result) == money("0.00", "0.00", "7.00", "0.00", "0.62", "7.62")
    untaxed = calculate(
        PricingInput(
            currency="USD",
            shipping=ShippingInput(D("10.00")),
            tax_address=TaxAddress("US", "NY"),
            tax_table=table(
                Jurisdiction("US-NY", D("0.08875"), "Sales tax"), shipping_taxable=False
            ),
        )
    )
    assert untaxed.price_summary.tax == D("0.00")


def test_fees_are_taxed_when_both_the_fee_and_the_table_say_so() -> None:
    de = Jurisdiction("DE", D("0.19"), "VAT")
    fees = [FeeInput("handling", D("2.50")), FeeInput("eco", D("1.00"), taxable=False)]
    lines = [LineInput("a", D("10.00"), 1)]
    result = calculate(
        PricingInput("EUR", lines, fees=fees, tax_address=TaxAddress("DE"), tax_table=table(de))
    )
    handling, eco = result.fees
    assert (handling.tax_details.total_tax, handling.price_after_tax) == (D("0.48"), D("2.98"))
    assert (eco.tax_details.total_tax, eco.price_after_tax) == (D("0.00"), D("1.00"))
    assert summary(result) == money("10.00", "0.00", "0.00", "3.50", "2.38", "15.88")
    no_fee_tax = calculate(
        PricingInput(
            "EUR",
            lines,
            fees=fees,
            tax_address=TaxAddress("DE"),
            tax_table=table(de, fees_taxable=False),
        )
    )
    assert no_fee_tax.price_summary.tax == D("1.90")


def test_fee_prices_are_before_tax_also_when_prices_include_tax() -> None:
    """The fees SPI: a provider's fee price is before tax; the suite adds the tax. With
    tax-included prices the fee is then charged and summed with its tax, like the lines."""
    vat = table(Jurisdiction("DE", D("0.19"), "VAT"))
    included = calculate(
        PricingInput(
            currency="EUR",
            tax_included_in_prices=True,
            lines=[LineInput("x", D("11.90"), 1)],  # gross: 10.00 + 1.90 VAT
            fees=[
                FeeInput("handling", D("1.00"), line_ids=("x",)),
                FeeInput("eco", D("0.50"), taxable=False),
            ],
            tax_address=TaxAddress("DE"),
            tax_table=vat,
        )
    )
    handling, eco = included.fees
    assert handling.line_ids == ("x",)
    assert (handling.price, handling.price_before_tax, handling.price_after_tax) == (
        D("1.19"),
        D("1.00"),
        D("1.19"),
    )
    assert (handling.tax_details.taxable_amount, handling.tax_details.total_tax) == (
        D("1.00"),
        D("0.19"),
    )
    assert (eco.price, eco.price_before_tax, eco.price_after_tax) == (D("0.50"),) * 3
    # total = 11.90 + 1.19 + 0.50; tax = 1.90 (in the line) + 0.19 (on the fee).
    assert summary(included) == money("11.90", "0.00", "0.00", "1.69", "2.09", "13.59")

    # The same fee on a tax-excluded site costs the same before tax and carries the same tax.
    excluded = calculate(
        PricingInput(
            currency="EUR",
            lines=[LineInput("x", D("10.00"), 1)],
            fees=[FeeInput("handling", D("1.00"), line_ids=("x",))],
            tax_address=TaxAddress("DE"),
            tax_table=vat,
        )
    )
    (fee,) = excluded.fees
    assert (fee.price, fee.price_before_tax, fee.price_after_tax) == (
        D("1.00"),
        D("1.00"),
        D("1.19"),
    )
    assert summary(excluded) == money("10.00", "0.00", "0.00", "1.00", "2.09", "13.09")


# --------------------------------------------------------------------------- pay now / later


def test_pay_now_and_pay_later() -> None:
    ten = table(Jurisdiction("FR", D("0.10"), "TVA"))
    result = calculate(
        PricingInput(
            currency="EUR",
            lines=[
                LineInput("online", D("50.00"), 1),
                LineInput(
                    "offline", D("20.00"), 1, payment_option=PaymentOption.FULL_PAYMENT_OFFLINE
                ),
                LineInput(
                    "deposit",
                    D("100.00"),
                    2,
                    payment_option=PaymentOption.DEPOSIT_ONLINE,
                    deposit_amount=D("30.00"),
                ),
                LineInput("club", D("15.00"), 1, payment_option=PaymentOption.MEMBERSHIP_OFFLINE),
            ],
            line_discounts=[LineDiscount(src(RULE, "r"), "deposit", D("20.00"))],
            shipping=ShippingInput(D("5.00")),
            fees=[FeeInput("handling", D("1.00"))],
            tax_address=TaxAddress("FR"),
            tax_table=ten,
        )
    )
    # Deposit line: 60.00 of its 200.00 now; its 20.00 discount splits 6.00 / 14.00 and its
    # 18.00 tax splits over the discounted 54.00 / 126.00 as 5.40 / 12.60.
    assert result.pay_now == PriceSummary(
        subtotal=D("110.00"),
        discount=D("6.00"),
        shipping=D("5.00"),
        additional_fees=D("1.00"),
        tax=D("11.00"),
        total=D("121.00"),
    )
    assert result.pay_later == PriceSummary(
        subtotal=D("175.00"),
        discount=D("14.00"),
        shipping=D("0.00"),
        additional_fees=D("0.00"),
        tax=D("16.10"),
        total=D("177.10"),
    )
    assert summary(result) == money("285.00", "20.00", "5.00", "1.00", "27.10", "298.10")


# --------------------------------------------------------------------------- edges and errors


def test_empty_input_prices_to_zero_in_the_currency() -> None:
    result = calculate(PricingInput("JPY"))
    assert summary(result) == money("0", "0", "0", "0", "0", "0")
    assert result.lines == ()
    assert result.shipping is None
    assert calculate(PricingInput("KWD")).price_summary.total == D("0.000")


def test_same_input_same_result() -> None:
    data = PricingInput(
        "USD",
        [LineInput("a", D("3.33"), 3), LineInput("b", D("1.01"), 7)],
        order_discounts=[OrderDiscount(src(MERCHANT, "m"), D("1.01"))],
    )
    assert calculate(data) == calculate(data)


@pytest.mark.parametrize(
    ("data", "error", "problem"),
    [
        (PricingInput("usd"), UnknownCurrencyError, "ISO 4217"),
        (
            PricingInput("USD", [LineInput("a", D(1), 1), LineInput("a", D(1), 1)]),
            InvalidPricingInputError,
            "twice",
        ),
        (PricingInput("USD", [LineInput("a", D(1), 0)]), InvalidPricingInputError, "1..100000"),
        (
            PricingInput("USD", [LineInput("a", D(1), 100_001)]),
            InvalidPricingInputError,
            "1..100000",
        ),
        (PricingInput("USD", [LineInput("", D(1), 1)]), InvalidPricingInputError, "line id"),
        (PricingInput("USD", [LineInput("a", D("-1"), 1)]), InvalidAmountError, "negative"),
        (
            PricingInput("USD", [LineInput("a", 1.5, 1)]),  # type: ignore[arg-type]
            InvalidAmountError,
            "Decimal, not float",
        ),
        (
            PricingInput("USD", [LineInput("a", D("NaN"), 1)]),
            InvalidAmountError,
            "finite",
        ),
        (
            PricingInput(
                "USD",
                [LineInput("a", D(1), 1)],
                line_discounts=[LineDiscount(src(RULE, "r"), "zz", D(1))],
            ),
            InvalidPricingInputError,
            "names line 'zz'",
        ),
        (
            PricingInput(
                "USD",
                [LineInput("a", D(1), 1)],
                order_discounts=[OrderDiscount(src(MERCHANT, "m"), D(1), ("zz",))],
            ),
            InvalidPricingInputError,
            "names line 'zz'",
        ),
        (
            PricingInput(
                "USD",
                [LineInput("a", D(1), 1)],
                order_discounts=[OrderDiscount(src(MERCHANT, "m"), D("-1"))],
            ),
            InvalidAmountError,
            "negative",
        ),
        (
            PricingInput("USD", shipping=ShippingInput(D("-5"))),
            InvalidAmountError,
            "shipping price",
        ),
        (
            PricingInput("USD", fees=[FeeInput("f", D(1)), FeeInput("f", D(2))]),
            InvalidPricingInputError,
            "fee id 'f' is given twice",
        ),
    ],
)
def test_invalid_input_is_an_error(
    data: PricingInput, error: type[Exception], problem: str
) -> None:
    with pytest.raises(error, match=problem):
        calculate(data)
    assert issubclass(error, ValueError)
