"""Bases of the test doubles of suite services and provider SPIs: every RPC answers UNIMPLEMENTED,
as the generated servicer base does at run time, so that a double defines only the RPCs it serves.
(The generated stubs declare each RPC abstract, which a partial double would not satisfy.)"""

from __future__ import annotations

from typing import NoReturn

import grpc

from ecom.discounts.v1 import discount_rules_service_pb2 as discounts_pb
from ecom.discounts.v1 import discount_rules_service_pb2_grpc
from ecom.orders.v1 import orders_service_pb2 as orders_pb
from ecom.orders.v1 import orders_service_pb2_grpc
from ecom.spi.inventory.v1 import inventory_provider_service_pb2 as inventory_pb
from ecom.spi.inventory.v1 import inventory_provider_service_pb2_grpc


def _unimplemented(context: grpc.aio.ServicerContext) -> NoReturn:
    context.set_code(grpc.StatusCode.UNIMPLEMENTED)
    context.set_details("Method not implemented!")
    raise NotImplementedError("Method not implemented!")


class UnimplementedOrdersService(orders_service_pb2_grpc.OrdersServiceServicer):
    async def CreateOrder(
        self, request: orders_pb.CreateOrderRequest, context: grpc.aio.ServicerContext
    ) -> orders_pb.CreateOrderResponse:
        _unimplemented(context)

    async def GetOrder(
        self, request: orders_pb.GetOrderRequest, context: grpc.aio.ServicerContext
    ) -> orders_pb.GetOrderResponse:
        _unimplemented(context)

    async def SearchOrders(
        self, request: orders_pb.SearchOrdersRequest, context: grpc.aio.ServicerContext
    ) -> orders_pb.SearchOrdersResponse:
        _unimplemented(context)

    async def UpdateOrder(
        self, request: orders_pb.UpdateOrderRequest, context: grpc.aio.ServicerContext
    ) -> orders_pb.UpdateOrderResponse:
        _unimplemented(context)

    async def BulkUpdateOrders(
        self, request: orders_pb.BulkUpdateOrdersRequest, context: grpc.aio.ServicerContext
    ) -> orders_pb.BulkUpdateOrdersResponse:
        _unimplemented(context)

    async def CancelOrder(
        self, request: orders_pb.CancelOrderRequest, context: grpc.aio.ServicerContext
    ) -> orders_pb.CancelOrderResponse:
        _unimplemented(context)

    async def ApproveOrder(
        self, request: orders_pb.ApproveOrderRequest, context: grpc.aio.ServicerContext
    ) -> orders_pb.ApproveOrderResponse:
        _unimplemented(context)

    async def UpdateOrderLineItem(
        self, request: orders_pb.UpdateOrderLineItemRequest, context: grpc.aio.ServicerContext
    ) -> orders_pb.UpdateOrderLineItemResponse:
        _unimplemented(context)

    async def AddActivity(
        self, request: orders_pb.AddActivityRequest, context: grpc.aio.ServicerContext
    ) -> orders_pb.AddActivityResponse:
        _unimplemented(context)

    async def AddActivities(
        self, request: orders_pb.AddActivitiesRequest, context: grpc.aio.ServicerContext
    ) -> orders_pb.AddActivitiesResponse:
        _unimplemented(context)

    async def UpdateActivity(
        self, request: orders_pb.UpdateActivityRequest, context: grpc.aio.ServicerContext
    ) -> orders_pb.UpdateActivityResponse:
        _unimplemented(context)

    async def DeleteActivity(
        self, request: orders_pb.DeleteActivityRequest, context: grpc.aio.ServicerContext
    ) -> orders_pb.DeleteActivityResponse:
        _unimplemented(context)

    async def AggregateOrders(
        self, request: orders_pb.AggregateOrdersRequest, context: grpc.aio.ServicerContext
    ) -> orders_pb.AggregateOrdersResponse:
        _unimplemented(context)

    async def BulkUpdateOrderTags(
        self, request: orders_pb.BulkUpdateOrderTagsRequest, context: grpc.aio.ServicerContext
    ) -> orders_pb.BulkUpdateOrderTagsResponse:
        _unimplemented(context)

    async def ArchiveOrder(
        self, request: orders_pb.ArchiveOrderRequest, context: grpc.aio.ServicerContext
    ) -> orders_pb.ArchiveOrderResponse:
        _unimplemented(context)

    async def UnarchiveOrder(
        self, request: orders_pb.UnarchiveOrderRequest, context: grpc.aio.ServicerContext
    ) -> orders_pb.UnarchiveOrderResponse:
        _unimplemented(context)


