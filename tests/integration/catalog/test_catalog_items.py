"""GetCatalogItems over real gRPC: variants by id and by options, unknown references left out,
references echoed exactly, hidden items, stock, weights, currencies and access."""

from __future__ import annotations

import grpc
import pytest

from ecom.catalog.v1 import catalog_admin_service_pb2 as admin_pb
from ecom.common.v1 import catalog_pb2, channel_pb2
from ecom.spi.catalog.v1 import catalog_provider_service_pb2 as catalog_pb
from services.platform.identity import Role
from tests.integration.catalog.kit import (
    CatalogServer,
    describe,
    error_info,
    field_violations,
    product,
    quantity,
    ref,
    variant,
)


async def _shop(catalog: CatalogServer, site: str) -> None:
    tee = product(
        "tee",
        "10.00",
        compare_at_price="14.00",
        weight="0.5",
        sku="TEE",
        url="https://shop.example.com/tee",
        media=catalog_pb2.Media(url="https://img.example.com/tee.jpg", width=800, height=600),
        tax_group_id="apparel",
        variants=[
            variant("tee-s-black", Size="S", Color="Black"),
            variant("tee-m-black", Size="M", Color="Black"),
            variant("tee-s-white", Size="S", Color="White"),
        ],
    )
    tee.variants[1].weight = "1"
    tee.variants[2].price = "16.00"
    tee.variants[2].sku = "TEE-SW"
    await catalog.upsert(
        site,
        tee,
        product("mug", "8.5", weight="2"),
        product(
            "ebook",
            "5",
            item_type=catalog_pb2.ItemType(preset=catalog_pb2.ITEM_TYPE_PRESET_DIGITAL),
        ),
        product("secret", "30.00", visible=False),
    )
    await catalog.set_stock(
        site,
        quantity("tee", 3, "tee-s-black"),
        quantity("tee", 0, "tee-m-black"),
        quantity("mug", 7),
    )


async def test_items_are_answered_per_variant_with_stock(catalog: CatalogServer, site: str) -> None:
    await _shop(catalog, site)
    by_id = ref("tee", {"variantId": "tee-s-black"})
    by_options = ref("tee", {"options": {"Size": "M", "Color": "Black"}})
    # Keys the provider does not use are ignored for the lookup and echoed untouched.
    with_extra = ref(
        "tee",
        {"options": {"Color": "White", "Size": "S"}, "customTextFields": {"Note": "gift", "n": 2}},
    )
    mug, ebook, secret = ref("mug"), ref("ebook"), ref("secret")
    answers = await catalog.items(site, by_id, by_options, with_extra, mug, ebook, secret)
    assert set(answers) == {
        describe(r) for r in (by_id, by_options, with_extra, mug, ebook, secret)
    }

    small = answers[describe(by_id)]
    assert small.product_name.original == "Product tee"
    assert (small.price, small.full_price) == ("10.00", "14.00")
    assert small.quantity_available == 3
    assert [(line.name.original, line.plain_text.original) for line in small.description_lines] == [
        ("Color", "Black"),
        ("Size", "S"),
    ]
    assert small.root_catalog_item_id == "tee"
    assert small.physical_properties == catalog_pb2.PhysicalProperties(
        weight="0.5", sku="TEE", shippable=True
    )
    assert small.item_type.preset == catalog_pb2.ITEM_TYPE_PRESET_PHYSICAL
    assert small.url == "https://shop.example.com/tee"
    assert small.media.url == "https://img.example.com/tee.jpg"
    assert small.tax_group_id == "apparel"

    medium = answers[describe(by_options)]
    assert medium.HasField("quantity_available") and medium.quantity_available == 0
    assert medium.physical_properties.weight == "1"

    white = answers[describe(with_extra)]
    # The variant's own price is above the product's compare-at price: no fake "sale".
    assert (white.price, white.full_price) == ("16.00", "16.00")
    assert not white.HasField("quantity_available")  # stock never set: unlimited
    assert white.physical_properties.sku == "TEE-SW"

    assert answers[describe(mug)].price == "8.50"
    assert answers[describe(mug)].quantity_available == 7
    assert answers[describe(mug)].root_catalog_item_id == ""
    digital = answers[describe(ebook)]
    assert digital.item_type.preset == catalog_pb2.ITEM_TYPE_PRESET_DIGITAL
    assert not digital.physical_properties.shippable
    assert digital.physical_properties.weight == ""
    # Known but hidden: answered, with nothing available.
    assert answers[describe(secret)].quantity_available == 0


