"""The cart repository on each database backend: a save writes exactly the difference between
two carts, and a locked load hands back a cart read earlier only while it is still the stored
one."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from services.cart import MIGRATIONS, store
from services.cart.domain import (
    Buyer,
    BuyerKind,
    Cart,
    CatalogEntry,
    CatalogRef,
    CatalogStatus,
    Line,
    MerchantDiscount,
    ShippingChoice,
    committed,
)
from services.platform.config import Config
from services.platform.db import Database, utcnow
from tests.helpers import service_database

pytestmark = pytest.mark.integration

SITE = "site-store"


@pytest.fixture
async def cart_db(
    make_config: Callable[..., Config], database_environ: dict[str, str], service_name: str
) -> AsyncIterator[Database]:
    async with service_database(make_config(**database_environ), service_name, MIGRATIONS) as db:
        yield db


def _line(item: str, quantity: int = 1, data: bytes = b"") -> Line:
    status = CatalogStatus.FOUND if data else CatalogStatus.UNREAD
    return Line(
        str(uuid.uuid4()),
        CatalogRef("app", item, '{"size":"M"}' if item == "tee" else "{}"),
        quantity,
        CatalogEntry(status, data),
    )


def _cart(*lines: Line) -> Cart:
    now = utcnow()
    return Cart(
        id=str(uuid.uuid4()),
        site=SITE,
        buyer=Buyer(BuyerKind.VISITOR, "v-1"),
        currency="USD",
        site_language="en",
        tax_included_in_prices=False,
        weight_unit="KG",
        purchase_flow_id=str(uuid.uuid4()),
        created=now,
        updated=now,
        lines=lines,
    )


async def _load(db: Database, cart_id: str) -> Cart | store.Tombstone | None:
    async def read(session: AsyncSession) -> Cart | store.Tombstone | None:
        return await store.load(session, SITE, cart_id)

    return await db.run(read, readonly=True)


async def _save(db: Database, old: Cart, new: Cart) -> Cart:
    written = committed(old, new, utcnow())

    async def write(session: AsyncSession) -> None:
        await store.save(session, old, written)

    await db.run(write)
    return written


async def test_a_save_writes_every_kind_of_change(cart_db: Database) -> None:
    kept, changed, dropped = _line("tee", 2, b"tee-data"), _line("mug"), _line("pin", 3)
    cart = _cart(kept, changed, dropped)
    assert await cart_db.run(lambda session: store.insert(session, cart))
    assert await _load(cart_db, cart.id) == cart

    added = _line("poster", 5, b"poster-data")
    new = replace(
        cart,
        lines=(
            kept,
            replace(changed, quantity=7, catalog=CatalogEntry(CatalogStatus.FOUND, b"mug-data")),
            added,
        ),
        coupon_code="SAVE10",
        selected_shipping=ShippingChoice("carrier", "express"),
        merchant_discounts=(MerchantDiscount(Decimal("1.50"), (kept.id,), "sorry"),),
        contact_info=b"\x0a\x00",
    )
    written = await _save(cart_db, cart, new)
    assert await _load(cart_db, cart.id) == written

    # Lines removed down to none, then added back: positions follow the cart's order.
    emptied = await _save(cart_db, written, replace(written, lines=()))
    assert await _load(cart_db, cart.id) == emptied
    again = await _save(cart_db, emptied, replace(emptied, lines=(added, kept)))
    assert await _load(cart_db, cart.id) == again


async def test_a_locked_load_keeps_a_known_cart_only_while_it_is_current(
    cart_db: Database,
) -> None:
    cart = _cart(_line("tee"), _line("mug", 2))
    assert await cart_db.run(lambda session: store.insert(session, cart))
    known = await _load(cart_db, cart.id)
    assert isinstance(known, Cart)

    async def locked(cart_id: str, seen: Cart) -> Cart | store.Tombstone | None:
        async def read(session: AsyncSession) -> Cart | store.Tombstone | None:
            return await store.load(session, SITE, cart_id, lock=True, known=seen)

        return await cart_db.run(read)

    assert await locked(cart.id, known) is known  # unchanged: not read again

    # Another writer moved the cart on: the stale copy is not used, the stored cart is.
    newer = await _save(cart_db, known, replace(known, lines=(*known.lines, _line("pin"))))
    fresh = await locked(cart.id, known)
    assert fresh == newer and fresh is not known

    # A known cart of another id is never taken for this one.
    other = _cart(_line("pin"))
    assert await cart_db.run(lambda session: store.insert(session, other))
    assert await locked(other.id, newer) == other

    async def delete(session: AsyncSession) -> None:
        await store.delete(session, newer, utcnow() + timedelta(seconds=1))

    await cart_db.run(delete)
    assert await locked(cart.id, newer) is store.TOMBSTONE
    assert await locked(str(uuid.uuid4()), newer) is None
