"""`ecom.spi.validations.v1.ValidationsProviderService`: proto <-> domain translation only."""

from __future__ import annotations

import grpc

from ecom.common.v1 import calculation_pb2
from ecom.spi.validations.v1 import validations_provider_service_pb2 as pb
from ecom.spi.validations.v1 import validations_provider_service_pb2_grpc as pb_grpc
from services.platform.errors import Violations
from services.providers.common import convert
from services.providers.validations.domain import Finding, Order, Totals, validate
from services.providers.validations.settings import (
    DEFAULTS,
    ValidationSettings,
    parse_settings,
)


class ValidationsServicer(pb_grpc.ValidationsProviderServiceServicer):
    def __init__(self) -> None:
        self._settings = convert.SettingsCache(parse_settings, DEFAULTS)

    async def GetValidationViolations(
        self, request: pb.GetValidationViolationsRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetValidationViolationsResponse:
        violations = Violations()
        settings = convert.read_settings(self._settings, request.settings, violations)
        if request.source == pb.SOURCE_UNSPECIFIED:
            violations.add("source", "is required: SOURCE_CART or SOURCE_CHECKOUT")
        # The shipping address and shipping_info's destination are the same (the SPI says so);
        # take whichever the caller filled.
        address = (
            request.shipping_address.address
            if request.shipping_address.address.country
            else request.shipping_info.shipping_destination.address
        )
        summary = request.price_summary
        order = Order(
            lines=convert.lines(request.line_items, violations),
            destination=convert.destination(address),
            currency=convert.currency(request.currency, violations),
            totals=Totals(
                subtotal=convert.amount(
                    summary.subtotal.amount, violations, "price_summary.subtotal.amount"
                ),
                discount=convert.amount(
                    summary.discount.amount, violations, "price_summary.discount.amount"
                ),
            ),
        )
        violations.raise_if_any()
        assert isinstance(settings, ValidationSettings)  # no violations: the settings parsed
        return pb.GetValidationViolationsResponse(
            violations=[_violation(finding) for finding in validate(settings, order)]
        )


def _violation(finding: Finding) -> calculation_pb2.Violation:
    violation = calculation_pb2.Violation(
        severity=int(finding.severity),  # type: ignore[arg-type]
        description=finding.description,
    )
    if finding.line_id:
        violation.target.line_item.id = finding.line_id
    else:
        violation.target.other.name = finding.area
    return violation
