"""`ecom.spi.additional_fees.v1.AdditionalFeesProviderService`: proto <-> domain translation
only."""

from __future__ import annotations

import grpc

from ecom.spi.additional_fees.v1 import additional_fees_provider_service_pb2 as pb
from ecom.spi.additional_fees.v1 import additional_fees_provider_service_pb2_grpc as pb_grpc
from services.platform.errors import Violations
from services.pricing import to_wire
from services.providers.common import convert
from services.providers.fees.domain import Fee, Order, calculate
from services.providers.fees.settings import DEFAULTS, FeeSettings, parse_settings


class AdditionalFeesServicer(pb_grpc.AdditionalFeesProviderServiceServicer):
    def __init__(self) -> None:
        self._settings = convert.SettingsCache(parse_settings, DEFAULTS)

    async def CalculateAdditionalFees(
        self, request: pb.CalculateAdditionalFeesRequest, context: grpc.aio.ServicerContext
    ) -> pb.CalculateAdditionalFeesResponse:
        violations = Violations()
        settings = convert.read_settings(self._settings, request.settings, violations)
        order = Order(
            lines=convert.lines(request.line_items, violations),
            destination=convert.destination(request.shipping_address),
            currency=convert.currency(request.currency, violations),
        )
        violations.raise_if_any()
        assert isinstance(settings, FeeSettings)  # no violations: the settings parsed
        fees = calculate(settings, order)
        return pb.CalculateAdditionalFeesResponse(
            currency=order.currency, additional_fees=[_fee(fee, order.currency) for fee in fees]
        )


def _fee(fee: Fee, currency: str) -> pb.AdditionalFee:
    return pb.AdditionalFee(
        code=fee.code,
        name=fee.name,
        price=to_wire(fee.price, currency),
        tax_details=pb.AdditionalFeeTaxDetails(
            taxable=fee.taxes.taxable, tax_group_id=fee.taxes.tax_group_id
        ),
        line_item_ids=list(fee.line_item_ids),
    )
