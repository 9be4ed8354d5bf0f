"""A catalog line's payment option (`ecom.common.v1.PaymentOption`) in the pricing engine's
terms, for every service that prices catalog lines (the cart and the checkout)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from ecom.common.v1 import catalog_pb2
from services.pricing import PaymentOption

_BY_WIRE_VALUE: Mapping[int, PaymentOption] = MappingProxyType(
    {
        catalog_pb2.PAYMENT_OPTION_FULL_PAYMENT_ONLINE: PaymentOption.FULL_PAYMENT_ONLINE,
        catalog_pb2.PAYMENT_OPTION_FULL_PAYMENT_OFFLINE: PaymentOption.FULL_PAYMENT_OFFLINE,
        catalog_pb2.PAYMENT_OPTION_MEMBERSHIP: PaymentOption.MEMBERSHIP,
        catalog_pb2.PAYMENT_OPTION_DEPOSIT_ONLINE: PaymentOption.DEPOSIT_ONLINE,
        catalog_pb2.PAYMENT_OPTION_MEMBERSHIP_OFFLINE: PaymentOption.MEMBERSHIP_OFFLINE,
    }
)


def payment_option(value: int) -> PaymentOption:
    """Unset (and values newer than this build) mean the catalog's default: paid in full online."""
    return _BY_WIRE_VALUE.get(value, PaymentOption.FULL_PAYMENT_ONLINE)
