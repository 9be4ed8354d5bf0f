"""CatalogAdminService over real gRPC: upserts (validation, idempotence, revisions), reads and
paging, deletes, and stock settings and adjustments."""

from __future__ import annotations

import uuid

import grpc
import pytest

from ecom.catalog.v1 import catalog_admin_service_pb2 as pb
from ecom.catalog.v1 import product_pb2
from ecom.common.v1 import catalog_pb2
from tests.integration.catalog.kit import (
    CatalogServer,
    error_info,
    field_violations,
    inventory_item,
    product,
    quantity,
    ref,
    reserve_request,
    variant,
)


async def test_upsert_reports_every_bad_field(catalog: CatalogServer, site: str) -> None:
    bad = product_pb2.Product(
        id="bad id!",
        name="",
        price="-1",
        compare_at_price="1e3",
        currency="usd",
        url="ftp://example.com/x",
        weight="heavy",
        media=catalog_pb2.Media(url="not a url"),
        deposit_amount="1",
        variants=[
            variant("v1", Size="S"),
            variant("v1", Color="Red"),
            product_pb2.Variant(id="v3", options={}),
            product_pb2.Variant(id="v4", options={"Size": "S"}, price="abc"),
        ],
    )
    good_then_cheap = product("ok", "10.00", compare_at_price="9.99")
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await catalog.upsert(site, bad, good_then_cheap, product("ok", "1"), product("x" * 101))
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(refused.value) == {
        "products[0].id",
        "products[0].name",
        "products[0].price",
        "products[0].compare_at_price",
        "products[0].currency",
        "products[0].url",
        "products[0].weight",
        "products[0].media.url",
        "products[0].deposit_amount",
        "products[0].variants[1].id",
        "products[0].variants[1].options",
        "products[0].variants[2].options",
        "products[0].variants[3].options",
        "products[0].variants[3].price",
        "products[1].compare_at_price",
        "products[2].id",
        "products[3].id",
    }
    # Nothing was written.
    listed = await catalog.admin().ListProducts(
        pb.ListProductsRequest(), metadata=catalog.admin_md(site)
    )
    assert list(listed.products) == []

    for request, fields in (
        (pb.UpsertProductsRequest(), {"products"}),
        (pb.UpsertProductsRequest(products=[product(f"p{i}") for i in range(101)]), {"products"}),
        (
            pb.UpsertProductsRequest(
                products=[
                    product(
                        "deposit",
                        "10",
                        payment_option=catalog_pb2.PAYMENT_OPTION_DEPOSIT_ONLINE,
                        deposit_amount="11",
                    ),
                    product("huge", name="n" * 201, description="d" * 8001),
                ]
            ),
            {"products[0].deposit_amount", "products[1].name", "products[1].description"},
        ),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as invalid:
            await catalog.admin().UpsertProducts(request, metadata=catalog.admin_md(site))
        assert invalid.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert field_violations(invalid.value) == fields


async def test_upsert_is_idempotent_and_checks_revisions(catalog: CatalogServer, site: str) -> None:
    stub, md = catalog.admin(), catalog.admin_md(site)
    (created,) = await catalog.upsert(site, product("mug", "8.5", weight="0.40"))
    assert created.revision == 1
    assert (created.price, created.weight, created.currency) == ("8.5", "0.40", "USD")
    assert created.shippable and created.visible
    assert created.stock.unlimited and created.stock.revision == 0
    assert created.item_type.preset == catalog_pb2.ITEM_TYPE_PRESET_PHYSICAL

    # The same content (amounts compare as numbers) changes nothing, not even the revision.
    (same,) = await catalog.upsert(site, product("mug", "8.50", weight="0.4"))
    assert same == created

    (changed,) = await catalog.upsert(site, product("mug", "9", revision=1))
    assert changed.revision == 2 and changed.created_date == created.created_date
    got = await stub.GetProduct(pb.GetProductRequest(id="mug"), metadata=md)
    assert got.product == changed

    for stale in (product("mug", "10", revision=1), product("new-one", revision=3)):
        with pytest.raises(grpc.aio.AioRpcError) as aborted:
            await catalog.upsert(site, stale)
        assert aborted.value.code() is grpc.StatusCode.ABORTED
        info = error_info(aborted.value)
        assert info.reason == "REVISION_MISMATCH"
    assert info.metadata["current_revision"] == "0"

    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await stub.GetProduct(pb.GetProductRequest(id="nope"), metadata=md)
    assert missing.value.code() is grpc.StatusCode.NOT_FOUND
    assert error_info(missing.value).reason == "PRODUCT_NOT_FOUND"
    # Another site sees none of it.
    with pytest.raises(grpc.aio.AioRpcError) as elsewhere:
        await stub.GetProduct(pb.GetProductRequest(id="mug"), metadata=catalog.admin_md(f"{site}x"))
    assert elsewhere.value.code() is grpc.StatusCode.NOT_FOUND


async def test_list_pages_and_filters(catalog: CatalogServer, site: str) -> None:
    stub, md = catalog.admin(), catalog.admin_md(site)
    names = [f"p{i:02d}" for i in range(7)]
    await catalog.upsert(site, *(product(n, visible=n != "p03") for n in names))

    async def pages(request: pb.ListProductsRequest) -> list[list[str]]:
        found: list[list[str]] = []
        while True:
            page = await stub.ListProducts(request, metadata=md)
            found.append([p.id for p in page.products])
            if not page.next_page_token:
                return found
            request.page_token = page.next_page_token

    assert await pages(pb.ListProductsRequest(page_size=3)) == [names[:3], names[3:6], names[6:]]
    visible = pb.ListProductsRequest(page_size=4, filter=pb.ProductFilter(visible=True))
    assert await pages(visible) == [["p00", "p01", "p02", "p04"], ["p05", "p06"]]
    hidden = pb.ListProductsRequest(filter=pb.ProductFilter(visible=False))
    assert await pages(hidden) == [["p03"]]
    chosen = pb.ListProductsRequest(filter=pb.ProductFilter(ids=["p05", "p01", "zz"]))
    assert await pages(chosen) == [["p01", "p05"]]

    first = await stub.ListProducts(pb.ListProductsRequest(page_size=1), metadata=md)
    for bad in (
        pb.ListProductsRequest(page_token=first.next_page_token, filter=hidden.filter),
        pb.ListProductsRequest(page_token="garbage"),
        pb.ListProductsRequest(page_size=-1),
        pb.ListProductsRequest(filter=pb.ProductFilter(ids=[str(i) for i in range(101)])),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.ListProducts(bad, metadata=md)
        assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT


async def test_delete(catalog: CatalogServer, site: str) -> None:
    stub, md = catalog.admin(), catalog.admin_md(site)
    await catalog.upsert(site, product("mug"))
    await catalog.set_stock(site, quantity("mug", 4))
    with pytest.raises(grpc.aio.AioRpcError) as stale:
        await stub.DeleteProduct(pb.DeleteProductRequest(id="mug", revision=7), metadata=md)
    assert stale.value.code() is grpc.StatusCode.ABORTED
    await stub.DeleteProduct(pb.DeleteProductRequest(id="mug", revision=1), metadata=md)
    assert await catalog.items(site, ref("mug")) == {}
    with pytest.raises(grpc.aio.AioRpcError) as again:
        await stub.DeleteProduct(pb.DeleteProductRequest(id="mug"), metadata=md)
    assert again.value.code() is grpc.StatusCode.NOT_FOUND
    # Created again, it starts afresh: unlimited stock.
    (fresh,) = await catalog.upsert(site, product("mug"))
    assert fresh.revision == 1 and fresh.stock.unlimited


async def test_variants_carry_their_own_stock(catalog: CatalogServer, site: str) -> None:
    await catalog.upsert(site, product("tee"))
    await catalog.set_stock(site, quantity("tee", 9))
    tee = product("tee", variants=[variant("s", Size="S"), variant("m", Size="M")])
    (with_variants,) = await catalog.upsert(site, tee)
    assert not with_variants.HasField("stock")  # the product-level stock is gone
    assert [v.stock.unlimited for v in with_variants.variants] == [True, True]
    await catalog.set_stock(site, quantity("tee", 3, "s"), quantity("tee", 4, "m"))

    # Dropping a variant drops its stock; the other keeps its own.
    (fewer,) = await catalog.upsert(site, product("tee", variants=[variant("m", Size="M")]))
    assert [(v.id, v.stock.quantity) for v in fewer.variants] == [("m", 4)]
    (again,) = await catalog.upsert(site, tee)
    assert [(v.id, v.stock.unlimited) for v in again.variants] == [("s", True), ("m", False)]
    # No variants any more: the product's own stock starts unlimited.
    (plain,) = await catalog.upsert(site, product("tee"))
    assert plain.stock.unlimited and plain.stock.revision == 0


async def test_set_stock(catalog: CatalogServer, site: str) -> None:
    stub, md = catalog.admin(), catalog.admin_md(site)
    await catalog.upsert(site, product("mug"), product("tee", variants=[variant("s", Size="S")]))
    (level,) = await catalog.set_stock(site, quantity("mug", 5))
    assert (level.quantity, level.available, level.revision, level.unlimited) == (5, 5, 1, False)
    assert (await catalog.set_stock(site, quantity("mug", 5)))[0] == level  # no change
    stale = pb.StockSetting(product_id="mug", quantity=6, revision=7)
    with pytest.raises(grpc.aio.AioRpcError) as aborted:
        await catalog.set_stock(site, quantity("tee", 1, "s"), stale)
    assert aborted.value.code() is grpc.StatusCode.ABORTED
    assert error_info(aborted.value).metadata["current_revision"] == "1"
    got = await stub.GetProduct(pb.GetProductRequest(id="tee"), metadata=md)
    assert got.product.variants[0].stock.unlimited  # all or nothing

    await catalog.inventory().ReserveInventory(
        reserve_request("r", [inventory_item(ref("mug"), 2)]), metadata=catalog.spi_md(site)
    )
    (lowered,) = await catalog.set_stock(
        site, pb.StockSetting(product_id="mug", quantity=1, revision=1)
    )
    assert (lowered.quantity, lowered.reserved, lowered.available) == (1, 2, 0)
    (unlimited,) = await catalog.set_stock(site, pb.StockSetting(product_id="mug", unlimited=True))
    assert unlimited.unlimited and unlimited.revision == 3
    assert await catalog.available(site, ref("mug")) is None

    for items, code, fields in (
        ([], grpc.StatusCode.INVALID_ARGUMENT, {"items"}),
        (
            [pb.StockSetting(product_id="mug")],
            grpc.StatusCode.INVALID_ARGUMENT,
            {"items[0].quantity"},
        ),
        (
            [quantity("mug", -1), quantity("", 1), quantity("mug", 1_000_000_001)],
            grpc.StatusCode.INVALID_ARGUMENT,
            {"items[0].quantity", "items[1].product_id", "items[2].quantity", "items[2]"},
        ),
        ([quantity("tee", 1)], grpc.StatusCode.INVALID_ARGUMENT, {"items[0].variant_id"}),
        ([quantity("mug", 1, "s")], grpc.StatusCode.INVALID_ARGUMENT, {"items[0].variant_id"}),
        ([quantity("nope", 1)], grpc.StatusCode.NOT_FOUND, set()),
        ([quantity("tee", 1, "xl")], grpc.StatusCode.NOT_FOUND, set()),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.SetStock(pb.SetStockRequest(items=items), metadata=md)
        assert refused.value.code() is code
        if fields:
            assert field_violations(refused.value) == fields


async def test_adjust_stock(catalog: CatalogServer, site: str) -> None:
    stub, md = catalog.admin(), catalog.admin_md(site)
    await catalog.upsert(site, product("mug"), product("bag"))
    await catalog.set_stock(site, quantity("mug", 5))
    request = pb.AdjustStockRequest(
        items=[pb.StockAdjustment(product_id="mug", delta=3)], request_id=str(uuid.uuid4())
    )
    first = await stub.AdjustStock(request, metadata=md)
    assert [(s.quantity, s.revision) for s in first.stock] == [(8, 2)]
    assert await stub.AdjustStock(request, metadata=md) == first  # a retry adjusts once
    request.items[0].delta = 4
    with pytest.raises(grpc.aio.AioRpcError) as reused:
        await stub.AdjustStock(request, metadata=md)
    assert error_info(reused.value).reason == "REQUEST_ID_REUSED"

    for items, reason in (
        ([pb.StockAdjustment(product_id="mug", delta=-9)], "STOCK_WOULD_BE_NEGATIVE"),
        ([pb.StockAdjustment(product_id="bag", delta=1)], "STOCK_NOT_TRACKED"),
        ([pb.StockAdjustment(product_id="mug", delta=999_999_999)], "STOCK_LIMIT_EXCEEDED"),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.AdjustStock(pb.AdjustStockRequest(items=items), metadata=md)
        assert refused.value.code() is grpc.StatusCode.FAILED_PRECONDITION
        assert error_info(refused.value).reason == reason
    with pytest.raises(grpc.aio.AioRpcError) as invalid:
        await stub.AdjustStock(
            pb.AdjustStockRequest(items=[pb.StockAdjustment(product_id="mug")]), metadata=md
        )
    assert field_violations(invalid.value) == {"items[0].delta"}
    assert await catalog.available(site, ref("mug")) == 8
