"""OrderTransactionsService over real gRPC and PostgreSQL: the payment-status table with the
events of each order in order, status changes, refunds, limits and concurrency."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import grpc
import pytest

from ecom.orders.v1 import events_pb2, order_pb2, transactions_pb2
from services.platform.identity import Role
from tests.integration.orders.kit import (
    Served,
    create,
    details,
    event_types,
    gift_card,
    line,
    new_order,
    payload,
    pb,
    regular,
    tx,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

APPROVED = transactions_pb2.TRANSACTION_STATUS_APPROVED
PENDING = transactions_pb2.TRANSACTION_STATUS_PENDING
AUTHORIZED = transactions_pb2.TRANSACTION_STATUS_AUTHORIZED
Step = Callable[[Served, str, order_pb2.Order], Awaitable[None]]


def refund(payment_id: str, amount: str, **details_fields: object) -> transactions_pb2.Refund:
    return transactions_pb2.Refund(
        transactions=[_refund_transaction(payment_id, amount)],
        details=transactions_pb2.RefundDetails(**details_fields),  # type: ignore[arg-type]
    )


def _refund_transaction(payment_id: str, amount: str) -> transactions_pb2.RefundTransaction:
    transaction = transactions_pb2.RefundTransaction(payment_id=payment_id)
    transaction.amount.amount = amount
    return transaction


async def pay(
    served: Served, site: str, order_id: str, *payments: transactions_pb2.Payment
) -> tx.AddPaymentsResponse:
    response: tx.AddPaymentsResponse = await served.transactions.AddPayments(
        tx.AddPaymentsRequest(order_id=order_id, payments=list(payments)),
        metadata=served.admin(site),
    )
    return response


async def add_refund(
    served: Served, site: str, order_id: str, given: transactions_pb2.Refund
) -> tx.AddRefundResponse:
    response: tx.AddRefundResponse = await served.transactions.AddRefund(
        tx.AddRefundRequest(order_id=order_id, refund=given), metadata=served.admin(site)
    )
    return response


async def paid_in_full(served: Served, site: str, order: order_pb2.Order) -> str:
    response = await pay(served, site, order.id, regular("10.00"), gift_card("20.00"))
    return response.payments_ids[0]


@dataclass(frozen=True)
class Case:
    steps: Callable[[Served, str, order_pb2.Order], Awaitable[None]]
    status: int
    events: list[str]
    activities: list[order_pb2.ActivityType.ValueType]


async def _nothing(served: Served, site: str, order: order_pb2.Order) -> None:
    return None


async def _pending(served: Served, site: str, order: order_pb2.Order) -> None:
    await pay(served, site, order.id, regular("30.00", PENDING))


async def _partial(served: Served, site: str, order: order_pb2.Order) -> None:
    await pay(served, site, order.id, regular("10.00"))


async def _full(served: Served, site: str, order: order_pb2.Order) -> None:
    await paid_in_full(served, site, order)


async def _partial_refund(served: Served, site: str, order: order_pb2.Order) -> None:
    payment_id = await paid_in_full(served, site, order)
    await add_refund(served, site, order.id, refund(payment_id, "4.00", reason="scratched"))


async def _full_refund(served: Served, site: str, order: order_pb2.Order) -> None:
    response = await pay(served, site, order.id, regular("10.00"), gift_card("20.00"))
    card, gift = response.payments_ids
    both = transactions_pb2.Refund(
        transactions=[_refund_transaction(card, "10.00"), _refund_transaction(gift, "20.00")]
    )
    await add_refund(served, site, order.id, both)


CREATED_ONLY = ["order_created"]
PAYMENT_EVENTS = ["order_transactions_updated", "order_payment_status_updated", "order_updated"]
FULL_PAYMENT_EVENTS = [
    "order_transactions_updated",
    "order_payment_status_updated",
    "order_approved",
    "order_updated",
]
PLACED = order_pb2.ACTIVITY_TYPE_ORDER_PLACED
PAID_THEN_APPROVED = [
    PLACED,
    order_pb2.ACTIVITY_TYPE_ORDER_PAID,
    order_pb2.ACTIVITY_TYPE_ORDER_APPROVED,
]
CASES = {
    "no payment": Case(_nothing, order_pb2.PAYMENT_STATUS_NOT_PAID, CREATED_ONLY, [PLACED]),
    "pending": Case(
        _pending, order_pb2.PAYMENT_STATUS_PENDING, CREATED_ONLY + PAYMENT_EVENTS, [PLACED]
    ),
    "partial": Case(
        _partial,
        order_pb2.PAYMENT_STATUS_PARTIALLY_PAID,
        CREATED_ONLY + PAYMENT_EVENTS,
        [PLACED, order_pb2.ACTIVITY_TYPE_ORDER_PARTIALLY_PAID],
    ),
    "full": Case(
        _full, order_pb2.PAYMENT_STATUS_PAID, CREATED_ONLY + FULL_PAYMENT_EVENTS, PAID_THEN_APPROVED
    ),
    "partial refund": Case(
        _partial_refund,
        order_pb2.PAYMENT_STATUS_PARTIALLY_REFUNDED,
        CREATED_ONLY + FULL_PAYMENT_EVENTS + PAYMENT_EVENTS,
        [*PAID_THEN_APPROVED, order_pb2.ACTIVITY_TYPE_ORDER_REFUNDED],
    ),
    "full refund": Case(
        _full_refund,
        order_pb2.PAYMENT_STATUS_FULLY_REFUNDED,
        CREATED_ONLY + FULL_PAYMENT_EVENTS + PAYMENT_EVENTS,
        [*PAID_THEN_APPROVED, order_pb2.ACTIVITY_TYPE_ORDER_REFUNDED],
    ),
}


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
async def test_payment_status_table(pg: Served, site: str, case: Case) -> None:
    order = await create(pg, site, new_order(total="30.00"))
    await case.steps(pg, site, order)
    final = (
        await pg.orders.GetOrder(pb.GetOrderRequest(id=order.id), metadata=pg.admin(site))
    ).order
    assert final.payment_status == case.status
    assert [a.type for a in final.activities] == case.activities
    events = await pg.events(site, order.id, len(case.events))
    assert event_types(events) == case.events
    assert [e.entity_sequence for e in events] == list(range(1, len(events) + 1))
    # The last event carries the order as it now is; each status event names the previous one.
    assert payload(events[-1]).order == final  # type: ignore[attr-defined]
    statuses = [order_pb2.PAYMENT_STATUS_NOT_PAID]
    for event in events:
        message = payload(event)
        if isinstance(message, events_pb2.OrderPaymentStatusUpdated):
            assert message.previous_payment_status == statuses[-1]
            statuses.append(message.order.payment_status)
        if isinstance(message, events_pb2.OrderTransactionsUpdated):
            assert message.order_transactions.order_id == order.id
    assert statuses[-1] == case.status
    transactions = await pg.transactions.ListTransactionsForSingleOrder(
        tx.ListTransactionsForSingleOrderRequest(order_id=order.id), metadata=pg.admin(site)
    )
    if events[-1].type.endswith("order_updated") and len(events) > 1:
        last_tx = next(
            payload(e) for e in reversed(events) if e.type.endswith("order_transactions_updated")
        )
        assert last_tx.order_transactions == transactions.order_transactions  # type: ignore[attr-defined]


async def test_balance_summary_follows_the_transactions(pg: Served, site: str) -> None:
    order = await create(pg, site, new_order(total="30.00"))
    response = await pay(
        pg, site, order.id, regular("5.00"), regular("7.00", AUTHORIZED), regular("3.00", PENDING)
    )
    assert response.payment_status == order_pb2.PAYMENT_STATUS_PARTIALLY_PAID
    summary = (
        await pg.orders.GetOrder(pb.GetOrderRequest(id=order.id), metadata=pg.admin(site))
    ).order.balance_summary
    assert (
        summary.paid.amount,
        summary.authorized.amount,
        summary.pending.amount,
        summary.balance.amount,
    ) == (
        "5.00",
        "7.00",
        "10.00",
        "25.00",
    )
    # Overpaying is recorded: the balance goes negative.
    over = await pay(pg, site, order.id, regular("40.00"))
    assert over.payment_status == order_pb2.PAYMENT_STATUS_PAID
    reread = (
        await pg.orders.GetOrder(pb.GetOrderRequest(id=order.id), metadata=pg.admin(site))
    ).order
    assert reread.balance_summary.balance.amount == "-15.00"
    assert reread.status == order_pb2.ORDER_STATUS_APPROVED


async def test_refund_beyond_what_was_paid_is_rejected_and_changes_nothing(
    pg: Served, site: str
) -> None:
    order = await create(pg, site, new_order(total="30.00"))
    payment_id = await paid_in_full(pg, site, order)
    await add_refund(pg, site, order.id, refund(payment_id, "6.00"))
    before = (
        await pg.orders.GetOrder(pb.GetOrderRequest(id=order.id), metadata=pg.admin(site))
    ).order
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await add_refund(pg, site, order.id, refund(payment_id, "4.01"))
    assert failure.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    reason, metadata, _ = details(failure.value)
    assert reason == "REFUND_EXCEEDS_PAID"
    assert metadata == {"payment_id": payment_id, "refundable_amount": "4.00"}
    after = (
        await pg.orders.GetOrder(pb.GetOrderRequest(id=order.id), metadata=pg.admin(site))
    ).order
    assert after == before
    events = await pg.events(site, order.id, 8)
    assert len(events) == 8  # created, 4 for the payment, 3 for the first refund; none since
    await add_refund(pg, site, order.id, refund(payment_id, "4.00"))
    listed = await pg.transactions.ListTransactionsForSingleOrder(
        tx.ListTransactionsForSingleOrderRequest(order_id=order.id), metadata=pg.admin(site)
    )
    card = listed.order_transactions.payments[0]
    assert card.regular_payment_details.status == transactions_pb2.TRANSACTION_STATUS_REFUNDED
    assert [r.transactions[0].refund_status for r in listed.order_transactions.refunds] == [
        transactions_pb2.REFUND_STATUS_SUCCEEDED
    ] * 2


async def test_refund_rules(pg: Served, site: str) -> None:
    admin = pg.admin(site)
    order = await create(
        pg, site, new_order(total="30.00", lines=[line(price_amount="10.00", quantity=3)])
    )
    line_id = order.line_items[0].id
    added = await pay(pg, site, order.id, regular("30.00"), regular("5.00", PENDING))
    approved_id, pending_id = added.payments_ids
    no_refunds = transactions_pb2.Payment()
    no_refunds.CopyFrom(regular("1.00"))
    no_refunds.refund_disabled = True
    disabled_id = (await pay(pg, site, order.id, no_refunds)).payments_ids[0]

    async def refused(
        given: transactions_pb2.Refund,
        side_effects: transactions_pb2.RefundSideEffects | None = None,
    ) -> tuple[grpc.StatusCode, str, set[str]]:
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            await pg.transactions.AddRefund(
                tx.AddRefundRequest(order_id=order.id, refund=given, side_effects=side_effects),
                metadata=admin,
            )
        reason, _, fields = details(failure.value)
        return failure.value.code(), reason, fields

    assert (await refused(refund(pending_id, "1.00")))[:2] == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "PAYMENT_NOT_REFUNDABLE",
    )
    assert (await refused(refund(disabled_id, "1.00")))[:2] == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "PAYMENT_REFUND_DISABLED",
    )
    assert (await refused(refund("nope", "1.00")))[:2] == (
        grpc.StatusCode.NOT_FOUND,
        "PAYMENT_NOT_FOUND",
    )
    items = [transactions_pb2.RefundItem(line_item_id=line_id, quantity=4)]
    assert (await refused(refund(approved_id, "1.00", items=items)))[:2] == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "REFUND_QUANTITY_EXCEEDED",
    )
    unknown = [transactions_pb2.RefundItem(line_item_id="nope", quantity=1)]
    assert (await refused(refund(approved_id, "1.00", items=unknown)))[:2] == (
        grpc.StatusCode.NOT_FOUND,
        "LINE_ITEM_NOT_FOUND",
    )
    code, _, fields = await refused(
        transactions_pb2.Refund(
            transactions=[
                _refund_transaction(approved_id, "0"),
                _refund_transaction(approved_id, "1"),
            ]
        ),
        transactions_pb2.RefundSideEffects(
            restock_info=transactions_pb2.RestockInfo(type=transactions_pb2.RESTOCK_TYPE_ALL_ITEMS)
        ),
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert {
        "refund.transactions[0].amount.amount",
        "refund.transactions[1].payment_id",
        "side_effects.restock_info.type",
    } <= fields

    # A refund with items, shipping and a reason: quantities grow, the activity records it.
    response = await pg.transactions.AddRefund(
        tx.AddRefundRequest(
            order_id=order.id,
            refund=refund(
                approved_id,
                "20.00",
                items=[transactions_pb2.RefundItem(line_item_id=line_id, quantity=2)],
                shipping_included=True,
                reason="broken",
            ),
            side_effects=transactions_pb2.RefundSideEffects(
                send_order_refunded_email=True, custom_message="so sorry"
            ),
            request_id=str(uuid.uuid4()),
        ),
        metadata=admin,
    )
    assert response.payment_status == order_pb2.PAYMENT_STATUS_PARTIALLY_REFUNDED
    recorded = response.order_transactions.refunds[-1]
    assert recorded.id == response.refund_id
    assert recorded.details.shipping_included and recorded.details.reason == "broken"
    order_now = (await pg.orders.GetOrder(pb.GetOrderRequest(id=order.id), metadata=admin)).order
    assert order_now.line_items[0].refund_quantity == 2
    assert order_now.line_items[0].restock_quantity == 0
    refunded_activity = order_now.activities[-1]
    assert refunded_activity.type == order_pb2.ACTIVITY_TYPE_ORDER_REFUNDED
    assert refunded_activity.order_refunded.amount.amount == "20.00"
    assert refunded_activity.order_refunded.reason == "broken"
    assert not refunded_activity.order_refunded.manual
    # created; payments (4: approved in full); the refund-disabled payment (2); the refund (3)
    events = await pg.events(site, order.id, 10)
    assert event_types(events[-3:]) == PAYMENT_EVENTS
    notice = payload(events[-3])
    assert isinstance(notice, events_pb2.OrderTransactionsUpdated)
    assert notice.action == events_pb2.TRANSACTIONS_UPDATE_ACTION_REFUND_ADDED
    assert notice.refund_id == response.refund_id
    assert notice.send_order_refunded_email and notice.custom_message == "so sorry"
    assert list(notice.payment_ids) == [approved_id]


async def test_payment_status_changes(pg: Served, site: str) -> None:
    admin = pg.admin(site)
    order = await create(pg, site, new_order(total="30.00"))
    added = await pay(pg, site, order.id, regular("30.00", PENDING), gift_card("5.00"))
    pending_id, gift_id = added.payments_ids
    assert added.payment_status == order_pb2.PAYMENT_STATUS_PARTIALLY_PAID

    async def update(payment_id: str, status: int) -> tx.UpdatePaymentStatusResponse:
        response: tx.UpdatePaymentStatusResponse = await pg.transactions.UpdatePaymentStatus(
            tx.UpdatePaymentStatusRequest(order_id=order.id, payment_id=payment_id, status=status),  # type: ignore[arg-type]
            metadata=admin,
        )
        return response

    authorized = await update(pending_id, AUTHORIZED)
    assert authorized.order_transactions.payments[0].regular_payment_details.status == AUTHORIZED
    # created; payments added (3 events); authorized (transactions and order updated)
    events_before = 6
    assert len(await pg.events(site, order.id, events_before)) == events_before
    same = await update(pending_id, AUTHORIZED)  # a retry: no change, no event
    assert same.payment_status == authorized.payment_status
    captured = await update(pending_id, APPROVED)
    assert captured.payment_status == order_pb2.PAYMENT_STATUS_PAID
    approved = (await pg.orders.GetOrder(pb.GetOrderRequest(id=order.id), metadata=admin)).order
    assert approved.status == order_pb2.ORDER_STATUS_APPROVED
    events = await pg.events(site, order.id, events_before + 4)
    assert event_types(events[events_before:]) == FULL_PAYMENT_EVENTS

    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await update(pending_id, PENDING)
    assert details(failure.value)[:2] == (
        "INVALID_PAYMENT_STATUS_TRANSITION",
        {"current_status": "TRANSACTION_STATUS_APPROVED"},
    )
    for bad_status in (transactions_pb2.TRANSACTION_STATUS_REFUNDED, 0):
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            await update(pending_id, bad_status)
        assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await update(gift_id, APPROVED)
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    voided = await update(gift_id, transactions_pb2.TRANSACTION_STATUS_VOIDED)
    assert voided.order_transactions.payments[1].gift_card_payment_details.voided
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await update("nope", APPROVED)
    assert details(failure.value)[0] == "PAYMENT_NOT_FOUND"
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await pg.transactions.UpdatePaymentStatus(
            tx.UpdatePaymentStatusRequest(
                order_id=str(uuid.uuid4()), payment_id=pending_id, status=APPROVED
            ),
            metadata=admin,
        )
    assert details(failure.value)[0] == "ORDER_NOT_FOUND"


async def test_bulk_update_payment_statuses(pg: Served, site: str) -> None:
    admin = pg.admin(site)
    first = await create(pg, site, new_order(total="10.00"))
    second = await create(pg, site, new_order(total="20.00"))
    a = (await pay(pg, site, first.id, regular("10.00", PENDING))).payments_ids[0]
    b = (await pay(pg, site, second.id, regular("20.00", PENDING))).payments_ids[0]
    c = (await pay(pg, site, second.id, regular("1.00", APPROVED))).payments_ids[0]
    response = await pg.transactions.BulkUpdatePaymentStatuses(
        tx.BulkUpdatePaymentStatusesRequest(
            payment_and_order_ids=[
                tx.PaymentAndOrderId(payment_id=a, order_id=first.id),
                tx.PaymentAndOrderId(payment_id="nope", order_id=first.id),
                tx.PaymentAndOrderId(payment_id=b, order_id=second.id),
                tx.PaymentAndOrderId(payment_id=c, order_id=second.id),
            ],
            status=APPROVED,
            return_full_entity=True,
        ),
        metadata=admin,
    )
    results = response.results
    assert [r.item_metadata.success for r in results] == [True, False, True, True]
    assert [r.item_metadata.id for r in results] == [a, "nope", b, c]
    assert results[0].payment_status == order_pb2.PAYMENT_STATUS_PAID
    assert results[0].item.order_id == first.id
    assert results[1].item_metadata.error.code == 5
    assert results[2].payment_status == order_pb2.PAYMENT_STATUS_PAID
    assert response.bulk_action_metadata.total_failures == 1
    # One order_transactions_updated per changed payment; the unchanged one (c) emits none.
    # created; two AddPayments (3 events each); b approved (4 events); c unchanged (none)
    second_events = await pg.events(site, second.id, 11)
    assert len(second_events) == 11
    assert event_types(second_events).count("order_transactions_updated") == 3
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await pg.transactions.BulkUpdatePaymentStatuses(
            tx.BulkUpdatePaymentStatusesRequest(
                payment_and_order_ids=[tx.PaymentAndOrderId(payment_id=a, order_id=first.id)] * 2,
                status=APPROVED,
            ),
            metadata=admin,
        )
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_add_payments_limits_and_idempotency(pg: Served, site: str) -> None:
    admin = pg.admin(site)
    order = await create(pg, site, new_order(total="30.00"))
    bad = [
        transactions_pb2.Payment(),
        regular("0"),
        regular("1.00", transactions_pb2.TRANSACTION_STATUS_REFUNDED),
        transactions_pb2.Payment(
            gift_card_payment_details=transactions_pb2.GiftCardPaymentDetails()
        ),
    ]
    bad[3].amount.amount = "1"
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await pay(pg, site, order.id, *bad)
    assert {
        "payments[0].payment_details",
        "payments[0].amount.amount",
        "payments[1].amount.amount",
        "payments[2].regular_payment_details.status",
        "payments[3].gift_card_payment_details.gift_card_id",
    } <= details(failure.value)[2]
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await pay(pg, site, order.id, *[regular("1.00")] * 51)
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    request_id = str(uuid.uuid4())
    request = tx.AddPaymentsRequest(
        order_id=order.id, payments=[regular("10.00")], request_id=request_id
    )
    first, second = await asyncio.gather(
        pg.transactions.AddPayments(request, metadata=admin),
        pg.transactions.AddPayments(request, metadata=admin),
    )
    assert first == second
    listed = await pg.transactions.ListTransactionsForSingleOrder(
        tx.ListTransactionsForSingleOrderRequest(order_id=order.id), metadata=admin
    )
    assert len(listed.order_transactions.payments) == 1
    request.payments[0].amount.amount = "11.00"
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await pg.transactions.AddPayments(request, metadata=admin)
    assert details(failure.value)[0] == "REQUEST_ID_REUSED"


async def test_concurrent_refunds_never_over_refund(pg: Served, site: str) -> None:
    order = await create(pg, site, new_order(total="30.00"))
    payment_id = (await pay(pg, site, order.id, regular("30.00"))).payments_ids[0]
    channels = [grpc.aio.insecure_channel(pg.running.address) for _ in range(6)]
    try:
        from ecom.orders.v1 import order_transactions_service_pb2_grpc

        outcomes = await asyncio.gather(
            *(
                order_transactions_service_pb2_grpc.OrderTransactionsServiceStub(channel).AddRefund(
                    tx.AddRefundRequest(order_id=order.id, refund=refund(payment_id, "10.00")),
                    metadata=pg.admin(site),
                )
                for channel in channels
            ),
            return_exceptions=True,
        )
    finally:
        await asyncio.gather(*(channel.close() for channel in channels))
    succeeded = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, grpc.aio.AioRpcError)]
    assert len(succeeded) == 3 and len(refused) == 3
    # A fully refunded card payment is REFUNDED, which is no longer refundable at all.
    assert {details(o)[0] for o in refused} == {"PAYMENT_NOT_REFUNDABLE"}
    final = (
        await pg.orders.GetOrder(pb.GetOrderRequest(id=order.id), metadata=pg.admin(site))
    ).order
    assert final.balance_summary.refunded.amount == "30.00"
    assert final.payment_status == order_pb2.PAYMENT_STATUS_FULLY_REFUNDED


async def test_listing_transactions(pg: Served, site: str) -> None:
    admin = pg.admin(site)
    first = await create(pg, site, new_order(member_id="m-1"))
    second = await create(pg, site, new_order())
    await pay(pg, site, first.id, regular("1.00"))
    listed = await pg.transactions.ListTransactionsForMultipleOrders(
        tx.ListTransactionsForMultipleOrdersRequest(
            order_ids=[second.id, "unknown", first.id, second.id]
        ),
        metadata=admin,
    )
    assert [t.order_id for t in listed.order_transactions] == [second.id, first.id]
    assert len(listed.order_transactions[1].payments) == 1
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await pg.transactions.ListTransactionsForSingleOrder(
            tx.ListTransactionsForSingleOrderRequest(order_id=first.id),
            metadata=pg.token(site, Role.MEMBER, "m-1"),
        )
    assert failure.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await pg.transactions.ListTransactionsForSingleOrder(
            tx.ListTransactionsForSingleOrderRequest(order_id=str(uuid.uuid4())), metadata=admin
        )
    assert failure.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await pg.transactions.ListTransactionsForMultipleOrders(
            tx.ListTransactionsForMultipleOrdersRequest(order_ids=["x"] * 101), metadata=admin
        )
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
