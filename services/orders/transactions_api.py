"""`ecom.orders.v1.OrderTransactionsService`: proto <-> service translation only."""

from __future__ import annotations

import grpc

from ecom.orders.v1 import (
    order_pb2,
    order_transactions_service_pb2,
    order_transactions_service_pb2_grpc,
)
from services.orders.api import bulk_counts, item_metadata
from services.orders.transactions import Outcome, TransactionsService
from services.platform.identity import current_caller

pb = order_transactions_service_pb2


def _status(outcome: Outcome) -> order_pb2.PaymentStatus.ValueType:
    return order_pb2.PaymentStatus.ValueType(int(outcome.payment_status))


class OrderTransactionsServicer(
    order_transactions_service_pb2_grpc.OrderTransactionsServiceServicer
):
    def __init__(self, transactions: TransactionsService) -> None:
        self._transactions = transactions

    async def ListTransactionsForSingleOrder(
        self, request: pb.ListTransactionsForSingleOrderRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListTransactionsForSingleOrderResponse:
        found = await self._transactions.list_for_orders(
            current_caller(), [request.order_id], single=True
        )
        return pb.ListTransactionsForSingleOrderResponse(order_transactions=found[0])

    async def ListTransactionsForMultipleOrders(
        self,
        request: pb.ListTransactionsForMultipleOrdersRequest,
        context: grpc.aio.ServicerContext,
    ) -> pb.ListTransactionsForMultipleOrdersResponse:
        found = await self._transactions.list_for_orders(
            current_caller(), list(request.order_ids), single=False
        )
        return pb.ListTransactionsForMultipleOrdersResponse(order_transactions=found)

    async def AddPayments(
        self, request: pb.AddPaymentsRequest, context: grpc.aio.ServicerContext
    ) -> pb.AddPaymentsResponse:
        return await self._transactions.add_payments(
            current_caller().site,
            request.order_id,
            list(request.payments),
            request=request,
            request_id=request.request_id,
            respond=lambda outcome: pb.AddPaymentsResponse(
                order_transactions=outcome.transactions,
                payments_ids=list(outcome.new_ids),
                payment_status=_status(outcome),
            ),
            response_type=pb.AddPaymentsResponse,
        )

    async def UpdatePaymentStatus(
        self, request: pb.UpdatePaymentStatusRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpdatePaymentStatusResponse:
        outcome = await self._transactions.update_payment_status(
            current_caller().site, request.order_id, request.payment_id, request.status
        )
        return pb.UpdatePaymentStatusResponse(
            order_transactions=outcome.transactions, payment_status=_status(outcome)
        )

    async def BulkUpdatePaymentStatuses(
        self, request: pb.BulkUpdatePaymentStatusesRequest, context: grpc.aio.ServicerContext
    ) -> pb.BulkUpdatePaymentStatusesResponse:
        results = await self._transactions.bulk_update_payment_statuses(
            current_caller().site,
            [(item.payment_id, item.order_id) for item in request.payment_and_order_ids],
            request.status,
        )
        response = pb.BulkUpdatePaymentStatusesResponse(
            bulk_action_metadata=bulk_counts(
                sum(1 for r in results if r.error is None), len(results)
            )
        )
        for result in results:
            out = response.results.add(
                item_metadata=item_metadata(result.payment_id, result.index, result.error)
            )
            if result.outcome is not None:
                out.payment_status = _status(result.outcome)
                if request.return_full_entity:
                    out.item.CopyFrom(result.outcome.transactions)
        return response

    async def AddRefund(
        self, request: pb.AddRefundRequest, context: grpc.aio.ServicerContext
    ) -> pb.AddRefundResponse:
        return await self._transactions.add_refund(
            current_caller().site,
            request.order_id,
            request.refund,
            request.side_effects,
            request=request,
            request_id=request.request_id,
            respond=lambda outcome: pb.AddRefundResponse(
                order_transactions=outcome.transactions,
                refund_id=outcome.new_ids[0],
                payment_status=_status(outcome),
            ),
            response_type=pb.AddRefundResponse,
        )
