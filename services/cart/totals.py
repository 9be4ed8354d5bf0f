"""EstimateTotals: a cart's totals as a checkout would compute them, without writing anything.

The providers are called in three rounds, each a concurrent fan-out under the one deadline of
the request (the catalog was read before, by the caller):

1. shipping-rates providers (when something ships and a destination is known) and, at the same
   time, the discounts (coupon, rules; a free-shipping discount is sized by the engine), within
   60% of the time left, so that a hanging provider here cannot starve round 2;
2. additional-fees providers and cart validations providers (`validate_in_cart`), together: they
   need the lines, discounts and shipping of round 1, and validations see the totals computed so
   far *before* additional fees (decision: so that both run at once rather than one after the
   other; fees are reported separately in the same response);
3. the pricing engine, once, on everything.

Nothing a provider does fails the call: failures and answers we do not trust become
`calculation_errors`, ERROR/WARNING rules come back as `violations`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from ecom.cart.v1 import cart_service_pb2
from ecom.common.v1 import (
    address_pb2,
    buyer_pb2,
    calculation_pb2,
    catalog_pb2,
    line_item_pb2,
    pricing_pb2,
    shipping_pb2,
)
from ecom.spi.additional_fees.v1 import additional_fees_provider_service_pb2 as fees_spi
from ecom.spi.shipping_rates.v1 import shipping_rates_provider_service_pb2 as rates_spi
from ecom.spi.validations.v1 import validations_provider_service_pb2 as validations_spi
from services.cart.discounts import Discounts, DiscountsResult, buyer_info, for_cart
from services.cart.domain import Cart, CatalogStatus, ShippingChoice
from services.cart.money import Presenter
from services.cart.render import (
    WEIGHT_UNITS,
    applied_discounts,
    cart_message,
    contact_info,
    shown_line_items,
)
from services.cart.valuation import PricedLine, priced_lines, pricing_input
from services.platform.deadlines import Deadline
from services.platform.errors import Unavailable
from services.platform.providers import (
    PROVIDER_ERROR,
    PROVIDER_UNAVAILABLE,
    Kind,
    ProviderCall,
    ProviderClient,
    ProviderRef,
    ResponseCache,
)
from services.platform.sites import SiteSettings
from services.pricing import (
    FeeInput,
    FeeResult,
    InvalidAmountError,
    PriceSummary,
    PricingResult,
    TaxAddress,
    TaxDetails,
    calculate,
    parse_amount,
)

GET_RATES = Kind.SHIPPING_RATES.method("GetShippingRates")
CALCULATE_FEES = Kind.ADDITIONAL_FEES.method("CalculateAdditionalFees")
GET_VIOLATIONS = Kind.VALIDATIONS.method("GetValidationViolations")
NO_SHIPPING_OPTIONS = "NO_SHIPPING_OPTIONS"
CATALOG_ITEM_NOT_FOUND = "CATALOG_ITEM_NOT_FOUND"
MAX_RATES = 50
MAX_FEES = 50
MAX_VIOLATIONS = 100
ROUND_ONE_SHARE = 0.6


@dataclass(frozen=True)
class EstimateOptions:
    selected: ShippingChoice | None = None
    shipping_address: address_pb2.Address | None = None
    billing_address: address_pb2.Address | None = None
    calculate_tax: bool = True
    calculate_shipping: bool = True


@dataclass
class _Option:
    carrier_id: str
    rate: rates_spi.ShippingRate
    total: Decimal


@dataclass
class _Shipping:
    options: list[_Option] = field(default_factory=list)
    carriers: list[shipping_pb2.CarrierServiceOption] = field(default_factory=list)
    carrier_errors: list[calculation_pb2.CarrierError] = field(default_factory=list)
    #: Carrier -> the region the provider put the destination in (when it has regions).
    regions: dict[str, shipping_pb2.ShippingRegion] = field(default_factory=dict)
    general_error: calculation_pb2.CalculationError | None = None
    chosen: _Option | None = None
    requested: bool = False


def _usable(address: address_pb2.Address | None) -> address_pb2.Address | None:
    return address if address is not None and address.country else None


class Estimator:
    def __init__(
        self, client: ProviderClient, discounts: Discounts, shipping_cache: ResponseCache
    ) -> None:
        self._client = client
        self._discounts = discounts
        self._shipping_cache = shipping_cache

    async def _providers(self, site: str, kind: Kind) -> tuple[list[ProviderRef], str]:
        try:
            return await self._client.providers(site, kind), ""
        except Unavailable as exc:
            return [], exc.message

    async def estimate(
        self,
        cart: Cart,
        settings: SiteSettings,
        options: EstimateOptions,
        catalog_errors: Sequence[calculation_pb2.CalculationError],
        deadline: Deadline,
    ) -> cart_service_pb2.EstimateTotalsResponse:
        money = Presenter(cart, settings)
        priced = priced_lines(cart)
        items = shown_line_items(cart.lines, money)  # shared: only ever copied into requests
        contact = contact_info(cart) or address_pb2.AddressWithContact()
        destination = _usable(options.shipping_address) or _usable(contact.address)
        billing = _usable(options.billing_address)
        ships = any(p.shippable for p in priced)
        selected = options.selected or cart.selected_shipping
        buyer = buyer_info(cart)

        # Round 1 may use at most 60% of the time left, so that a hanging shipping provider
        # cannot starve the fee and validation providers of round 2.
        first = deadline.share(ROUND_ONE_SHARE)
        shipping_round = self._shipping(
            cart, items, ships, destination, selected, options, money, first
        )
        discounts_round = for_cart(
            self._discounts,
            cart,
            [p.discount_line() for p in priced],
            remaining_s=first.remaining(),
        )
        shipping, discounts = await asyncio.gather(shipping_round, discounts_round)

        tax_address = None
        table = settings.tax_table if options.calculate_tax else None
        tax_from = destination if ships and destination else (billing or destination)
        if table is not None and tax_from is not None:
            tax_address = TaxAddress(tax_from.country, tax_from.subdivision)
        shipping_price = shipping.chosen.total if shipping.chosen else None

        def price(fees: Sequence[FeeInput]) -> PricingResult:
            return calculate(
                pricing_input(
                    cart,
                    priced,
                    discounts,
                    shipping_price=shipping_price,
                    fees=fees,
                    tax_address=tax_address,
                    tax_table=table,
                )
            )

        so_far = price(())
        fee_round = self._fees(
            cart, items, buyer, destination, shipping, so_far, discounts, money, deadline
        )
        validation_round = self._validations(
            cart, items, buyer, destination, contact, shipping, so_far, discounts, money, deadline
        )
        (fee_inputs, fee_meta, fee_errors), (violations, validation_errors) = await asyncio.gather(
            fee_round, validation_round
        )
        result = price(fee_inputs) if fee_inputs else so_far

        response = cart_service_pb2.EstimateTotalsResponse(
            cart=cart_message(cart, result, discounts, money, items),
            calculated_line_items=_calculated_lines(result, priced, money),
            price_summary=_summary(result.price_summary, money),
            tax_summary=pricing_pb2.TaxSummary(
                taxable_amount=money.price(result.tax_summary.taxable_amount),
                total_tax=money.price(result.tax_summary.total_tax),
            ),
            applied_discounts=applied_discounts(cart, result, discounts, money),
            additional_fees=[_fee(fee, fee_meta[fee.id], money) for fee in result.fees],
            violations=violations,
            pay_now=_summary(result.pay_now, money),
            pay_later=_summary(result.pay_later, money),
            currency=cart.currency,
            weight_unit=WEIGHT_UNITS[cart.weight_unit],
        )
        if ships:
            response.shipping_info.CopyFrom(
                _shipping_info(shipping, destination, contact, result, money)
            )
        errors = calculation_pb2.CalculationErrors(
            catalog_errors=catalog_errors,
            carrier_errors=shipping.carrier_errors,
            additional_fees_errors=fee_errors,
            order_validation_errors=[*_unknown_items(cart), *validation_errors],
        )
        if ships and shipping.general_error is not None:
            errors.general_shipping_calculation_error.CopyFrom(shipping.general_error)
        if discounts.coupon_error is not None and cart.coupon_code:
            errors.coupon_calculation_error.CopyFrom(discounts.coupon_error)
        if discounts.discounts_error is not None:
            errors.discounts_calculation_error.CopyFrom(discounts.discounts_error)
        if errors.ByteSize():
            response.calculation_errors.CopyFrom(errors)
        return response

    # ------------------------------------------------------------------ round 1: shipping

    async def _shipping(
        self,
        cart: Cart,
        items: list[line_item_pb2.LineItem],
        ships: bool,
        destination: address_pb2.Address | None,
        selected: ShippingChoice | None,
        options: EstimateOptions,
        money: Presenter,
        deadline: Deadline,
    ) -> _Shipping:
        shipping = _Shipping()
        if not ships or not options.calculate_shipping:
            return shipping
        refs, registry_problem = await self._providers(cart.site, Kind.SHIPPING_RATES)
        if registry_problem:
            shipping.general_error = calculation_pb2.CalculationError(
                code=PROVIDER_UNAVAILABLE, description=registry_problem
            )
            return shipping
        if not refs:
            return shipping  # no shipping provider registered: no options, and no error
        if destination is None:
            shipping.general_error = calculation_pb2.CalculationError(
                code=NO_SHIPPING_OPTIONS,
                description="no shipping address: give one to see shipping options",
            )
            return shipping
        calls = [
            ProviderCall(
                ref,
                GET_RATES,
                rates_spi.GetShippingRatesRequest(
                    line_items=items,
                    shipping_destination=destination,
                    weight_unit=WEIGHT_UNITS[cart.weight_unit],
                    tax_included_in_prices=cart.tax_included_in_prices,
                    currency=cart.currency,
                    preferred_shipping_option_code=(
                        selected.code if selected and selected.carrier_id == ref.app_id else ""
                    ),
                    settings=ref.settings_struct(),
                ),
                rates_spi.GetShippingRatesResponse,
                cache=self._shipping_cache,
            )
            for ref in refs
        ]
        for outcome in await self._client.fan_out(calls, remaining_s=deadline.remaining()):
            app_id = outcome.ref.app_id
            if not outcome.ok:
                shipping.carrier_errors.append(
                    calculation_pb2.CarrierError(
                        carrier_id=app_id, error=outcome.calculation_error()
                    )
                )
                continue
            answer = outcome.unwrap()
            rates = answer.shipping_rates
            problem = _rates_problem(rates, cart.currency)
            if problem is not None:
                shipping.carrier_errors.append(
                    calculation_pb2.CarrierError(
                        carrier_id=app_id,
                        error=calculation_pb2.CalculationError(
                            code=PROVIDER_ERROR,
                            description=f"rejected the answer of {app_id}: {problem}",
                            app_id=app_id,
                        ),
                    )
                )
                continue
            offered = sorted(
                (_Option(app_id, rate, _rate_total(rate)) for rate in rates),
                key=lambda option: (option.total, option.rate.code),
            )
            shipping.options.extend(offered)
            shipping.carriers.append(_carrier(app_id, offered, money))
            if answer.HasField("region"):
                shipping.regions[app_id] = answer.region
        if not shipping.options:
            shipping.general_error = calculation_pb2.CalculationError(
                code=NO_SHIPPING_OPTIONS,
                description="no shipping provider offered an option for this destination",
            )
            return shipping
        wanted = None
        if selected is not None:
            wanted = next(
                (
                    o
                    for o in shipping.options
                    if o.carrier_id == selected.carrier_id and o.rate.code == selected.code
                ),
                None,
            )
        cheapest = min(shipping.options, key=lambda o: (o.total, o.carrier_id, o.rate.code))
        shipping.chosen = wanted or cheapest
        shipping.requested = wanted is not None
        return shipping

    # ------------------------------------------------------------------ round 2: fees

    async def _fees(
        self,
        cart: Cart,
        items: list[line_item_pb2.LineItem],
        buyer: buyer_pb2.BuyerInfo,
        destination: address_pb2.Address | None,
        shipping: _Shipping,
        so_far: PricingResult,
        discounts: DiscountsResult,
        money: Presenter,
        deadline: Deadline,
    ) -> tuple[
        list[FeeInput],
        dict[str, tuple[str, fees_spi.AdditionalFee]],
        list[calculation_pb2.CalculationError],
    ]:
        if not cart.lines:
            return [], {}, []
        refs, registry_problem = await self._providers(cart.site, Kind.ADDITIONAL_FEES)
        if registry_problem:
            return (
                [],
                {},
                [
                    calculation_pb2.CalculationError(
                        code=PROVIDER_UNAVAILABLE, description=registry_problem
                    )
                ],
            )
        if not refs:
            return [], {}, []
        request = fees_spi.CalculateAdditionalFeesRequest(
            line_items=items,
            buyer_details=buyer,
            applied_discounts=applied_discounts(cart, so_far, discounts, money),
            currency=cart.currency,
            subtotal=money.price(so_far.price_summary.subtotal).amount,
        )
        if destination is not None:
            request.shipping_address.CopyFrom(destination)
        if shipping.chosen is not None and so_far.shipping is not None:
            request.selected_shipping_option.CopyFrom(_selection(shipping.chosen))
            request.shipping_price = money.price(so_far.shipping.total_price_before_tax).amount
        calls = []
        for ref in refs:
            per_provider = fees_spi.CalculateAdditionalFeesRequest()
            per_provider.CopyFrom(request)
            per_provider.settings.CopyFrom(ref.settings_struct())
            calls.append(
                ProviderCall(
                    ref, CALCULATE_FEES, per_provider, fees_spi.CalculateAdditionalFeesResponse
                )
            )
        line_ids = {line.id for line in cart.lines}
        inputs: list[FeeInput] = []
        meta: dict[str, tuple[str, fees_spi.AdditionalFee]] = {}
        errors: list[calculation_pb2.CalculationError] = []
        for outcome in await self._client.fan_out(calls, remaining_s=deadline.remaining()):
            app_id = outcome.ref.app_id
            if not outcome.ok:
                errors.append(outcome.calculation_error())
                continue
            answer = outcome.unwrap()
            problem = _fees_problem(answer, cart.currency, line_ids)
            if problem is not None:
                errors.append(
                    calculation_pb2.CalculationError(
                        code=PROVIDER_ERROR,
                        description=f"rejected the answer of {app_id}: {problem}",
                        app_id=app_id,
                    )
                )
                continue
            for fee in answer.additional_fees:
                fee_id = f"{app_id}/{fee.code}"
                meta[fee_id] = (app_id, fee)
                inputs.append(
                    FeeInput(
                        id=fee_id,
                        price=parse_amount(fee.price),
                        taxable=fee.tax_details.taxable,
                        tax_group=fee.tax_details.tax_group_id or None,
                        line_ids=tuple(fee.line_item_ids),
                    )
                )
        return inputs, meta, errors

    # ------------------------------------------------------------------ round 2: validations

    async def _validations(
        self,
        cart: Cart,
        items: list[line_item_pb2.LineItem],
        buyer: buyer_pb2.BuyerInfo,
        destination: address_pb2.Address | None,
        contact: address_pb2.AddressWithContact,
        shipping: _Shipping,
        so_far: PricingResult,
        discounts: DiscountsResult,
        money: Presenter,
        deadline: Deadline,
    ) -> tuple[list[calculation_pb2.Violation], list[calculation_pb2.CalculationError]]:
        if not cart.lines:
            return [], []
        refs, registry_problem = await self._providers(cart.site, Kind.VALIDATIONS)
        if registry_problem:
            return [], [
                calculation_pb2.CalculationError(
                    code=PROVIDER_UNAVAILABLE, description=registry_problem
                )
            ]
        refs = [ref for ref in refs if ref.validate_in_cart]
        if not refs:
            return [], []
        request = validations_spi.GetValidationViolationsRequest(
            source=validations_spi.SOURCE_CART,
            source_id=cart.id,
            buyer_details=buyer,
            line_items=items,
            price_summary=_summary(so_far.price_summary, money),
            applied_discounts=applied_discounts(cart, so_far, discounts, money),
            currency=cart.currency,
            weight_unit=WEIGHT_UNITS[cart.weight_unit],
        )
        if destination is not None:
            target = address_pb2.AddressWithContact(
                address=destination, contact_details=contact.contact_details
            )
            request.shipping_address.CopyFrom(target)
            request.shipping_info.CopyFrom(
                _shipping_info(shipping, destination, contact, so_far, money, with_options=False)
            )
        calls = []
        for ref in refs:
            per_provider = validations_spi.GetValidationViolationsRequest()
            per_provider.CopyFrom(request)
            per_provider.settings.CopyFrom(ref.settings_struct())
            calls.append(
                ProviderCall(
                    ref,
                    GET_VIOLATIONS,
                    per_provider,
                    validations_spi.GetValidationViolationsResponse,
                )
            )
        line_ids = {line.id for line in cart.lines}
        violations: list[calculation_pb2.Violation] = []
        errors: list[calculation_pb2.CalculationError] = []
        for outcome in await self._client.fan_out(calls, remaining_s=deadline.remaining()):
            if not outcome.ok:
                errors.append(outcome.calculation_error())
                continue
            for violation in outcome.unwrap().violations[:MAX_VIOLATIONS]:
                violations.append(_normalized(violation, line_ids))
        return violations, errors


# ---------------------------------------------------------------------- helpers


def _rate_total(rate: rates_spi.ShippingRate) -> Decimal:
    total = parse_amount(rate.cost.price)
    for charge in rate.cost.additional_charges:
        total += parse_amount(charge.price)
    return total


def _rates_problem(rates: Sequence[rates_spi.ShippingRate], currency: str) -> str | None:
    if len(rates) > MAX_RATES:
        return f"more than {MAX_RATES} rates"
    codes: set[str] = set()
    for rate in rates:
        if not rate.code:
            return "a rate has no code"
        if rate.code in codes:
            return f"code {rate.code!r} is given twice"
        codes.add(rate.code)
        if not rate.title:
            return f"rate {rate.code!r} has no title"
        if rate.cost.currency != currency:
            return f"rate {rate.code!r} is in {rate.cost.currency!r}, not {currency}"
        try:
            parse_amount(rate.cost.price, non_negative=True)
            for charge in rate.cost.additional_charges:
                parse_amount(charge.price, non_negative=True)
        except InvalidAmountError as exc:
            return f"rate {rate.code!r}: {exc}"
    return None


def _fees_problem(
    answer: fees_spi.CalculateAdditionalFeesResponse, currency: str, line_ids: set[str]
) -> str | None:
    if answer.currency != currency:
        return f"fees are in {answer.currency!r}, not {currency}"
    if len(answer.additional_fees) > MAX_FEES:
        return f"more than {MAX_FEES} fees"
    codes: set[str] = set()
    for fee in answer.additional_fees:
        if not fee.code or fee.code in codes:
            return f"fee code {fee.code!r} is empty or repeated"
        codes.add(fee.code)
        try:
            parse_amount(fee.price, non_negative=True)
        except InvalidAmountError as exc:
            return f"fee {fee.code!r}: {exc}"
        unknown = [i for i in fee.line_item_ids if i not in line_ids]
        if unknown:
            return f"fee {fee.code!r} names line {unknown[0]!r}, which is not in the request"
    return None


def _carrier(
    carrier_id: str, offered: Sequence[_Option], money: Presenter
) -> shipping_pb2.CarrierServiceOption:
    return shipping_pb2.CarrierServiceOption(
        carrier_id=carrier_id,
        shipping_options=[
            shipping_pb2.ShippingOption(
                code=o.rate.code,
                title=o.rate.title,
                logistics=o.rate.logistics,
                cost=shipping_pb2.ShippingPrice(
                    price=money.price(parse_amount(o.rate.cost.price), exact=True),
                    other_charges=[
                        _charge_priced(c, money) for c in o.rate.cost.additional_charges
                    ],
                ),
            )
            for o in offered
        ],
    )


def _selection(option: _Option) -> shipping_pb2.SelectedShippingOption:
    return shipping_pb2.SelectedShippingOption(carrier_id=option.carrier_id, code=option.rate.code)


def _shipping_info(
    shipping: _Shipping,
    destination: address_pb2.Address | None,
    contact: address_pb2.AddressWithContact,
    result: PricingResult,
    money: Presenter,
    *,
    with_options: bool = True,
) -> shipping_pb2.ShippingInfo:
    info = shipping_pb2.ShippingInfo()
    if destination is not None:
        info.shipping_destination.CopyFrom(
            address_pb2.AddressWithContact(
                address=destination, contact_details=contact.contact_details
            )
        )
    chosen = shipping.chosen
    if chosen is not None and chosen.carrier_id in shipping.regions:
        info.region.CopyFrom(shipping.regions[chosen.carrier_id])
    if chosen is not None and result.shipping is not None:
        cost = result.shipping
        info.selected_carrier_service_option.CopyFrom(
            shipping_pb2.SelectedCarrierServiceOption(
                code=chosen.rate.code,
                title=chosen.rate.title,
                logistics=chosen.rate.logistics,
                cost=shipping_pb2.SelectedCarrierServiceOptionPrices(
                    total_price_after_tax=money.price(cost.total_price_after_tax),
                    total_price_before_tax=money.price(cost.total_price_before_tax),
                    tax_details=_tax(cost.tax_details, money),
                    total_discount=money.price(cost.total_discount),
                    price=money.price(cost.price),
                ),
                requested_shipping_option=shipping.requested,
                other_charges=[
                    _charge_priced(c, money) for c in chosen.rate.cost.additional_charges
                ],
                carrier_id=chosen.carrier_id,
            )
        )
    if with_options:
        info.carrier_service_options.extend(shipping.carriers)
    return info


def _charge_priced(
    charge: rates_spi.AdditionalCharge, money: Presenter
) -> shipping_pb2.OtherCharge:
    return shipping_pb2.OtherCharge(
        type=charge.type or shipping_pb2.OtherCharge.CHARGE_TYPE_HANDLING_FEE,
        price=money.price(parse_amount(charge.price), exact=True),
        details=charge.details,
    )


def _tax(details: TaxDetails, money: Presenter) -> pricing_pb2.TaxDetails:
    return pricing_pb2.TaxDetails(
        taxable_amount=money.price(details.taxable_amount),
        tax_rate=str(details.tax_rate),
        total_tax=money.price(details.total_tax),
        tax_breakdown=[
            pricing_pb2.TaxBreakdown(
                tax_name=part.tax_name,
                jurisdiction=part.jurisdiction,
                rate=str(part.rate),
                tax_amount=money.price(part.tax_amount),
            )
            for part in details.tax_breakdown
        ],
    )


def _summary(summary: PriceSummary, money: Presenter) -> pricing_pb2.PriceSummary:
    return pricing_pb2.PriceSummary(
        subtotal=money.price(summary.subtotal),
        shipping=money.price(summary.shipping),
        tax=money.price(summary.tax),
        discount=money.price(summary.discount),
        additional_fees=money.price(summary.additional_fees),
        total=money.price(summary.total),
    )


def _calculated_lines(
    result: PricingResult, priced: Sequence[PricedLine], money: Presenter
) -> list[line_item_pb2.CalculatedLineItem]:
    by_id = {p.line.id: p for p in priced}
    calculated = []
    for line in result.lines:
        data = by_id[line.line_id].data
        calculated.append(
            line_item_pb2.CalculatedLineItem(
                line_item_id=line.line_id,
                prices_breakdown=line_item_pb2.LineItemPricesData(
                    total_price_after_tax=money.price(line.total_price_after_tax),
                    total_price_before_tax=money.price(line.total_price_before_tax),
                    tax_details=_tax(line.tax_details, money),
                    total_discount=money.price(line.total_discount),
                    price=money.price(line.price, exact=True),
                    price_before_discounts=money.price(line.price_before_discounts, exact=True),
                    line_item_price=money.price(line.line_item_price),
                    full_price=money.price(line.full_price, exact=True),
                ),
                payment_option=data.payment_option
                or catalog_pb2.PAYMENT_OPTION_FULL_PAYMENT_ONLINE,
            )
        )
    return calculated


def _fee(
    fee: FeeResult, meta: tuple[str, fees_spi.AdditionalFee], money: Presenter
) -> pricing_pb2.AdditionalFee:
    app_id, given = meta
    return pricing_pb2.AdditionalFee(
        code=given.code,
        name=given.translated_name or given.name,
        price=money.price(fee.price),
        tax_details=_tax(fee.tax_details, money),
        provider_app_id=app_id,
        price_before_tax=money.price(fee.price_before_tax),
        price_after_tax=money.price(fee.price_after_tax),
        line_item_ids=fee.line_ids,
    )


def _unknown_items(cart: Cart) -> list[calculation_pb2.CalculationError]:
    return [
        calculation_pb2.CalculationError(
            code=CATALOG_ITEM_NOT_FOUND,
            description=(
                f"line {line.id}: the catalog no longer knows item {line.ref.item_id!r}; "
                "remove the line"
            ),
            app_id=line.ref.app_id,
        )
        for line in cart.lines
        if line.catalog.status is CatalogStatus.NOT_FOUND
    ]


def _normalized(
    violation: calculation_pb2.Violation, line_ids: set[str]
) -> calculation_pb2.Violation:
    """Unset severity is ERROR; a target naming no line of the cart becomes "general"."""
    fixed = calculation_pb2.Violation()
    fixed.CopyFrom(violation)
    if fixed.severity == calculation_pb2.VIOLATION_SEVERITY_UNSPECIFIED:
        fixed.severity = calculation_pb2.VIOLATION_SEVERITY_ERROR
    kind = fixed.target.WhichOneof("kind")
    if kind is None or (kind == "line_item" and fixed.target.line_item.id not in line_ids):
        fixed.target.other.name = "general"
    return fixed
