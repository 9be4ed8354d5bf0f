"""`ecom.spi.inventory.v1.InventoryProviderService`: proto <-> domain translation only.

INSUFFICIENT_INVENTORY leaves with the SPI's `InsufficientInventory` detail next to the
ErrorInfo, listing every short item with its reference exactly as the request sent it.
"""

from __future__ import annotations

import grpc

from ecom.common.v1 import catalog_pb2
from ecom.spi.inventory.v1 import inventory_provider_service_pb2 as pb
from ecom.spi.inventory.v1 import inventory_provider_service_pb2_grpc
from services.platform.errors import FailedPrecondition
from services.platform.identity import current_caller
from services.providers.catalog import convert
from services.providers.catalog.catalog_api import app_id_of
from services.providers.catalog.inventory import InventoryService
from services.providers.catalog.reservations import InsufficientStock


def _with_detail(exc: InsufficientStock, items: list[pb.InventoryItem]) -> FailedPrecondition:
    originals: dict[str, catalog_pb2.CatalogReference] = {}
    for item in items:
        reference = item.catalog_reference
        originals.setdefault(convert.ref_from_proto(reference).key, reference)
    return FailedPrecondition(
        exc.reason,
        exc.message,
        metadata=exc.metadata,
        details=[convert.insufficient_to_proto(exc.shortages, originals)],
    )


class InventoryProviderServicer(
    inventory_provider_service_pb2_grpc.InventoryProviderServiceServicer
):
    def __init__(self, inventory: InventoryService, *, default_app_id: str) -> None:
        self._inventory = inventory
        self._default_app_id = default_app_id

    async def ReserveInventory(
        self, request: pb.ReserveInventoryRequest, context: grpc.aio.ServicerContext
    ) -> pb.ReserveInventoryResponse:
        items = list(request.items)
        try:
            reservation = await self._inventory.reserve(
                current_caller().site,
                app_id_of(context, self._default_app_id),
                request.reservation_id,
                convert.inventory_items(items),
                request.ttl.ToNanoseconds() / 1e9,
            )
        except InsufficientStock as exc:
            raise _with_detail(exc, items) from None
        return pb.ReserveInventoryResponse(reservation=convert.reservation_to_proto(reservation))

    async def ReleaseInventory(
        self, request: pb.ReleaseInventoryRequest, context: grpc.aio.ServicerContext
    ) -> pb.ReleaseInventoryResponse:
        reservation = await self._inventory.release(current_caller().site, request.reservation_id)
        if reservation is None:
            return pb.ReleaseInventoryResponse()
        return pb.ReleaseInventoryResponse(reservation=convert.reservation_to_proto(reservation))

    async def CommitInventory(
        self, request: pb.CommitInventoryRequest, context: grpc.aio.ServicerContext
    ) -> pb.CommitInventoryResponse:
        try:
            reservation = await self._inventory.commit(
                current_caller().site,
                app_id_of(context, self._default_app_id),
                request.reservation_id,
                request.order_id,
            )
        except InsufficientStock as exc:
            # The items are the reservation's own: their references are the stored ones.
            raise _with_detail(exc, []) from None
        return pb.CommitInventoryResponse(reservation=convert.reservation_to_proto(reservation))

    async def RestockInventory(
        self, request: pb.RestockInventoryRequest, context: grpc.aio.ServicerContext
    ) -> pb.RestockInventoryResponse:
        # A repeat is the same id with the same items; order id and settings do not count.
        fingerprint = pb.RestockInventoryRequest(request_id=request.request_id, items=request.items)
        return await self._inventory.restock(
            current_caller().site,
            app_id_of(context, self._default_app_id),
            convert.inventory_items(list(request.items)),
            request_id=request.request_id,
            fingerprint=fingerprint,
            respond=lambda skipped: pb.RestockInventoryResponse(
                skipped_items=[convert.ref_to_proto(ref) for ref in skipped]
            ),
            response_type=pb.RestockInventoryResponse,
        )
