"""Domain cart -> `ecom.cart.v1.Cart` (and its line items and applied discounts)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from google.protobuf import timestamp_pb2

from ecom.cart.v1 import cart_pb2
from ecom.common.v1 import (
    address_pb2,
    buyer_pb2,
    catalog_pb2,
    channel_pb2,
    line_item_pb2,
    money_pb2,
    pricing_pb2,
    shipping_pb2,
)
from ecom.spi.catalog.v1 import catalog_provider_service_pb2 as catalog_spi
from services.cart.discounts import DiscountsResult
from services.cart.domain import BuyerKind, Cart, CatalogStatus, Line
from services.cart.money import Presenter
from services.cart.refs import ref_to_proto
from services.cart.valuation import amount, catalog_data
from services.pricing import DiscountSourceKind, DiscountType, PricingResult

WEIGHT_UNITS = {"KG": channel_pb2.WEIGHT_UNIT_KG, "LB": channel_pb2.WEIGHT_UNIT_LB}
_DISCOUNT_TYPES = {
    DiscountType.GLOBAL: pricing_pb2.DISCOUNT_TYPE_GLOBAL,
    DiscountType.SPECIFIC_ITEMS: pricing_pb2.DISCOUNT_TYPE_SPECIFIC_ITEMS,
    DiscountType.SHIPPING: pricing_pb2.DISCOUNT_TYPE_SHIPPING,
}


def timestamp(value: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value)
    return stamp


def contact_info(cart: Cart) -> address_pb2.AddressWithContact | None:
    if not cart.contact_info:
        return None
    return address_pb2.AddressWithContact.FromString(cart.contact_info)


def line_item(line: Line, money: Presenter) -> line_item_pb2.LineItem:
    """A line with its catalog data as last read and its availability for its quantity."""
    item = line_item_pb2.LineItem(
        id=line.id, quantity=line.quantity, catalog_reference=ref_to_proto(line.ref)
    )
    data = catalog_data(line)
    status = line.catalog.status
    if data is not None:
        item.product_name.CopyFrom(data.product_name)
        item.url = data.url
        item.description_lines.extend(data.description_lines)
        if data.HasField("media"):
            item.media.CopyFrom(data.media)
        if data.HasField("physical_properties"):
            item.physical_properties.CopyFrom(data.physical_properties)
        if data.HasField("item_type"):
            item.item_type.CopyFrom(data.item_type)
        else:
            item.item_type.preset = catalog_pb2.ITEM_TYPE_PRESET_PHYSICAL
        item.payment_option = data.payment_option or catalog_pb2.PAYMENT_OPTION_FULL_PAYMENT_ONLINE
        if data.HasField("price_description"):
            item.price_description.CopyFrom(data.price_description)
        item.fulfiller_id = data.fulfiller_id
        item.tax_group_id = data.tax_group_id
        item.root_catalog_item_id = data.root_catalog_item_id
    if status is CatalogStatus.FOUND and data is not None:
        price = amount(data.price)
        full = amount(data.full_price) if data.full_price else price
        item.price.CopyFrom(money.price(price, exact=True))
        item.full_price.CopyFrom(money.price(full, exact=True))
        item.price_before_discounts.CopyFrom(money.price(price, exact=True))
        item.availability.CopyFrom(_availability(data, line.quantity))
    elif status is CatalogStatus.NOT_FOUND:
        item.availability.status = catalog_pb2.AVAILABILITY_STATUS_NOT_FOUND
    return item


#: Rendered lines by (line, presenter key), least recently used first.
_SHOWN: OrderedDict[tuple[Line, tuple[object, ...]], line_item_pb2.LineItem] = OrderedDict()
_SHOWN_MAX = 4096


def shown_line_items(lines: Sequence[Line], money: Presenter) -> list[line_item_pb2.LineItem]:
    """`line_item` of each line, remembered: a cart shows mostly the lines it showed on the
    previous call. The messages are shared: only put them into other messages (which copies
    them), never change them."""
    key = money.key
    items = []
    for line in lines:
        wanted = (line, key)
        item = _SHOWN.get(wanted)
        if item is None:
            item = _SHOWN[wanted] = line_item(line, money)
            if len(_SHOWN) > _SHOWN_MAX:
                _SHOWN.popitem(last=False)
        else:
            _SHOWN.move_to_end(wanted)
        items.append(item)
    return items


def _availability(data: catalog_spi.CatalogItemData, quantity: int) -> catalog_pb2.Availability:
    available = catalog_pb2.Availability()
    if not data.HasField("quantity_available"):
        available.status = catalog_pb2.AVAILABILITY_STATUS_AVAILABLE
        return available
    stock = data.quantity_available
    available.quantity_available = stock
    if stock <= 0:
        available.status = catalog_pb2.AVAILABILITY_STATUS_NOT_AVAILABLE
    elif stock < quantity:
        available.status = catalog_pb2.AVAILABILITY_STATUS_PARTIALLY_AVAILABLE
    else:
        available.status = catalog_pb2.AVAILABILITY_STATUS_AVAILABLE
    return available


def applied_discounts(
    cart: Cart, result: PricingResult, discounts: DiscountsResult, money: Presenter
) -> list[pricing_pb2.AppliedDiscount]:
    """The coupon (whenever the cart holds a code), every merchant discount, then the rules that
    took something off, with the amounts `result` actually took."""
    taken: dict[tuple[DiscountSourceKind, str], list[tuple[DiscountType, Decimal, Sequence[str]]]]
    taken = {}
    for applied in result.applied_discounts:
        key = (applied.source.kind, applied.source.id)
        taken.setdefault(key, []).append((applied.discount_type, applied.amount, applied.line_ids))
    zero = Decimal(0)
    out: list[pricing_pb2.AppliedDiscount] = []
    if cart.coupon_code:
        coupon = discounts.coupon
        if coupon is None:
            # Not applied (unknown, expired, no discounts service): listed at "0", the reason is
            # in EstimateTotals' calculation_errors.coupon_calculation_error.
            out.append(
                pricing_pb2.AppliedDiscount(
                    coupon=pricing_pb2.AppliedDiscount.Coupon(
                        code=cart.coupon_code, amount=money.price(zero)
                    )
                )
            )
        else:
            parts = taken.get((DiscountSourceKind.COUPON, coupon.id)) or [
                (DiscountType.GLOBAL, zero, ())
            ]
            for kind, amount, line_ids in parts:
                out.append(
                    pricing_pb2.AppliedDiscount(
                        coupon=pricing_pb2.AppliedDiscount.Coupon(
                            id=coupon.id,
                            code=coupon.code,
                            name=coupon.name,
                            amount=money.price(amount),
                        ),
                        discount_type=_DISCOUNT_TYPES[kind],
                        line_item_ids=line_ids,
                    )
                )
    for index, merchant in enumerate(cart.merchant_discounts):
        parts = taken.get((DiscountSourceKind.MERCHANT_DISCOUNT, str(index)), [])
        amount = sum((part[1] for part in parts), zero)
        out.append(
            pricing_pb2.AppliedDiscount(
                merchant_discount=pricing_pb2.AppliedDiscount.MerchantDiscount(
                    amount=money.price(amount), description=merchant.description
                ),
                discount_type=(
                    pricing_pb2.DISCOUNT_TYPE_SPECIFIC_ITEMS
                    if merchant.line_ids
                    else pricing_pb2.DISCOUNT_TYPE_GLOBAL
                ),
                line_item_ids=merchant.line_ids,
            )
        )
    for rule_id, name in discounts.rules.items():
        for kind, amount, line_ids in taken.get((DiscountSourceKind.DISCOUNT_RULE, rule_id), []):
            out.append(
                pricing_pb2.AppliedDiscount(
                    discount_rule=pricing_pb2.AppliedDiscount.DiscountRule(
                        id=rule_id,
                        name=money_pb2.LocalizedText(original=name),
                        amount=money.price(amount),
                    ),
                    discount_type=_DISCOUNT_TYPES[kind],
                    line_item_ids=line_ids,
                )
            )
    return out


def cart_message(
    cart: Cart,
    result: PricingResult,
    discounts: DiscountsResult,
    money: Presenter,
    items: Sequence[line_item_pb2.LineItem] | None = None,
) -> cart_pb2.Cart:
    """The cart message; `items` are its lines when the caller rendered them already."""
    buyer = buyer_pb2.BuyerInfo(contact_id=cart.contact_id, email=cart.email)
    if cart.buyer.kind is BuyerKind.VISITOR:
        buyer.visitor_id = cart.buyer.id
    elif cart.buyer.kind is BuyerKind.MEMBER:
        buyer.member_id = cart.buyer.id
    else:
        buyer.user_id = cart.buyer.id
    message = cart_pb2.Cart(
        id=cart.id,
        line_items=items if items is not None else shown_line_items(cart.lines, money),
        buyer_note=cart.buyer_note,
        buyer_info=buyer,
        currency=cart.currency,
        conversion_currency=cart.conversion_currency,
        buyer_language=cart.buyer_language,
        site_language=cart.site_language,
        tax_included_in_prices=cart.tax_included_in_prices,
        weight_unit=WEIGHT_UNITS[cart.weight_unit],
        checkout_id=cart.checkout_id,
        applied_discounts=applied_discounts(cart, result, discounts, money),
        override_checkout_url=cart.override_checkout_url,
        purchase_flow_id=cart.purchase_flow_id,
        created_date=timestamp(cart.created),
        updated_date=timestamp(cart.updated),
        revision=cart.revision,
    )
    contact = contact_info(cart)
    if contact is not None:
        message.contact_info.CopyFrom(contact)
    if cart.selected_shipping is not None:
        message.selected_shipping_option.CopyFrom(
            shipping_pb2.SelectedShippingOption(
                carrier_id=cart.selected_shipping.carrier_id, code=cart.selected_shipping.code
            )
        )
    return message