async def test_references_are_echoed_exactly(catalog: CatalogServer, site: str) -> None:
    await _shop(catalog, site)
    wanted = ref("tee", {"variantId": "tee-s-black", "tracking": {"list": [1, "a", None]}})
    response = await catalog.catalog().GetCatalogItems(
        catalog_pb.GetCatalogItemsRequest(
            catalog_references=[
                catalog_pb.CatalogReferenceAndQuantity(catalog_reference=wanted, quantity=2)
            ],
            currency="USD",
            weight_unit=channel_pb2.WEIGHT_UNIT_KG,
        ),
        metadata=catalog.spi_md(site),
    )
    (item,) = response.catalog_items
    assert item.catalog_reference == wanted


async def test_unknown_references_are_left_out(catalog: CatalogServer, site: str) -> None:
    await _shop(catalog, site)
    unknown = [
        ref("nothing-here"),
        ref("tee"),  # a product with variants needs a variant
        ref("tee", {"variantId": "tee-xxl"}),
        ref("tee", {"options": {"Size": "S"}}),  # not every option
        ref("tee", {"options": {"Size": "s", "Color": "Black"}}),  # values are case-sensitive
        ref("tee", {"variantId": "tee-s-black", "options": {"Size": "M", "Color": "Black"}}),
        ref("tee", {"variantId": 7}),
        ref("tee", {"options": {"Size": 1, "Color": "Black"}}),
        ref("mug", {"variantId": "mug-1"}),  # no variants to choose from
        ref("mug", app_id="another-catalog"),
        ref("x" * 5000),
    ]
    known = ref("mug")
    answers = await catalog.items(site, *unknown, known)
    assert list(answers) == [describe(known)]
    # Another site has its own (empty) catalog.
    assert await catalog.items(f"{site}-other", known) == {}


async def test_weights_follow_the_requested_unit(catalog: CatalogServer, site: str) -> None:
    await _shop(catalog, site)
    await catalog.upsert(
        site, product("anvil", "99", weight="10", weight_unit=channel_pb2.WEIGHT_UNIT_LB)
    )
    in_lb = await catalog.items(
        site, ref("mug"), ref("anvil"), weight_unit=channel_pb2.WEIGHT_UNIT_LB
    )
    assert in_lb[describe(ref("mug"))].physical_properties.weight == "4.409"  # 2 kg
    assert in_lb[describe(ref("anvil"))].physical_properties.weight == "10"
    in_kg = await catalog.items(site, ref("anvil"))
    assert in_kg[describe(ref("anvil"))].physical_properties.weight == "4.536"


async def test_the_app_id_is_the_one_called_under(catalog: CatalogServer, site: str) -> None:
    await _shop(catalog, site)
    mine = ref("mug", app_id="my-shop")
    assert list(await catalog.items(site, mine, ref("mug"), app_id="my-shop")) == [describe(mine)]


async def test_currency_and_request_problems(catalog: CatalogServer, site: str) -> None:
    await _shop(catalog, site)
    with pytest.raises(grpc.aio.AioRpcError) as other_currency:
        await catalog.items(site, ref("mug"), currency="EUR")
    assert other_currency.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    info = error_info(other_currency.value)
    assert (info.reason, info.domain) == ("CURRENCY_NOT_SUPPORTED", "ecom.spi.catalog.v1")

    with pytest.raises(grpc.aio.AioRpcError) as bad_currency:
        await catalog.items(site, ref("mug"), currency="usd")
    assert bad_currency.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(bad_currency.value) == {"currency"}

    with pytest.raises(grpc.aio.AioRpcError) as too_many:
        await catalog.items(site, *[ref(f"p{i}") for i in range(301)])
    assert too_many.value.code() is grpc.StatusCode.INVALID_ARGUMENT

    # The health probe of the registry: no references at all.
    empty = await catalog.catalog().GetCatalogItems(
        catalog_pb.GetCatalogItemsRequest(), metadata=catalog.spi_md(site)
    )
    assert list(empty.catalog_items) == []


async def test_buyers_cannot_call_the_provider(catalog: CatalogServer, site: str) -> None:
    await _shop(catalog, site)
    visitor = (("authorization", f"Bearer {catalog.token(site, Role.VISITOR, 'v-1')}"),)
    for call in (
        catalog.catalog().GetCatalogItems(catalog_pb.GetCatalogItemsRequest(), metadata=visitor),
        catalog.admin().GetProduct(admin_pb.GetProductRequest(id="mug"), metadata=visitor),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await call
        assert refused.value.code() is grpc.StatusCode.PERMISSION_DENIED
