"""GetCatalogItems answers from memory until the catalog's database changes: a change made
through another server (another process, in production) shows in the very next answer, and
holds stop counting the moment they expire, with no write at all (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio

from ecom.catalog.v1 import catalog_admin_service_pb2 as admin_pb
from ecom.spi.inventory.v1 import inventory_provider_service_pb2 as pb
from tests.integration.catalog.conftest import StartCatalog
from tests.integration.catalog.kit import (
    CatalogServer,
    describe,
    inventory_item,
    product,
    quantity,
    ref,
    reserve_request,
    variant,
)


async def _two_servers(start_catalog: StartCatalog) -> tuple[CatalogServer, CatalogServer]:
    """Two servers over one database: `reader` answers, `writer` changes things."""
    return await start_catalog(), await start_catalog()


async def test_changes_through_another_server_show_at_once(
    start_catalog: StartCatalog, site: str
) -> None:
    reader, writer = await _two_servers(start_catalog)
    tee = product("tee", variants=[variant("s", Size="S"), variant("m", Size="M")])
    await writer.upsert(site, product("mug", price="8.00"), tee)
    await writer.set_stock(site, quantity("mug", 5), quantity("tee", 3, "s"))
    mug, small = ref("mug"), ref("tee", {"options": {"Size": "S"}})
    for _ in range(2):  # the second answer comes from memory
        assert await reader.available(site, mug) == 5
        assert await reader.available(site, small) == 3

    await writer.set_stock(site, quantity("mug", 2))
    assert await reader.available(site, mug) == 2

    await writer.upsert(site, product("mug", price="9.50"))
    assert (await reader.items(site, mug))[describe(mug)].price == "9.50"

    stub, md = writer.inventory(), writer.spi_md(site)
    items = [inventory_item(mug, 2), inventory_item(small, 1)]
    await stub.ReserveInventory(reserve_request("r-1", items), metadata=md)
    assert await reader.available(site, mug) == 0
    assert await reader.available(site, small) == 2

    await stub.ReleaseInventory(pb.ReleaseInventoryRequest(reservation_id="r-1"), metadata=md)
    assert await reader.available(site, mug) == 2

    # A new variant, and the product gone again: unknown references are left out.
    grown = product(
        "tee", variants=[variant("s", Size="S"), variant("m", Size="M"), variant("l", Size="L")]
    )
    await writer.upsert(site, grown)
    large = ref("tee", {"options": {"Size": "L"}})
    assert describe(large) in await reader.items(site, large)
    (stored,) = await writer.upsert(site, grown)
    await writer.admin().DeleteProduct(
        admin_pb.DeleteProductRequest(id="tee", revision=stored.revision),
        metadata=writer.admin_md(site),
    )
    assert await reader.items(site, small, large) == {}


async def test_holds_stop_counting_when_they_expire(catalog: CatalogServer, site: str) -> None:
    await catalog.upsert(site, product("lamp"))
    await catalog.set_stock(site, quantity("lamp", 6))
    lamp = ref("lamp")
    stub, md = catalog.inventory(), catalog.spi_md(site)
    # Long enough that a loaded CI machine still sees the hold before it lapses.
    await stub.ReserveInventory(
        reserve_request("short", [inventory_item(lamp, 2)], ttl_s=3), metadata=md
    )
    await stub.ReserveInventory(reserve_request("long", [inventory_item(lamp, 1)]), metadata=md)
    assert await catalog.available(site, lamp) == 3
    deadline = asyncio.get_running_loop().time() + 15
    while (found := await catalog.available(site, lamp)) != 5:
        assert found == 3, found
        assert asyncio.get_running_loop().time() < deadline, "the hold never expired"
        await asyncio.sleep(0.05)


async def test_sites_and_app_ids_never_mix(catalog: CatalogServer, site: str) -> None:
    other_site = f"{site}-other"
    await catalog.upsert(site, product("cup", price="3.00"))
    await catalog.upsert(other_site, product("cup", price="4.00"))
    cup = ref("cup")
    for _ in range(2):
        assert (await catalog.items(site, cup))[describe(cup)].price == "3.00"
        assert (await catalog.items(other_site, cup))[describe(cup)].price == "4.00"
        # A reference names the app it belongs to; the provider answers for the app it is called
        # under (x-ecom-app-id): a mismatch either way is unknown.
        assert await catalog.items(site, cup, app_id="other.app") == {}
        assert await catalog.items(site, ref("cup", app_id="other.app")) == {}
