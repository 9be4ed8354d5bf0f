"""The orders domain's enums, numbered as their `ecom.orders.v1` / `ecom.common.v1` protos."""

from __future__ import annotations

import enum


class OrderStatus(enum.IntEnum):
    INITIALIZED = 1
    APPROVED = 2
    CANCELED = 3


class PaymentStatus(enum.IntEnum):
    NOT_PAID = 1
    PENDING = 2
    PARTIALLY_PAID = 3
    PAID = 4
    PARTIALLY_REFUNDED = 5
    FULLY_REFUNDED = 6


class FulfillmentStatus(enum.IntEnum):
    NOT_FULFILLED = 1
    PARTIALLY_FULFILLED = 2
    FULFILLED = 3


class TransactionStatus(enum.IntEnum):
    APPROVED = 1
    PENDING = 2
    CANCELED = 3
    DECLINED = 4
    REFUNDED = 5
    PARTIALLY_REFUNDED = 6
    AUTHORIZED = 7
    VOIDED = 8


class ActivityType(enum.IntEnum):
    ORDER_PLACED = 1
    ORDER_PAID = 2
    ORDER_FULFILLED = 3
    ORDER_NOT_FULFILLED = 4
    ORDER_CANCELED = 5
    ORDER_REFUNDED = 6
    MERCHANT_COMMENT = 7
    CUSTOM_ACTIVITY = 8
    ORDER_PARTIALLY_PAID = 9
    ORDER_APPROVED = 10
    SHIPPING_ADDRESS_EDITED = 11
    EMAIL_EDITED = 12
    TRACKING_NUMBER_ADDED = 13
    TRACKING_NUMBER_EDITED = 14


#: The activities callers add, edit and delete; every other type is recorded by the suite.
EDITABLE_ACTIVITIES = frozenset({ActivityType.MERCHANT_COMMENT, ActivityType.CUSTOM_ACTIVITY})


class ApprovalStrategy(enum.IntEnum):
    DEFAULT = 1
    PAYMENT_RECEIVED = 2


class PaymentOption(enum.IntEnum):
    """ecom.common.v1.PaymentOption."""

    UNSPECIFIED = 0
    FULL_PAYMENT_ONLINE = 1
    FULL_PAYMENT_OFFLINE = 2
    MEMBERSHIP = 3
    DEPOSIT_ONLINE = 4
    MEMBERSHIP_OFFLINE = 5


#: Lines paid this way leave nothing due online: an order of only such lines is "offline".
OFFLINE_OPTIONS = frozenset(
    {PaymentOption.FULL_PAYMENT_OFFLINE, PaymentOption.MEMBERSHIP, PaymentOption.MEMBERSHIP_OFFLINE}
)


class RestockType(enum.IntEnum):
    UNSPECIFIED = 0
    NO_ITEMS = 1
    ALL_ITEMS = 2
    SOME_ITEMS = 3


class SortField(enum.IntEnum):
    CREATED_DATE = 1
    UPDATED_DATE = 2
    NUMBER = 3
    TOTAL = 4


class GroupBy(enum.IntEnum):
    NONE = 0
    STATUS = 1
    PAYMENT_STATUS = 2
    FULFILLMENT_STATUS = 3
    DAY = 4
