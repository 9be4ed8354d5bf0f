"""Reading line data from the catalog providers (`ecom.spi.catalog.v1`).

One `GetCatalogItems` call per provider (the app id of the lines' references), all providers at
once under the caller's deadline, answers cached a few seconds for identical requests. The result
is data, never an exception for a provider failure:

- `entries`: what the providers said, per reference: FOUND with the item data, or NOT_FOUND for a
  reference a provider answered without (it no longer knows the item);
- `unknown_apps`: app ids no catalog provider is registered under;
- `errors`: providers that failed or sent an answer we do not trust (a malformed or negative
  price, a missing name): `calculation_errors.catalog_errors`. Their lines keep the data last read.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from ecom.common.v1 import calculation_pb2, channel_pb2
from ecom.spi.catalog.v1 import catalog_provider_service_pb2 as catalog_spi
from services.cart.domain import CatalogEntry, CatalogRef, CatalogStatus
from services.cart.refs import answered_ref, ref_to_proto
from services.platform.errors import Unavailable
from services.platform.providers import (
    PROVIDER_ERROR,
    PROVIDER_UNAVAILABLE,
    Kind,
    ProviderCall,
    ProviderClient,
    ResponseCache,
)
from services.pricing import InvalidAmountError, parse_amount

log = logging.getLogger("ecom.cart.catalog")

GET_CATALOG_ITEMS = Kind.CATALOG.method("GetCatalogItems")
_WEIGHT_UNITS = {"KG": channel_pb2.WEIGHT_UNIT_KG, "LB": channel_pb2.WEIGHT_UNIT_LB}


@dataclass(frozen=True)
class CatalogRead:
    entries: dict[CatalogRef, CatalogEntry] = field(default_factory=dict)
    unknown_apps: frozenset[str] = frozenset()
    errors: tuple[calculation_pb2.CalculationError, ...] = ()
    #: App ids whose provider failed (their lines were not read).
    failed_apps: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Wanted:
    ref: CatalogRef
    quantity: int


class CatalogReader:
    def __init__(self, client: ProviderClient, cache: ResponseCache) -> None:
        self._client = client
        self._cache = cache

    async def read(
        self,
        site: str,
        wanted: Sequence[Wanted],
        *,
        currency: str,
        weight_unit: str,
        language: str,
        remaining_s: float | None,
    ) -> CatalogRead:
        if not wanted:
            return CatalogRead()
        by_app: dict[str, list[Wanted]] = {}
        for item in wanted:
            by_app.setdefault(item.ref.app_id, []).append(item)
        try:
            providers = {p.app_id: p for p in await self._client.providers(site, Kind.CATALOG)}
        except Unavailable as exc:
            # Without the registry nothing can be read; that is a catalog problem of every
            # line, reported as data like any provider outage.
            outage = tuple(
                calculation_pb2.CalculationError(
                    code=PROVIDER_UNAVAILABLE, description=exc.message, app_id=app_id
                )
                for app_id in by_app
            )
            return CatalogRead(errors=outage, failed_apps=frozenset(by_app))
        unknown = frozenset(app for app in by_app if app not in providers)
        calls = []
        for app_id, items in by_app.items():
            ref = providers.get(app_id)
            if ref is None:
                continue
            request = catalog_spi.GetCatalogItemsRequest(
                catalog_references=[
                    catalog_spi.CatalogReferenceAndQuantity(
                        catalog_reference=ref_to_proto(item.ref), quantity=item.quantity
                    )
                    for item in items
                ],
                weight_unit=_WEIGHT_UNITS[weight_unit],
                currency=currency,
                buyer_language=language,
                settings=ref.settings_struct(),
            )
            calls.append(
                ProviderCall(
                    ref,
                    GET_CATALOG_ITEMS,
                    request,
                    catalog_spi.GetCatalogItemsResponse,
                    cache=self._cache,
                )
            )
        outcomes = await self._client.fan_out(calls, remaining_s=remaining_s)
        entries: dict[CatalogRef, CatalogEntry] = {}
        errors: list[calculation_pb2.CalculationError] = []
        failed: set[str] = set()
        for outcome in outcomes:
            app_id = outcome.ref.app_id
            if not outcome.ok:
                errors.append(outcome.calculation_error())
                failed.add(app_id)
                continue
            requested = {item.ref for item in by_app[app_id]}
            answered, problems = _entries(outcome.unwrap(), requested)
            for problem in problems:
                errors.append(
                    calculation_pb2.CalculationError(
                        code=PROVIDER_ERROR, description=problem, app_id=app_id
                    )
                )
            entries.update(answered)
        return CatalogRead(entries, unknown, tuple(errors), frozenset(failed))


def _entries(
    response: catalog_spi.GetCatalogItemsResponse, requested: set[CatalogRef]
) -> tuple[dict[CatalogRef, CatalogEntry], list[str]]:
    """Answers matched to the requested references; what the provider omitted is NOT_FOUND.
    An entry with invalid data is reported and left out (its line keeps its last data)."""
    found: dict[CatalogRef, CatalogEntry] = {}
    problems: list[str] = []
    rejected: set[CatalogRef] = set()
    for item in response.catalog_items:
        ref = answered_ref(item.catalog_reference)
        if ref is None or ref not in requested or not item.HasField("data"):
            continue  # not asked for, or no data: ignored / treated as unknown (SPI contract)
        data = item.data.SerializeToString()
        problem = _problem_of(data)
        if problem is not None:
            problems.append(f"catalog item {ref.item_id!r}: {problem}")
            rejected.add(ref)
            continue
        found[ref] = CatalogEntry(CatalogStatus.FOUND, data)
    for ref in requested - found.keys() - rejected:
        found[ref] = CatalogEntry(CatalogStatus.NOT_FOUND)
    return found, problems


@lru_cache(maxsize=4096)
def _problem_of(data: bytes) -> str | None:
    """`data_problem` of serialized item data: a cart reads the same items again and again."""
    return data_problem(catalog_spi.CatalogItemData.FromString(data))


def data_problem(data: catalog_spi.CatalogItemData) -> str | None:
    """Why the suite must not trust this item data, or None when it is sound."""
    if not data.product_name.original.strip():
        return "product_name.original is empty"
    try:
        price = parse_amount(data.price, non_negative=True)
        if data.full_price and parse_amount(data.full_price, non_negative=True) < price:
            return "full_price is below price"
        if data.deposit_amount:
            deposit = parse_amount(data.deposit_amount, non_negative=True)
            if deposit > price:
                return "deposit_amount is above price"
        if data.physical_properties.weight:
            parse_amount(data.physical_properties.weight, non_negative=True)
    except InvalidAmountError as exc:
        return str(exc)
    if data.HasField("quantity_available") and data.quantity_available < 0:
        return "quantity_available is negative"
    return None
