"""The inventory SPI over real gRPC: reservations all or nothing, idempotent by id through every
state, the INSUFFICIENT_INVENTORY error with its details, expiry, restock, and stock that never
goes negative under concurrent reservations (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable

import grpc
import pytest

from ecom.catalog.v1 import catalog_admin_service_pb2 as admin_pb
from ecom.spi.inventory.v1 import inventory_provider_service_pb2 as pb
from tests.integration.catalog.kit import (
    CatalogServer,
    detail_types,
    error_info,
    field_violations,
    insufficient,
    inventory_item,
    product,
    quantity,
    ref,
    reserve_request,
    variant,
)

RESERVED = pb.RESERVATION_STATUS_RESERVED
COMMITTED = pb.RESERVATION_STATUS_COMMITTED
RELEASED = pb.RESERVATION_STATUS_RELEASED
EXPIRED = pb.RESERVATION_STATUS_EXPIRED


async def _stocked(catalog: CatalogServer, site: str, **units: int) -> None:
    await catalog.upsert(site, *(product(name) for name in units))
    await catalog.set_stock(site, *(quantity(name, n) for name, n in units.items()))


async def _until(check: Callable[[], Awaitable[bool]], timeout_s: float = 10.0) -> None:
    """Wait, bounded, until `check()` holds."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def test_reserve_release_and_commit(catalog: CatalogServer, site: str) -> None:
    await _stocked(catalog, site, mug=10, lamp=4)
    await catalog.upsert(site, product("bag"))  # unlimited stock
    stub, md = catalog.inventory(), catalog.spi_md(site)
    items = [inventory_item(ref("mug"), 3), inventory_item(ref("bag"), 50)]

    first = (await stub.ReserveInventory(reserve_request("r-1", items), metadata=md)).reservation
    assert first.status == RESERVED and first.reservation_id == "r-1"
    assert [(i.catalog_reference.catalog_item_id, i.quantity) for i in first.items] == [
        ("mug", 3),
        ("bag", 50),
    ]
    assert first.HasField("expire_time")
    assert await catalog.available(site, ref("mug")) == 7

    # The same items again: nothing changes but the expiry.
    again = (await stub.ReserveInventory(reserve_request("r-1", items), metadata=md)).reservation
    assert again.status == RESERVED and list(again.items) == list(first.items)
    assert again.expire_time.ToDatetime() >= first.expire_time.ToDatetime()
    assert await catalog.available(site, ref("mug")) == 7

    # Other items: only the differences move.
    changed = [inventory_item(ref("mug"), 5), inventory_item(ref("lamp"), 4)]
    await stub.ReserveInventory(reserve_request("r-1", changed), metadata=md)
    assert await catalog.available(site, ref("mug")) == 5
    assert await catalog.available(site, ref("lamp")) == 0

    released = (
        await stub.ReleaseInventory(pb.ReleaseInventoryRequest(reservation_id="r-1"), metadata=md)
    ).reservation
    assert released.status == RELEASED and not released.HasField("expire_time")
    assert await catalog.available(site, ref("mug")) == 10
    again_released = await stub.ReleaseInventory(
        pb.ReleaseInventoryRequest(reservation_id="r-1"), metadata=md
    )
    assert again_released.reservation.status == RELEASED

    with pytest.raises(grpc.aio.AioRpcError) as after_release:
        await stub.CommitInventory(pb.CommitInventoryRequest(reservation_id="r-1"), metadata=md)
    assert after_release.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert error_info(after_release.value).reason == "RESERVATION_RELEASED"

    # A released reservation can be reserved again, then committed: the stock is sold.
    await stub.ReserveInventory(reserve_request("r-1", changed), metadata=md)
    commit = pb.CommitInventoryRequest(reservation_id="r-1", order_id="order-1")
    committed = (await stub.CommitInventory(commit, metadata=md)).reservation
    assert committed.status == COMMITTED and not committed.HasField("expire_time")
    assert (await stub.CommitInventory(commit, metadata=md)).reservation == committed
    levels = await catalog.admin().GetProduct(
        admin_pb.GetProductRequest(id="mug"), metadata=catalog.admin_md(site)
    )
    assert (levels.product.stock.quantity, levels.product.stock.reserved) == (5, 0)
    assert await catalog.available(site, ref("lamp")) == 0

    # A repeat of the reserve after the saga finished gets the committed reservation.
    repeat = await stub.ReserveInventory(reserve_request("r-1", changed), metadata=md)
    assert repeat.reservation.status == COMMITTED
    for call in (
        stub.ReserveInventory(reserve_request("r-1", items), metadata=md),
        stub.ReleaseInventory(pb.ReleaseInventoryRequest(reservation_id="r-1"), metadata=md),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as done:
            await call
        assert done.value.code() is grpc.StatusCode.FAILED_PRECONDITION
        assert error_info(done.value).reason == "RESERVATION_ALREADY_COMMITTED"
    assert await catalog.available(site, ref("mug")) == 5


async def test_unknown_reservations(catalog: CatalogServer, site: str) -> None:
    stub, md = catalog.inventory(), catalog.spi_md(site)
    # The registry's health probe: a release of a never-used id succeeds with no reservation.
    released = await stub.ReleaseInventory(
        pb.ReleaseInventoryRequest(reservation_id=str(uuid.uuid4())), metadata=md
    )
    assert not released.HasField("reservation")
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await stub.CommitInventory(pb.CommitInventoryRequest(reservation_id="nope"), metadata=md)
    assert missing.value.code() is grpc.StatusCode.NOT_FOUND
    assert error_info(missing.value).reason == "RESERVATION_NOT_FOUND"


async def test_insufficient_inventory_lists_every_short_item(
    catalog: CatalogServer, site: str
) -> None:
    await _stocked(catalog, site, mug=2, lamp=1, pen=10)
    await catalog.upsert(site, product("gone", visible=False))
    stub, md = catalog.inventory(), catalog.spi_md(site)
    requested_mug = ref("mug", {"note": "as sent"})
    items = [
        inventory_item(requested_mug, 3),
        inventory_item(ref("lamp"), 1),
        inventory_item(ref("pen"), 4),
        inventory_item(ref("pen"), 4),  # listed twice: 8 in all, still fine
        inventory_item(ref("nowhere"), 1),
        inventory_item(ref("gone"), 1),
    ]
    with pytest.raises(grpc.aio.AioRpcError) as short:
        await stub.ReserveInventory(reserve_request("r-short", items), metadata=md)
    exc = short.value
    assert exc.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert detail_types(exc) == [
        "google.rpc.ErrorInfo",
        "ecom.spi.inventory.v1.InsufficientInventory",
    ]
    info = error_info(exc)
    assert (info.reason, info.domain, dict(info.metadata)) == (
        "INSUFFICIENT_INVENTORY",
        "ecom.spi.inventory.v1",
        {"reservation_id": "r-short"},
    )
    shorts = [(s.catalog_reference, s.requested, s.available) for s in insufficient(exc).items]
    assert shorts == [
        (requested_mug, 3, 2),
        (ref("nowhere"), 1, 0),
        (ref("gone"), 1, 0),
    ]
    # Nothing was reserved.
    assert await catalog.available(site, ref("mug")) == 2
    assert await catalog.available(site, ref("lamp")) == 1
    released = await stub.ReleaseInventory(
        pb.ReleaseInventoryRequest(reservation_id="r-short"), metadata=md
    )
    assert not released.HasField("reservation")

    # A replacement that does not fit keeps the old reservation as it was.
    await stub.ReserveInventory(
        reserve_request("r-ok", [inventory_item(ref("pen"), 6)]), metadata=md
    )
    with pytest.raises(grpc.aio.AioRpcError) as too_much:
        await stub.ReserveInventory(
            reserve_request("r-ok", [inventory_item(ref("pen"), 11)]), metadata=md
        )
    assert [(s.requested, s.available) for s in insufficient(too_much.value).items] == [(11, 10)]
    assert await catalog.available(site, ref("pen")) == 4


async def test_variants_are_reserved_separately(catalog: CatalogServer, site: str) -> None:
    await catalog.upsert(
        site, product("tee", variants=[variant("s", Size="S"), variant("m", Size="M")])
    )
    await catalog.set_stock(site, quantity("tee", 2, "s"), quantity("tee", 5, "m"))
    stub, md = catalog.inventory(), catalog.spi_md(site)
    by_id, by_options = ref("tee", {"variantId": "s"}), ref("tee", {"options": {"Size": "S"}})
    # Two spellings of one variant draw from the same stock.
    with pytest.raises(grpc.aio.AioRpcError) as short:
        await stub.ReserveInventory(
            reserve_request("r-v", [inventory_item(by_id, 2), inventory_item(by_options, 1)]),
            metadata=md,
        )
    assert [(s.catalog_reference, s.available) for s in insufficient(short.value).items] == [
        (by_options, 0)
    ]
    await stub.ReserveInventory(
        reserve_request("r-v", [inventory_item(by_id, 1), inventory_item(by_options, 1)]),
        metadata=md,
    )
    assert await catalog.available(site, by_id) == 0
    assert await catalog.available(site, ref("tee", {"variantId": "m"})) == 5


async def test_reservations_expire(catalog: CatalogServer, site: str) -> None:
    await _stocked(catalog, site, mug=8)
    stub, md = catalog.inventory(), catalog.spi_md(site)
    items = [inventory_item(ref("mug"), 4)]
    await stub.ReserveInventory(reserve_request("r-exp", items, ttl_s=0.3), metadata=md)
    await stub.ReserveInventory(reserve_request("r-exp-2", items, ttl_s=0.3), metadata=md)

    async def all_back() -> bool:
        return await catalog.available(site, ref("mug")) == 8

    await _until(all_back)
    released = await stub.ReleaseInventory(
        pb.ReleaseInventoryRequest(reservation_id="r-exp"), metadata=md
    )
    assert released.reservation.status == EXPIRED
    assert not released.reservation.HasField("expire_time")

    # Committing an expired reservation takes its units again while they are there...
    committed = await stub.CommitInventory(
        pb.CommitInventoryRequest(reservation_id="r-exp-2"), metadata=md
    )
    assert committed.reservation.status == COMMITTED
    assert await catalog.available(site, ref("mug")) == 4

    # ...and fails with the short items when they are not.
    await stub.ReserveInventory(reserve_request("r-exp-3", items, ttl_s=0.3), metadata=md)

    async def expired() -> bool:
        return await catalog.available(site, ref("mug")) == 4

    await _until(expired)
    one = [inventory_item(ref("mug"), 1)]
    await stub.ReserveInventory(reserve_request("r-other", one), metadata=md)
    with pytest.raises(grpc.aio.AioRpcError) as gone:
        await stub.CommitInventory(pb.CommitInventoryRequest(reservation_id="r-exp-3"), metadata=md)
    assert error_info(gone.value).reason == "INSUFFICIENT_INVENTORY"
    assert [(s.requested, s.available) for s in insufficient(gone.value).items] == [(4, 3)]


async def test_restock_is_idempotent_by_request_id(catalog: CatalogServer, site: str) -> None:
    await _stocked(catalog, site, mug=1)
    await catalog.upsert(site, product("bag"))
    stub, md = catalog.inventory(), catalog.spi_md(site)
    request = pb.RestockInventoryRequest(
        request_id=str(uuid.uuid4()),
        items=[
            inventory_item(ref("mug"), 2),
            inventory_item(ref("bag"), 1),
            inventory_item(ref("nowhere"), 1),
        ],
        order_id="order-1",
    )
    first = await stub.RestockInventory(request, metadata=md)
    assert [r.catalog_item_id for r in first.skipped_items] == ["bag", "nowhere"]
    assert await catalog.available(site, ref("mug")) == 3
    request.order_id = "order-1-retry"  # only the id and the items identify a repeat
    assert await stub.RestockInventory(request, metadata=md) == first
    assert await catalog.available(site, ref("mug")) == 3

    request.items[0].quantity = 5
    with pytest.raises(grpc.aio.AioRpcError) as reused:
        await stub.RestockInventory(request, metadata=md)
    assert reused.value.code() is grpc.StatusCode.ALREADY_EXISTS
    assert error_info(reused.value).reason == "REQUEST_ID_REUSED"


async def test_bad_inventory_requests(catalog: CatalogServer, site: str) -> None:
    stub, md = catalog.inventory(), catalog.spi_md(site)
    cases: list[tuple[Awaitable[object], set[str]]] = [
        (stub.ReserveInventory(reserve_request("", []), metadata=md), {"reservation_id", "items"}),
        (
            stub.ReserveInventory(
                reserve_request(
                    "r", [inventory_item(ref("mug"), 0), inventory_item(ref(""), 100_001)]
                ),
                metadata=md,
            ),
            {
                "items[0].quantity",
                "items[1].quantity",
                "items[1].catalog_reference.catalog_item_id",
            },
        ),
        (
            stub.ReserveInventory(
                reserve_request("r", [inventory_item(ref("mug"), 1)], ttl_s=25 * 3600),
                metadata=md,
            ),
            {"ttl"},
        ),
        (
            stub.ReserveInventory(
                reserve_request("r" * 201, [inventory_item(ref("mug"), 1)] * 301), metadata=md
            ),
            {"reservation_id", "items"},
        ),
        (stub.ReleaseInventory(pb.ReleaseInventoryRequest(), metadata=md), {"reservation_id"}),
        (stub.CommitInventory(pb.CommitInventoryRequest(), metadata=md), {"reservation_id"}),
        (
            stub.RestockInventory(pb.RestockInventoryRequest(), metadata=md),
            {"request_id", "items"},
        ),
    ]
    for call, fields in cases:
        with pytest.raises(grpc.aio.AioRpcError) as bad:
            await call
        assert bad.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert field_violations(bad.value) == fields


async def _race(
    catalog: CatalogServer, site: str, attempts: int, units: int, stock: int
) -> tuple[int, int]:
    """`attempts` concurrent reservations of `units` each, on separate channels; returns
    (successes, units available afterwards)."""
    await _stocked(catalog, site, hot=stock)
    md = catalog.spi_md(site)
    stubs = [catalog.inventory(catalog.new_channel()) for _ in range(attempts)]

    async def one(index: int) -> bool:
        request = reserve_request(f"race-{index}", [inventory_item(ref("hot"), units)])
        try:
            await stubs[index].ReserveInventory(request, metadata=md, timeout=60)
        except grpc.aio.AioRpcError as exc:
            assert exc.code() is grpc.StatusCode.FAILED_PRECONDITION, exc
            assert error_info(exc).reason == "INSUFFICIENT_INVENTORY"
            return False
        return True

    outcomes = await asyncio.gather(*(one(i) for i in range(attempts)))
    left = await catalog.available(site, ref("hot"))
    assert left is not None
    return sum(outcomes), left


@pytest.mark.parametrize(("attempts", "units", "stock", "winners"), [(20, 1, 5, 5), (50, 5, 20, 4)])
async def test_concurrent_reservations_never_oversell(
    catalog: CatalogServer, site: str, attempts: int, units: int, stock: int, winners: int
) -> None:
    succeeded, left = await _race(catalog, site, attempts, units, stock)
    assert succeeded == winners
    assert left == stock - winners * units
    got = await catalog.admin().GetProduct(
        admin_pb.GetProductRequest(id="hot"), metadata=catalog.admin_md(site)
    )
    assert got.product.stock.reserved == winners * units
    assert got.product.stock.quantity == stock


async def test_concurrent_repeats_of_one_reservation_hold_once(
    catalog: CatalogServer, site: str
) -> None:
    await _stocked(catalog, site, mug=10)
    md = catalog.spi_md(site)
    request = reserve_request("same", [inventory_item(ref("mug"), 3)])
    stubs = [catalog.inventory(catalog.new_channel()) for _ in range(8)]
    answers = await asyncio.gather(*(s.ReserveInventory(request, metadata=md) for s in stubs))
    assert {a.reservation.status for a in answers} == {RESERVED}
    assert await catalog.available(site, ref("mug")) == 7
