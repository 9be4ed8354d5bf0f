"""Proto <-> domain translation shared by the servicer and the provider adapters."""

from __future__ import annotations

from google.protobuf import json_format, struct_pb2

from ecom.common.v1 import catalog_pb2
from ecom.recommendations.v1 import recommendation_pb2
from services.recommendations.domain import AlgorithmInfo, AlgorithmName, AlgorithmType, Ref


def ref_from_proto(reference: catalog_pb2.CatalogReference) -> Ref:
    options = json_format.MessageToDict(reference.options) if reference.HasField("options") else {}
    return Ref(reference.app_id, reference.catalog_item_id, options)


def ref_to_proto(ref: Ref) -> catalog_pb2.CatalogReference:
    reference = catalog_pb2.CatalogReference(app_id=ref.app_id, catalog_item_id=ref.catalog_item_id)
    if ref.options:
        reference.options.CopyFrom(json_format.ParseDict(dict(ref.options), struct_pb2.Struct()))
    return reference


def algorithm_from_proto(algorithm: recommendation_pb2.Algorithm) -> AlgorithmName:
    return AlgorithmName(algorithm.app_id, algorithm.algorithm_id)


def algorithm_to_proto(name: AlgorithmName) -> recommendation_pb2.Algorithm:
    return recommendation_pb2.Algorithm(app_id=name.app_id, algorithm_id=name.algorithm_id)


def algorithm_type(value: int) -> AlgorithmType:
    try:
        return AlgorithmType(value)
    except ValueError:
        return AlgorithmType.UNSPECIFIED  # a newer enum value we do not know: ignored


def info_to_proto(info: AlgorithmInfo) -> recommendation_pb2.AlgorithmInfo:
    return recommendation_pb2.AlgorithmInfo(
        app_id=info.app_id,
        algorithm_id=info.algorithm_id,
        name=info.name,
        description=info.description,
        additional_info=info.additional_info,
        algorithm_type=recommendation_pb2.AlgorithmType.ValueType(int(info.algorithm_type)),
        catalog_app_ids=list(info.catalog_app_ids),
    )
