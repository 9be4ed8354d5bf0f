"""The service layer: GetRecommendation's algorithm race and ListAvailableAlgorithms.

GetRecommendation evaluates every requested algorithm at once (built-ins read the statistics,
external ones call their provider; each result is then filtered through the catalogs), and then
judges the results strictly in request order: the first with enough items wins and the
evaluations after it are cancelled. The answer is therefore the one a one-by-one evaluation
would give, in the time of the slowest algorithm up to the winner rather than their sum.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.platform.db import Database, utcnow
from services.platform.deadlines import Deadline
from services.platform.providers import ProviderRef, ResponseCache
from services.platform.sites import SiteDirectory
from services.recommendations.catalog import CatalogCheck
from services.recommendations.domain import (
    BEST_SELLERS,
    FREQUENTLY_BOUGHT_TOGETHER,
    MAX_RECOMMENDED,
    AlgorithmInfo,
    AlgorithmName,
    AlgorithmResult,
    AlgorithmType,
    Decision,
    ItemKey,
    RecommendationQuery,
    Ref,
    Skipped,
    SkipReason,
    Yielded,
    bucket_day,
    builtin_algorithms,
    judge,
    window_start,
    without_repeats,
)
from services.recommendations.flights import Flights
from services.recommendations.providers import Listed, RecommendationProviders
from services.recommendations.settings import RecommendationSettings
from services.recommendations.store import OrderStats

if TYPE_CHECKING:
    from services.platform.runtime import Runtime

#: Built-in candidates are read in pages of this size until 100 of them are still sold (or the
#: statistics run out); at most this many pages, so a catalog that stopped selling most of the
#: best sellers cannot make one request read the whole table.
_PAGE = 150
_MAX_PAGES = 4
#: Variants per item asked about when the catalog does not know the bare item.
_VARIANT_PROBES = 3

Fetch = Callable[[OrderStats, int, int], Awaitable[list[ItemKey]]]


@dataclass(frozen=True)
class AvailableAlgorithms:
    algorithms: list[AlgorithmInfo]
    unavailable_app_ids: list[str]


class RecommendationsService:
    def __init__(
        self,
        database: Database,
        runtime: Runtime,
        settings: RecommendationSettings,
        sites: SiteDirectory,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._database = database
        self._client = runtime.providers
        self._settings = settings
        self._sites = sites
        self._clock = clock
        self._providers = RecommendationProviders(runtime, cache_s=settings.provider_cache_s)
        self._catalog_cache = (
            ResponseCache(ttl_s=settings.catalog_cache_s) if settings.catalog_cache_s > 0 else None
        )
        self._builtins = builtin_algorithms(
            settings.together_window_days, settings.best_sellers_window_days
        )

    # -- ListAvailableAlgorithms ------------------------------------------------------------

    async def available_algorithms(
        self, site: str, remaining_s: float | None
    ) -> AvailableAlgorithms:
        deadline = Deadline(remaining_s)
        refs = await self._providers.in_registration_order(site)
        listed = await asyncio.gather(
            *(self._providers.algorithms(ref, deadline.remaining()) for ref in refs)
        )
        algorithms = list(self._builtins)
        unavailable: list[str] = []
        for entry in listed:
            if entry.algorithms is None:
                unavailable.append(entry.ref.app_id)
            else:
                algorithms.extend(entry.algorithms.values())
        return AvailableAlgorithms(algorithms, unavailable)

    # -- GetRecommendation ------------------------------------------------------------------

    async def recommend(
        self, site: str, query: RecommendationQuery, remaining_s: float | None
    ) -> Decision:
        deadline = Deadline(remaining_s)
        store = self._sites.for_site(site)
        catalog = CatalogCheck(
            self._client,
            self._catalog_cache,
            site=site,
            currency=store.currency,
            weight_unit=store.weight_unit,
            deadline=deadline,
        )
        external = _ProviderRound(self._providers, site, query, deadline)
        tasks = [
            asyncio.ensure_future(self._evaluate(site, name, query, catalog, external))
            for name in query.algorithms
        ]
        try:
            skipped: list[tuple[AlgorithmName, Skipped]] = []
            for name, task in zip(query.algorithms, tasks, strict=True):
                result = judge(await task, query.minimum)
                if isinstance(result, Yielded):
                    return Decision(name, result.items, tuple(skipped))
                skipped.append((name, result))
            return Decision(None, (), tuple(skipped))
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await external.close()
            await catalog.close()

    async def _evaluate(
        self,
        site: str,
        name: AlgorithmName,
        query: RecommendationQuery,
        catalog: CatalogCheck,
        external: _ProviderRound,
    ) -> AlgorithmResult:
        if name.builtin:
            return await self._builtin(site, name, query, catalog)
        candidates = await external.candidates(name)
        if isinstance(candidates, Skipped):
            return candidates
        kept = without_repeats(candidates, query.item_keys)
        sold = await catalog.sold(kept)
        return Yielded(tuple(ref for ref in kept if ref.key in sold)[:MAX_RECOMMENDED])

    async def _builtin(
        self, site: str, name: AlgorithmName, query: RecommendationQuery, catalog: CatalogCheck
    ) -> AlgorithmResult:
        today = bucket_day(self._clock())
        fetch: Fetch
        if name.algorithm_id == FREQUENTLY_BOUGHT_TOGETHER:
            items = query.distinct_items()
            if not items:
                return Yielded(())  # RELATED_ITEMS: nothing to relate to
            since = window_start(today, self._settings.together_window_days)

            async def fetch(stats: OrderStats, limit: int, offset: int) -> list[ItemKey]:
                return await stats.bought_together(site, items, since, limit, offset)

        elif name.algorithm_id == BEST_SELLERS:
            since = window_start(today, self._settings.best_sellers_window_days)

            async def fetch(stats: OrderStats, limit: int, offset: int) -> list[ItemKey]:
                return await stats.best_sellers(site, since, limit, offset)

        else:
            return Skipped(SkipReason.ALGORITHM_NOT_FOUND)
        kept: list[Ref] = []
        for number in range(_MAX_PAGES):
            page, variants = await self._database.run(
                partial(_candidates, site, fetch, number * _PAGE), readonly=True
            )
            fresh = [item for item in page if item not in query.item_keys]
            probes = {item: _probes(item, variants.get(item, [])) for item in fresh}
            sold = await catalog.sold([probe for group in probes.values() for probe in group])
            kept.extend(
                Ref.bare(item) for item in fresh if any(probe.key in sold for probe in probes[item])
            )
            if len(kept) >= MAX_RECOMMENDED or len(page) < _PAGE:
                break
        return Yielded(tuple(kept[:MAX_RECOMMENDED]))


async def _candidates(
    site: str, fetch: Fetch, offset: int, session: AsyncSession
) -> tuple[list[ItemKey], dict[ItemKey, list[dict[str, Any]]]]:
    stats = OrderStats(session)
    page = await fetch(stats, _PAGE, offset)
    return page, await stats.variants(site, page, _VARIANT_PROBES)


def _probes(item: ItemKey, variants: Sequence[dict[str, Any]]) -> list[Ref]:
    """What to ask the catalog about an item: the item itself and the variants last bought of it
    (a catalog whose products have variants may only know those). Sold if any of them is."""
    return [Ref.bare(item), *(Ref(item.app_id, item.catalog_item_id, o) for o in variants)]


class _ProviderRound:
    """One request's calls to recommendations providers: each provider's list of algorithms is
    read once, and the request's algorithms of one provider that take the same input items are
    asked for in one GetRecommendations call."""

    def __init__(
        self,
        providers: RecommendationProviders,
        site: str,
        query: RecommendationQuery,
        deadline: Deadline,
    ) -> None:
        self._providers = providers
        self._site = site
        self._query = query
        self._deadline = deadline
        self._refs: Flights[str, dict[str, ProviderRef]] = Flights()
        self._listed: Flights[str, Listed] = Flights()
        self._answers: Flights[tuple[str, tuple[str, ...]], dict[str, list[Ref]] | None] = Flights()

    async def close(self) -> None:
        await self._refs.close()
        await self._listed.close()
        await self._answers.close()

    async def candidates(self, name: AlgorithmName) -> list[Ref] | Skipped:
        """The provider's items for `name` (unfiltered), or why there are none to judge."""
        refs = await self._refs.get("", partial(self._providers.by_app_id, self._site))
        ref = refs.get(name.app_id)
        if ref is None:
            return Skipped(SkipReason.ALGORITHM_NOT_FOUND)
        listed = await self._listed.get(
            ref.app_id, partial(self._providers.algorithms, ref, self._deadline.remaining())
        )
        if listed.algorithms is None:
            return Skipped(SkipReason.PROVIDER_UNAVAILABLE)
        info = listed.algorithms.get(name.algorithm_id)
        if info is None:
            return Skipped(SkipReason.ALGORITHM_NOT_FOUND)
        inputs = self._inputs(info)
        if info.algorithm_type is AlgorithmType.RELATED_ITEMS and not inputs:
            return []  # nothing of its catalogs to relate to: it yields nothing
        group = self._group(name.app_id, listed.algorithms, inputs)
        key = (ref.app_id, tuple(item.key for item in inputs))
        answer = await self._answers.get(
            key,
            partial(self._providers.recommend, ref, group, inputs, self._deadline.remaining()),
        )
        if answer is None:
            return Skipped(SkipReason.PROVIDER_UNAVAILABLE)
        return answer.get(name.algorithm_id, [])

    def _inputs(self, info: AlgorithmInfo) -> list[Ref]:
        """The request's items the algorithm takes: those of its catalogs."""
        return [item for item in self._query.items if info.accepts(item)]

    def _group(self, app_id: str, listed: dict[str, AlgorithmInfo], inputs: list[Ref]) -> list[str]:
        """The request's algorithms of this provider that take exactly `inputs`."""
        keys = [item.key for item in inputs]
        group: list[str] = []
        for name in self._query.algorithms:
            info = listed.get(name.algorithm_id)
            if name.app_id != app_id or info is None or name.algorithm_id in group:
                continue
            if info.algorithm_type is AlgorithmType.RELATED_ITEMS and not inputs:
                continue  # never called without items
            if [item.key for item in self._inputs(info)] == keys:
                group.append(name.algorithm_id)
        return group
