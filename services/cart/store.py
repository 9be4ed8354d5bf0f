"""The cart repository: domain `Cart`s in and out of the cart service's tables.

Every function takes the unit of work's session. `load(..., lock=True)` takes the cart's row lock
on PostgreSQL (SQLite's unit of work already holds the write lock), which is what serializes
writes to one cart: the read-modify-write of a line change happens under it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

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
)
from services.cart.tables import cart_lines, carts
from services.platform.db import dialect_of, insert_if_absent

_LINE_COLUMNS = (
    cart_lines.c.id.label("line_id"),
    cart_lines.c.app_id,
    cart_lines.c.catalog_item_id,
    cart_lines.c.options,
    cart_lines.c.quantity,
    cart_lines.c.catalog_status,
    cart_lines.c.catalog_data,
)


class Tombstone:
    """`load` found the cart deleted (as opposed to never created)."""


TOMBSTONE = Tombstone()


async def load(
    session: AsyncSession, site: str, cart_id: str, *, lock: bool = False
) -> Cart | Tombstone | None:
    """The live cart, TOMBSTONE when it was deleted, None when it never existed on `site`.

    The cart row joined with its lines, in one statement (a cart is read on every call, so the
    round trip saved matters more than the cart columns repeated on each line's row); with
    `lock` on PostgreSQL, after the statement that takes the row lock.
    """
    stmt = (
        sa.select(carts, *_LINE_COLUMNS)
        .select_from(carts.outerjoin(cart_lines, cart_lines.c.cart_id == carts.c.id))
        .where(carts.c.id == cart_id, carts.c.site == site)
        .order_by(cart_lines.c.position)
    )
    if lock and dialect_of(session) == "postgresql":
        # Take the cart row's lock first, in a statement of its own: it is what serializes the
        # writers of a cart. Locking inside the join would be wrong: after waiting for the lock,
        # PostgreSQL re-checks only the locked row, and the lines joined to it would still be
        # those of the snapshot taken before the wait (a lost update). The read below starts
        # after the lock is held, so under READ COMMITTED it sees the previous writer's lines.
        # (On SQLite the unit of work already holds the database's write lock.)
        locked = await session.execute(
            sa.select(carts.c.id)
            .where(carts.c.id == cart_id, carts.c.site == site)
            .with_for_update()
        )
        if locked.first() is None:
            return None
    rows = (await session.execute(stmt)).all()
    if not rows:
        return None
    if rows[0].deleted is not None:
        return TOMBSTONE
    return _cart(rows[0], [row for row in rows if row.line_id is not None])


async def find_by_checkout(session: AsyncSession, site: str, checkout_id: str) -> Cart | None:
    cart_id = await session.scalar(
        sa.select(carts.c.id).where(
            carts.c.site == site, carts.c.checkout_id == checkout_id, carts.c.deleted.is_(None)
        )
    )
    if cart_id is None:
        return None
    cart = await load(session, site, cart_id)
    return cart if isinstance(cart, Cart) else None


async def insert(session: AsyncSession, cart: Cart) -> bool:
    """Insert a new cart with its lines; False (and nothing written) when the id is taken,
    which is how two concurrent first adds of one visitor agree on who creates the cart."""
    if not await insert_if_absent(session, carts, _cart_values(cart), ("id",)):
        return False
    await _insert_lines(session, cart.id, list(enumerate(cart.lines)))
    return True


async def save(session: AsyncSession, old: Cart, new: Cart) -> None:
    """Write `new` over `old` (same cart, loaded under lock in this unit of work)."""
    values = _cart_values(new)
    del values["id"], values["site"], values["created"]
    await session.execute(sa.update(carts).where(carts.c.id == new.id).values(**values))
    before = {line.id: (position, line) for position, line in enumerate(old.lines)}
    after = {line.id for line in new.lines}
    removed = [line_id for line_id in before if line_id not in after]
    if removed:
        await session.execute(sa.delete(cart_lines).where(cart_lines.c.id.in_(removed)))
    added: list[tuple[int, Line]] = []
    updates: list[dict[str, Any]] = []
    for position, line in enumerate(new.lines):
        previous = before.get(line.id)
        if previous is None:
            added.append((position, line))
        elif previous != (position, line):
            updates.append(
                {
                    "line_id": line.id,
                    "position": position,
                    "quantity": line.quantity,
                    "catalog_status": int(line.catalog.status),
                    "catalog_data": line.catalog.data,
                }
            )
    if updates:
        stmt = (
            sa.update(cart_lines)
            .where(cart_lines.c.id == sa.bindparam("line_id"))
            .values(
                position=sa.bindparam("position"),
                quantity=sa.bindparam("quantity"),
                catalog_status=sa.bindparam("catalog_status"),
                catalog_data=sa.bindparam("catalog_data"),
            )
        )
        # executemany: one round trip for all changed lines.
        conn = await session.connection()
        await conn.execute(stmt, updates)
    if added:
        await _insert_lines(session, new.id, added)


async def delete(session: AsyncSession, cart: Cart, now: datetime) -> None:
    """Turn the cart into a tombstone: lines go, the row stays (see `tables.carts.deleted`)."""
    await session.execute(sa.delete(cart_lines).where(cart_lines.c.cart_id == cart.id))
    await session.execute(
        sa.update(carts)
        .where(carts.c.id == cart.id)
        .values(deleted=now, updated=now, revision=cart.revision + 1)
    )


async def release_lines(session: AsyncSession, lines: Sequence[Line]) -> None:
    """Delete line rows so that their ids can move to another cart (merge) in this unit."""
    if lines:
        await session.execute(
            sa.delete(cart_lines).where(cart_lines.c.id.in_([line.id for line in lines]))
        )


async def _insert_lines(session: AsyncSession, cart_id: str, lines: list[tuple[int, Line]]) -> None:
    if not lines:
        return
    rows = [
        {
            "id": line.id,
            "cart_id": cart_id,
            "position": position,
            "app_id": line.ref.app_id,
            "catalog_item_id": line.ref.item_id,
            "options": line.ref.options,
            "quantity": line.quantity,
            "catalog_status": int(line.catalog.status),
            "catalog_data": line.catalog.data,
        }
        for position, line in lines
    ]
    await session.execute(sa.insert(cart_lines), rows)


def _cart_values(cart: Cart) -> dict[str, Any]:
    shipping = cart.selected_shipping
    return {
        "id": cart.id,
        "site": cart.site,
        "buyer_kind": cart.buyer.kind.value,
        "buyer_id": cart.buyer.id,
        "email": cart.email,
        "contact_id": cart.contact_id,
        "buyer_note": cart.buyer_note,
        "currency": cart.currency,
        "conversion_currency": cart.conversion_currency,
        "buyer_language": cart.buyer_language,
        "site_language": cart.site_language,
        "tax_included_in_prices": cart.tax_included_in_prices,
        "weight_unit": cart.weight_unit,
        "checkout_id": cart.checkout_id or None,
        "contact_info": cart.contact_info,
        "shipping_carrier_id": shipping.carrier_id if shipping else None,
        "shipping_code": shipping.code if shipping else None,
        "override_checkout_url": cart.override_checkout_url,
        "purchase_flow_id": cart.purchase_flow_id,
        "coupon_code": cart.coupon_code,
        "merchant_discounts": [
            {"amount": str(d.amount), "line_ids": list(d.line_ids), "description": d.description}
            for d in cart.merchant_discounts
        ],
        "revision": cart.revision,
        "created": cart.created,
        "updated": cart.updated,
    }


def _cart(row: Any, lines: Sequence[Any]) -> Cart:
    shipping = None
    if row.shipping_carrier_id is not None:
        shipping = ShippingChoice(row.shipping_carrier_id, row.shipping_code or "")
    return Cart(
        id=row.id,
        site=row.site,
        buyer=Buyer(BuyerKind(row.buyer_kind), row.buyer_id),
        currency=row.currency,
        site_language=row.site_language,
        tax_included_in_prices=bool(row.tax_included_in_prices),
        weight_unit=row.weight_unit,
        purchase_flow_id=row.purchase_flow_id,
        created=row.created,
        updated=row.updated,
        revision=int(row.revision),
        email=row.email,
        contact_id=row.contact_id,
        buyer_note=row.buyer_note,
        conversion_currency=row.conversion_currency,
        buyer_language=row.buyer_language,
        checkout_id=row.checkout_id or "",
        contact_info=bytes(row.contact_info),
        selected_shipping=shipping,
        override_checkout_url=row.override_checkout_url,
        coupon_code=row.coupon_code,
        merchant_discounts=tuple(
            MerchantDiscount(
                amount=Decimal(d["amount"]),
                line_ids=tuple(d["line_ids"]),
                description=d["description"],
            )
            for d in row.merchant_discounts
        ),
        lines=tuple(
            Line(
                id=line.line_id,
                ref=CatalogRef(line.app_id, line.catalog_item_id, line.options),
                quantity=int(line.quantity),
                catalog=CatalogEntry(CatalogStatus(line.catalog_status), bytes(line.catalog_data)),
            )
            for line in lines
        ),
    )


__all__ = [
    "TOMBSTONE",
    "Tombstone",
    "delete",
    "find_by_checkout",
    "insert",
    "load",
    "release_lines",
    "save",
]
