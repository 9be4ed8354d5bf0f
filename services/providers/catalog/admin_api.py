"""`ecom.catalog.v1.CatalogAdminService`: proto <-> domain translation only. The site is always
the caller's (from the verified token)."""

from __future__ import annotations

import grpc

from ecom.catalog.v1 import catalog_admin_service_pb2 as pb
from ecom.catalog.v1 import catalog_admin_service_pb2_grpc
from services.platform.identity import current_caller
from services.providers.catalog import convert, stock
from services.providers.catalog.listing import ProductQuery
from services.providers.catalog.service import CatalogService


class CatalogAdminServicer(catalog_admin_service_pb2_grpc.CatalogAdminServiceServicer):
    def __init__(self, catalog: CatalogService) -> None:
        self._catalog = catalog

    async def UpsertProducts(
        self, request: pb.UpsertProductsRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpsertProductsResponse:
        stored = await self._catalog.upsert(
            current_caller().site, [convert.product_input(p) for p in request.products]
        )
        return pb.UpsertProductsResponse(products=[convert.product_to_proto(v) for v in stored])

    async def GetProduct(
        self, request: pb.GetProductRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetProductResponse:
        view = await self._catalog.get(current_caller().site, request.id)
        return pb.GetProductResponse(product=convert.product_to_proto(view))

    async def ListProducts(
        self, request: pb.ListProductsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListProductsResponse:
        wanted = request.filter
        page = await self._catalog.list_page(
            current_caller().site,
            ProductQuery(
                ids=tuple(wanted.ids),
                visible=wanted.visible if wanted.HasField("visible") else None,
                page_size=request.page_size,
                page_token=request.page_token,
            ),
        )
        return pb.ListProductsResponse(
            products=[convert.product_to_proto(v) for v in page.products],
            next_page_token=page.next_page_token,
        )

    async def DeleteProduct(
        self, request: pb.DeleteProductRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeleteProductResponse:
        await self._catalog.delete(current_caller().site, request.id, request.revision)
        return pb.DeleteProductResponse()

    async def SetStock(
        self, request: pb.SetStockRequest, context: grpc.aio.ServicerContext
    ) -> pb.SetStockResponse:
        settings = stock.check_settings(convert.stock_settings(request))
        levels = await self._catalog.set_stock(current_caller().site, settings)
        return pb.SetStockResponse(stock=[convert.stock_to_proto(level) for level in levels])

    async def AdjustStock(
        self, request: pb.AdjustStockRequest, context: grpc.aio.ServicerContext
    ) -> pb.AdjustStockResponse:
        adjustments = stock.check_adjustments(
            [(item.product_id, item.variant_id, item.delta) for item in request.items]
        )
        return await self._catalog.adjust_stock(
            current_caller().site,
            adjustments,
            request_id=request.request_id,
            request=request,
            respond=lambda levels: pb.AdjustStockResponse(
                stock=[convert.stock_to_proto(level) for level in levels]
            ),
            response_type=pb.AdjustStockResponse,
        )
