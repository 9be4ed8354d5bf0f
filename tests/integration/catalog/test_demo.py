"""The demo catalog: loaded at start-up into an empty catalog (ECOM_DEMO_DATA=auto), never over
existing data, every start with `yes`, never with `no`; and usable through the SPI."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest

from ecom.catalog.v1 import catalog_admin_service_pb2 as pb
from ecom.spi.inventory.v1 import inventory_provider_service_pb2 as inventory_pb
from services.platform.config import ConfigError
from services.platform.throwaway import libpq_url
from services.providers.catalog import demo
from tests.integration.catalog.conftest import StartCatalog
from tests.integration.catalog.kit import (
    CatalogServer,
    describe,
    inventory_item,
    product,
    ref,
    reserve_request,
)

DEMO = demo.DEMO_SITE


@pytest.fixture
def fresh_database(
    request: pytest.FixtureRequest, database_backend: str
) -> Iterator[dict[str, str]]:
    """Settings for a catalog database of its own (the shared test database is not empty)."""
    if database_backend == "sqlite":
        yield {}  # every test has its own data directory
        return
    server = request.getfixturevalue("postgres_server_url")
    name = f"ecom_demo_{uuid.uuid4().hex[:10]}"
    admin = libpq_url(server)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield {"ECOM_DATABASE_URL": libpq_url(server, name)}
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _demo_ids(catalog: CatalogServer) -> list[str]:
    listed = await catalog.admin().ListProducts(
        pb.ListProductsRequest(page_size=100), metadata=catalog.admin_md(DEMO)
    )
    return [p.id for p in listed.products]


async def test_auto_loads_an_empty_catalog_once(
    start_catalog: StartCatalog, fresh_database: dict[str, str]
) -> None:
    first = await start_catalog(demo="auto", **fresh_database)
    ids = await _demo_ids(first)
    assert sorted(ids) == sorted(p.id for p in demo.PRODUCTS)
    assert len(ids) == 20

    # The demo shows what the provider does.
    answers = await first.items(
        DEMO,
        ref("classic-tee", {"options": {"Size": "M", "Color": "Black"}}),
        ref("classic-tee", {"variantId": "classic-tee-l-white"}),
        ref("linen-shirt", {"options": {"Size": "M"}}),
        ref("french-press"),
        ref("canvas-tote"),
        ref("weeknight-recipes-ebook"),
        ref("holiday-gift-box"),
    )
    tee, sold_out, linen, press, tote, ebook, hidden = answers.values()
    assert (tee.price, tee.quantity_available) == ("19.00", 25)
    assert sold_out.quantity_available == 0
    assert (linen.price, linen.full_price) == ("59.00", "79.00")
    assert press.quantity_available == 0
    assert not tote.HasField("quantity_available")
    assert not ebook.physical_properties.shippable
    assert hidden.quantity_available == 0
    reserved = await first.inventory().ReserveInventory(
        reserve_request("demo-r", [inventory_item(ref("merino-beanie"), 2)]),
        metadata=first.spi_md(DEMO),
    )
    assert reserved.reservation.status == inventory_pb.RESERVATION_STATUS_RESERVED

    # A restart finds data and leaves it alone, changes included.
    second = await start_catalog(demo="auto", **fresh_database)
    await second.upsert(DEMO, product("canvas-tote", "20.00"))
    await second.admin().DeleteProduct(
        pb.DeleteProductRequest(id="french-press"), metadata=second.admin_md(DEMO)
    )
    third = await start_catalog(demo="auto", **fresh_database)
    assert "french-press" not in await _demo_ids(third)
    assert (await third.items(DEMO, ref("canvas-tote")))[describe(ref("canvas-tote"))].price == (
        "20.00"
    )

    # `yes` puts missing demo products back, still without touching changed ones.
    fourth = await start_catalog(demo="yes", **fresh_database)
    assert "french-press" in await _demo_ids(fourth)
    assert (await fourth.items(DEMO, ref("canvas-tote")))[describe(ref("canvas-tote"))].price == (
        "20.00"
    )


async def test_auto_leaves_a_catalog_with_data_alone(
    start_catalog: StartCatalog, fresh_database: dict[str, str], site: str
) -> None:
    first = await start_catalog(demo="no", **fresh_database)
    assert await _demo_ids(first) == []
    await first.upsert(site, product("own-product"))
    second = await start_catalog(demo="auto", **fresh_database)
    assert await _demo_ids(second) == []


async def test_a_bad_setting_stops_start_up(start_catalog: StartCatalog) -> None:
    with pytest.raises(ConfigError, match="ECOM_DEMO_DATA"):
        await start_catalog(demo="sometimes")


async def test_the_demo_catalog_loads_into_any_site_over_the_api(
    start_catalog: StartCatalog, site: str
) -> None:
    catalog = await start_catalog(demo="yes")
    upsert, stock = demo.admin_requests()
    await catalog.admin().UpsertProducts(upsert, metadata=catalog.admin_md(site))
    await catalog.admin().SetStock(stock, metadata=catalog.admin_md(site))
    listed = await catalog.admin().ListProducts(
        pb.ListProductsRequest(page_size=100), metadata=catalog.admin_md(site)
    )
    theirs = await catalog.admin().ListProducts(
        pb.ListProductsRequest(page_size=100), metadata=catalog.admin_md(DEMO)
    )

    def comparable(products: object) -> list[tuple[str, str, int, list[tuple[str, int]]]]:
        return [
            (p.id, p.price, p.stock.quantity, [(v.id, v.stock.quantity) for v in p.variants])
            for p in products  # type: ignore[attr-defined]
        ]

    assert comparable(listed.products) == comparable(theirs.products)
    assert len(listed.products) == len(demo.PRODUCTS)
