"""Phase two of a calculation: shipping rates, additional fees and validations, from every
registered provider of the three kinds, called concurrently under the calculation's budget
(one `ProviderClient.fan_out`). Requests are built by the caller; this module sends them and
turns answers into data, checking each answer against its SPI's rules: an answer the suite does
not trust is reported like a failure, never used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ecom.common.v1 import calculation_pb2, shipping_pb2
from ecom.spi.additional_fees.v1 import additional_fees_provider_service_pb2 as fees_spi
from ecom.spi.shipping_rates.v1 import shipping_rates_provider_service_pb2 as shipping_spi
from ecom.spi.validations.v1 import validations_provider_service_pb2 as validations_spi
from services.platform.providers import (
    PROVIDER_ERROR,
    Kind,
    Outcome,
    ProviderCall,
    ProviderClient,
    ProviderRef,
    ResponseCache,
)
from services.pricing import InvalidAmountError, parse_amount

GET_SHIPPING_RATES = Kind.SHIPPING_RATES.method("GetShippingRates")
CALCULATE_FEES = Kind.ADDITIONAL_FEES.method("CalculateAdditionalFees")
GET_VIOLATIONS = Kind.VALIDATIONS.method("GetValidationViolations")

MAX_RATES = 50
MAX_FEES = 50
MAX_VIOLATIONS = 100


@dataclass(frozen=True)
class Rate:
    """One offered option with its cost (base price plus charges) as a Decimal."""

    carrier_id: str
    option: shipping_pb2.ShippingOption
    total: Decimal

    @property
    def is_pickup(self) -> bool:
        return self.option.logistics.HasField("pickup_details")


@dataclass(frozen=True)
class Fee:
    app_id: str
    code: str
    name: str
    translated_name: str
    price: Decimal
    taxable: bool
    tax_group: str
    line_ids: tuple[str, ...]


@dataclass
class Quotes:
    #: Per carrier (app id), cheapest first; carriers that failed are absent.
    rates: dict[str, list[Rate]] = field(default_factory=dict)
    #: Per carrier, the shipping region it put the destination in (when it has regions).
    regions: dict[str, shipping_pb2.ShippingRegion] = field(default_factory=dict)
    carrier_errors: list[calculation_pb2.CarrierError] = field(default_factory=list)
    fees: list[Fee] = field(default_factory=list)
    fee_errors: list[calculation_pb2.CalculationError] = field(default_factory=list)
    violations: list[calculation_pb2.Violation] = field(default_factory=list)
    validation_errors: list[calculation_pb2.CalculationError] = field(default_factory=list)
    shipping_asked: bool = False


class QuoteRequests:
    """Builders of each provider's request (they differ only in `settings`)."""

    def __init__(
        self,
        shipping: shipping_spi.GetShippingRatesRequest | None,
        fees: fees_spi.CalculateAdditionalFeesRequest | None,
        validations: validations_spi.GetValidationViolationsRequest | None,
    ) -> None:
        self.shipping = shipping
        self.fees = fees
        self.validations = validations


def _with_settings(request: Any, ref: ProviderRef) -> Any:
    copy = type(request)()
    copy.CopyFrom(request)
    copy.settings.CopyFrom(ref.settings_struct())
    return copy


def _shipping_request(
    request: shipping_spi.GetShippingRatesRequest,
    ref: ProviderRef,
    preferred: tuple[str, str] | None,
) -> shipping_spi.GetShippingRatesRequest:
    copy: shipping_spi.GetShippingRatesRequest = _with_settings(request, ref)
    if preferred is not None and preferred[0] == ref.app_id:
        copy.preferred_shipping_option_code = preferred[1]
    return copy


class QuoteCaller:
    def __init__(self, client: ProviderClient, shipping_cache: ResponseCache) -> None:
        self._client = client
        self._shipping_cache = shipping_cache

    async def quote(
        self,
        refs: dict[Kind, list[ProviderRef]],
        requests: QuoteRequests,
        *,
        line_ids: set[str],
        currency: str,
        preferred: tuple[str, str] | None,
        remaining_s: float | None,
    ) -> Quotes:
        calls: list[ProviderCall[Any]] = []
        if requests.shipping is not None:
            calls += [
                ProviderCall(
                    ref,
                    GET_SHIPPING_RATES,
                    _shipping_request(requests.shipping, ref, preferred),
                    shipping_spi.GetShippingRatesResponse,
                    cache=self._shipping_cache,
                )
                for ref in refs.get(Kind.SHIPPING_RATES, [])
            ]
        if requests.fees is not None:
            calls += [
                ProviderCall(
                    ref,
                    CALCULATE_FEES,
                    _with_settings(requests.fees, ref),
                    fees_spi.CalculateAdditionalFeesResponse,
                )
                for ref in refs.get(Kind.ADDITIONAL_FEES, [])
            ]
        if requests.validations is not None:
            calls += [
                ProviderCall(
                    ref,
                    GET_VIOLATIONS,
                    _with_settings(requests.validations, ref),
                    validations_spi.GetValidationViolationsResponse,
                )
                for ref in refs.get(Kind.VALIDATIONS, [])
            ]
        quotes = Quotes(shipping_asked=requests.shipping is not None)
        for outcome in await self._client.fan_out(calls, remaining_s=remaining_s):
            kind = outcome.ref.kind
            if kind is Kind.SHIPPING_RATES:
                _take_rates(quotes, outcome, currency)
            elif kind is Kind.ADDITIONAL_FEES:
                _take_fees(quotes, outcome, currency, line_ids)
            else:
                _take_violations(quotes, outcome, line_ids)
        return quotes


