"""Products and variants of the reference catalog, in plain Python: what a product is, the checks
an upsert must pass (every problem reported at once, with the field path), the defaults of empty
fields, and when an upsert is a change at all.

No grpc, no SQL: `convert` turns protos into `ProductInput`, `check_product` turns that into a
`Product`, the store persists it.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import TypeVar
from urllib.parse import urlsplit

from services.platform.errors import NotFound, Violations, check_revision
from services.pricing import InvalidAmountError, UnknownCurrencyError, minor_units, parse_amount

E = TypeVar("E", bound=enum.IntEnum)

RESOURCE = "product"
DEFAULT_CURRENCY = "USD"

MAX_ID_LENGTH = 100
MAX_NAME_LENGTH = 200
MAX_DESCRIPTION_LENGTH = 8000
MAX_URL_LENGTH = 2000
MAX_SHORT_TEXT = 100
MAX_ALT_TEXT = 1000
MAX_VARIANTS = 100
MAX_OPTIONS = 6
MAX_PRODUCTS_PER_UPSERT = 100

_ID = re.compile(r"^[A-Za-z0-9._-]+$")


class ItemTypePreset(enum.IntEnum):
    """Numbers as in `ecom.common.v1.ItemTypePreset`."""

    PHYSICAL = 1
    DIGITAL = 2
    GIFT_CARD = 3
    SERVICE = 4


class WeightUnit(enum.IntEnum):
    """Numbers as in `ecom.common.v1.WeightUnit`."""

    KG = 1
    LB = 2


class PaymentOption(enum.IntEnum):
    """Numbers as in `ecom.common.v1.PaymentOption` (0, unset, means full payment online)."""

    UNSPECIFIED = 0
    FULL_PAYMENT_ONLINE = 1
    FULL_PAYMENT_OFFLINE = 2
    MEMBERSHIP = 3
    DEPOSIT_ONLINE = 4
    MEMBERSHIP_OFFLINE = 5


@dataclass(frozen=True)
class ItemType:
    """Exactly one of a preset or a provider-defined kind."""

    preset: ItemTypePreset | None = ItemTypePreset.PHYSICAL
    custom: str = ""

    @property
    def is_physical(self) -> bool:
        return self.preset is ItemTypePreset.PHYSICAL


@dataclass(frozen=True)
class Media:
    id: str = ""
    url: str = ""
    height: int = 0
    width: int = 0
    alt_text: str = ""


@dataclass(frozen=True)
class StockKey:
    """Whose stock: a product without variants (`variant_id` empty) or one variant."""

    product_id: str
    variant_id: str = ""


# -- what callers send ---------------------------------------------------------------------


@dataclass(frozen=True)
class VariantInput:
    id: str
    options: Mapping[str, str]
    price: str = ""
    compare_at_price: str = ""
    sku: str = ""
    weight: str = ""


@dataclass(frozen=True)
class ProductInput:
    """A product as an upsert names it: raw strings and enum numbers, checked by
    `check_product`."""

    id: str
    name: str
    price: str
    description: str = ""
    item_type_preset: int = 0
    item_type_custom: str = ""
    media: Media = field(default_factory=Media)
    url: str = ""
    currency: str = ""
    compare_at_price: str = ""
    weight: str = ""
    weight_unit: int = 0
    sku: str = ""
    shippable: bool | None = None
    tax_group_id: str = ""
    payment_option: int = 0
    deposit_amount: str = ""
    variants: Sequence[VariantInput] = ()
    visible: bool | None = None
    revision: int = 0


# -- what is stored ------------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    id: str
    #: (name, value) pairs sorted by name: the order description lines are shown in.
    options: tuple[tuple[str, str], ...]
    price: Decimal | None = None
    compare_at_price: Decimal | None = None
    sku: str = ""
    weight: Decimal | None = None

    @property
    def options_dict(self) -> dict[str, str]:
        return dict(self.options)


@dataclass(frozen=True)
class Product:
    id: str
    name: str
    price: Decimal
    description: str = ""
    item_type: ItemType = field(default_factory=ItemType)
    media: Media = field(default_factory=Media)
    url: str = ""
    currency: str = DEFAULT_CURRENCY
    compare_at_price: Decimal | None = None
    weight: Decimal | None = None
    weight_unit: WeightUnit = WeightUnit.KG
    sku: str = ""
    shippable: bool = True
    tax_group_id: str = ""
    payment_option: PaymentOption = PaymentOption.UNSPECIFIED
    deposit_amount: Decimal | None = None
    variants: tuple[Variant, ...] = ()
    visible: bool = True
    revision: int = 0
    created: datetime | None = None
    updated: datetime | None = None

    def variant(self, variant_id: str) -> Variant | None:
        return next((v for v in self.variants if v.id == variant_id), None)

    def stock_keys(self) -> list[StockKey]:
        """The stocks the product has: one per variant, or its own when it has none."""
        if self.variants:
            return [StockKey(self.id, v.id) for v in self.variants]
        return [StockKey(self.id)]

    def same_content(self, other: Product) -> bool:
        """Equal in everything an upsert sets (amounts compare as numbers: "10.5" == "10.50")."""
        return _content(self) == _content(other)


def _content(product: Product) -> Product:
    return replace(product, revision=0, created=None, updated=None)


# -- checks --------------------------------------------------------------------------------


def check_id(violations: Violations, path: str, value: str) -> None:
    if not value:
        violations.add(path, "required")
    elif len(value) > MAX_ID_LENGTH:
        violations.add(path, f"at most {MAX_ID_LENGTH} characters")
    elif not _ID.match(value):
        violations.add(path, "only letters, digits, '-', '_' and '.' are allowed")


def _check_length(violations: Violations, path: str, value: str, limit: int) -> None:
    if len(value) > limit:
        violations.add(path, f"at most {limit} characters")


def _check_url(violations: Violations, path: str, value: str) -> None:
    if not value:
        return
    if len(value) > MAX_URL_LENGTH:
        violations.add(path, f"at most {MAX_URL_LENGTH} characters")
        return
    try:
        parts = urlsplit(value)
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.netloc
        or any(ch.isspace() for ch in value)
    ):
        violations.add(path, "must be an absolute http(s) URL")


def _amount(violations: Violations, path: str, text: str, *, required: bool) -> Decimal | None:
    if not text:
        if required:
            violations.add(path, 'required: a decimal string such as "10.50"')
        return None
    try:
        return parse_amount(text, non_negative=True)
    except InvalidAmountError as exc:
        violations.add(path, str(exc))
        return None


def _enum_value(violations: Violations, path: str, kind: type[E], value: int, default: E) -> E:
    if value == 0:
        return default
    try:
        return kind(value)
    except ValueError:
        violations.add(path, f"unknown value {value}")
        return default


def _item_type(violations: Violations, path: str, raw: ProductInput) -> ItemType:
    if raw.item_type_custom:
        if len(raw.item_type_custom) > MAX_SHORT_TEXT:
            violations.add(f"{path}.custom", f"at most {MAX_SHORT_TEXT} characters")
        return ItemType(preset=None, custom=raw.item_type_custom)
    preset = _enum_value(
        violations, f"{path}.preset", ItemTypePreset, raw.item_type_preset, ItemTypePreset.PHYSICAL
    )
    return ItemType(preset=preset)


def _check_media(violations: Violations, path: str, media: Media) -> None:
    _check_length(violations, f"{path}.id", media.id, MAX_SHORT_TEXT * 2)
    _check_url(violations, f"{path}.url", media.url)
    _check_length(violations, f"{path}.alt_text", media.alt_text, MAX_ALT_TEXT)
    if media.height < 0:
        violations.add(f"{path}.height", "must not be negative")
    if media.width < 0:
        violations.add(f"{path}.width", "must not be negative")


def _variant(
    violations: Violations, path: str, raw: VariantInput, product_price: Decimal | None
) -> Variant:
    check_id(violations, f"{path}.id", raw.id)
    if not raw.options:
        violations.add(f"{path}.options", 'required: at least one option, as {"Size": "M"}')
    elif len(raw.options) > MAX_OPTIONS:
        violations.add(f"{path}.options", f"at most {MAX_OPTIONS} options")
    for name, value in raw.options.items():
        if not name.strip() or len(name) > MAX_SHORT_TEXT:
            violations.add(f"{path}.options", f"option name {name[:40]!r} must be 1..100 chars")
        if not value.strip() or len(value) > MAX_SHORT_TEXT:
            violations.add(
                f"{path}.options", f"value of option {name[:40]!r} must be 1..100 characters"
            )
    price = _amount(violations, f"{path}.price", raw.price, required=False)
    compare_at = _amount(
        violations, f"{path}.compare_at_price", raw.compare_at_price, required=False
    )
    effective = price if price is not None else product_price
    if compare_at is not None and effective is not None and compare_at < effective:
        violations.add(f"{path}.compare_at_price", "must be at least the variant's price")
    _check_length(violations, f"{path}.sku", raw.sku, MAX_SHORT_TEXT)
    weight = _amount(violations, f"{path}.weight", raw.weight, required=False)
    return Variant(
        id=raw.id,
        options=tuple(sorted(raw.options.items())),
        price=price,
        compare_at_price=compare_at,
        sku=raw.sku,
        weight=weight,
    )


def _check_variant_set(violations: Violations, path: str, variants: Sequence[Variant]) -> None:
    if len(variants) > MAX_VARIANTS:
        violations.add(path, f"at most {MAX_VARIANTS} variants")
    seen_ids: set[str] = set()
    seen_options: set[tuple[tuple[str, str], ...]] = set()
    names = {name for name, _ in variants[0].options} if variants else set()
    for index, variant in enumerate(variants):
        if variant.id in seen_ids:
            violations.add(f"{path}[{index}].id", f"variant id {variant.id!r} appears twice")
        seen_ids.add(variant.id)
        if {name for name, _ in variant.options} != names:
            violations.add(
                f"{path}[{index}].options",
                f"every variant must name the same options ({', '.join(sorted(names))})",
            )
        elif variant.options in seen_options:
            violations.add(f"{path}[{index}].options", "another variant has the same options")
        seen_options.add(variant.options)


def check_product(raw: ProductInput, path: str, violations: Violations) -> Product:
    """The product `raw` describes, with defaults filled in; problems go to `violations` (the
    result is meaningless when any were added)."""
    check_id(violations, f"{path}.id", raw.id)
    if not raw.name.strip():
        violations.add(f"{path}.name", "required")
    _check_length(violations, f"{path}.name", raw.name, MAX_NAME_LENGTH)
    _check_length(violations, f"{path}.description", raw.description, MAX_DESCRIPTION_LENGTH)
    item_type = _item_type(violations, f"{path}.item_type", raw)
    _check_media(violations, f"{path}.media", raw.media)
    _check_url(violations, f"{path}.url", raw.url)
    currency = raw.currency or DEFAULT_CURRENCY
    try:
        minor_units(currency)
    except UnknownCurrencyError:
        violations.add(f"{path}.currency", 'not an ISO 4217 currency code (upper case, "USD")')
    price = _amount(violations, f"{path}.price", raw.price, required=True)
    compare_at = _amount(
        violations, f"{path}.compare_at_price", raw.compare_at_price, required=False
    )
    if compare_at is not None and price is not None and compare_at < price:
        violations.add(f"{path}.compare_at_price", "must be at least `price`")
    weight = _amount(violations, f"{path}.weight", raw.weight, required=False)
    weight_unit = _enum_value(
        violations, f"{path}.weight_unit", WeightUnit, raw.weight_unit, WeightUnit.KG
    )
    _check_length(violations, f"{path}.sku", raw.sku, MAX_SHORT_TEXT)
    _check_length(violations, f"{path}.tax_group_id", raw.tax_group_id, MAX_SHORT_TEXT)
    payment_option = _enum_value(
        violations,
        f"{path}.payment_option",
        PaymentOption,
        raw.payment_option,
        PaymentOption.UNSPECIFIED,
    )
    variants = [
        _variant(violations, f"{path}.variants[{i}]", v, price) for i, v in enumerate(raw.variants)
    ]
    _check_variant_set(violations, f"{path}.variants", variants)
    deposit = _deposit(violations, f"{path}.deposit_amount", raw, payment_option, price, variants)
    if raw.revision < 0:
        violations.add(f"{path}.revision", "must not be negative")
    return Product(
        id=raw.id,
        name=raw.name,
        price=price if price is not None else Decimal(0),
        description=raw.description,
        item_type=item_type,
        media=raw.media,
        url=raw.url,
        currency=currency,
        compare_at_price=compare_at,
        weight=weight,
        weight_unit=weight_unit,
        sku=raw.sku,
        shippable=item_type.is_physical if raw.shippable is None else raw.shippable,
        tax_group_id=raw.tax_group_id,
        payment_option=payment_option,
        deposit_amount=deposit,
        variants=tuple(variants),
        visible=True if raw.visible is None else raw.visible,
        revision=raw.revision,
    )


def _deposit(
    violations: Violations,
    path: str,
    raw: ProductInput,
    payment_option: PaymentOption,
    price: Decimal | None,
    variants: Sequence[Variant],
) -> Decimal | None:
    if payment_option is not PaymentOption.DEPOSIT_ONLINE:
        if raw.deposit_amount:
            violations.add(path, "only for payment_option PAYMENT_OPTION_DEPOSIT_ONLINE")
        return None
    deposit = _amount(violations, path, raw.deposit_amount, required=True)
    prices = [p for p in (price, *(v.price for v in variants)) if p is not None]
    if deposit is not None and prices and deposit > min(prices):
        violations.add(path, "must not exceed the price of the product or any variant")
    return deposit


def check_products(raws: Sequence[ProductInput]) -> list[Product]:
    """Check an UpsertProducts batch; raise InvalidArgument listing every problem."""
    violations = Violations()
    if not raws:
        violations.add("products", "required: 1..100 products")
    elif len(raws) > MAX_PRODUCTS_PER_UPSERT:
        violations.add("products", f"at most {MAX_PRODUCTS_PER_UPSERT} products per call")
    products = [check_product(raw, f"products[{i}]", violations) for i, raw in enumerate(raws)]
    seen: set[str] = set()
    for index, product in enumerate(products):
        if product.id and product.id in seen:
            violations.add(f"products[{index}].id", f"product {product.id!r} appears twice")
        seen.add(product.id)
    violations.raise_if_any()
    return products


def upserted(current: Product | None, incoming: Product, now: datetime) -> Product | None:
    """What to store for an upsert of `incoming` over `current`: None when nothing changes.

    A non-zero `incoming.revision` must be the current revision (0 when there is none).
    """
    check_revision(RESOURCE, incoming.revision, current.revision if current else 0)
    if current is not None and current.same_content(incoming):
        return None
    if current is None:
        return replace(incoming, revision=1, created=now, updated=now)
    return replace(incoming, revision=current.revision + 1, created=current.created, updated=now)


def product_not_found(product_id: str) -> NotFound:
    return NotFound(
        "PRODUCT_NOT_FOUND",
        f"no product {product_id[:100]!r} on this site",
        metadata={"product_id": product_id[:100]},
    )


def variant_not_found(product_id: str, variant_id: str) -> NotFound:
    return NotFound(
        "VARIANT_NOT_FOUND",
        f"product {product_id[:100]!r} has no variant {variant_id[:100]!r}",
        metadata={"product_id": product_id[:100], "variant_id": variant_id[:100]},
    )
