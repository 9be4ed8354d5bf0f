"""External algorithms: the site's recommendations providers (`ecom.spi.recommendations.v1`).

Finding them: `ProviderClient.providers` (the registry's list, cached a few seconds) for
GetRecommendation, which only needs a provider by `app_id`; ListAvailableAlgorithms needs them in
registration order, which it asks the registry for directly (sorted by creation date), falling
back to the client's list when the registry does not answer.

Calling them: through the ProviderClient (deadline, SPI metadata, breaker), never raising for a
provider failure. ListAlgorithms answers are cached (the contracts allow up to 60 s), and so are
identical GetRecommendations requests (up to a minute).

A provider registered under the built-ins' app id "ecom.recommendations" can never be addressed
(the built-ins answer to that name), so it is ignored.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import grpc

from ecom.common.v1 import query_pb2
from ecom.providers.v1 import (
    provider_pb2,
    provider_registry_service_pb2,
    provider_registry_service_pb2_grpc,
)
from ecom.spi.recommendations.v1 import recommendations_provider_service_pb2 as spi
from services.platform.providers import Kind, ProviderClient, ProviderRef, ResponseCache
from services.recommendations.convert import algorithm_type, ref_from_proto, ref_to_proto
from services.recommendations.domain import (
    BUILTIN_APP_ID,
    MAX_RECOMMENDED,
    AlgorithmInfo,
    AlgorithmType,
    Ref,
)

if TYPE_CHECKING:
    from services.platform.runtime import Runtime

log = logging.getLogger("ecom.recommendations.providers")

LIST_ALGORITHMS = Kind.RECOMMENDATIONS.method("ListAlgorithms")
GET_RECOMMENDATIONS = Kind.RECOMMENDATIONS.method("GetRecommendations")
#: A provider lists at most this many algorithms (the SPI's limit); more are ignored.
MAX_PROVIDER_ALGORITHMS = 50
_PAGE_SIZE = 100


@dataclass(frozen=True)
class Listed:
    """A provider's algorithms by id (None: the provider failed to list them)."""

    ref: ProviderRef
    algorithms: dict[str, AlgorithmInfo] | None


def algorithms_from_proto(
    app_id: str, response: spi.ListAlgorithmsResponse
) -> dict[str, AlgorithmInfo]:
    """The usable algorithms of an answer, in its order: an id, a known type, first of its id."""
    found: dict[str, AlgorithmInfo] = {}
    for algorithm in response.algorithms[:MAX_PROVIDER_ALGORITHMS]:
        kind = algorithm_type(algorithm.algorithm_type)
        if not algorithm.algorithm_id or kind is AlgorithmType.UNSPECIFIED:
            continue  # the SPI says the suite ignores algorithms without a type
        found.setdefault(
            algorithm.algorithm_id,
            AlgorithmInfo(
                app_id=app_id,
                algorithm_id=algorithm.algorithm_id,
                name=algorithm.name,
                description=algorithm.description,
                additional_info=algorithm.additional_info,
                algorithm_type=kind,
                catalog_app_ids=tuple(algorithm.catalog_app_ids),
            ),
        )
    return found


class RecommendationProviders:
    def __init__(self, runtime: Runtime, *, cache_s: float) -> None:
        self._runtime = runtime
        self._client: ProviderClient = runtime.providers
        self._algorithms_cache = ResponseCache(ttl_s=cache_s) if cache_s > 0 else None
        self._answers_cache = ResponseCache(ttl_s=cache_s) if cache_s > 0 else None

    async def by_app_id(self, site: str) -> dict[str, ProviderRef]:
        refs = await self._client.providers(site, Kind.RECOMMENDATIONS)
        return {ref.app_id: ref for ref in refs if ref.app_id != BUILTIN_APP_ID}

    async def in_registration_order(self, site: str) -> list[ProviderRef]:
        try:
            refs = await self._registered(site)
        except grpc.aio.AioRpcError as exc:
            log.warning("registry did not list providers in order (%s); by app id", exc.code())
            refs = await self._client.providers(site, Kind.RECOMMENDATIONS)
        return [ref for ref in refs if ref.app_id != BUILTIN_APP_ID]

    async def _registered(self, site: str) -> list[ProviderRef]:
        stub = provider_registry_service_pb2_grpc.ProviderRegistryServiceStub(
            self._runtime.peer_channel("providers")
        )
        pb = provider_registry_service_pb2
        request = pb.ListProvidersRequest(
            filter=pb.ProviderFilter(
                kinds=[provider_pb2.PROVIDER_KIND_RECOMMENDATIONS], enabled=True
            ),
            sort=[
                pb.ProviderSort(
                    field=pb.PROVIDER_SORT_FIELD_CREATED_DATE, order=query_pb2.SORT_ORDER_ASC
                )
            ],
            page_size=_PAGE_SIZE,
        )
        refs: list[ProviderRef] = []
        while True:
            response = await stub.ListProviders(
                request,
                metadata=self._runtime.service_metadata(site),
                timeout=self._client.default_timeout_s,
            )
            refs.extend(self._client.ref_from_proto(site, p) for p in response.providers)
            if not response.next_page_token:
                return refs
            request.page_token = response.next_page_token

    async def algorithms(self, ref: ProviderRef, remaining_s: float | None) -> Listed:
        outcome = await self._client.call(
            ref,
            LIST_ALGORITHMS,
            spi.ListAlgorithmsRequest(),
            spi.ListAlgorithmsResponse,
            remaining_s=remaining_s,
            cache=self._algorithms_cache,
        )
        if outcome.response is None:
            log.info("provider %s did not list its algorithms: %s", ref.app_id, outcome.message)
            return Listed(ref, None)
        return Listed(ref, algorithms_from_proto(ref.app_id, outcome.response))

    async def recommend(
        self,
        ref: ProviderRef,
        algorithm_ids: Sequence[str],
        items: Sequence[Ref],
        remaining_s: float | None,
    ) -> dict[str, list[Ref]] | None:
        """Each algorithm's items, as the provider ranked them (at most 100, malformed
        references dropped); None when the provider failed."""
        request = spi.GetRecommendationsRequest(
            items=[ref_to_proto(item) for item in items], algorithm_ids=list(algorithm_ids)
        )
        outcome = await self._client.call(
            ref,
            GET_RECOMMENDATIONS,
            request,
            spi.GetRecommendationsResponse,
            remaining_s=remaining_s,
            cache=self._answers_cache,
        )
        if outcome.response is None:
            log.info("provider %s did not recommend: %s", ref.app_id, outcome.message)
            return None
        wanted = set(algorithm_ids)
        answers: dict[str, list[Ref]] = {}
        for recommendation in outcome.response.recommendations:
            if recommendation.algorithm_id not in wanted or recommendation.algorithm_id in answers:
                continue
            answers[recommendation.algorithm_id] = [
                ref
                for ref in map(ref_from_proto, recommendation.items[:MAX_RECOMMENDED])
                if ref.app_id and ref.catalog_item_id
            ]
        return answers