def _rejected(outcome: Outcome[Any], problem: str) -> calculation_pb2.CalculationError:
    return calculation_pb2.CalculationError(
        code=PROVIDER_ERROR,
        description=f"provider {outcome.ref.app_id} sent an answer the suite rejects: {problem}",
        app_id=outcome.ref.app_id,
    )


def _amount(text: str, what: str) -> Decimal:
    try:
        return parse_amount(text, non_negative=True)
    except InvalidAmountError as exc:
        raise ValueError(f"{what}: {exc}") from None


def _take_rates(quotes: Quotes, outcome: Outcome[Any], currency: str) -> None:
    carrier = outcome.ref.app_id
    if not outcome.ok:
        quotes.carrier_errors.append(
            calculation_pb2.CarrierError(carrier_id=carrier, error=outcome.calculation_error())
        )
        return
    response: shipping_spi.GetShippingRatesResponse = outcome.unwrap()
    try:
        rates = _rates(carrier, response, currency)
    except ValueError as exc:
        quotes.carrier_errors.append(
            calculation_pb2.CarrierError(carrier_id=carrier, error=_rejected(outcome, str(exc)))
        )
        return
    quotes.rates[carrier] = rates
    if response.HasField("region"):
        quotes.regions[carrier] = response.region


def _rates(
    carrier: str, response: shipping_spi.GetShippingRatesResponse, currency: str
) -> list[Rate]:
    if len(response.shipping_rates) > MAX_RATES:
        raise ValueError(f"more than {MAX_RATES} rates")
    codes: set[str] = set()
    rates: list[Rate] = []
    for rate in response.shipping_rates:
        if not rate.code or rate.code in codes:
            raise ValueError(f"rate code {rate.code!r} is empty or repeated")
        codes.add(rate.code)
        if not rate.title:
            raise ValueError(f"rate {rate.code!r} has no title")
        if rate.cost.currency != currency:
            raise ValueError(f"rate {rate.code!r} is in {rate.cost.currency!r}, not {currency}")
        total = _amount(rate.cost.price, f"rate {rate.code!r} price")
        charges = []
        for charge in rate.cost.additional_charges:
            amount = _amount(charge.price, f"rate {rate.code!r} charge")
            total += amount
            charges.append((charge, amount))
        option = shipping_pb2.ShippingOption(
            code=rate.code, title=rate.title, logistics=rate.logistics
        )
        option.cost.price.amount = rate.cost.price
        for charge, _ in charges:
            option.cost.other_charges.add(
                type=charge.type or shipping_pb2.OtherCharge.CHARGE_TYPE_HANDLING_FEE,
                details=charge.details,
            ).price.amount = charge.price
        rates.append(Rate(carrier, option, total))
    rates.sort(key=lambda r: (r.total, r.option.code))
    return rates


def _take_fees(quotes: Quotes, outcome: Outcome[Any], currency: str, line_ids: set[str]) -> None:
    if not outcome.ok:
        quotes.fee_errors.append(outcome.calculation_error())
        return
    response: fees_spi.CalculateAdditionalFeesResponse = outcome.unwrap()
    try:
        fees = _fees(outcome.ref.app_id, response, currency, line_ids)
    except ValueError as exc:
        quotes.fee_errors.append(_rejected(outcome, str(exc)))
        return
    quotes.fees.extend(fees)


def _fees(
    app_id: str,
    response: fees_spi.CalculateAdditionalFeesResponse,
    currency: str,
    line_ids: set[str],
) -> list[Fee]:
    if response.currency != currency:
        raise ValueError(f"fees are in {response.currency!r}, not {currency}")
    if len(response.additional_fees) > MAX_FEES:
        raise ValueError(f"more than {MAX_FEES} fees")
    codes: set[str] = set()
    fees: list[Fee] = []
    for fee in response.additional_fees:
        if not fee.code or fee.code in codes:
            raise ValueError(f"fee code {fee.code!r} is empty or repeated")
        codes.add(fee.code)
        if not fee.name:
            raise ValueError(f"fee {fee.code!r} has no name")
        unknown = [line_id for line_id in fee.line_item_ids if line_id not in line_ids]
        if unknown:
            raise ValueError(f"fee {fee.code!r} names lines not in the request: {unknown}")
        fees.append(
            Fee(
                app_id=app_id,
                code=fee.code,
                name=fee.name,
                translated_name=fee.translated_name,
                price=_amount(fee.price, f"fee {fee.code!r} price"),
                taxable=fee.tax_details.taxable,
                tax_group=fee.tax_details.tax_group_id,
                line_ids=tuple(fee.line_item_ids),
            )
        )
    return fees


def _take_violations(quotes: Quotes, outcome: Outcome[Any], line_ids: set[str]) -> None:
    if not outcome.ok:
        quotes.validation_errors.append(outcome.calculation_error())
        return
    response: validations_spi.GetValidationViolationsResponse = outcome.unwrap()
    for violation in list(response.violations)[:MAX_VIOLATIONS]:
        kept = calculation_pb2.Violation()
        kept.CopyFrom(violation)
        if kept.severity == calculation_pb2.VIOLATION_SEVERITY_UNSPECIFIED:
            kept.severity = calculation_pb2.VIOLATION_SEVERITY_ERROR
        target = kept.target.WhichOneof("kind")
        if target is None or (target == "line_item" and kept.target.line_item.id not in line_ids):
            kept.target.other.name = "general"
        quotes.violations.append(kept)


def cheapest(rates: Sequence[Rate]) -> Rate | None:
    return min(rates, key=lambda r: (r.total, r.carrier_id, r.option.code), default=None)
