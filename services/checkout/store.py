"""The checkout service's repository: SQLAlchemy Core statements behind small functions that
take the unit of work's session. No rules here beyond what a statement needs.

The statements of the purchase path are built once, with bound parameters (their names differ
from the columns a SET clause writes), so a call neither rebuilds nor re-keys them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from google.protobuf import timestamp_pb2
from sqlalchemy.ext.asyncio import AsyncSession

from ecom.checkout.v1 import checkout_pb2
from services.checkout.domain import Sources, buyer_key
from services.checkout.tables import checkouts, order_request_ids, placements
from services.platform.db import DialectName, dialect_of, for_update, insert_if_absent


def timestamp(value: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value)
    return stamp


@dataclass
class StoredCheckout:
    id: str
    site: str
    buyer_kind: str
    buyer_id: str
    cart_id: str | None
    completed: bool
    order_id: str | None
    revision: int
    created: datetime
    updated: datetime
    checkout: checkout_pb2.Checkout
    sources: Sources


def _per_dialect(stmt: sa.Select[Any]) -> dict[DialectName, sa.Select[Any]]:
    """`stmt` locking its rows, as `for_update` writes it for each dialect."""
    return {dialect: for_update(dialect, stmt) for dialect in ("sqlite", "postgresql")}


_LOAD = sa.select(checkouts).where(
    checkouts.c.site == sa.bindparam("site"), checkouts.c.id == sa.bindparam("id")
)
_LOAD_LOCKED = _per_dialect(_LOAD)
_INSERT = sa.insert(checkouts)
_UPDATE = sa.update(checkouts).where(
    checkouts.c.site == sa.bindparam("w_site"), checkouts.c.id == sa.bindparam("w_id")
)
_LOAD_PLACEMENT = sa.select(placements).where(placements.c.checkout_id == sa.bindparam("id"))
_LOAD_PLACEMENT_LOCKED = _per_dialect(_LOAD_PLACEMENT)
_UPDATE_PLACEMENT = sa.update(placements).where(
    placements.c.checkout_id == sa.bindparam("w_checkout_id")
)
_DELETE_PLACEMENT = sa.delete(placements).where(placements.c.checkout_id == sa.bindparam("id"))


def _stored(row: Any) -> StoredCheckout:
    return StoredCheckout(
        id=row.id,
        site=row.site,
        buyer_kind=row.buyer_kind,
        buyer_id=row.buyer_id,
        cart_id=row.cart_id,
        completed=row.completed,
        order_id=row.order_id,
        revision=row.revision,
        created=row.created,
        updated=row.updated,
        checkout=checkout_pb2.Checkout.FromString(row.document),
        sources=Sources.from_json(row.sources),
    )


def _columns(checkout: checkout_pb2.Checkout, sources: Sources) -> dict[str, Any]:
    kind, buyer_id = buyer_key(checkout.buyer_info)
    return {
        "buyer_kind": kind,
        "buyer_id": buyer_id,
        "completed": checkout.completed,
        "order_id": checkout.order_id or None,
        "revision": checkout.revision,
        "buyer_email": checkout.buyer_info.email.lower(),
        "line_count": len(checkout.line_items),
        "created": checkout.created_date.ToDatetime(tzinfo=UTC),
        "updated": checkout.updated_date.ToDatetime(tzinfo=UTC),
        "document": checkout.SerializeToString(deterministic=True),
        "sources": sources.to_json(),
    }


async def load(
    session: AsyncSession, site: str, checkout_id: str, *, lock: bool = False
) -> StoredCheckout | None:
    stmt = _LOAD_LOCKED[dialect_of(session)] if lock else _LOAD
    row = (await session.execute(stmt, {"site": site, "id": checkout_id})).first()
    return _stored(row) if row else None


async def find_by_cart(session: AsyncSession, site: str, cart_id: str) -> StoredCheckout | None:
    stmt = sa.select(checkouts).where(checkouts.c.site == site, checkouts.c.cart_id == cart_id)
    row = (await session.execute(stmt)).first()
    return _stored(row) if row else None


async def insert(
    session: AsyncSession, site: str, checkout: checkout_pb2.Checkout, sources: Sources
) -> bool:
    """Insert a new checkout; False when its cart already has one (a concurrent create won)."""
    values = {"id": checkout.id, "site": site, "cart_id": checkout.cart_id or None}
    values |= _columns(checkout, sources)
    if checkout.cart_id:
        return await insert_if_absent(session, checkouts, values, ("site", "cart_id"))
    await session.execute(_INSERT, values)
    return True


async def update(
    session: AsyncSession, site: str, checkout: checkout_pb2.Checkout, sources: Sources
) -> None:
    values = _columns(checkout, sources)
    del values["created"]
    await session.execute(_UPDATE, {**values, "w_site": site, "w_id": checkout.id})


# --------------------------------------------------------------------------- placements


@dataclass
class Placement:
    checkout_id: str
    site: str
    step: str
    order_id: str | None
    reserved_apps: list[str]
    commit_pending: bool
    lease_owner: str | None
    lease_expires: datetime | None
    started: datetime
    updated: datetime
    #: The discount usage held (JSON of `services.discounts.usage_client.Usage`); None: none.
    usage: dict[str, Any] | None = None
    record_pending: bool = False


def _placement(row: Any) -> Placement:
    return Placement(
        checkout_id=row.checkout_id,
        site=row.site,
        step=row.step,
        order_id=row.order_id,
        reserved_apps=list(row.reserved_apps or []),
        commit_pending=row.commit_pending,
        lease_owner=row.lease_owner,
        lease_expires=row.lease_expires,
        started=row.started,
        updated=row.updated,
        usage=row.usage,
        record_pending=row.record_pending,
    )


async def load_placement(
    session: AsyncSession, checkout_id: str, *, lock: bool = False
) -> Placement | None:
    stmt = _LOAD_PLACEMENT_LOCKED[dialect_of(session)] if lock else _LOAD_PLACEMENT
    row = (await session.execute(stmt, {"id": checkout_id})).first()
    return _placement(row) if row else None


async def insert_placement(session: AsyncSession, placement: Placement) -> bool:
    values = {
        "checkout_id": placement.checkout_id,
        "site": placement.site,
        "step": placement.step,
        "order_id": placement.order_id,
        "reserved_apps": placement.reserved_apps,
        "commit_pending": placement.commit_pending,
        "lease_owner": placement.lease_owner,
        "lease_expires": placement.lease_expires,
        "started": placement.started,
        "updated": placement.updated,
        "usage": placement.usage,
        "record_pending": placement.record_pending,
    }
    return await insert_if_absent(session, placements, values, ("checkout_id",))


async def update_placement(session: AsyncSession, checkout_id: str, **values: Any) -> None:
    await session.execute(_UPDATE_PLACEMENT, {**values, "w_checkout_id": checkout_id})


async def delete_placement(session: AsyncSession, checkout_id: str) -> None:
    await session.execute(_DELETE_PLACEMENT, {"id": checkout_id})


async def due_placements(
    session: AsyncSession, *, steps: Sequence[str], before: datetime, limit: int
) -> list[Placement]:
    """Placements at one of `steps`, last changed before `before`, whose lease has expired."""
    stmt = (
        sa.select(placements)
        .where(
            placements.c.step.in_(list(steps)),
            placements.c.updated < before,
            sa.or_(placements.c.lease_expires.is_(None), placements.c.lease_expires < before),
        )
        .order_by(placements.c.updated)
        .limit(limit)
    )
    return [_placement(row) for row in (await session.execute(stmt)).all()]


async def owed_commits(session: AsyncSession, *, before: datetime, limit: int) -> list[Placement]:
    """Placements that still owe CommitInventory or RecordDiscountUsage."""
    stmt = (
        sa.select(placements)
        .where(
            sa.or_(placements.c.commit_pending.is_(True), placements.c.record_pending.is_(True)),
            placements.c.updated < before,
        )
        .order_by(placements.c.updated)
        .limit(limit)
    )
    return [_placement(row) for row in (await session.execute(stmt)).all()]


# --------------------------------------------------------------------------- request ids


async def claim_order_request_id(
    session: AsyncSession, site: str, request_id: str, checkout_id: str, now: datetime
) -> str:
    """Bind `request_id` to `checkout_id` unless it is bound already; returns the checkout id
    it is bound to."""
    await insert_if_absent(
        session,
        order_request_ids,
        {"site": site, "request_id": request_id, "checkout_id": checkout_id, "created": now},
        ("site", "request_id"),
    )
    stmt = sa.select(order_request_ids.c.checkout_id).where(
        order_request_ids.c.site == site, order_request_ids.c.request_id == request_id
    )
    return str((await session.execute(stmt)).scalar_one())
