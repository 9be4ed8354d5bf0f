"""The reference catalog's repositories: products with their variants, stock, and reservations
with their lines. Every query is scoped by site.

Read-modify-write goes through `lock_*` methods, which take row locks on PostgreSQL (in key order,
so two transactions locking overlapping stock never deadlock) and are plain reads on SQLite, where
the unit of work already holds the write lock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from services.platform.db import UtcDateTime, for_update
from services.platform.errors import RevisionMismatch
from services.providers.catalog.domain import (
    RESOURCE,
    ItemType,
    ItemTypePreset,
    Media,
    PaymentOption,
    Product,
    StockKey,
    Variant,
    WeightUnit,
)
from services.providers.catalog.references import Ref
from services.providers.catalog.reservations import Line, Reservation, Status
from services.providers.catalog.snapshots import Holds
from services.providers.catalog.stock import Stock
from services.providers.catalog.tables import (
    products,
    reservation_lines,
    reservations,
    stock,
    variants,
)


def _text(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:f}"


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _rowcount(result: Any) -> int:
    return int(result.rowcount)


# -- products ------------------------------------------------------------------------------


def _product_row(site: str, product: Product) -> dict[str, Any]:
    media = product.media
    return {
        "site": site,
        "id": product.id,
        "name": product.name,
        "description": product.description,
        "item_type_preset": None if product.item_type.preset is None else product.item_type.preset,
        "item_type_custom": product.item_type.custom,
        "media": {
            "id": media.id,
            "url": media.url,
            "height": media.height,
            "width": media.width,
            "alt_text": media.alt_text,
        },
        "url": product.url,
        "currency": product.currency,
        "price": _text(product.price),
        "compare_at_price": _text(product.compare_at_price),
        "weight": _text(product.weight),
        "weight_unit": int(product.weight_unit),
        "sku": product.sku,
        "shippable": product.shippable,
        "tax_group_id": product.tax_group_id,
        "payment_option": int(product.payment_option),
        "deposit_amount": _text(product.deposit_amount),
        "visible": product.visible,
        "revision": product.revision,
        "created": product.created,
        "updated": product.updated,
    }


def _variant_rows(site: str, product: Product) -> list[dict[str, Any]]:
    return [
        {
            "site": site,
            "product_id": product.id,
            "id": variant.id,
            "position": position,
            "options": dict(variant.options),
            "price": _text(variant.price),
            "compare_at_price": _text(variant.compare_at_price),
            "sku": variant.sku,
            "weight": _text(variant.weight),
        }
        for position, variant in enumerate(product.variants)
    ]


def _variant(row: Mapping[Any, Any]) -> Variant:
    return Variant(
        id=row["id"],
        options=tuple(sorted((str(k), str(v)) for k, v in dict(row["options"]).items())),
        price=_decimal(row["price"]),
        compare_at_price=_decimal(row["compare_at_price"]),
        sku=row["sku"],
        weight=_decimal(row["weight"]),
    )


def _product(row: RowMapping, product_variants: Sequence[Variant]) -> Product:
    media = dict(row["media"] or {})
    preset = row["item_type_preset"]
    return Product(
        id=row["id"],
        name=row["name"],
        price=Decimal(row["price"]),
        description=row["description"],
        item_type=ItemType(
            preset=None if preset is None else ItemTypePreset(preset),
            custom=row["item_type_custom"],
        ),
        media=Media(
            id=str(media.get("id", "")),
            url=str(media.get("url", "")),
            height=int(media.get("height", 0)),
            width=int(media.get("width", 0)),
            alt_text=str(media.get("alt_text", "")),
        ),
        url=row["url"],
        currency=row["currency"],
        compare_at_price=_decimal(row["compare_at_price"]),
        weight=_decimal(row["weight"]),
        weight_unit=WeightUnit(row["weight_unit"]),
        sku=row["sku"],
        shippable=bool(row["shippable"]),
        tax_group_id=row["tax_group_id"],
        payment_option=PaymentOption(row["payment_option"]),
        deposit_amount=_decimal(row["deposit_amount"]),
        variants=tuple(product_variants),
        visible=bool(row["visible"]),
        revision=int(row["revision"]),
        created=row["created"],
        updated=row["updated"],
    )


_VARIANT_LABELS = tuple((column.name, f"v_{column.name}") for column in variants.c)
# Built once: SQLAlchemy then skips building the statement and its cache key on every call.
_PRODUCTS_WITH_VARIANTS = (
    sa.select(products, *(variants.c[name].label(label) for name, label in _VARIANT_LABELS))
    .select_from(
        products.outerjoin(
            variants,
            sa.and_(variants.c.site == products.c.site, variants.c.product_id == products.c.id),
        )
    )
    .where(
        products.c.site == sa.bindparam("site"),
        products.c.id.in_(sa.bindparam("ids", expanding=True)),
    )
    .order_by(products.c.id, variants.c.position)
)


class ProductStore:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def _assemble(self, site: str, rows: Sequence[RowMapping]) -> list[Product]:
        if not rows:
            return []
        ids = [row["id"] for row in rows]
        result = await self._session.execute(
            sa.select(variants)
            .where(variants.c.site == site, variants.c.product_id.in_(ids))
            .order_by(variants.c.product_id, variants.c.position)
        )
        by_product: dict[str, list[Variant]] = {}
        for row in result.mappings():
            by_product.setdefault(row["product_id"], []).append(_variant(row))
        return [_product(row, by_product.get(row["id"], [])) for row in rows]

    async def get_many(
        self, site: str, ids: Iterable[str], *, lock: bool = False
    ) -> dict[str, Product]:
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        if not lock:
            return await self._joined(site, wanted)
        query = (
            sa.select(products)
            .where(products.c.site == site, products.c.id.in_(wanted))
            .order_by(products.c.id)
        )
        if lock:
            query = for_update(self._session, query)
        rows = list((await self._session.execute(query)).mappings())
        return {product.id: product for product in await self._assemble(site, rows)}

    async def _joined(self, site: str, ids: Sequence[str]) -> dict[str, Product]:
        """Products with their variants in one round trip (the hot read of GetCatalogItems)."""
        rows: dict[str, RowMapping] = {}
        by_product: dict[str, list[Variant]] = {}
        result = await self._session.execute(_PRODUCTS_WITH_VARIANTS, {"site": site, "ids": ids})
        for row in result.mappings():
            rows.setdefault(row["id"], row)
            if row["v_id"] is not None:
                by_product.setdefault(row["id"], []).append(
                    _variant({name: row[label] for name, label in _VARIANT_LABELS})
                )
        return {pid: _product(row, by_product.get(pid, [])) for pid, row in rows.items()}

    async def get(self, site: str, product_id: str, *, lock: bool = False) -> Product | None:
        return (await self.get_many(site, [product_id], lock=lock)).get(product_id)

    async def page(
        self,
        site: str,
        *,
        after: str,
        ids: Sequence[str],
        visible: bool | None,
        limit: int,
    ) -> list[Product]:
        query = sa.select(products).where(products.c.site == site)
        if after:
            query = query.where(products.c.id > after)
        if ids:
            query = query.where(products.c.id.in_(list(ids)))
        if visible is not None:
            query = query.where(products.c.visible == visible)
        query = query.order_by(products.c.id).limit(limit)
        rows = list((await self._session.execute(query)).mappings())
        return await self._assemble(site, rows)

    async def any(self) -> bool:
        """Whether the catalog holds any product at all, on any site."""
        result = await self._session.execute(sa.select(products.c.id).limit(1))
        return result.first() is not None

    async def insert(self, site: str, product: Product) -> None:
        await self._session.execute(sa.insert(products).values(**_product_row(site, product)))
        rows = _variant_rows(site, product)
        if rows:
            await self._session.execute(sa.insert(variants), rows)

    async def replace(self, site: str, product: Product) -> None:
        """Store `product` (revision already bumped) if the stored one is still revision - 1."""
        values = _product_row(site, product)
        for key in ("site", "id", "created"):
            values.pop(key)
        result = await self._session.execute(
            sa.update(products)
            .where(
                products.c.site == site,
                products.c.id == product.id,
                products.c.revision == product.revision - 1,
            )
            .values(**values)
        )
        if _rowcount(result) != 1:
            await self._conflict(site, product.id, product.revision - 1)
        await self._session.execute(
            sa.delete(variants).where(variants.c.site == site, variants.c.product_id == product.id)
        )
        rows = _variant_rows(site, product)
        if rows:
            await self._session.execute(sa.insert(variants), rows)

    async def delete(self, site: str, product: Product) -> None:
        await self._session.execute(
            sa.delete(variants).where(variants.c.site == site, variants.c.product_id == product.id)
        )
        result = await self._session.execute(
            sa.delete(products).where(
                products.c.site == site,
                products.c.id == product.id,
                products.c.revision == product.revision,
            )
        )
        if _rowcount(result) != 1:
            await self._conflict(site, product.id, product.revision)

    async def _conflict(self, site: str, product_id: str, expected: int) -> None:
        current = await self.get(site, product_id)
        raise RevisionMismatch(RESOURCE, expected, current.revision if current else 0)


# -- stock ---------------------------------------------------------------------------------


def _stock(row: RowMapping) -> Stock:
    return Stock(
        key=StockKey(row["product_id"], row["variant_id"]),
        tracked=bool(row["tracked"]),
        quantity=int(row["quantity"]),
        revision=int(row["revision"]),
        updated=row["updated"],
    )


_lines = reservation_lines.c
_STOCK_WITH_HOLDS = (
    sa.select(stock, _lines.held, _lines.held_until)
    .select_from(
        stock.outerjoin(
            reservation_lines,
            sa.and_(
                _lines.site == stock.c.site,
                _lines.product_id == stock.c.product_id,
                _lines.variant_id == stock.c.variant_id,
                _lines.held_until > sa.bindparam("now", type_=UtcDateTime()),
            ),
        )
    )
    .where(
        stock.c.site == sa.bindparam("site"),
        stock.c.product_id.in_(sa.bindparam("ids", expanding=True)),
    )
)


class StockStore:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def for_products(
        self, site: str, product_ids: Iterable[str], *, lock: bool = False
    ) -> dict[StockKey, Stock]:
        """The stock rows of these products (none for unlimited stock never set)."""
        wanted = sorted(set(product_ids))
        if not wanted:
            return {}
        query = (
            sa.select(stock)
            .where(stock.c.site == site, stock.c.product_id.in_(wanted))
            .order_by(stock.c.product_id, stock.c.variant_id)
        )
        if lock:
            query = for_update(self._session, query)
        return {s.key: s for s in map(_stock, (await self._session.execute(query)).mappings())}

    async def levels(
        self, site: str, product_ids: Iterable[str], now: datetime
    ) -> dict[StockKey, tuple[Stock, int]]:
        """Read-only: the stock rows of these products with the units unexpired reservations
        hold, in one round trip. Not for read-modify-write: the sum comes from the statement's
        snapshot, taken before any row lock (use `for_products(lock=True)`, then `held`)."""
        wanted = sorted(set(product_ids))
        if not wanted:
            return {}
        lines = reservation_lines.c
        held = (
            sa.select(sa.func.coalesce(sa.func.sum(lines.held), 0))
            .where(
                lines.site == stock.c.site,
                lines.product_id == stock.c.product_id,
                lines.variant_id == stock.c.variant_id,
                lines.held_until > now,
            )
            .scalar_subquery()
        )
        query = sa.select(stock, held.label("held")).where(
            stock.c.site == site, stock.c.product_id.in_(wanted)
        )
        found = {}
        for row in (await self._session.execute(query)).mappings():
            level = _stock(row)
            found[level.key] = (level, int(row["held"] or 0))
        return found

    async def with_holds(
        self, site: str, product_ids: Iterable[str], now: datetime
    ) -> tuple[dict[StockKey, Stock], dict[StockKey, Holds]]:
        """Read-only: the stock rows of these products, and each one's unexpired holds with
        their expiry, in one round trip (what `ProductSnapshot` keeps)."""
        wanted = sorted(set(product_ids))
        if not wanted:
            return {}, {}
        rows: dict[StockKey, Stock] = {}
        holds: dict[StockKey, list[tuple[datetime, int]]] = {}
        result = await self._session.execute(
            _STOCK_WITH_HOLDS, {"site": site, "ids": wanted, "now": now}
        )
        for row in result.mappings():
            level = rows.get(StockKey(row["product_id"], row["variant_id"]))
            if level is None:
                level = _stock(row)
                rows[level.key] = level
            if row["held_until"] is not None and row["held"]:
                holds.setdefault(level.key, []).append((row["held_until"], int(row["held"])))
        return rows, {key: tuple(found) for key, found in holds.items()}

    async def held(
        self,
        site: str,
        product_ids: Iterable[str],
        now: datetime,
        *,
        excluding: str | None = None,
    ) -> dict[StockKey, int]:
        """Units held per stock by reservations that have not expired (optionally leaving one
        reservation out: the one being replaced)."""
        wanted = sorted(set(product_ids))
        if not wanted:
            return {}
        lines = reservation_lines.c
        query = (
            sa.select(lines.product_id, lines.variant_id, sa.func.sum(lines.held))
            .where(
                lines.site == site,
                lines.product_id.in_(wanted),
                lines.held_until > now,
            )
            .group_by(lines.product_id, lines.variant_id)
        )
        if excluding is not None:
            query = query.where(lines.reservation_id != excluding)
        result = await self._session.execute(query)
        return {
            StockKey(product_id, variant_id or ""): int(total or 0)
            for product_id, variant_id, total in result.all()
        }

    async def save(self, site: str, level: Stock, *, existed: bool) -> None:
        values = {
            "tracked": level.tracked,
            "quantity": level.quantity,
            "revision": level.revision,
            "updated": level.updated,
        }
        if not existed:
            await self._session.execute(
                sa.insert(stock).values(
                    site=site,
                    product_id=level.key.product_id,
                    variant_id=level.key.variant_id,
                    **values,
                )
            )
            return
        await self._session.execute(
            sa.update(stock)
            .where(
                stock.c.site == site,
                stock.c.product_id == level.key.product_id,
                stock.c.variant_id == level.key.variant_id,
            )
            .values(**values)
        )

    async def delete_except(self, site: str, product_id: str, keep: Iterable[StockKey]) -> None:
        """Drop the product's stock rows other than `keep` (variants that no longer exist)."""
        kept = [key.variant_id for key in keep if key.product_id == product_id]
        query = sa.delete(stock).where(stock.c.site == site, stock.c.product_id == product_id)
        if kept:
            query = query.where(stock.c.variant_id.not_in(kept))
        await self._session.execute(query)


