"""The catalog's use cases: product and stock administration, and the GetCatalogItems read. Each
one is a unit of work over the store (`Database.run`, retried on write conflicts)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

import sqlalchemy.exc
from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncSession

from services.platform.db import Database, utcnow
from services.platform.errors import FailedPrecondition, InvalidArgument, check_revision
from services.platform.idempotency import run_idempotent
from services.platform.read_cache import ReadCache
from services.pricing import UnknownCurrencyError, minor_units
from services.providers.catalog import domain, stock
from services.providers.catalog.domain import Product, ProductInput, StockKey, WeightUnit
from services.providers.catalog.items import ItemData, available
from services.providers.catalog.listing import ProductQuery, encode_token
from services.providers.catalog.references import Ref, product_ids
from services.providers.catalog.snapshots import Holds, ProductSnapshot
from services.providers.catalog.stock import Stock, StockAdjustment, StockLevel, StockSetting
from services.providers.catalog.store import ProductStore, StockStore

T = TypeVar("T")
M = TypeVar("M", bound=Message)

ADJUST_SCOPE = "ecom.catalog.v1.CatalogAdminService/AdjustStock"
#: GetCatalogItems answers at most this many references (the SPI's limit).
MAX_REFERENCES = 300


@dataclass(frozen=True)
class ProductView:
    """A product with the stock of each of its stock keys (unlimited when never set)."""

    product: Product
    stock: Mapping[StockKey, StockLevel] = field(default_factory=dict)

    def level(self, key: StockKey) -> StockLevel:
        return self.stock.get(key) or StockLevel(Stock(key))


@dataclass(frozen=True)
class ProductPage:
    products: list[ProductView]
    next_page_token: str


async def run_claiming(
    database: Database, fn: Callable[[AsyncSession], Awaitable[T]], *, attempts: int = 3
) -> T:
    """`database.run(fn)`, run again when a concurrent transaction inserted the same key first
    (the next attempt finds the row and takes the update path)."""
    for _ in range(attempts - 1):
        try:
            return await database.run(fn)
        except sqlalchemy.exc.IntegrityError:
            continue
    return await database.run(fn)


async def views(
    session: AsyncSession, site: str, products: Sequence[Product], now: datetime
) -> list[ProductView]:
    found = await StockStore(session).levels(site, [p.id for p in products], now)
    return [
        ProductView(
            product,
            {
                key: StockLevel(*found[key]) if key in found else StockLevel(Stock(key))
                for key in product.stock_keys()
            },
        )
        for product in products
    ]


class CatalogService:
    def __init__(self, database: Database, *, clock: Callable[[], datetime] = utcnow) -> None:
        self._database = database
        self._clock = clock
        #: GetCatalogItems' snapshots by (site, product id), kept until the database changes.
        self._cache: ReadCache[tuple[str, str], ProductSnapshot] = ReadCache(database)

    # -- products ------------------------------------------------------------------------

    async def upsert(self, site: str, inputs: Sequence[ProductInput]) -> list[ProductView]:
        wanted = domain.check_products(inputs)

        async def write(session: AsyncSession) -> list[ProductView]:
            now = self._clock()
            store, stocks = ProductStore(session), StockStore(session)
            current = await store.get_many(site, [p.id for p in wanted], lock=True)
            stored: list[Product] = []
            for incoming in wanted:
                before = current.get(incoming.id)
                after = domain.upserted(before, incoming, now)
                if after is None:
                    assert before is not None
                    stored.append(before)
                    continue
                if before is None:
                    await store.insert(site, after)
                else:
                    await store.replace(site, after)
                    await stocks.delete_except(site, after.id, after.stock_keys())
                stored.append(after)
            return await views(session, site, stored, now)

        return await run_claiming(self._database, write)

    async def get(self, site: str, product_id: str) -> ProductView:
        if not product_id:
            raise InvalidArgument.of("id", "required")

        async def read(session: AsyncSession) -> ProductView:
            product = await ProductStore(session).get(site, product_id)
            if product is None:
                raise domain.product_not_found(product_id)
            return (await views(session, site, [product], self._clock()))[0]

        return await self._database.run(read, readonly=True)

    async def list_page(self, site: str, query: ProductQuery) -> ProductPage:
        after = query.check()
        size = query.size()

        async def read(session: AsyncSession) -> ProductPage:
            found = await ProductStore(session).page(
                site, after=after, ids=query.ids, visible=query.visible, limit=size + 1
            )
            page = found[:size]
            token = encode_token(page[-1].id, query.fingerprint()) if len(found) > size else ""
            return ProductPage(await views(session, site, page, self._clock()), token)

        return await self._database.run(read, readonly=True)

    async def delete(self, site: str, product_id: str, expected_revision: int) -> None:
        if not product_id:
            raise InvalidArgument.of("id", "required")

        async def remove(session: AsyncSession) -> None:
            store = ProductStore(session)
            product = await store.get(site, product_id, lock=True)
            if product is None:
                raise domain.product_not_found(product_id)
            check_revision(domain.RESOURCE, expected_revision, product.revision)
            await StockStore(session).delete_except(site, product_id, ())
            await store.delete(site, product)

        await self._database.run(remove)

    # -- stock ---------------------------------------------------------------------------

    async def _locked_stock(
        self, session: AsyncSession, site: str, keys: Sequence[StockKey]
    ) -> dict[StockKey, Stock]:
        """Check that every key exists and lock the stock rows of their products."""
        product_ids = {key.product_id for key in keys}
        # Lock the products too: a concurrent upsert cannot drop a variant being stocked.
        found = await ProductStore(session).get_many(site, product_ids, lock=True)
        stock.check_targets(keys, found)
        return await StockStore(session).for_products(site, product_ids, lock=True)

    async def set_stock(self, site: str, settings: Sequence[StockSetting]) -> list[StockLevel]:
        async def write(session: AsyncSession) -> list[StockLevel]:
            now = self._clock()
            rows = await self._locked_stock(session, site, [s.key for s in settings])
            stocks = StockStore(session)
            results: list[Stock] = []
            for setting in settings:
                current = rows.get(setting.key) or Stock(setting.key)
                changed = stock.set_stock(current, setting, now)
                if changed is not None:
                    await stocks.save(site, changed, existed=setting.key in rows)
                results.append(changed or current)
            return await self._levels(session, site, results, now)

        return await run_claiming(self._database, write)

    async def adjust_stock(
        self,
        site: str,
        adjustments: Sequence[StockAdjustment],
        *,
        request_id: str,
        request: Message,
        respond: Callable[[list[StockLevel]], M],
        response_type: type[M],
    ) -> M:
        async def adjust(session: AsyncSession) -> M:
            now = self._clock()
            rows = await self._locked_stock(session, site, [a.key for a in adjustments])
            stocks = StockStore(session)
            results: list[Stock] = []
            for adjustment in adjustments:
                current = rows.get(adjustment.key) or Stock(adjustment.key)
                changed = stock.adjust_stock(current, adjustment.delta, now)
                await stocks.save(site, changed, existed=True)
                results.append(changed)
            return respond(await self._levels(session, site, results, now))

        async def unit(session: AsyncSession) -> M:
            return await run_idempotent(
                session,
                site=site,
                scope=ADJUST_SCOPE,
                request_id=request_id,
                request=request,
                response_type=response_type,
                produce=lambda: adjust(session),
            )

        return await self._database.run(unit)

    async def _levels(
        self, session: AsyncSession, site: str, results: Sequence[Stock], now: datetime
    ) -> list[StockLevel]:
        held = await StockStore(session).held(site, {s.key.product_id for s in results}, now)
        return [StockLevel(s, held.get(s.key, 0)) for s in results]

    # -- the catalog SPI -----------------------------------------------------------------

    async def catalog_items(
        self,
        site: str,
        app_id: str,
        refs: Sequence[Ref],
        *,
        currency: str,
        weight_unit: WeightUnit,
    ) -> list[ItemData | None]:
        """The data of each reference, None for those the catalog does not know."""
        if len(refs) > MAX_REFERENCES:
            raise InvalidArgument.of(
                "catalog_references", f"at most {MAX_REFERENCES} references per call"
            )
        if not refs:
            return []
        try:
            minor_units(currency)
        except UnknownCurrencyError:
            raise InvalidArgument.of("currency", "not an ISO 4217 currency code") from None
        snapshots = await self._snapshots(site, product_ids(refs, app_id))
        now = self._clock()
        answers: list[ItemData | None] = []
        for ref in refs:
            # Ids not worth looking up have no snapshot: such references resolve to nothing.
            snapshot = snapshots.get(ref.catalog_item_id)
            found = snapshot.resolve(ref, app_id) if snapshot is not None else None
            if snapshot is None or found is None:
                answers.append(None)
                continue
            if found.product.currency != currency:
                raise _currency_not_supported(found.product, currency)
            row, held = snapshot.level(found.stock_key, now)
            quantity = available(found.product.visible, row.tracked, row.quantity, held)
            answers.append(snapshot.item(found, weight_unit, quantity))
        return answers

    async def _snapshots(self, site: str, ids: set[str]) -> dict[str, ProductSnapshot]:
        """A snapshot of each product id, all from one state of the database: from the cache
        when it has every one at the current data version, else read in one transaction."""
        version = await self._cache.version()
        cached: dict[str, ProductSnapshot] = {}
        for pid in ids:
            snapshot = self._cache.get(version, (site, pid))
            if snapshot is None:
                break
            cached[pid] = snapshot
        else:
            return cached

        async def read(session: AsyncSession) -> dict[str, ProductSnapshot]:
            found = await ProductStore(session).get_many(site, ids)
            rows, holds = await StockStore(session).with_holds(site, found.keys(), self._clock())
            by_product: dict[str, tuple[dict[StockKey, Stock], dict[StockKey, Holds]]] = {
                pid: ({}, {}) for pid in found
            }
            for key, row in rows.items():
                by_product[key.product_id][0][key] = row
            for key, held in holds.items():
                by_product[key.product_id][1][key] = held
            return {
                pid: ProductSnapshot(found[pid], *by_product[pid])
                if pid in found
                else ProductSnapshot(None)
                for pid in ids
            }

        snapshots = await self._database.run(read, readonly=True)
        await self._cache.put_many(version, (((site, pid), s) for pid, s in snapshots.items()))
        return snapshots

    # -- demo data -----------------------------------------------------------------------

    async def load(
        self,
        site: str,
        inputs: Sequence[ProductInput],
        quantities: Mapping[StockKey, int],
        *,
        only_if_empty: bool,
    ) -> int:
        """Insert the products of `inputs` that `site` lacks, with the stock of `quantities`
        (absent keys stay unlimited); with `only_if_empty`, only into a catalog without any
        product. Never changes an existing product. Returns how many products were inserted."""
        wanted = domain.check_products(inputs)

        async def insert(session: AsyncSession) -> int:
            store, stocks = ProductStore(session), StockStore(session)
            if only_if_empty and await store.any():
                return 0
            now = self._clock()
            existing = await store.get_many(site, [p.id for p in wanted], lock=True)
            inserted = 0
            for product in wanted:
                if product.id in existing:
                    continue
                created = domain.upserted(None, product, now)
                assert created is not None
                await store.insert(site, created)
                for key in created.stock_keys():
                    if key in quantities:
                        level = Stock(key, True, quantities[key], 1, now)
                        await stocks.save(site, level, existed=False)
                inserted += 1
            return inserted

        try:
            return await self._database.run(insert)
        except sqlalchemy.exc.IntegrityError:
            return 0  # another process loaded it at the same moment


def _currency_not_supported(product: Product, currency: str) -> FailedPrecondition:
    return FailedPrecondition(
        "CURRENCY_NOT_SUPPORTED",
        f"product {product.id!r} is priced in {product.currency}, not {currency[:3]}",
        metadata={"product_id": product.id, "currency": product.currency},
    )
