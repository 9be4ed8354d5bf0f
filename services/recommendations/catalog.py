"""Which recommended items their catalog still sells (`ecom.spi.catalog.v1`).

Per request, every reference is asked about once, however many algorithms recommend it: one
`GetCatalogItems` per catalog provider and batch of at most 300 references, all providers at once
under the request's deadline, identical requests answered from a short cache. A reference is
sold when its provider answers it without `quantity_available` (unlimited) or with more than 0.
It is not sold when the provider omits it (unknown), reports 0, fails or times out, or when no
catalog provider is registered under its `app_id`.

The currency and weight unit of the question are the site's store settings (the ones carts are
created with): the reference catalog refuses a question in a currency its products are not
priced in, as it would refuse the site's carts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from functools import partial

from ecom.common.v1 import channel_pb2
from ecom.spi.catalog.v1 import catalog_provider_service_pb2 as catalog_spi
from services.platform.deadlines import Deadline
from services.platform.providers import Kind, ProviderClient, ProviderRef, ResponseCache
from services.recommendations.convert import ref_from_proto, ref_to_proto
from services.recommendations.domain import Ref
from services.recommendations.flights import Flights

log = logging.getLogger("ecom.recommendations.catalog")

GET_CATALOG_ITEMS = Kind.CATALOG.method("GetCatalogItems")
#: The SPI's limit of references per GetCatalogItems call.
MAX_REFERENCES_PER_CALL = 300
_WEIGHT_UNITS = {"KG": channel_pb2.WEIGHT_UNIT_KG, "LB": channel_pb2.WEIGHT_UNIT_LB}


class CatalogCheck:
    """One request's view of the catalogs: which references are sold, asked at most once each."""

    def __init__(
        self,
        client: ProviderClient,
        cache: ResponseCache | None,
        *,
        site: str,
        currency: str,
        weight_unit: str,
        deadline: Deadline,
    ) -> None:
        self._client = client
        self._cache = cache
        self._site = site
        self._currency = currency
        self._weight_unit = _WEIGHT_UNITS.get(weight_unit, channel_pb2.WEIGHT_UNIT_KG)
        self._deadline = deadline
        self._catalogs: Flights[str, dict[str, ProviderRef]] = Flights()
        #: One flight per batch; `_batch_of` says which batch answers a reference.
        self._batches: Flights[int, frozenset[str]] = Flights()
        self._batch_of: dict[str, int] = {}
        self._batch_count = 0

    async def close(self) -> None:
        await self._catalogs.close()
        await self._batches.close()

    async def sold(self, refs: Sequence[Ref]) -> set[str]:
        """The keys (`Ref.key`) of those of `refs` that their catalog still sells."""
        catalogs = await self._catalogs.get("", self._catalog_providers)
        fresh: dict[str, dict[str, Ref]] = {}
        for ref in refs:
            if ref.key not in self._batch_of:
                fresh.setdefault(ref.app_id, {})[ref.key] = ref
        for app_id, by_key in fresh.items():
            wanted = list(by_key.values())
            for start in range(0, len(wanted), MAX_REFERENCES_PER_CALL):
                batch = wanted[start : start + MAX_REFERENCES_PER_CALL]
                number = self._batch_count
                self._batch_count += 1
                for ref in batch:
                    self._batch_of[ref.key] = number
                self._batches.start(number, partial(self._ask, catalogs.get(app_id), batch))
        numbers = {self._batch_of[ref.key] for ref in refs}
        answers = await asyncio.gather(*(self._batches.wait(n) for n in numbers))
        sold: set[str] = set().union(*answers)
        return {ref.key for ref in refs if ref.key in sold}

    async def _catalog_providers(self) -> dict[str, ProviderRef]:
        return {ref.app_id: ref for ref in await self._client.providers(self._site, Kind.CATALOG)}

    async def _ask(self, provider: ProviderRef | None, batch: list[Ref]) -> frozenset[str]:
        if provider is None:
            return frozenset()  # no catalog provider under that app id: nothing of it is sold
        request = catalog_spi.GetCatalogItemsRequest(
            catalog_references=[
                catalog_spi.CatalogReferenceAndQuantity(
                    catalog_reference=ref_to_proto(r), quantity=1
                )
                for r in batch
            ],
            weight_unit=self._weight_unit,
            currency=self._currency,
        )
        outcome = await self._client.call(
            provider,
            GET_CATALOG_ITEMS,
            request,
            catalog_spi.GetCatalogItemsResponse,
            remaining_s=self._deadline.remaining(),
            cache=self._cache,
        )
        if outcome.response is None:
            log.info(
                "catalog %s failed (%s %s): its items are left out",
                provider.app_id,
                outcome.code,
                outcome.message,
            )
            return frozenset()
        asked = {ref.key for ref in batch}
        sold: set[str] = set()
        for item in outcome.response.catalog_items:
            key = ref_from_proto(item.catalog_reference).key
            if key not in asked:
                continue  # not one of ours: a provider must echo references exactly
            data = item.data
            if not data.HasField("quantity_available") or data.quantity_available > 0:
                sold.add(key)
        return frozenset(sold)
