"""`ecom.recommendations.v1.RecommendationsService`: proto <-> domain translation only.

The site is always the caller's (from the verified token); errors are domain exceptions that the
platform interceptor maps to statuses.
"""

from __future__ import annotations

import grpc

from ecom.recommendations.v1 import (
    recommendation_pb2,
    recommendations_service_pb2,
    recommendations_service_pb2_grpc,
)
from services.platform.identity import current_caller
from services.recommendations.convert import (
    algorithm_from_proto,
    algorithm_to_proto,
    info_to_proto,
    ref_from_proto,
    ref_to_proto,
)
from services.recommendations.domain import RecommendationQuery, check_query
from services.recommendations.service import RecommendationsService

pb = recommendations_service_pb2


class RecommendationsServicer(recommendations_service_pb2_grpc.RecommendationsServiceServicer):
    def __init__(self, service: RecommendationsService) -> None:
        self._service = service

    async def GetRecommendation(
        self, request: pb.GetRecommendationRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetRecommendationResponse:
        items = [ref_from_proto(item) for item in request.items]
        algorithms = [algorithm_from_proto(algorithm) for algorithm in request.algorithms]
        minimum = check_query(items, algorithms, request.minimum_recommended_items)
        decision = await self._service.recommend(
            current_caller().site,
            RecommendationQuery(tuple(items), tuple(algorithms), minimum),
            context.time_remaining(),
        )
        recommendation = recommendation_pb2.Recommendation(
            items=[ref_to_proto(ref) for ref in decision.items]
        )
        if decision.winner is not None:
            recommendation.algorithm.CopyFrom(algorithm_to_proto(decision.winner))
        return pb.GetRecommendationResponse(
            recommendation=recommendation,
            skipped_algorithms=[
                pb.SkippedAlgorithm(
                    algorithm=algorithm_to_proto(name),
                    reason=pb.SkippedAlgorithm.Reason.ValueType(int(skipped.reason)),
                    item_count=skipped.item_count,
                )
                for name, skipped in decision.skipped
            ],
        )

    async def ListAvailableAlgorithms(
        self, request: pb.ListAvailableAlgorithmsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListAvailableAlgorithmsResponse:
        available = await self._service.available_algorithms(
            current_caller().site, context.time_remaining()
        )
        return pb.ListAvailableAlgorithmsResponse(
            available_algorithms=[info_to_proto(info) for info in available.algorithms],
            unavailable_app_ids=available.unavailable_app_ids,
        )
