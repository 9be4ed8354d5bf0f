"""A validated checkout as the order the orders service records (ecom.orders.v1.Order)."""

from __future__ import annotations

from ecom.checkout.v1 import checkout_pb2
from ecom.orders.v1 import order_pb2


def order_from(checkout: checkout_pb2.Checkout) -> order_pb2.Order:
    order = order_pb2.Order(
        buyer_language=checkout.buyer_language,
        weight_unit=checkout.weight_unit,
        currency=checkout.currency,
        tax_included_in_prices=checkout.tax_included_in_prices,
        site_language=checkout.site_language,
        buyer_note=checkout.buyer_note,
        checkout_id=checkout.id,
        purchase_flow_id=checkout.purchase_flow_id,
    )
    order.buyer_info.CopyFrom(checkout.buyer_info)
    order.price_summary.CopyFrom(checkout.price_summary)
    order.tax_summary.CopyFrom(checkout.tax_summary)
    if checkout.HasField("billing_info"):
        order.billing_info.CopyFrom(checkout.billing_info)
    order.applied_discounts.extend(checkout.applied_discounts)
    order.additional_fees.extend(checkout.additional_fees)
    order.channel_info.type = checkout.channel_type
    creator = checkout.created_by.WhichOneof("id")
    if creator is not None:
        setattr(order.created_by, creator, getattr(checkout.created_by, creator))
    for field in checkout.custom_fields:
        order.custom_fields.add(
            value=field.value, title=field.title, translated_title=field.translated_title
        )
    breakdowns = {c.line_item_id: c.prices_breakdown for c in checkout.calculated_line_items}
    for line in checkout.line_items:
        prices = breakdowns.get(line.id)
        item = order.line_items.add(
            id=line.id,
            quantity=line.quantity,
            fulfiller_id=line.fulfiller_id,
            payment_option=line.payment_option,
            tax_group_id=line.tax_group_id,
            root_catalog_item_id=line.root_catalog_item_id,
            custom_line_item=line.custom_line_item,
        )
        item.product_name.CopyFrom(line.product_name)
        if line.HasField("catalog_reference"):
            item.catalog_reference.CopyFrom(line.catalog_reference)
        item.description_lines.extend(line.description_lines)
        if line.HasField("media"):
            item.image.CopyFrom(line.media)
        if line.HasField("physical_properties"):
            item.physical_properties.CopyFrom(line.physical_properties)
        if line.HasField("item_type"):
            item.item_type.CopyFrom(line.item_type)
        if line.HasField("price_description"):
            item.price_description.CopyFrom(line.price_description)
        item.price.CopyFrom(line.price)
        item.price_before_discounts.CopyFrom(line.price_before_discounts)
        item.full_price.CopyFrom(line.full_price)
        if prices is not None:
            item.total_discount.CopyFrom(prices.total_discount)
            item.total_price_before_tax.CopyFrom(prices.total_price_before_tax)
            item.total_price_after_tax.CopyFrom(prices.total_price_after_tax)
            item.tax_details.CopyFrom(prices.tax_details)
            item.line_item_price.CopyFrom(prices.line_item_price)
    shipping = checkout.shipping_info
    selected = shipping.selected_carrier_service_option
    if selected.code or shipping.HasField("shipping_destination"):
        info = order.shipping_info
        info.carrier_id = selected.carrier_id
        info.code = selected.code
        info.title = selected.title
        info.logistics.delivery_time = selected.logistics.delivery_time
        info.logistics.instructions = selected.logistics.instructions
        if selected.logistics.HasField("pickup_details"):
            info.logistics.pickup_details.CopyFrom(selected.logistics.pickup_details)
        if shipping.HasField("shipping_destination"):
            info.logistics.shipping_destination.CopyFrom(shipping.shipping_destination)
            order.recipient_info.CopyFrom(shipping.shipping_destination)
        if selected.HasField("cost"):
            info.cost.CopyFrom(selected.cost)
        if shipping.HasField("region"):
            info.region.CopyFrom(shipping.region)
    return order
