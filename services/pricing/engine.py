"""The pricing engine: from lines, discounts, shipping, fees and tax settings to totals.

`calculate(PricingInput) -> PricingResult` is pure and deterministic: the same input always gives
the same result, and nothing is read or written outside the arguments.

The steps, and why:

1. **Line price.** `line_item_price = round(price * quantity)`: the unit price is used exactly
   (it may have sub-unit digits) and the product is rounded once, half-even, to the minor unit.
2. **Line discounts** (from the discounts service, in the order given): each part is rounded to
   the minor unit and capped at what is left of the line, so a discount never exceeds what it
   discounts and no line goes below zero. The amount actually taken is what gets reported.
3. **Order discounts** (merchant discounts, GLOBAL discounts; in the order given): each is capped
   at what is left of its lines and spread over them in proportion to what is left, by the
   largest remainder method (`allocation.py`), so the shares add up to the amount exactly.
4. **Tax per line**, on the line after discounts, at the combined rate of the jurisdictions
   that apply (`tax.py`): added on top (`net * r`) for tax-excluded prices, extracted
   (`gross * r / (1 + r)`) for tax-included ones; rounded half-even once per line. The line's
   tax is split over its jurisdictions by largest remainder, so the breakdown adds up too.
5. **Shipping**: its discounts are capped at the shipping price (free shipping takes all of it);
   the rest is taxed like a line when the tax table says shipping is taxable.
6. **Fees**: their prices are before tax in both modes (the fees SPI's contract: providers
   never compute tax). Taxed like a line when both the fee and the tax table say so, always
   added on top (`net * r`); with tax-included prices the fee's `price` and the summary's
   `additional_fees` are then the fee with its tax, like every other amount. Never discounted.
7. **Summary**: every field is the SUM of the rounded parts above and the total is derived from
   those sums; nothing is rounded again. So the parts always add up, exactly, in every currency:
   `total = subtotal - discount + shipping + additional_fees (+ tax when excluded)`, and the
   total also equals the sum of the lines', shipping's and fees' after-tax totals.
8. **Pay now / pay later** (see `_split_line`): lines paid FULL_PAYMENT_OFFLINE or
   MEMBERSHIP_OFFLINE go to pay_later; FULL_PAYMENT_ONLINE and MEMBERSHIP lines, shipping and
   fees to pay_now; a DEPOSIT_ONLINE line pays `deposit_amount * quantity` of its subtotal now
   and the rest later, its discount and tax following that split by largest remainder. Each
   part is a full summary whose own total adds up, and the two add up to the price summary.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, localcontext

from services.pricing.allocation import allocate
from services.pricing.model import (
    AppliedDiscountResult,
    DiscountPart,
    DiscountSource,
    DiscountType,
    FeeInput,
    FeeResult,
    LineInput,
    LineResult,
    PaymentOption,
    PriceSummary,
    PricingInput,
    PricingResult,
    ShippingInput,
    ShippingResult,
    TaxBreakdown,
    TaxDetails,
    TaxSummary,
)
from services.pricing.money import PRICING_CONTEXT, minor_unit, quantize
from services.pricing.tax import AppliedRate, tax_in_gross, tax_on_net
from services.pricing.validation import validate_input

_PAID_LATER = frozenset({PaymentOption.FULL_PAYMENT_OFFLINE, PaymentOption.MEMBERSHIP_OFFLINE})


def calculate(data: PricingInput) -> PricingResult:
    """Price `data` (see the module docstring for the policy). Raises a `PricingError`
    subclass (a `ValueError`) naming the problem when the input is invalid."""
    validate_input(data)
    with localcontext(PRICING_CONTEXT):
        return _Calculation(data).run()


@dataclass
class _LineState:
    """A line while discounts are being taken off it."""

    line: LineInput
    index: int
    line_item_price: Decimal
    remaining: Decimal
    parts: list[DiscountPart] = field(default_factory=list)

    def take(self, source: DiscountSource, amount: Decimal) -> None:
        self.remaining -= amount
        self.parts.append(DiscountPart(source, amount))


@dataclass
class _Applied:
    """The running amount a discount took, and the lines it took it from."""

    amount: Decimal
    line_indexes: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class _Share:
    """A line's subtotal, discount and tax, or the part of them paid now or later."""

    subtotal: Decimal
    discount: Decimal
    tax: Decimal

    @classmethod
    def of(cls, line: LineResult) -> _Share:
        return cls(line.line_item_price, line.total_discount, line.tax_details.total_tax)


@dataclass
class _Bucket:
    """The parts of one price summary (the whole, pay_now or pay_later)."""

    subtotal: Decimal
    discount: Decimal
    shipping: Decimal
    additional_fees: Decimal
    tax: Decimal

    def add(self, share: _Share) -> None:
        self.subtotal += share.subtotal
        self.discount += share.discount
        self.tax += share.tax

    def summary(self, tax_included: bool) -> PriceSummary:
        total = self.subtotal - self.discount + self.shipping + self.additional_fees
        if not tax_included:
            total += self.tax
        return PriceSummary(
            subtotal=self.subtotal,
            discount=self.discount,
            shipping=self.shipping,
            additional_fees=self.additional_fees,
            tax=self.tax,
            total=total,
        )


