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
from sqlalchemy.orm import Session

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
from services.platform.db import insert_if_absent

# Statements are built once, here: a statement built per call costs more CPU to construct and
# to derive its compiled-cache key than SQLite takes to run it. Values are bound at execution.
_CART = sa.select(carts).where(
    carts.c.id == sa.bindparam("cart_id"), carts.c.site == sa.bindparam("site")
)
_LINES = (
    sa.select(
        cart_lines.c.id,
        cart_lines.c.app_id,
        cart_lines.c.catalog_item_id,
        cart_lines.c.options,
        cart_lines.c.quantity,
        cart_lines.c.catalog_status,
        cart_lines.c.catalog_data,
    )
    .where(cart_lines.c.cart_id == sa.bindparam("cart_id"))
    .order_by(cart_lines.c.position)
)
#: What tells whether a cart read earlier is still the stored one; FOR UPDATE on PostgreSQL
#: (SQLite renders no FOR UPDATE: its unit of work holds the database's write lock already).
_HEAD = (
    sa.select(carts.c.revision, carts.c.deleted)
    .where(carts.c.id == sa.bindparam("cart_id"), carts.c.site == sa.bindparam("site"))
    .with_for_update()
)
_INSERT_LINES = sa.insert(cart_lines)
_UPDATE_LINES = (
    sa.update(cart_lines)
    .where(cart_lines.c.id == sa.bindparam("b_id"))
    .values(
        position=sa.bindparam("b_position"),
        quantity=sa.bindparam("b_quantity"),
        catalog_status=sa.bindparam("b_catalog_status"),
        catalog_data=sa.bindparam("b_catalog_data"),
    )
)
_DELETE_LINES = sa.delete(cart_lines).where(
    cart_lines.c.id.in_(sa.bindparam("line_ids", expanding=True))
)
#: Cart columns a save never changes.
_FIXED = frozenset({"id", "site", "created"})
#: UPDATE carts statements by the set of columns they write (a save writes what changed).
_cart_updates: dict[frozenset[str], sa.Update] = {}
#: CatalogStatus by stored value (0, 1, 2): a tuple index is cheaper than the enum call.
_STATUSES = tuple(CatalogStatus)


class Tombstone:
    """`load` found the cart deleted (as opposed to never created)."""


TOMBSTONE = Tombstone()


async def load(
    session: AsyncSession,
    site: str,
    cart_id: str,
    *,
    lock: bool = False,
    known: Cart | None = None,
) -> Cart | Tombstone | None:
    """The live cart, TOMBSTONE when it was deleted, None when it never existed on `site`.

    With `lock`, the cart's row lock is taken first on PostgreSQL (SQLite's unit of work holds
    the write lock already), in a statement of its own: it is what serializes the writers of a
    cart. Locking inside a join with the lines would be wrong: after waiting for the lock,
    PostgreSQL re-checks only the locked row, and the lines joined to it would still be those of
    the snapshot taken before the wait (a lost update). The reads below start after the lock is
    held, so under READ COMMITTED they see the previous writer's lines.

    `known` is the same cart as read earlier (outside this unit of work): when the stored
    revision is still its revision, it is returned as is, without reading it again. That is
    exact because every change of a cart or of its lines is written with a new revision, in
    the same transaction (`save`, `delete`).
    """
    return await session.run_sync(_load, site, cart_id, lock, known)


def _load(
    session: Session, site: str, cart_id: str, lock: bool, known: Cart | None
) -> Cart | Tombstone | None:
    # One greenlet hop for all the statements of the read (`run_sync`), not one per statement.
    conn = session.connection()
    key = {"cart_id": cart_id, "site": site}
    if lock and (known is not None or conn.dialect.name == "postgresql"):
        head = conn.execute(_HEAD, key).first()
        if head is None:
            return None
        if head.deleted is not None:
            return TOMBSTONE
        if (
            known is not None
            and known.id == cart_id
            and known.site == site
            and known.revision == head.revision
        ):
            return known
    row = conn.execute(_CART, key).first()
    if row is None:
        return None
    if row.deleted is not None:
        return TOMBSTONE
    # Lines in a statement of their own (not joined to the cart): the cart's columns are then
    # read and converted once, not once per line.
    return _cart(row, conn.execute(_LINES, key).all())


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
    await session.run_sync(_insert_lines, cart.id, list(enumerate(cart.lines)))
    return True


async def save(session: AsyncSession, old: Cart, new: Cart) -> None:
    """Write `new` over `old` (same cart, loaded under lock in this unit of work): the cart
    columns that changed, and only the lines that were added, changed or removed."""
    await session.run_sync(_save, old, new)


def _save(session: Session, old: Cart, new: Cart) -> None:
    conn = session.connection()
    before_values = _cart_values(old)
    changed = {
        name: value
        for name, value in _cart_values(new).items()
        if name not in _FIXED and value != before_values[name]
    }
    if changed:
        conn.execute(
            _cart_update(frozenset(changed)),
            {"b_cart_id": new.id, **{f"b_{name}": value for name, value in changed.items()}},
        )
    before = {line.id: (position, line) for position, line in enumerate(old.lines)}
    after = {line.id for line in new.lines}
    removed = [line_id for line_id in before if line_id not in after]
    if removed:
        conn.execute(_DELETE_LINES, {"line_ids": removed})
    added: list[tuple[int, Line]] = []
    updates: list[dict[str, Any]] = []
    for position, line in enumerate(new.lines):
        previous = before.get(line.id)
        if previous is None:
            added.append((position, line))
        elif previous[0] != position or previous[1] != line:
            updates.append(
                {
                    "b_id": line.id,
                    "b_position": position,
                    "b_quantity": line.quantity,
                    "b_catalog_status": int(line.catalog.status),
                    "b_catalog_data": line.catalog.data,
                }
            )
    if updates:
        conn.execute(_UPDATE_LINES, updates)  # executemany: one statement for all of them
    _insert_lines(session, new.id, added)


def _cart_update(columns: frozenset[str]) -> sa.Update:
    stmt = _cart_updates.get(columns)
    if stmt is None:
        stmt = (
            sa.update(carts)
            .where(carts.c.id == sa.bindparam("b_cart_id"))
            .values({name: sa.bindparam(f"b_{name}") for name in sorted(columns)})
        )
        _cart_updates[columns] = stmt
    return stmt


async def delete(session: AsyncSession, cart: Cart, now: datetime) -> None:
    """Turn the cart into a tombstone: lines go, the row stays (see `tables.carts.deleted`)."""
    await session.execute(sa.delete(cart_lines).where(cart_lines.c.cart_id == cart.id))
    await session.execute(
        sa.update(carts)
        .where(carts.c.id == cart.id)
        .values(deleted=now, updated=now, revision=cart.revision + 1)
    )


def _insert_lines(session: Session, cart_id: str, lines: list[tuple[int, Line]]) -> None:
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
    session.connection().execute(_INSERT_LINES, rows)


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
                line.id,
                CatalogRef(line.app_id, line.catalog_item_id, line.options),
                line.quantity,
                CatalogEntry(_STATUSES[line.catalog_status], bytes(line.catalog_data)),
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
    "save",
]
