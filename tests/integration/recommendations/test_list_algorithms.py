"""ListAvailableAlgorithms: the built-ins first, then providers' algorithms in registration order,
failing providers named, answers cached."""

from __future__ import annotations

import grpc
import pytest

from ecom.recommendations.v1 import recommendation_pb2
from ecom.spi.recommendations.v1 import recommendations_provider_service_pb2 as spi
from services.platform.identity import Role
from tests.integration.recommendations.kit import (
    BEST,
    BUILTIN,
    FBT,
    Served,
    pb,
    ref,
    start_provider,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def listed(served: Served, site: str) -> pb.ListAvailableAlgorithmsResponse:
    response: pb.ListAvailableAlgorithmsResponse = (
        await served.recommendations.ListAvailableAlgorithms(
            pb.ListAvailableAlgorithmsRequest(), metadata=served.token(site, Role.VISITOR, "v-1")
        )
    )
    return response


async def test_without_providers_the_built_ins_are_listed(served: Served, site: str) -> None:
    response = await listed(served, site)
    assert [(a.app_id, a.algorithm_id) for a in response.available_algorithms] == [
        (BUILTIN, FBT),
        (BUILTIN, BEST),
    ]
    together, best = response.available_algorithms
    assert together.algorithm_type == recommendation_pb2.ALGORITHM_TYPE_RELATED_ITEMS
    assert best.algorithm_type == recommendation_pb2.ALGORITHM_TYPE_GLOBAL
    assert "90 days" in together.additional_info and "30 days" in best.additional_info
    assert together.name and together.description and not together.catalog_app_ids
    assert not response.unavailable_app_ids


async def test_providers_follow_in_registration_order(served: Served, site: str) -> None:
    zeta, alpha, broken = await start_provider(), await start_provider(), await start_provider()
    try:
        zeta.servicer.offer("z-related", [], kind=spi.ALGORITHM_TYPE_RELATED_ITEMS, catalogs=["c1"])
        zeta.servicer.offer("z-global", [ref("x")])
        alpha.servicer.offer("a-global", [ref("x")])
        # Not listed: no type, or an id seen before in the same answer.
        alpha.servicer.algorithms.append(spi.Algorithm(algorithm_id="untyped", name="Untyped"))
        alpha.servicer.algorithms.append(
            spi.Algorithm(
                algorithm_id="a-global", name="Again", algorithm_type=spi.ALGORITHM_TYPE_GLOBAL
            )
        )
        broken.servicer.fail_list = grpc.StatusCode.UNAVAILABLE
        # Registered zeta first: registration order, not app id order.
        await served.register(site, "zeta.recs", zeta.target)
        await served.register(site, "broken.recs", broken.target)
        await served.register(site, "alpha.recs", alpha.target)

        response = await listed(served, site)
        assert [(a.app_id, a.algorithm_id) for a in response.available_algorithms] == [
            (BUILTIN, FBT),
            (BUILTIN, BEST),
            ("zeta.recs", "z-related"),
            ("zeta.recs", "z-global"),
            ("alpha.recs", "a-global"),
        ]
        related = response.available_algorithms[2]
        assert related.algorithm_type == recommendation_pb2.ALGORITHM_TYPE_RELATED_ITEMS
        assert list(related.catalog_app_ids) == ["c1"]
        assert related.name == "Algorithm z-related"
        assert list(response.unavailable_app_ids) == ["broken.recs"]

        # Answers are cached: asking again does not call the providers that answered.
        calls = (zeta.servicer.list_calls, alpha.servicer.list_calls)
        again = await listed(served, site)
        assert again.available_algorithms == response.available_algorithms
        assert (zeta.servicer.list_calls, alpha.servicer.list_calls) == calls
    finally:
        for server in (zeta, alpha, broken):
            await server.server.stop(0)
