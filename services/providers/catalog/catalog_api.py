"""`ecom.spi.catalog.v1.CatalogProviderService`: proto <-> domain translation only.

The provider answers for the app id it is called under (`x-ecom-app-id`, or the default it was
bound with when a caller sends none), on the caller's site.
"""

from __future__ import annotations

import functools

import grpc

from ecom.common.v1 import catalog_pb2
from ecom.spi.catalog.v1 import catalog_provider_service_pb2 as pb
from ecom.spi.catalog.v1 import catalog_provider_service_pb2_grpc
from services.platform.identity import current_caller
from services.providers.catalog import convert
from services.providers.catalog.domain import WeightUnit
from services.providers.catalog.references import Ref
from services.providers.catalog.service import CatalogService

APP_ID_KEY = "x-ecom-app-id"

# The same references and items come back over and over (every cart refresh): each distinct
# one is translated once. References are looked up by their deterministic wire form (equal bytes,
# equal reference; the Ref keeps its canonical key once worked out); the cached messages are
# only ever copied from, never changed.
_data_proto = functools.lru_cache(maxsize=4096)(convert.item_data_to_proto)


@functools.lru_cache(maxsize=4096)
def _ref(wire: bytes) -> Ref:
    return convert.ref_from_proto(catalog_pb2.CatalogReference.FromString(wire))


def app_id_of(context: grpc.aio.ServicerContext, default: str) -> str:
    """The app id the suite calls the provider under."""
    for key, value in context.invocation_metadata() or ():
        if key == APP_ID_KEY and isinstance(value, str) and value:
            return value
    return default


class CatalogProviderServicer(catalog_provider_service_pb2_grpc.CatalogProviderServiceServicer):
    def __init__(self, catalog: CatalogService, *, default_app_id: str) -> None:
        self._catalog = catalog
        self._default_app_id = default_app_id

    async def GetCatalogItems(
        self, request: pb.GetCatalogItemsRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetCatalogItemsResponse:
        wanted = [entry.catalog_reference for entry in request.catalog_references]
        refs = [_ref(reference.SerializeToString(deterministic=True)) for reference in wanted]
        # LB when asked for; KG otherwise (the SPI always sends one of the two).
        unit = WeightUnit.LB if int(request.weight_unit) == WeightUnit.LB else WeightUnit.KG
        answers = await self._catalog.catalog_items(
            current_caller().site,
            app_id_of(context, self._default_app_id),
            refs,
            currency=request.currency,
            weight_unit=unit,
        )
        response = pb.GetCatalogItemsResponse()
        answered: set[str] = set()
        for reference, ref, data in zip(wanted, refs, answers, strict=True):
            if data is None or ref.key in answered:
                continue  # unknown, or a repeated reference already answered
            answered.add(ref.key)
            item = response.catalog_items.add()
            item.catalog_reference.CopyFrom(reference)
            item.data.CopyFrom(_data_proto(data))
        return response