class _Calculation:
    """One run of `calculate`; holds the input and the currency's rounding."""

    def __init__(self, data: PricingInput) -> None:
        self.data = data
        self.currency = data.currency
        self.unit = minor_unit(data.currency)
        self.zero = self.round(Decimal(0))
        self.included = data.tax_included_in_prices
        self.applied: dict[tuple[DiscountSource, DiscountType], _Applied] = {}

    def round(self, amount: Decimal) -> Decimal:
        return quantize(amount, self.currency)

    def bucket(self) -> _Bucket:
        zero = self.zero
        return _Bucket(zero, zero, zero, zero, zero)

    # ----------------------------------------------------------------------- the steps

    def run(self) -> PricingResult:
        states: list[_LineState] = []
        for index, line in enumerate(self.data.lines):
            line_item_price = self.round(line.price * line.quantity)
            states.append(_LineState(line, index, line_item_price, line_item_price))
        self.take_line_discounts(states)
        self.take_order_discounts(states)
        lines = tuple(self.price_line(state) for state in states)
        shipping: ShippingResult | None = None
        if self.data.shipping is not None:
            shipping = self.price_shipping(self.data.shipping)
        fees = tuple(self.price_fee(fee) for fee in self.data.fees)

        whole, now, later = self.bucket(), self.bucket(), self.bucket()
        for result, state in zip(lines, states, strict=True):
            whole.add(_Share.of(result))
            line_now, line_later = self.split_line(state.line, result)
            now.add(line_now)
            later.add(line_later)
        for bucket in (whole, now):  # shipping and fees are always paid now
            if shipping is not None:
                bucket.shipping += shipping.price - shipping.total_discount
                bucket.tax += shipping.tax_details.total_tax
            for fee in fees:
                bucket.additional_fees += fee.price
                bucket.tax += fee.tax_details.total_tax

        taxed = [line.tax_details for line in lines] + [fee.tax_details for fee in fees]
        if shipping is not None:
            taxed.append(shipping.tax_details)
        return PricingResult(
            currency=self.currency,
            tax_included_in_prices=self.included,
            lines=lines,
            shipping=shipping,
            fees=fees,
            price_summary=whole.summary(self.included),
            tax_summary=TaxSummary(
                taxable_amount=sum((t.taxable_amount for t in taxed), self.zero),
                total_tax=whole.tax,
            ),
            pay_now=now.summary(self.included),
            pay_later=later.summary(self.included),
            applied_discounts=self.applied_discounts(states),
        )

    def take_line_discounts(self, states: Sequence[_LineState]) -> None:
        by_id = {state.line.id: state for state in states}
        for discount in self.data.line_discounts:
            state = by_id[discount.line_id]
            taken = min(self.round(discount.amount), state.remaining)
            state.take(discount.source, taken)
            self.record(discount.source, DiscountType.SPECIFIC_ITEMS, taken, state.index)

    def take_order_discounts(self, states: Sequence[_LineState]) -> None:
        for discount in self.data.order_discounts:
            wanted = set(discount.line_ids)
            targets = [s for s in states if not wanted or s.line.id in wanted]
            kind = DiscountType.SPECIFIC_ITEMS if wanted else DiscountType.GLOBAL
            left = sum((s.remaining for s in targets), self.zero)
            amount = min(self.round(discount.amount), left)
            self.record(discount.source, kind, self.zero, None)
            if amount == 0:
                continue
            shares = allocate(amount, [s.remaining for s in targets], self.unit)
            for state, share in zip(targets, shares, strict=True):
                if share > 0:
                    state.take(discount.source, share)
                    self.record(discount.source, kind, share, state.index)

    def price_line(self, state: _LineState) -> LineResult:
        line = state.line
        total_discount = state.line_item_price - state.remaining
        rates: tuple[AppliedRate, ...] = ()
        table, address = self.data.tax_table, self.data.tax_address
        if line.taxable and table is not None:
            rates = table.rates_for(address, line.tax_group)
        details, before, after = self.tax(state.remaining, rates)
        return LineResult(
            line_id=line.id,
            quantity=line.quantity,
            price=line.price,
            full_price=line.full_price if line.full_price is not None else line.price,
            price_before_discounts=(
                line.price_before_discounts
                if line.price_before_discounts is not None
                else line.price
            ),
            line_item_price=state.line_item_price,
            total_discount=total_discount,
            total_price_before_tax=before,
            total_price_after_tax=after,
            tax_details=details,
            discounts=tuple(state.parts),
            payment_option=line.payment_option,
        )

    def price_shipping(self, shipping: ShippingInput) -> ShippingResult:
        price = self.round(shipping.price)
        remaining = price
        parts: list[DiscountPart] = []
        for discount in shipping.discounts:
            wanted = remaining if discount.amount is None else self.round(discount.amount)
            taken = min(wanted, remaining)
            remaining -= taken
            parts.append(DiscountPart(discount.source, taken))
            self.record(discount.source, DiscountType.SHIPPING, taken, None)
        rates: tuple[AppliedRate, ...] = ()
        table = self.data.tax_table
        if table is not None and table.shipping_taxable:
            rates = table.rates_for(self.data.tax_address, table.shipping_tax_group)
        details, before, after = self.tax(remaining, rates)
        return ShippingResult(
            price=price,
            total_discount=price - remaining,
            total_price_before_tax=before,
            total_price_after_tax=after,
            tax_details=details,
            discounts=tuple(parts),
        )

    def price_fee(self, fee: FeeInput) -> FeeResult:
        """A fee's price is before tax whatever the site's prices are (the fees SPI says so:
        providers never compute tax), so its tax is always added on top. With tax-included
        prices the fee is then charged, and summed, with its tax, like every other amount."""
        net = self.round(fee.price)
        rates: tuple[AppliedRate, ...] = ()
        table = self.data.tax_table
        if fee.taxable and table is not None and table.fees_taxable:
            rates = table.rates_for(self.data.tax_address, fee.tax_group)
        details, before, after = self.tax(net, rates, net_amount=True)
        return FeeResult(
            id=fee.id,
            price=after if self.included else before,
            price_before_tax=before,
            price_after_tax=after,
            tax_details=details,
            line_ids=tuple(fee.line_ids),
        )

    def tax(
        self, amount: Decimal, rates: tuple[AppliedRate, ...], *, net_amount: bool = False
    ) -> tuple[TaxDetails, Decimal, Decimal]:
        """Tax on one item after discounts: (details, before-tax total, after-tax total).

        `amount` is as charged: gross with tax-included prices, net otherwise; `net_amount`
        says it is net either way (fees). The tax is rounded half-even once; the before/after
        totals are derived from it so that `after = before + tax` exactly.
        """
        if not rates:
            return TaxDetails(self.zero, Decimal(0), self.zero), amount, amount
        rate = sum((r.rate for r in rates), Decimal(0))
        if self.included and not net_amount:
            tax = self.round(tax_in_gross(amount, rate))
            before, after = amount - tax, amount
        else:
            tax = self.round(tax_on_net(amount, rate))
            before, after = amount, amount + tax
        shares = allocate(tax, [r.rate for r in rates], self.unit)
        breakdown = tuple(
            TaxBreakdown(r.tax_name, r.jurisdiction, r.rate, share)
            for r, share in zip(rates, shares, strict=True)
        )
        return TaxDetails(before, rate, tax, breakdown), before, after

    # ----------------------------------------------------------------------- pay now / later

    def split_line(self, line: LineInput, result: LineResult) -> tuple[_Share, _Share]:
        """Split a priced line into its pay-now and pay-later shares, which add up to it.

        DEPOSIT_ONLINE: the subtotal paid now is `deposit_amount * quantity` rounded, at most the
        line's subtotal (no deposit given: all of it). The deposit is in the same terms as the
        unit price (gross when prices include tax). The line's discount is split over the two
        subtotals, then its tax over the two discounted amounts, both by largest remainder, so
        neither share's discount exceeds its subtotal and every amount stays non-negative.
        """
        whole = _Share.of(result)
        nothing = _Share(self.zero, self.zero, self.zero)
        option = line.payment_option
        if option in _PAID_LATER:
            return nothing, whole
        if option is not PaymentOption.DEPOSIT_ONLINE:
            return whole, nothing
        deposit = line.deposit_amount if line.deposit_amount is not None else line.price
        now_subtotal = min(self.round(deposit * line.quantity), whole.subtotal)
        later_subtotal = whole.subtotal - now_subtotal
        now_discount, later_discount = allocate(
            whole.discount, [now_subtotal, later_subtotal], self.unit
        )
        now_tax, later_tax = allocate(
            whole.tax,
            [now_subtotal - now_discount, later_subtotal - later_discount],
            self.unit,
        )
        return (
            _Share(now_subtotal, now_discount, now_tax),
            _Share(later_subtotal, later_discount, later_tax),
        )

    # ----------------------------------------------------------------------- applied discounts

    def record(
        self,
        source: DiscountSource,
        kind: DiscountType,
        amount: Decimal,
        line_index: int | None,
    ) -> None:
        entry = self.applied.setdefault((source, kind), _Applied(self.zero))
        entry.amount += amount
        if line_index is not None and amount > 0 and kind is DiscountType.SPECIFIC_ITEMS:
            entry.line_indexes.add(line_index)

    def applied_discounts(self, states: Sequence[_LineState]) -> tuple[AppliedDiscountResult, ...]:
        return tuple(
            AppliedDiscountResult(
                source=source,
                discount_type=kind,
                amount=entry.amount,
                line_ids=tuple(states[i].line.id for i in sorted(entry.line_indexes)),
            )
            for (source, kind), entry in self.applied.items()
        )
