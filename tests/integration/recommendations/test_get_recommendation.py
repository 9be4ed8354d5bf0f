"""GetRecommendation's contract: validation, who may call, the minimum, filtering of provider
answers, failing and slow providers, unknown algorithms, and concurrent callers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import grpc
import pytest

from ecom.recommendations.v1 import recommendation_pb2
from ecom.spi.recommendations.v1 import recommendations_provider_service_pb2 as spi
from services.platform.identity import Role
from tests.integration.recommendations.kit import (
    BEST,
    BUILTIN,
    FBT,
    Line,
    ProviderServer,
    Reason,
    Served,
    approved,
    bad_fields,
    ids,
    new_order_id,
    order,
    pb,
    product,
    ref,
    skipped,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

RELATED = spi.ALGORITHM_TYPE_RELATED_ITEMS


async def seed(served: Served, site: str) -> None:
    """a is bought with b (twice) and c (once); b sells best."""
    await served.products(site, *(product(p) for p in "abcde"))
    now = datetime.now(UTC)
    await served.apply(
        [
            approved(site, order(new_order_id(), now, [Line("a"), Line("b", 3)])),
            approved(site, order(new_order_id(), now, [Line("a"), Line("b", 2), Line("c")])),
        ]
    )


@pytest.mark.parametrize(
    ("request_message", "fields"),
    [
        (pb.GetRecommendationRequest(), {"algorithms"}),
        (
            pb.GetRecommendationRequest(
                algorithms=[recommendation_pb2.Algorithm(algorithm_id=BEST)] * 11
            ),
            {"algorithms", *(f"algorithms[{i}].app_id" for i in range(11))},
        ),
        (
            pb.GetRecommendationRequest(
                algorithms=[recommendation_pb2.Algorithm(app_id=BUILTIN)],
                items=[ref("a", app_id=""), ref("")],
                minimum_recommended_items=101,
            ),
            {
                "algorithms[0].algorithm_id",
                "items[0].app_id",
                "items[1].catalog_item_id",
                "minimum_recommended_items",
            },
        ),
        (
            pb.GetRecommendationRequest(
                algorithms=[recommendation_pb2.Algorithm(app_id=BUILTIN, algorithm_id=BEST)],
                items=[ref(f"i{n}") for n in range(101)],
                minimum_recommended_items=-1,
            ),
            {"items", "minimum_recommended_items"},
        ),
    ],
)
async def test_bad_requests_are_invalid_arguments_naming_the_fields(
    served: Served, site: str, request_message: pb.GetRecommendationRequest, fields: set[str]
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await served.recommendations.GetRecommendation(
            request_message, metadata=served.visitor(site)
        )
    assert failure.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert bad_fields(failure.value) == fields


async def test_everyone_may_ask_and_nobody_without_a_token(served: Served, site: str) -> None:
    await seed(served, site)
    for role in Role:
        response = await served.recommend(
            site, [(BUILTIN, BEST)], metadata=served.token(site, role, "someone")
        )
        assert ids(response.recommendation.items) == ["b", "a", "c"]
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await served.recommendations.GetRecommendation(
            pb.GetRecommendationRequest(
                algorithms=[recommendation_pb2.Algorithm(app_id=BUILTIN, algorithm_id=BEST)]
            )
        )
    assert failure.value.code() is grpc.StatusCode.UNAUTHENTICATED


async def test_the_minimum_decides_the_winner(served: Served, site: str) -> None:
    await seed(served, site)
    algorithms = [(BUILTIN, FBT), (BUILTIN, BEST)]
    # 0 means 1: FREQUENTLY_BOUGHT_TOGETHER yields b and c.
    response = await served.recommend(site, algorithms, [ref("a")])
    assert ids(response.recommendation.items) == ["b", "c"]
    assert response.recommendation.algorithm.algorithm_id == FBT
    # 3 needs BEST_SELLERS, which still leaves the requested item out: only b and c remain.
    response = await served.recommend(site, algorithms, [ref("a")], minimum=3)
    assert not response.recommendation.items
    assert not response.recommendation.HasField("algorithm")
    assert skipped(response) == [
        (BUILTIN, FBT, Reason.REASON_NOT_ENOUGH_ITEMS, 2),
        (BUILTIN, BEST, Reason.REASON_NOT_ENOUGH_ITEMS, 2),
    ]
    # Without items, FREQUENTLY_BOUGHT_TOGETHER yields nothing and BEST_SELLERS wins.
    response = await served.recommend(site, algorithms, minimum=3)
    assert ids(response.recommendation.items) == ["b", "a", "c"]
    assert skipped(response) == [(BUILTIN, FBT, Reason.REASON_NOT_ENOUGH_ITEMS, 0)]


async def test_items_the_catalog_stops_selling_disappear(served: Served, site: str) -> None:
    await seed(served, site)
    await served.set_stock(site, "b", 0)
    response = await served.recommend(site, [(BUILTIN, BEST)])
    assert ids(response.recommendation.items) == ["a", "c"]
    await served.set_stock(site, "b", 4)
    await served.delete_product(site, "c")
    response = await served.recommend(site, [(BUILTIN, BEST)])
    assert ids(response.recommendation.items) == ["b", "a"]


async def test_provider_items_are_filtered_and_capped(
    served: Served, site: str, provider: ProviderServer
) -> None:
    await served.products(site, *(product(f"q{n}") for n in range(120)), product("a"))
    answer = [ref("a", variantId="v1"), ref("q0"), ref("q0"), ref("q0", Size="M")]
    answer += [ref(f"q{n}") for n in range(1, 120)]
    provider.servicer.offer("many", answer)
    await served.register(site, "many.recs", provider.target)
    response = await served.recommend(site, [("many.recs", "many")], [ref("a")])
    items = response.recommendation.items
    # The request's item (any variant) and repeats go; other options make another reference,
    # which stays (the reference catalog ignores options it does not use, so it is sold); what
    # the provider sent beyond 100 was dropped before filtering.
    assert [r.catalog_item_id for r in items[:3]] == ["q0", "q0", "q1"]
    assert dict(items[1].options) == {"Size": "M"}
    assert len(items) == 98  # 100 kept of 123, minus the requested item and one repeat


async def test_failing_and_slow_providers_are_passed_over(
    served: Served, site: str, provider: ProviderServer
) -> None:
    await seed(served, site)
    provider.servicer.offer("slow", [ref("d")])
    await served.register(site, "slow.recs", provider.target, timeout_ms=200)
    provider.servicer.delay_s = 1.0
    started = asyncio.get_running_loop().time()
    response = await served.recommend(site, [("slow.recs", "slow"), (BUILTIN, BEST)])
    assert asyncio.get_running_loop().time() - started < 0.9
    assert ids(response.recommendation.items) == ["b", "a", "c"]
    assert skipped(response) == [("slow.recs", "slow", Reason.REASON_PROVIDER_UNAVAILABLE, 0)]

    provider.servicer.delay_s = 0
    provider.servicer.fail_recommend = grpc.StatusCode.INTERNAL
    response = await served.recommend(site, [("slow.recs", "slow"), (BUILTIN, BEST)])
    assert skipped(response) == [("slow.recs", "slow", Reason.REASON_PROVIDER_UNAVAILABLE, 0)]

    provider.servicer.fail_recommend = None
    response = await served.recommend(site, [("slow.recs", "slow"), (BUILTIN, BEST)])
    assert ids(response.recommendation.items) == ["d"]
    assert response.recommendation.algorithm.app_id == "slow.recs"


async def test_a_provider_that_cannot_list_is_unavailable(
    served: Served, site: str, provider: ProviderServer
) -> None:
    await seed(served, site)
    provider.servicer.offer("x", [ref("d")])
    provider.servicer.fail_list = grpc.StatusCode.FAILED_PRECONDITION
    await served.register(site, "broken.recs", provider.target)
    response = await served.recommend(site, [("broken.recs", "x"), (BUILTIN, BEST)])
    assert skipped(response) == [("broken.recs", "x", Reason.REASON_PROVIDER_UNAVAILABLE, 0)]
    assert not provider.servicer.requests


async def test_related_provider_algorithms_get_only_their_catalogs_items(
    served: Served, site: str, provider: ProviderServer
) -> None:
    await served.products(site, product("a"), product("d"), product("e"))
    provider.servicer.offer("mine", [ref("d")], kind=RELATED, catalogs=["ecom.catalog"])
    provider.servicer.offer("theirs", [ref("e")], kind=RELATED, catalogs=["other.catalog"])
    await served.register(site, "related.recs", provider.target)
    request = [ref("x", app_id="other.catalog"), ref("a")]
    response = await served.recommend(site, [("related.recs", "mine")], request)
    assert ids(response.recommendation.items) == ["d"]
    assert [ids(r.items) for r in provider.servicer.requests] == [["a"]]
    # Only items of catalog "other.catalog" go to "theirs"; its answer (e) is sold.
    response = await served.recommend(site, [("related.recs", "theirs")], request)
    assert ids(response.recommendation.items) == ["e"]
    assert ids(provider.servicer.requests[-1].items) == ["x"]
    # Without an item of its catalogs it is not called and yields nothing.
    calls = len(provider.servicer.requests)
    response = await served.recommend(site, [("related.recs", "theirs")], [ref("a")])
    assert skipped(response) == [("related.recs", "theirs", Reason.REASON_NOT_ENOUGH_ITEMS, 0)]
    assert len(provider.servicer.requests) == calls


async def test_providers_get_the_spi_metadata_and_no_token(
    served: Served, site: str, provider: ProviderServer
) -> None:
    await served.products(site, product("d"))
    provider.servicer.offer("x", [ref("d")])
    await served.register(site, "meta.recs", provider.target)
    await served.recommend(
        site, [("meta.recs", "x")], metadata=served.token(site, Role.MEMBER, "m-1")
    )
    sent = provider.servicer.metadata[-1]
    assert sent["x-ecom-site"] == site
    assert sent["x-ecom-app-id"] == "meta.recs"
    assert sent["x-ecom-caller"] == "member/m-1"
    assert "authorization" not in sent


async def test_concurrent_callers_get_the_same_answer(served: Served, site: str) -> None:
    await seed(served, site)
    stubs = [served.new_stub() for _ in range(8)]
    request = pb.GetRecommendationRequest(
        items=[ref("a")],
        algorithms=[recommendation_pb2.Algorithm(app_id=BUILTIN, algorithm_id=FBT)],
    )
    answers = await asyncio.gather(
        *(stub.GetRecommendation(request, metadata=served.visitor(site)) for stub in stubs)
    )
    assert {tuple(ids(a.recommendation.items)) for a in answers} == {("b", "c")}
