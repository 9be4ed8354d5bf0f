"""Reading line data from the catalog providers (`ecom.spi.catalog.v1`).

One GetCatalogItems call per provider (the app id of the lines' references), all providers at
once under the calculation's budget, answers cached a few seconds for identical requests. The
result is data, never an exception for a provider failure: items FOUND with their data or
NOT_FOUND (the provider answered without them); providers that failed or sent data the suite does
not trust (`errors`, for `calculation_errors.catalog_errors`); app ids with no catalog provider.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ecom.common.v1 import calculation_pb2, catalog_pb2, channel_pb2
from ecom.spi.catalog.v1 import catalog_provider_service_pb2 as catalog_spi
from services.checkout.domain import reference_key
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

GET_CATALOG_ITEMS = Kind.CATALOG.method("GetCatalogItems")
WEIGHT_UNITS = {"KG": channel_pb2.WEIGHT_UNIT_KG, "LB": channel_pb2.WEIGHT_UNIT_LB}

RefKey = tuple[str, str, str]


@dataclass(frozen=True)
class Wanted:
    reference: catalog_pb2.CatalogReference
    quantity: int


@dataclass
class CatalogRead:
    found: dict[RefKey, catalog_spi.CatalogItemData] = field(default_factory=dict)
    not_found: set[RefKey] = field(default_factory=set)
    failed_apps: set[str] = field(default_factory=set)
    unknown_apps: set[str] = field(default_factory=set)
    errors: list[calculation_pb2.CalculationError] = field(default_factory=list)


class CatalogReader:
    def __init__(self, client: ProviderClient, cache: ResponseCache) -> None:
        self._client = client
        self._cache = cache

    async def registered_apps(self, site: str) -> set[str]:
        """App ids of the site's catalog providers (Unavailable when the registry is down)."""
        return {ref.app_id for ref in await self._client.providers(site, Kind.CATALOG)}

    async def read(
        self,
        site: str,
        wanted: Sequence[Wanted],
        *,
        currency: str,
        weight_unit: str,
        language: str,
        remaining_s: float | None,
        fresh: bool = False,
    ) -> CatalogRead:
        """Read the items; `fresh` bypasses the answer cache (order placement needs the
        catalog's stock as it is now)."""
        result = CatalogRead()
        if not wanted:
            return result
        by_app: dict[str, dict[RefKey, Wanted]] = {}
        for item in wanted:
            by_app.setdefault(item.reference.app_id, {})[reference_key(item.reference)] = item
        try:
            providers = {p.app_id: p for p in await self._client.providers(site, Kind.CATALOG)}
        except Unavailable as exc:
            # Without the registry nothing can be read: a catalog problem of every line,
            # reported as data like any provider outage.
            for app_id in by_app:
                result.errors.append(
                    calculation_pb2.CalculationError(
                        code=PROVIDER_UNAVAILABLE, description=exc.message, app_id=app_id
                    )
                )
            result.failed_apps.update(by_app)
            return result
        calls = []
        for app_id, items in by_app.items():
            provider = providers.get(app_id)
            if provider is None:
                result.unknown_apps.add(app_id)
                continue
            request = catalog_spi.GetCatalogItemsRequest(
                catalog_references=[
                    catalog_spi.CatalogReferenceAndQuantity(
                        catalog_reference=item.reference, quantity=item.quantity
                    )
                    for item in items.values()
                ],
                weight_unit=WEIGHT_UNITS[weight_unit],
                currency=currency,
                buyer_language=language.split("-")[0],
                settings=provider.settings_struct(),
            )
            calls.append(
                ProviderCall(
                    provider,
                    GET_CATALOG_ITEMS,
                    request,
                    catalog_spi.GetCatalogItemsResponse,
                    cache=None if fresh else self._cache,
                )
            )
        for outcome in await self._client.fan_out(calls, remaining_s=remaining_s):
            app_id = outcome.ref.app_id
            if not outcome.ok:
                result.errors.append(outcome.calculation_error())
                result.failed_apps.add(app_id)
                continue
            self._take(result, app_id, outcome.unwrap(), set(by_app[app_id]))
        return result

    @staticmethod
    def _take(
        result: CatalogRead,
        app_id: str,
        response: catalog_spi.GetCatalogItemsResponse,
        requested: set[RefKey],
    ) -> None:
        answered: set[RefKey] = set()
        for item in response.catalog_items:
            key = reference_key(item.catalog_reference)
            if key not in requested or key in answered or not item.HasField("data"):
                continue  # not asked for, repeated, or without data: ignored (SPI contract)
            answered.add(key)
            problem = data_problem(item.data)
            if problem is not None:
                # Not trusted: reported, and the line keeps the data last read.
                result.errors.append(
                    calculation_pb2.CalculationError(
                        code=PROVIDER_ERROR,
                        description=f"catalog item {item.catalog_reference.catalog_item_id!r}: "
                        f"{problem}",
                        app_id=app_id,
                    )
                )
                result.failed_apps.add(app_id)
                continue
            result.found[key] = item.data
        result.not_found.update(requested - answered)


def data_problem(data: catalog_spi.CatalogItemData) -> str | None:
    """Why the suite must not trust this item data, or None when it is sound."""
    if not data.product_name.original.strip():
        return "product_name.original is empty"
    try:
        price = parse_amount(data.price, non_negative=True)
        if data.full_price and parse_amount(data.full_price, non_negative=True) < price:
            return "full_price is below price"
        if data.deposit_amount and parse_amount(data.deposit_amount, non_negative=True) > price:
            return "deposit_amount is above price"
        if data.physical_properties.weight:
            parse_amount(data.physical_properties.weight, non_negative=True)
    except InvalidAmountError as exc:
        return str(exc)
    if data.HasField("quantity_available") and data.quantity_available < 0:
        return "quantity_available is negative"
    return None
