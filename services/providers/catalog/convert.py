"""Proto <-> domain translation for the catalog's three servicers (no rules here)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from google.protobuf import json_format, struct_pb2, timestamp_pb2

from ecom.catalog.v1 import catalog_admin_service_pb2 as admin_pb
from ecom.catalog.v1 import product_pb2
from ecom.common.v1 import catalog_pb2, channel_pb2, money_pb2
from ecom.spi.catalog.v1 import catalog_provider_service_pb2 as catalog_spi
from ecom.spi.inventory.v1 import inventory_provider_service_pb2 as inventory_spi
from services.providers.catalog.domain import (
    ItemType,
    Media,
    Product,
    ProductInput,
    StockKey,
    VariantInput,
)
from services.providers.catalog.items import ItemData
from services.providers.catalog.references import Ref
from services.providers.catalog.reservations import Reservation, Shortage
from services.providers.catalog.service import ProductView
from services.providers.catalog.stock import StockLevel


def timestamp(value: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value)
    return stamp


def _amount(value: object) -> str:
    return "" if value is None else f"{value:f}"


# -- references ----------------------------------------------------------------------------


def ref_from_proto(reference: catalog_pb2.CatalogReference) -> Ref:
    options = _struct_value(reference.options) if reference.HasField("options") else {}
    return Ref(reference.catalog_item_id, reference.app_id, options)


# A direct walk of the Struct: the same JSON value `json_format.MessageToDict` gives (numbers
# as floats, NaN and infinities refused), several times faster on the GetCatalogItems path.
def _struct_value(struct: struct_pb2.Struct) -> dict[str, Any]:
    return {key: _json_value(value) for key, value in struct.fields.items()}


def _json_value(value: struct_pb2.Value) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "string_value":
        return value.string_value
    if kind == "struct_value":
        return _struct_value(value.struct_value)
    if kind == "number_value":
        number = value.number_value
        if math.isinf(number) or math.isnan(number):
            raise ValueError("a Struct number must be finite")
        return number
    if kind == "bool_value":
        return value.bool_value
    if kind == "list_value":
        return [_json_value(item) for item in value.list_value.values]
    return None  # null_value, or unset


def ref_to_proto(ref: Ref) -> catalog_pb2.CatalogReference:
    reference = catalog_pb2.CatalogReference(catalog_item_id=ref.catalog_item_id, app_id=ref.app_id)
    if ref.options:
        reference.options.CopyFrom(json_format.ParseDict(dict(ref.options), struct_pb2.Struct()))
    return reference


# -- products ------------------------------------------------------------------------------


def _media_from_proto(media: catalog_pb2.Media) -> Media:
    return Media(
        id=media.id, url=media.url, height=media.height, width=media.width, alt_text=media.alt_text
    )


def _media_to_proto(media: Media) -> catalog_pb2.Media:
    return catalog_pb2.Media(
        id=media.id, url=media.url, height=media.height, width=media.width, alt_text=media.alt_text
    )


def product_input(product: product_pb2.Product) -> ProductInput:
    kind = product.item_type.WhichOneof("kind")
    return ProductInput(
        id=product.id,
        name=product.name,
        price=product.price,
        description=product.description,
        item_type_preset=product.item_type.preset if kind == "preset" else 0,
        item_type_custom=product.item_type.custom if kind == "custom" else "",
        media=_media_from_proto(product.media),
        url=product.url,
        currency=product.currency,
        compare_at_price=product.compare_at_price,
        weight=product.weight,
        weight_unit=product.weight_unit,
        sku=product.sku,
        shippable=product.shippable if product.HasField("shippable") else None,
        tax_group_id=product.tax_group_id,
        payment_option=product.payment_option,
        deposit_amount=product.deposit_amount,
        variants=[
            VariantInput(
                id=variant.id,
                options=dict(variant.options),
                price=variant.price,
                compare_at_price=variant.compare_at_price,
                sku=variant.sku,
                weight=variant.weight,
            )
            for variant in product.variants
        ],
        visible=product.visible if product.HasField("visible") else None,
        revision=product.revision,
    )


def input_to_proto(raw: ProductInput) -> product_pb2.Product:
    """The proto an UpsertProducts caller would send for `raw` (demo data over the API)."""
    message = product_pb2.Product(
        id=raw.id,
        name=raw.name,
        price=raw.price,
        description=raw.description,
        media=_media_to_proto(raw.media),
        url=raw.url,
        currency=raw.currency,
        compare_at_price=raw.compare_at_price,
        weight=raw.weight,
        weight_unit=channel_pb2.WeightUnit.ValueType(raw.weight_unit),
        sku=raw.sku,
        tax_group_id=raw.tax_group_id,
        payment_option=catalog_pb2.PaymentOption.ValueType(raw.payment_option),
        deposit_amount=raw.deposit_amount,
        revision=raw.revision,
        variants=[
            product_pb2.Variant(
                id=v.id,
                options=dict(v.options),
                price=v.price,
                compare_at_price=v.compare_at_price,
                sku=v.sku,
                weight=v.weight,
            )
            for v in raw.variants
        ],
    )
    if raw.item_type_custom:
        message.item_type.custom = raw.item_type_custom
    elif raw.item_type_preset:
        message.item_type.preset = catalog_pb2.ItemTypePreset.ValueType(raw.item_type_preset)
    if raw.shippable is not None:
        message.shippable = raw.shippable
    if raw.visible is not None:
        message.visible = raw.visible
    return message


def _item_type(item_type: ItemType) -> catalog_pb2.ItemType:
    if item_type.preset is None:
        return catalog_pb2.ItemType(custom=item_type.custom)
    return catalog_pb2.ItemType(preset=catalog_pb2.ItemTypePreset.ValueType(item_type.preset))


def stock_to_proto(level: StockLevel) -> product_pb2.StockLevel:
    stock = level.stock
    message = product_pb2.StockLevel(
        product_id=stock.key.product_id,
        variant_id=stock.key.variant_id,
        unlimited=not stock.tracked,
        quantity=stock.quantity if stock.tracked else 0,
        reserved=min(level.reserved, 2**31 - 1) if stock.tracked else 0,
        available=level.available,
        revision=stock.revision,
    )
    if stock.updated is not None:
        message.updated_date.CopyFrom(timestamp(stock.updated))
    return message


def product_to_proto(view: ProductView) -> product_pb2.Product:
    product: Product = view.product
    message = product_pb2.Product(
        id=product.id,
        name=product.name,
        description=product.description,
        item_type=_item_type(product.item_type),
        media=_media_to_proto(product.media),
        url=product.url,
        currency=product.currency,
        price=_amount(product.price),
        compare_at_price=_amount(product.compare_at_price),
        weight=_amount(product.weight),
        weight_unit=channel_pb2.WeightUnit.ValueType(product.weight_unit),
        sku=product.sku,
        shippable=product.shippable,
        tax_group_id=product.tax_group_id,
        payment_option=catalog_pb2.PaymentOption.ValueType(product.payment_option),
        deposit_amount=_amount(product.deposit_amount),
        visible=product.visible,
        revision=product.revision,
    )
    for variant in product.variants:
        message.variants.append(
            product_pb2.Variant(
                id=variant.id,
                options=dict(variant.options),
                price=_amount(variant.price),
                compare_at_price=_amount(variant.compare_at_price),
                sku=variant.sku,
                weight=_amount(variant.weight),
                stock=stock_to_proto(view.level(StockKey(product.id, variant.id))),
            )
        )
    if not product.variants:
        message.stock.CopyFrom(stock_to_proto(view.level(StockKey(product.id))))
    if product.created is not None:
        message.created_date.CopyFrom(timestamp(product.created))
    if product.updated is not None:
        message.updated_date.CopyFrom(timestamp(product.updated))
    return message


def stock_settings(
    request: admin_pb.SetStockRequest,
) -> list[tuple[str, str, int | None, bool, int]]:
    return [
        (
            item.product_id,
            item.variant_id,
            item.quantity if item.WhichOneof("level") == "quantity" else None,
            item.WhichOneof("level") == "unlimited" and item.unlimited,
            item.revision,
        )
        for item in request.items
    ]


# -- catalog SPI ---------------------------------------------------------------------------


def _text(value: str) -> money_pb2.LocalizedText:
    return money_pb2.LocalizedText(original=value)


def item_data_to_proto(data: ItemData) -> catalog_spi.CatalogItemData:
    message = catalog_spi.CatalogItemData(
        product_name=_text(data.product_name),
        item_type=_item_type(data.item_type),
        price=data.price,
        full_price=data.full_price,
        url=data.url,
        description_lines=[
            catalog_pb2.DescriptionLine(name=_text(name), plain_text=_text(value))
            for name, value in data.description_lines
        ],
        physical_properties=catalog_pb2.PhysicalProperties(
            weight=data.weight, sku=data.sku, shippable=data.shippable
        ),
        payment_option=catalog_pb2.PaymentOption.ValueType(data.payment_option),
        tax_group_id=data.tax_group_id,
        root_catalog_item_id=data.root_catalog_item_id,
        deposit_amount=data.deposit_amount,
    )
    if data.media != Media():
        message.media.CopyFrom(_media_to_proto(data.media))
    if data.quantity_available is not None:
        message.quantity_available = data.quantity_available
    return message


# -- inventory SPI -------------------------------------------------------------------------


def inventory_items(
    items: list[inventory_spi.InventoryItem],
) -> list[tuple[Ref, int]]:
    return [(ref_from_proto(item.catalog_reference), item.quantity) for item in items]


def reservation_to_proto(reservation: Reservation) -> inventory_spi.Reservation:
    message = inventory_spi.Reservation(
        reservation_id=reservation.id,
        status=inventory_spi.ReservationStatus.ValueType(int(reservation.status)),
        items=[
            inventory_spi.InventoryItem(
                catalog_reference=ref_to_proto(line.ref), quantity=line.quantity
            )
            for line in reservation.lines
        ],
    )
    if reservation.expire_time is not None:
        message.expire_time.CopyFrom(timestamp(reservation.expire_time))
    return message


def insufficient_to_proto(
    shortages: tuple[Shortage, ...], originals: Mapping[str, catalog_pb2.CatalogReference]
) -> inventory_spi.InsufficientInventory:
    """The SPI's error detail; references as the request sent them (`originals` by key)."""
    return inventory_spi.InsufficientInventory(
        items=[
            inventory_spi.ShortItem(
                catalog_reference=originals.get(s.ref.key) or ref_to_proto(s.ref),
                requested=s.requested,
                available=s.available,
            )
            for s in shortages
        ]
    )