class UnimplementedDiscountRulesService(
    discount_rules_service_pb2_grpc.DiscountRulesServiceServicer
):
    async def CreateDiscountRule(
        self, request: discounts_pb.CreateDiscountRuleRequest, context: grpc.aio.ServicerContext
    ) -> discounts_pb.CreateDiscountRuleResponse:
        _unimplemented(context)

    async def GetDiscountRule(
        self, request: discounts_pb.GetDiscountRuleRequest, context: grpc.aio.ServicerContext
    ) -> discounts_pb.GetDiscountRuleResponse:
        _unimplemented(context)

    async def UpdateDiscountRule(
        self, request: discounts_pb.UpdateDiscountRuleRequest, context: grpc.aio.ServicerContext
    ) -> discounts_pb.UpdateDiscountRuleResponse:
        _unimplemented(context)

    async def DeleteDiscountRule(
        self, request: discounts_pb.DeleteDiscountRuleRequest, context: grpc.aio.ServicerContext
    ) -> discounts_pb.DeleteDiscountRuleResponse:
        _unimplemented(context)

    async def QueryDiscountRules(
        self, request: discounts_pb.QueryDiscountRulesRequest, context: grpc.aio.ServicerContext
    ) -> discounts_pb.QueryDiscountRulesResponse:
        _unimplemented(context)

    async def GetAppliedDiscounts(
        self, request: discounts_pb.GetAppliedDiscountsRequest, context: grpc.aio.ServicerContext
    ) -> discounts_pb.GetAppliedDiscountsResponse:
        _unimplemented(context)

    async def ReserveDiscountUsage(
        self, request: discounts_pb.ReserveDiscountUsageRequest, context: grpc.aio.ServicerContext
    ) -> discounts_pb.ReserveDiscountUsageResponse:
        _unimplemented(context)

    async def ReleaseDiscountUsage(
        self, request: discounts_pb.ReleaseDiscountUsageRequest, context: grpc.aio.ServicerContext
    ) -> discounts_pb.ReleaseDiscountUsageResponse:
        _unimplemented(context)

    async def RecordDiscountUsage(
        self, request: discounts_pb.RecordDiscountUsageRequest, context: grpc.aio.ServicerContext
    ) -> discounts_pb.RecordDiscountUsageResponse:
        _unimplemented(context)

    async def GetDiscountSettings(
        self, request: discounts_pb.GetDiscountSettingsRequest, context: grpc.aio.ServicerContext
    ) -> discounts_pb.GetDiscountSettingsResponse:
        _unimplemented(context)

    async def UpdateDiscountSettings(
        self, request: discounts_pb.UpdateDiscountSettingsRequest, context: grpc.aio.ServicerContext
    ) -> discounts_pb.UpdateDiscountSettingsResponse:
        _unimplemented(context)


class UnimplementedInventoryProvider(
    inventory_provider_service_pb2_grpc.InventoryProviderServiceServicer
):
    async def ReserveInventory(
        self, request: inventory_pb.ReserveInventoryRequest, context: grpc.aio.ServicerContext
    ) -> inventory_pb.ReserveInventoryResponse:
        _unimplemented(context)

    async def ReleaseInventory(
        self, request: inventory_pb.ReleaseInventoryRequest, context: grpc.aio.ServicerContext
    ) -> inventory_pb.ReleaseInventoryResponse:
        _unimplemented(context)

    async def CommitInventory(
        self, request: inventory_pb.CommitInventoryRequest, context: grpc.aio.ServicerContext
    ) -> inventory_pb.CommitInventoryResponse:
        _unimplemented(context)

    async def RestockInventory(
        self, request: inventory_pb.RestockInventoryRequest, context: grpc.aio.ServicerContext
    ) -> inventory_pb.RestockInventoryResponse:
        _unimplemented(context)
