"""The demo catalog `ecom serve` starts with: 20 products of a small lifestyle shop, priced in USD,
on the site `demo` (the site of the tokens `ecom token` and `ecom serve` hand out).

It shows what the provider can do: variants by option (sizes, colours, grinds), stock per variant
with some variants sold out, a product out of stock, unlimited stock, a sale (compare-at price),
a digital item that does not ship, and a hidden product.

`ECOM_DEMO_DATA` decides when it is loaded, at start-up (bind time):
- `auto` (default): when the catalog database holds no product at all, on any site;
- `yes`: every start, inserting the demo products the `demo` site lacks (existing products,
  including changed demo products, are left alone);
- `no`: never.
Loading is idempotent and safe when several processes start at once.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

from ecom.catalog.v1 import catalog_admin_service_pb2 as admin_pb
from services.platform.config import ConfigError
from services.providers.catalog.convert import input_to_proto
from services.providers.catalog.domain import (
    ItemTypePreset,
    Media,
    ProductInput,
    StockKey,
    VariantInput,
)
from services.providers.catalog.service import CatalogService

DEMO_SITE = "demo"
_SHOP = "https://shop.example.com/products"
_IMAGES = "https://images.example.com/products"


class DemoMode(enum.Enum):
    AUTO = "auto"
    YES = "yes"
    NO = "no"

    @classmethod
    def parse(cls, raw: str) -> DemoMode:
        try:
            return cls(raw.strip().lower())
        except ValueError:
            raise ConfigError(
                f"ECOM_DEMO_DATA={raw!r}: must be auto (load into an empty catalog), yes or no"
            ) from None


def _product(
    product_id: str,
    name: str,
    price: str,
    *,
    weight: str = "",
    description: str = "",
    variants: Sequence[VariantInput] = (),
    compare_at_price: str = "",
    item_type_preset: int = 0,
    visible: bool | None = None,
) -> ProductInput:
    return ProductInput(
        id=product_id,
        name=name,
        price=price,
        description=description or name,
        media=Media(
            id=f"{product_id}-main",
            url=f"{_IMAGES}/{product_id}.jpg",
            height=1200,
            width=1200,
            alt_text=name,
        ),
        url=f"{_SHOP}/{product_id}",
        currency="USD",
        weight=weight,
        sku=product_id.upper(),
        variants=variants,
        compare_at_price=compare_at_price,
        item_type_preset=item_type_preset,
        visible=visible,
    )


def _variants(product_id: str, option: str, values: Sequence[str]) -> list[VariantInput]:
    return [
        VariantInput(
            id=f"{product_id}-{value.lower().replace(' ', '-')}",
            options={option: value},
            sku=f"{product_id.upper()}-{value.upper().replace(' ', '-')}",
        )
        for value in values
    ]


def _tee_variants() -> list[VariantInput]:
    return [
        VariantInput(
            id=f"classic-tee-{size.lower()}-{color.lower()}",
            options={"Size": size, "Color": color},
            sku=f"TEE-{size}-{color[:3].upper()}",
        )
        for color in ("Black", "White")
        for size in ("S", "M", "L", "XL")
    ]


PRODUCTS: tuple[ProductInput, ...] = (
    _product(
        "classic-tee",
        "Classic Cotton T-Shirt",
        "19.00",
        weight="0.2",
        description="Heavyweight organic cotton tee with a relaxed fit.",
        variants=[
            *_tee_variants()[:7],
            # The XL in white costs more: a variant price override.
            VariantInput(
                id="classic-tee-xl-white",
                options={"Size": "XL", "Color": "White"},
                price="21.00",
                sku="TEE-XL-WHI",
            ),
        ],
    ),
    _product(
        "linen-shirt",
        "Linen Button-Down Shirt",
        "59.00",
        compare_at_price="79.00",
        weight="0.3",
        description="Breathable washed linen, on sale this week.",
        variants=_variants("linen-shirt", "Size", ["S", "M", "L"]),
    ),
    _product(
        "denim-jacket",
        "Denim Jacket",
        "89.00",
        weight="0.9",
        variants=_variants("denim-jacket", "Size", ["S", "M", "L"]),
    ),
    _product("merino-beanie", "Merino Wool Beanie", "24.00", weight="0.08"),
    _product("canvas-tote", "Canvas Tote Bag", "18.00", weight="0.25"),
    _product("leather-wallet", "Leather Bifold Wallet", "45.00", weight="0.1"),
    _product(
        "stoneware-mug",
        "Stoneware Coffee Mug",
        "16.00",
        weight="0.4",
        variants=_variants("stoneware-mug", "Color", ["Sand", "Slate"]),
    ),
    _product("french-press", "French Press, 1 L", "34.99", weight="0.8"),
    _product(
        "coffee-beans",
        "Single-Origin Coffee Beans, 340 g",
        "14.50",
        weight="0.34",
        variants=_variants("coffee-beans", "Grind", ["Whole bean", "Espresso", "Filter"]),
    ),
    _product("tea-sampler", "Loose-Leaf Tea Sampler", "22.00", weight="0.3"),
    _product("dot-grid-notebook", "Dot-Grid Notebook A5", "12.00", weight="0.3"),
    _product(
        "fountain-pen",
        "Fountain Pen",
        "65.00",
        weight="0.03",
        variants=_variants("fountain-pen", "Nib", ["Fine", "Medium"]),
    ),
    _product("led-desk-lamp", "LED Desk Lamp", "49.00", weight="1.2"),
    _product("cork-yoga-mat", "Cork Yoga Mat", "72.00", weight="2.5"),
    _product(
        "water-bottle",
        "Insulated Water Bottle, 750 ml",
        "29.00",
        weight="0.35",
        variants=_variants("water-bottle", "Color", ["Forest", "Ocean", "Sunset"]),
    ),
    _product(
        "running-socks",
        "Running Socks, 3-Pack",
        "15.00",
        weight="0.12",
        variants=_variants("running-socks", "Size", ["S", "M", "L"]),
    ),
    _product("polarized-sunglasses", "Polarized Sunglasses", "95.00", weight="0.05"),
    _product("scented-candle", "Soy Candle, Cedar & Sage", "28.00", weight="0.45"),
    _product(
        "weeknight-recipes-ebook",
        "Weeknight Recipes (e-book)",
        "9.99",
        description="120 recipes in 30 minutes or less; PDF and EPUB download.",
        item_type_preset=int(ItemTypePreset.DIGITAL),
    ),
    _product(
        "holiday-gift-box",
        "Holiday Gift Box (coming soon)",
        "60.00",
        weight="1.5",
        visible=False,
    ),
)


def _each(product_id: str, variant_ids: Sequence[str], quantity: int) -> dict[StockKey, int]:
    return {StockKey(product_id, variant_id): quantity for variant_id in variant_ids}


#: Units on hand; products and variants not listed here have unlimited stock.
STOCK: dict[StockKey, int] = {
    **{StockKey("classic-tee", v.id): 25 for v in PRODUCTS[0].variants},
    StockKey("classic-tee", "classic-tee-l-white"): 0,  # sold out in one variant
    **_each("linen-shirt", ["linen-shirt-s", "linen-shirt-m", "linen-shirt-l"], 10),
    StockKey("denim-jacket", "denim-jacket-s"): 5,
    StockKey("denim-jacket", "denim-jacket-m"): 0,
    StockKey("denim-jacket", "denim-jacket-l"): 3,
    StockKey("merino-beanie"): 40,
    StockKey("leather-wallet"): 15,
    **_each("stoneware-mug", ["stoneware-mug-sand", "stoneware-mug-slate"], 30),
    StockKey("french-press"): 0,  # out of stock
    StockKey("tea-sampler"): 12,
    StockKey("dot-grid-notebook"): 100,
    **_each("fountain-pen", ["fountain-pen-fine", "fountain-pen-medium"], 8),
    StockKey("led-desk-lamp"): 7,
    StockKey("cork-yoga-mat"): 9,
    StockKey("water-bottle", "water-bottle-forest"): 20,
    StockKey("water-bottle", "water-bottle-ocean"): 20,
    StockKey("water-bottle", "water-bottle-sunset"): 0,
    StockKey("polarized-sunglasses"): 4,
    StockKey("scented-candle"): 18,
    StockKey("holiday-gift-box"): 50,
}


def admin_requests() -> tuple[admin_pb.UpsertProductsRequest, admin_pb.SetStockRequest]:
    """The demo catalog as CatalogAdminService requests, to load it into any site over the API
    (tests and benchmarks that want the demo products on a site of their own)."""
    return (
        admin_pb.UpsertProductsRequest(products=[input_to_proto(p) for p in PRODUCTS]),
        admin_pb.SetStockRequest(
            items=[
                admin_pb.StockSetting(
                    product_id=key.product_id, variant_id=key.variant_id, quantity=units
                )
                for key, units in STOCK.items()
            ]
        ),
    )


async def load(catalog: CatalogService, mode: DemoMode) -> int:
    """Load the demo catalog as `mode` says; returns how many products were inserted."""
    if mode is DemoMode.NO:
        return 0
    return await catalog.load(DEMO_SITE, PRODUCTS, STOCK, only_if_empty=mode is DemoMode.AUTO)
