"""Recalculating a checkout: catalog data, discounts, shipping, fees, tax, validations.

Every mutation and CreateOrder runs `Calculator.calculate` on a draft (the stored checkout with
the change applied) and stores what it returns. The providers are called in two rounds under one
budget (`calculation_budget`: the caller's deadline, less a margin for the write, and at most
`CheckoutSettings.calculation_budget_s`):

1. the catalog providers of the lines (concurrently), because everything else depends on the
   lines' prices, weights and shippability;
2. every shipping-rates, additional-fees and validations provider, all at once in one fan-out.

Fees and validations depend on the selected shipping option (its price goes into the fee
request, the totals into the validation request), which is known only after the shipping
answers. Round 2 therefore sends them the option the checkout had (or the one the buyer asked
for, at its last quoted price); when the shipping answers select another option or price, fees
and validations alone are asked again with the real one. A checkout that ships but has no option
yet (a new one) has nothing to speculate with: its fees and validations are asked only once,
after the shipping answers. The usual mutation (a buyer detail, a line) keeps the option and
costs one round; a new destination or a new checkout costs one more, still bounded by the
budget. A provider that hangs costs at most its deadline and becomes a calculation error.

Problems are data (`calculation_errors`, `violations`, line `availability`), never exceptions.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from ecom.checkout.v1 import checkout_pb2
from ecom.common.v1 import (
    calculation_pb2,
    catalog_pb2,
    channel_pb2,
    line_item_pb2,
    pricing_pb2,
    shipping_pb2,
)
from ecom.spi.additional_fees.v1 import additional_fees_provider_service_pb2 as fees_spi
from ecom.spi.catalog.v1 import catalog_provider_service_pb2 as catalog_spi
from ecom.spi.shipping_rates.v1 import shipping_rates_provider_service_pb2 as shipping_spi
from ecom.spi.validations.v1 import validations_provider_service_pb2 as validations_spi
from services.checkout import valuation
from services.checkout.catalog import CatalogRead, CatalogReader, Wanted
from services.checkout.discounts import (
    AppliedCoupon,
    CheckoutDiscounts,
    DiscountLine,
    DiscountsResult,
    GiftCardResult,
    obfuscate,
)
from services.checkout.domain import (
    FOUND,
    NOT_FOUND,
    LineSource,
    Sources,
    availability,
    reference_key,
)
from services.checkout.money import ZERO, Presenter
from services.checkout.quotes import QuoteCaller, QuoteRequests, Quotes, Rate, cheapest
from services.platform.deadlines import Deadline
from services.platform.errors import Unavailable
from services.platform.providers import PROVIDER_UNAVAILABLE, Kind, ProviderClient, ProviderRef
from services.platform.sites import SiteDirectory, SiteSettings
from services.pricing import (
    DiscountSourceKind,
    PricingResult,
    TaxAddress,
    calculate,
    parse_amount,
)

NO_SHIPPING_OPTIONS = "NO_SHIPPING_OPTIONS"
_QUOTED_KINDS = (Kind.SHIPPING_RATES, Kind.ADDITIONAL_FEES, Kind.VALIDATIONS)


#: The margin kept for storing the result: a part of the caller's time left, within bounds.
_MARGIN_FRACTION = 0.15
_MIN_MARGIN_S = 0.1
_MAX_MARGIN_S = 0.5


def calculation_budget(caller: Deadline, cap_s: float) -> Deadline:
    """One deadline for every provider call of a calculation: the caller's, less a margin for
    storing the result, and at most `cap_s` from now (also when the caller set none)."""
    return caller.reserving(
        _MARGIN_FRACTION, at_least_s=_MIN_MARGIN_S, at_most_s=_MAX_MARGIN_S
    ).capped(cap_s)


@dataclass
class Draft:
    """A checkout about to be calculated: the stored one with a change applied. Output fields
    still hold the last calculation (the speculative shipping option is read from them)."""

    checkout: checkout_pb2.Checkout
    sources: Sources


@dataclass
class Calculated:
    checkout: checkout_pb2.Checkout
    sources: Sources
    catalog: CatalogRead


@dataclass(frozen=True)
class _Choice:
    carrier_id: str
    code: str
    total: Decimal


def weight_unit_name(unit: int) -> str:
    return "LB" if unit == channel_pb2.WEIGHT_UNIT_LB else "KG"


def presenter(checkout: checkout_pb2.Checkout, settings: SiteSettings) -> Presenter:
    conversion = checkout.conversion_currency
    return Presenter(
        checkout.currency,
        locale=checkout.buyer_language or checkout.site_language,
        conversion_currency=conversion,
        rate=settings.exchange_rates.get(conversion) if conversion else None,
    )


class Calculator:
    def __init__(
        self,
        client: ProviderClient,
        catalog: CatalogReader,
        quotes: QuoteCaller,
        discounts: CheckoutDiscounts,
        sites: SiteDirectory,
    ) -> None:
        self._client = client
        self._catalog = catalog
        self._quotes = quotes
        self._discounts = discounts
        self._sites = sites

    async def calculate(
        self, site: str, draft: Draft, budget: Deadline, *, fresh: bool = False
    ) -> Calculated:
        """Recalculate `draft`; `fresh` reads the catalog without its answer cache."""
        settings = self._sites.for_site(site)
        checkout = checkout_pb2.Checkout()
        checkout.CopyFrom(draft.checkout)
        sources = draft.sources.copy()
        p = presenter(checkout, settings)
        errors = calculation_pb2.CalculationErrors()

        read = await self._read_catalog(site, checkout, sources, budget, fresh)
        errors.catalog_errors.extend(read.errors)
        for app_id in sorted(read.unknown_apps):
            errors.catalog_errors.add(
                code=PROVIDER_UNAVAILABLE,
                description=f"no catalog provider is registered under app id {app_id!r}",
                app_id=app_id,
            )
        for line in checkout.line_items:
            _fill_line(line, sources.lines[line.id], read, p)
        priced = valuation.priced_lines(checkout.line_items, sources)

        discounts, gift, refs = await asyncio.gather(
            self._discounts.evaluate(
                site,
                checkout.id,
                [
                    DiscountLine(
                        id=pl.line.id,
                        app_id=pl.line.catalog_reference.app_id,
                        catalog_item_id=pl.line.catalog_reference.catalog_item_id,
                        quantity=pl.line.quantity,
                        price=pl.price,
                        root_item_id=pl.line.root_catalog_item_id,
                    )
                    for pl in priced
                ],
                coupon_code=sources.coupon_code,
                currency=checkout.currency,
                buyer=checkout.buyer_info,
                subtotal=sum((pl.price * pl.line.quantity for pl in priced), ZERO),
                remaining_s=budget.remaining(),
            ),
            self._gift_card(site, sources.gift_card_code, budget),
            self._refs(site, errors),
        )

        ships = any(line.physical_properties.shippable for line in checkout.line_items)
        guess = _speculate(checkout, sources.requested_option) if ships else None
        line_ids = {line.id for line in checkout.line_items}
        has_lines = bool(checkout.line_items)  # providers are not asked about nothing
        # Without an option to speculate with, the answers would almost surely be asked again.
        speculate = has_lines and not (ships and guess is None)
        preliminary = (
            self._price(checkout, priced, discounts, guess, (), None, settings)
            if speculate
            else None
        )
        quotes = await self._quotes.quote(
            refs,
            QuoteRequests(
                _shipping_request(checkout) if ships else None,
                _fees_request(checkout, p, preliminary, discounts, guess)
                if preliminary is not None
                else None,
                _validations_request(checkout, p, preliminary, discounts, guess)
                if preliminary is not None
                else None,
            ),
            line_ids=line_ids,
            currency=checkout.currency,
            preferred=sources.requested_option,
            remaining_s=budget.remaining(),
        )
        choice, requested = _select(quotes, sources.requested_option) if ships else (None, False)
        asked_again = has_lines and (not speculate or choice != guess)
        if asked_again and (refs[Kind.ADDITIONAL_FEES] or refs[Kind.VALIDATIONS]):
            # Fees and validations were not asked yet, or were told about another option.
            preliminary = self._price(checkout, priced, discounts, choice, (), None, settings)
            again = await self._quotes.quote(
                {kind: refs[kind] for kind in (Kind.ADDITIONAL_FEES, Kind.VALIDATIONS)},
                QuoteRequests(
                    None,
                    _fees_request(checkout, p, preliminary, discounts, choice),
                    _validations_request(checkout, p, preliminary, discounts, choice),
                ),
                line_ids=line_ids,
                currency=checkout.currency,
                preferred=None,
                remaining_s=budget.remaining(),
            )
            quotes.fees, quotes.fee_errors = again.fees, again.fee_errors
            quotes.violations, quotes.validation_errors = again.violations, again.validation_errors

        _write_shipping(checkout, p, quotes, choice, requested, ships, refs, errors)
        result = self._price(
            checkout, priced, discounts, choice, quotes.fees, _tax_address(checkout), settings
        )
        valuation.present(checkout, p, result, quotes.fees)
        errors.additional_fees_errors.extend(quotes.fee_errors)
        errors.order_validation_errors.extend(quotes.validation_errors)
        _write_discounts(checkout, p, result, discounts, errors)
        _write_gift_card(checkout, p, gift, errors)
        del checkout.violations[:]
        checkout.violations.extend(quotes.violations)
        checkout.ClearField("calculation_errors")
        if errors.ListFields():
            checkout.calculation_errors.CopyFrom(errors)
        return Calculated(checkout, sources, read)

    async def _read_catalog(
        self,
        site: str,
        checkout: checkout_pb2.Checkout,
        sources: Sources,
        budget: Deadline,
        fresh: bool,
    ) -> CatalogRead:
        wanted = [
            Wanted(line.catalog_reference, line.quantity)
            for line in checkout.line_items
            if not sources.lines[line.id].custom
        ]
        return await self._catalog.read(
            site,
            wanted,
            currency=checkout.currency,
            weight_unit=weight_unit_name(checkout.weight_unit),
            language=checkout.buyer_language or checkout.site_language,
            remaining_s=budget.remaining(),
            fresh=fresh,
        )

    async def _gift_card(self, site: str, code: str, budget: Deadline) -> GiftCardResult | None:
        if not code:
            return None
        return await self._discounts.gift_card(site, code, remaining_s=budget.remaining())

    async def _refs(
        self, site: str, errors: calculation_pb2.CalculationErrors
    ) -> dict[Kind, list[ProviderRef]]:
        async def listed(kind: Kind) -> list[ProviderRef]:
            try:
                return await self._client.providers(site, kind)
            except Unavailable as exc:
                error = calculation_pb2.CalculationError(
                    code=PROVIDER_UNAVAILABLE, description=exc.message
                )
                if kind is Kind.SHIPPING_RATES:
                    errors.general_shipping_calculation_error.CopyFrom(error)
                elif kind is Kind.ADDITIONAL_FEES:
                    errors.additional_fees_errors.append(error)
                else:
                    errors.order_validation_errors.append(error)
                return []

        lists = await asyncio.gather(*(listed(kind) for kind in _QUOTED_KINDS))
        return dict(zip(_QUOTED_KINDS, lists, strict=True))

    @staticmethod
    def _price(
        checkout: checkout_pb2.Checkout,
        priced: Sequence[valuation.PricedLine],
        discounts: DiscountsResult,
        choice: _Choice | None,
        fees: Sequence[valuation.Fee],
        tax_address: TaxAddress | None,
        settings: SiteSettings,
    ) -> PricingResult:
        return calculate(
            valuation.pricing_input(
                currency=checkout.currency,
                tax_included=checkout.tax_included_in_prices,
                priced=priced,
                discounts=discounts,
                merchant=checkout.merchant_discounts,
                shipping_price=choice.total if choice else None,
                fees=fees,
                tax_address=tax_address,
                tax_table=settings.tax_table if tax_address else None,
            )
        )


# --------------------------------------------------------------------------- lines


def _fill_line(
    line: line_item_pb2.LineItem, source: LineSource, read: CatalogRead, p: Presenter
) -> None:
    """Rewrite a line's output fields from its source: the custom data, or the catalog answer
    (FOUND: fresh data; NOT_FOUND: flagged, never priced; no answer: the data last read,
    flagged with availability unspecified)."""
    fresh = line_item_pb2.LineItem(
        id=line.id, quantity=line.quantity, custom_line_item=source.custom
    )
    if line.HasField("catalog_reference"):
        fresh.catalog_reference.CopyFrom(line.catalog_reference)
    if source.custom:
        custom = checkout_pb2.CustomLineItem.FromString(source.data)
        price = parse_amount(custom.price)
        fresh.product_name.CopyFrom(custom.product_name)
        fresh.url = custom.url
        fresh.price.CopyFrom(p.price(price, exact=True))
        full = parse_amount(custom.full_price) if custom.full_price else price
        fresh.full_price.CopyFrom(p.price(full, exact=True))
        fresh.price_before_discounts.CopyFrom(p.price(price, exact=True))
        fresh.description_lines.extend(custom.description_lines)
        if custom.HasField("media"):
            fresh.media.CopyFrom(custom.media)
        fresh.availability.status = catalog_pb2.AVAILABILITY_STATUS_AVAILABLE
        if custom.HasField("physical_properties"):
            fresh.physical_properties.CopyFrom(custom.physical_properties)
        fresh.item_type.CopyFrom(custom.item_type)
        fresh.payment_option = (
            custom.payment_option or catalog_pb2.PAYMENT_OPTION_FULL_PAYMENT_ONLINE
        )
        if custom.HasField("price_description"):
            fresh.price_description.CopyFrom(custom.price_description)
        fresh.tax_group_id = custom.tax_group_id
        line.CopyFrom(fresh)
        return
    key = reference_key(line.catalog_reference)
    if key in read.found:
        source.data = read.found[key].SerializeToString(deterministic=True)
        source.state, source.stale = FOUND, False
    elif key in read.not_found:
        source.state, source.stale = NOT_FOUND, False
    else:
        source.stale = True
    if source.data:
        _copy_catalog_data(fresh, catalog_spi.CatalogItemData.FromString(source.data), p)
    if source.state == NOT_FOUND:
        fresh.availability.CopyFrom(
            catalog_pb2.Availability(status=catalog_pb2.AVAILABILITY_STATUS_NOT_FOUND)
        )
    elif source.stale or not source.data:
        fresh.availability.CopyFrom(catalog_pb2.Availability())
    line.CopyFrom(fresh)


def _copy_catalog_data(
    line: line_item_pb2.LineItem, data: catalog_spi.CatalogItemData, p: Presenter
) -> None:
    price = parse_amount(data.price)
    line.product_name.CopyFrom(data.product_name)
    line.url = data.url
    line.price.CopyFrom(p.price(price, exact=True))
    full = parse_amount(data.full_price) if data.full_price else price
    line.full_price.CopyFrom(p.price(full, exact=True))
    line.price_before_discounts.CopyFrom(p.price(price, exact=True))
    line.description_lines.extend(data.description_lines)
    if data.HasField("media"):
        line.media.CopyFrom(data.media)
    available = data.quantity_available if data.HasField("quantity_available") else None
    line.availability.CopyFrom(availability(line.quantity, available))
    if data.HasField("physical_properties"):
        line.physical_properties.CopyFrom(data.physical_properties)
    if data.HasField("item_type"):
        line.item_type.CopyFrom(data.item_type)
    else:
        line.item_type.preset = catalog_pb2.ITEM_TYPE_PRESET_PHYSICAL
    line.payment_option = data.payment_option or catalog_pb2.PAYMENT_OPTION_FULL_PAYMENT_ONLINE
    if data.HasField("price_description"):
        line.price_description.CopyFrom(data.price_description)
    line.fulfiller_id = data.fulfiller_id
    line.tax_group_id = data.tax_group_id
    line.root_catalog_item_id = data.root_catalog_item_id


# --------------------------------------------------------------------------- shipping


def _option_total(option: shipping_pb2.ShippingOption) -> Decimal:
    total = parse_amount(option.cost.price.amount or "0")
    for charge in option.cost.other_charges:
        total += parse_amount(charge.price.amount or "0")
    return total


def _speculate(
    checkout: checkout_pb2.Checkout, requested: tuple[str, str] | None
) -> _Choice | None:
    """The option fees and validations are first told about: the one asked for, at the price it
    was last quoted, or else the option in effect after the last calculation."""
    info = checkout.shipping_info
    if requested is not None:
        for carrier in info.carrier_service_options:
            if carrier.carrier_id != requested[0]:
                continue
            for option in carrier.shipping_options:
                if option.code == requested[1]:
                    return _Choice(carrier.carrier_id, option.code, _option_total(option))
    selected = info.selected_carrier_service_option
    if not selected.code:
        return None
    return _Choice(
        selected.carrier_id, selected.code, parse_amount(selected.cost.price.amount or "0")
    )


def _select(quotes: Quotes, requested: tuple[str, str] | None) -> tuple[_Choice | None, bool]:
    rates = [rate for carrier in sorted(quotes.rates) for rate in quotes.rates[carrier]]
    if requested is not None:
        for rate in rates:
            if (rate.carrier_id, rate.option.code) == requested:
                return _Choice(rate.carrier_id, rate.option.code, rate.total), True
    best = cheapest(rates)
    if best is None:
        return None, False
    return _Choice(best.carrier_id, best.option.code, best.total), False


def _presented_option(p: Presenter, rate: Rate) -> shipping_pb2.ShippingOption:
    option = shipping_pb2.ShippingOption()
    option.CopyFrom(rate.option)
    option.cost.price.CopyFrom(p.price(parse_amount(rate.option.cost.price.amount)))
    for charge in option.cost.other_charges:
        charge.price.CopyFrom(p.price(parse_amount(charge.price.amount)))
    return option


def _write_shipping(
    checkout: checkout_pb2.Checkout,
    p: Presenter,
    quotes: Quotes,
    choice: _Choice | None,
    requested: bool,
    ships: bool,
    refs: dict[Kind, list[ProviderRef]],
    errors: calculation_pb2.CalculationErrors,
) -> None:
    info = checkout.shipping_info
    info.ClearField("selected_carrier_service_option")
    info.ClearField("region")
    del info.carrier_service_options[:]
    if not ships:
        return
    errors.carrier_errors.extend(quotes.carrier_errors)
    for carrier in sorted(quotes.rates):
        entry = info.carrier_service_options.add(carrier_id=carrier)
        entry.shipping_options.extend(_presented_option(p, r) for r in quotes.rates[carrier])
    if choice is None:
        if errors.HasField("general_shipping_calculation_error"):
            return
        if not refs[Kind.SHIPPING_RATES]:
            description = "no shipping provider is registered for the site"
        elif quotes.carrier_errors and not quotes.rates:
            return  # every carrier failed: the carrier errors say why
        elif not info.shipping_destination.address.country:
            description = "no carrier offers an option without a shipping destination"
        else:
            description = "no carrier offers an option for the shipping destination"
        errors.general_shipping_calculation_error.CopyFrom(
            calculation_pb2.CalculationError(code=NO_SHIPPING_OPTIONS, description=description)
        )
        return
    rate = next(r for r in quotes.rates[choice.carrier_id] if r.option.code == choice.code)
    option = _presented_option(p, rate)
    selected = info.selected_carrier_service_option
    selected.code = option.code
    selected.title = option.title
    selected.carrier_id = choice.carrier_id
    selected.requested_shipping_option = requested
    if option.HasField("logistics"):
        selected.logistics.CopyFrom(option.logistics)
    selected.other_charges.extend(option.cost.other_charges)
    region = quotes.regions.get(choice.carrier_id)
    if region is not None:
        info.region.CopyFrom(region)


def _tax_address(checkout: checkout_pb2.Checkout) -> TaxAddress | None:
    """Tax is due where the goods go (the destination), else where the buyer is billed."""
    destination = checkout.shipping_info.shipping_destination.address
    billing = checkout.billing_info.address
    ships = any(line.physical_properties.shippable for line in checkout.line_items)
    for address in (destination, billing) if ships else (billing, destination):
        if address.country:
            return TaxAddress(address.country, address.subdivision)
    return None


# --------------------------------------------------------------------------- requests


def _applied_discounts(
    checkout: checkout_pb2.Checkout, p: Presenter, result: PricingResult, discounts: DiscountsResult
) -> list[pricing_pb2.AppliedDiscount]:
    by_source = {(a.source.kind, a.source.id): a for a in result.applied_discounts}
    applied: list[pricing_pb2.AppliedDiscount] = []
    # An unusable coupon is listed by its code at "0" (calculation_errors say why), as
    # checkout.proto promises.
    coupon = discounts.coupon or (
        AppliedCoupon(id="", code=discounts.coupon_code, name="") if discounts.coupon_code else None
    )
    if coupon is not None:
        taken = by_source.get((DiscountSourceKind.COUPON, coupon.id)) if coupon.id else None
        entry = pricing_pb2.AppliedDiscount(
            coupon=pricing_pb2.AppliedDiscount.Coupon(
                id=coupon.id,
                code=coupon.code,
                name=coupon.name,
                amount=p.price(taken.amount if taken else ZERO),
            ),
            discount_type=pricing_pb2.DISCOUNT_TYPE_GLOBAL,
        )
        if taken is not None:
            entry.discount_type = _DISCOUNT_TYPES[taken.discount_type.value]
            entry.line_item_ids.extend(taken.line_ids)
        applied.append(entry)
    for index, discount in enumerate(checkout.merchant_discounts):
        taken = by_source.get((DiscountSourceKind.MERCHANT_DISCOUNT, str(index)))
        entry = pricing_pb2.AppliedDiscount(
            merchant_discount=pricing_pb2.AppliedDiscount.MerchantDiscount(
                amount=p.price(taken.amount if taken else ZERO),
                description=discount.description,
            ),
            discount_type=pricing_pb2.DISCOUNT_TYPE_SPECIFIC_ITEMS
            if discount.line_item_ids
            else pricing_pb2.DISCOUNT_TYPE_GLOBAL,
        )
        entry.line_item_ids.extend(discount.line_item_ids)
        applied.append(entry)
    for rule_id, name in discounts.rules.items():
        taken = by_source.get((DiscountSourceKind.DISCOUNT_RULE, rule_id))
        entry = pricing_pb2.AppliedDiscount(
            discount_rule=pricing_pb2.AppliedDiscount.DiscountRule(
                id=rule_id,
                amount=p.price(taken.amount if taken else ZERO),
            )
        )
        entry.discount_rule.name.original = name
        if taken is not None:
            entry.discount_type = _DISCOUNT_TYPES[taken.discount_type.value]
            entry.line_item_ids.extend(taken.line_ids)
        applied.append(entry)
    return applied


_DISCOUNT_TYPES = {
    "GLOBAL": pricing_pb2.DISCOUNT_TYPE_GLOBAL,
    "SPECIFIC_ITEMS": pricing_pb2.DISCOUNT_TYPE_SPECIFIC_ITEMS,
    "SHIPPING": pricing_pb2.DISCOUNT_TYPE_SHIPPING,
}


def _write_discounts(
    checkout: checkout_pb2.Checkout,
    p: Presenter,
    result: PricingResult,
    discounts: DiscountsResult,
    errors: calculation_pb2.CalculationErrors,
) -> None:
    del checkout.applied_discounts[:]
    checkout.applied_discounts.extend(_applied_discounts(checkout, p, result, discounts))
    if discounts.coupon_error is not None:
        errors.coupon_calculation_error.CopyFrom(discounts.coupon_error)
    if discounts.discounts_error is not None:
        errors.discounts_calculation_error.CopyFrom(discounts.discounts_error)


def _write_gift_card(
    checkout: checkout_pb2.Checkout,
    p: Presenter,
    gift: GiftCardResult | None,
    errors: calculation_pb2.CalculationErrors,
) -> None:
    checkout.ClearField("gift_card")
    if gift is None:
        return
    amount = ZERO
    if gift.balance is not None:
        amount = min(gift.balance, parse_amount(checkout.pay_now.total.amount))
    checkout.gift_card.CopyFrom(
        checkout_pb2.GiftCard(
            id=gift.id,
            code=gift.code,
            obfuscated_code=obfuscate(gift.code),
            amount=p.price(amount),
            app_id=gift.app_id,
            external_id=gift.external_id,
        )
    )
    if gift.error is not None:
        errors.gift_card_calculation_error.CopyFrom(gift.error)


def _shipping_request(checkout: checkout_pb2.Checkout) -> shipping_spi.GetShippingRatesRequest:
    request = shipping_spi.GetShippingRatesRequest(
        line_items=checkout.line_items,
        weight_unit=checkout.weight_unit or channel_pb2.WEIGHT_UNIT_KG,
        tax_included_in_prices=checkout.tax_included_in_prices,
        currency=checkout.currency,
    )
    destination = checkout.shipping_info.shipping_destination
    if destination.HasField("address"):
        request.shipping_destination.CopyFrom(destination.address)
    return request


def _selected(choice: _Choice | None) -> shipping_pb2.SelectedShippingOption | None:
    if choice is None:
        return None
    return shipping_pb2.SelectedShippingOption(carrier_id=choice.carrier_id, code=choice.code)


def _fees_request(
    checkout: checkout_pb2.Checkout,
    p: Presenter,
    preliminary: PricingResult,
    discounts: DiscountsResult,
    choice: _Choice | None,
) -> fees_spi.CalculateAdditionalFeesRequest:
    request = fees_spi.CalculateAdditionalFeesRequest(
        line_items=checkout.line_items,
        buyer_details=checkout.buyer_info,
        applied_discounts=_applied_discounts(checkout, p, preliminary, discounts),
        currency=checkout.currency,
        subtotal=p.price(preliminary.price_summary.subtotal).amount,
    )
    destination = checkout.shipping_info.shipping_destination
    if destination.HasField("address"):
        request.shipping_address.CopyFrom(destination.address)
    selected = _selected(choice)
    if selected is not None and preliminary.shipping is not None:
        request.selected_shipping_option.CopyFrom(selected)
        request.shipping_price = p.price(preliminary.shipping.total_price_before_tax).amount
    return request


def _validations_request(
    checkout: checkout_pb2.Checkout,
    p: Presenter,
    preliminary: PricingResult,
    discounts: DiscountsResult,
    choice: _Choice | None,
) -> validations_spi.GetValidationViolationsRequest:
    request = validations_spi.GetValidationViolationsRequest(
        source=validations_spi.SOURCE_CHECKOUT,
        source_id=checkout.id,
        buyer_details=checkout.buyer_info,
        line_items=checkout.line_items,
        price_summary=valuation.summary(p, preliminary.price_summary),
        applied_discounts=_applied_discounts(checkout, p, preliminary, discounts),
        currency=checkout.currency,
        weight_unit=checkout.weight_unit,
        channel_type=checkout.channel_type,
    )
    if checkout.HasField("billing_info"):
        request.billing_address.CopyFrom(checkout.billing_info)
    destination = checkout.shipping_info.shipping_destination
    if checkout.shipping_info.HasField("shipping_destination"):
        request.shipping_address.CopyFrom(destination)
        request.shipping_info.shipping_destination.CopyFrom(destination)
    if choice is not None:
        selected = request.shipping_info.selected_carrier_service_option
        selected.carrier_id, selected.code = choice.carrier_id, choice.code
        selected.cost.price.CopyFrom(p.price(choice.total))
    return request