# -- reservations --------------------------------------------------------------------------


def _line(row: RowMapping) -> Line:
    product_id = row["product_id"]
    return Line(
        ref=Ref.from_json(row["reference"]),
        quantity=int(row["quantity"]),
        stock=None if product_id is None else StockKey(product_id, row["variant_id"] or ""),
        held=int(row["held"]),
    )


class ReservationStore:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def lock(self, site: str, reservation_id: str) -> Reservation | None:
        result = await self._session.execute(
            for_update(
                self._session,
                sa.select(reservations).where(
                    reservations.c.site == site, reservations.c.id == reservation_id
                ),
            )
        )
        row = result.mappings().first()
        if row is None:
            return None
        lines = await self._session.execute(
            sa.select(reservation_lines)
            .where(
                reservation_lines.c.site == site,
                reservation_lines.c.reservation_id == reservation_id,
            )
            .order_by(reservation_lines.c.position)
        )
        return Reservation(
            id=row["id"],
            status=Status(row["status"]),
            lines=tuple(_line(line) for line in lines.mappings()),
            expire_time=row["expire_time"],
            order_id=row["order_id"],
        )

    async def save(
        self, site: str, reservation: Reservation, now: datetime, *, existed: bool
    ) -> None:
        """Write the reservation and replace its lines. Lines hold their units until
        `expire_time` while RESERVED, and no longer in any other state."""
        values = {
            "status": int(reservation.status),
            "expire_time": reservation.expire_time,
            "order_id": reservation.order_id,
            "updated": now,
        }
        if existed:
            await self._session.execute(
                sa.update(reservations)
                .where(reservations.c.site == site, reservations.c.id == reservation.id)
                .values(**values)
            )
            await self._session.execute(
                sa.delete(reservation_lines).where(
                    reservation_lines.c.site == site,
                    reservation_lines.c.reservation_id == reservation.id,
                )
            )
        else:
            await self._session.execute(
                sa.insert(reservations).values(site=site, id=reservation.id, created=now, **values)
            )
        holding = reservation.status is Status.RESERVED
        rows = [
            {
                "site": site,
                "reservation_id": reservation.id,
                "position": position,
                "reference": line.ref.as_json(),
                "quantity": line.quantity,
                "product_id": line.stock.product_id if line.stock else None,
                "variant_id": line.stock.variant_id if line.stock else None,
                "held": line.held,
                "held_until": reservation.expire_time if holding and line.held else None,
            }
            for position, line in enumerate(reservation.lines)
        ]
        if rows:
            await self._session.execute(sa.insert(reservation_lines), rows)
