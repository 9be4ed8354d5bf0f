"""Catalog references: which product (and variant) a reference names, and when two references
are the same.

A reference (`ecom.common.v1.CatalogReference`) is `catalog_item_id` = the product id, `app_id` =
the app id the provider is registered under, and `options` that select a variant:

- absent or empty: the product itself, which must have no variants;
- `{"variantId": "<variant id>"}`: that variant;
- `{"options": {"Size": "M", "Color": "Blue"}}`: the variant with exactly these option names and
  values (string values, case-sensitive);
- both: they must name the same variant.

Other keys of `options` are ignored (storefronts may carry their own data there). A reference
that selects nothing that exists, or whose `variantId` / `options` are not of the shapes above,
is unknown. Two references are equal when item id, app id and options are equal as JSON values
(key order does not matter), as `ecom.common.v1.CatalogReference` defines.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from services.providers.catalog.domain import MAX_ID_LENGTH, Product, StockKey, Variant

VARIANT_ID_KEY = "variantId"
OPTIONS_KEY = "options"
#: Canonical JSON text (built once: `json.dumps` with options builds an encoder on every call).
_canonical = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


@dataclass(frozen=True)
class Ref:
    """A catalog reference; `options` is the JSON value of its Struct."""

    catalog_item_id: str
    app_id: str
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """Canonical text: equal for references that are equal."""
        # Worked out once per reference (the dataclass is frozen: keep it beside the fields).
        key: str | None = self.__dict__.get("_key")
        if key is None:
            key = self.__dict__["_key"] = _canonical(
                [self.app_id, self.catalog_item_id, self.options]
            )
        return key

    def as_json(self) -> dict[str, Any]:
        return {
            "catalog_item_id": self.catalog_item_id,
            "app_id": self.app_id,
            "options": dict(self.options),
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Ref:
        return cls(
            catalog_item_id=str(value["catalog_item_id"]),
            app_id=str(value["app_id"]),
            options=dict(value.get("options") or {}),
        )


@dataclass(frozen=True)
class Resolved:
    """What a known reference points at."""

    product: Product
    variant: Variant | None

    @property
    def stock_key(self) -> StockKey:
        return StockKey(self.product.id, self.variant.id if self.variant else "")


_MALFORMED = object()


def _selection(options: Mapping[str, Any]) -> tuple[object, object]:
    """(variant id or None, option values or None); `_MALFORMED` where a value has the wrong
    shape."""
    variant_id: object = None
    if VARIANT_ID_KEY in options:
        raw = options[VARIANT_ID_KEY]
        variant_id = raw if isinstance(raw, str) and raw else _MALFORMED
    chosen: object = None
    if OPTIONS_KEY in options:
        raw = options[OPTIONS_KEY]
        if isinstance(raw, Mapping) and all(isinstance(v, str) for v in raw.values()):
            chosen = dict(raw) or None  # {} selects nothing, like no options
        else:
            chosen = _MALFORMED
    return variant_id, chosen


def product_ids(refs: Iterable[Ref], app_id: str) -> set[str]:
    """The product ids worth looking up for `refs` (only those that could resolve)."""
    return {
        ref.catalog_item_id
        for ref in refs
        if ref.app_id == app_id and 0 < len(ref.catalog_item_id) <= MAX_ID_LENGTH
    }


def resolve(ref: Ref, app_id: str, products: Mapping[str, Product]) -> Resolved | None:
    """The product and variant `ref` names, or None when the provider does not know it (another
    app id, no such product, no such variant, a malformed selection)."""
    if ref.app_id != app_id or len(ref.catalog_item_id) > MAX_ID_LENGTH:
        return None
    product = products.get(ref.catalog_item_id)
    if product is None:
        return None
    variant_id, chosen = _selection(ref.options)
    if variant_id is _MALFORMED or chosen is _MALFORMED:
        return None
    if not product.variants:
        return Resolved(product, None) if variant_id is None and chosen is None else None
    variant: Variant | None = None
    # Variant.options are the (name, value) pairs sorted by name: compare in that form.
    wanted = tuple(sorted(chosen.items())) if isinstance(chosen, dict) else None
    if isinstance(variant_id, str):
        variant = product.variant(variant_id)
        if variant is not None and wanted is not None and variant.options != wanted:
            return None
    elif wanted is not None:
        variant = next((v for v in product.variants if v.options == wanted), None)
    return Resolved(product, variant) if variant is not None else None
