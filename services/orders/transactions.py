"""OrderTransactionsService's use cases: payments and refunds recorded on an order, and the
order's payment status and balance recomputed from all of them in the same unit of work.

Each mutation locks the order row first, so changes to one order's transactions are serialized
and none can lose a payment or over-refund.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TypeVar

from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncSession

from ecom.orders.v1 import events_pb2, order_pb2, transactions_pb2
from services.orders import events, prices, restock
from services.orders.change import OrderChange
from services.orders.domain import lifecycle
from services.orders.domain.balance import payment_status, summarize
from services.orders.domain.enums import (
    ActivityType,
    OrderStatus,
    PaymentStatus,
    RestockType,
    TransactionStatus,
)
from services.orders.domain.payments import (
    MAX_PAYMENTS_PER_CALL,
    change_gift_card_status,
    change_regular_status,
    check_payment_room,
    requested_status,
)
from services.orders.domain.refunds import RefundLine, RefundRequest, check_shape, plan_refund
from services.orders.record import (
    apply_balance,
    line_facts,
    locale_of,
    payment_facts,
    refunded_by_payment,
    set_timestamp,
    total_of,
)
from services.orders.restock import RestockWorker
from services.orders.service import order_not_found, require
from services.orders.store import OrderStore
from services.platform import errors
from services.platform.db import Database, utcnow
from services.platform.idempotency import run_idempotent
from services.platform.identity import Caller

M = TypeVar("M", bound=Message)

SERVICE = "ecom.orders.v1.OrderTransactionsService"
MAX_ORDERS = 100
MAX_BULK = 100
MAX_TEXT = 100
MAX_MESSAGE = 1000
_SUCCEEDED = transactions_pb2.REFUND_STATUS_SUCCEEDED
Action = events_pb2.TransactionsUpdateAction


@dataclass(frozen=True)
class Outcome:
    """What a transactions mutation returns: the order's transactions and payment status."""

    transactions: transactions_pb2.OrderTransactions
    payment_status: PaymentStatus
    new_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class PaymentItemResult:
    payment_id: str
    index: int
    outcome: Outcome | None = None
    error: errors.DomainError | None = None


def staff_only(caller: Caller) -> None:
    """The transactions of an order are for admin and service callers (the proto's Callers)."""
    if not caller.is_staff:
        raise errors.PermissionDenied(
            "ROLE_NOT_ALLOWED", "only admin and service callers read an order's transactions"
        )


class _Ledger:
    """An order locked for a transactions change, with its payments and refunds."""

    def __init__(
        self,
        change: OrderChange,
        payments: list[transactions_pb2.Payment],
        refunds: list[transactions_pb2.Refund],
    ) -> None:
        self.change = change
        self.payments = payments
        self.refunds = refunds

    @property
    def order(self) -> order_pb2.Order:
        return self.change.order

    def transactions(self) -> transactions_pb2.OrderTransactions:
        return transactions_pb2.OrderTransactions(
            order_id=self.order.id, payments=self.payments, refunds=self.refunds
        )

    def emit_updated(
        self,
        action: int,
        payment_ids: Sequence[str],
        *,
        refund_id: str = "",
        send_email: bool = False,
        custom_message: str = "",
    ) -> None:
        transactions = self.transactions()
        self.change.emit(
            events.ORDER_TRANSACTIONS_UPDATED,
            lambda final: events_pb2.OrderTransactionsUpdated(
                order_transactions=transactions,
                action=events_pb2.TransactionsUpdateAction.ValueType(action),
                payment_ids=list(payment_ids),
                refund_id=refund_id,
                send_order_refunded_email=send_email,
                custom_message=custom_message,
                payment_status=final.payment_status,
            ),
        )

    def recompute(self, *, refund_recorded: bool = False) -> None:
        """Derive balance and payment status from the transactions; record what follows."""
        order, change = self.order, self.change
        total = total_of(order)
        refunded = [
            prices.amount_of(t.amount)
            for refund in self.refunds
            for t in refund.transactions
            if t.refund_status == _SUCCEEDED
        ]
        balance = summarize(total, [payment_facts(p) for p in self.payments], refunded)
        apply_balance(order, balance)
        previous = PaymentStatus(order.payment_status)
        status = payment_status(balance, total)
        if status is previous:
            return
        order.payment_status = order_pb2.PaymentStatus.ValueType(int(status))
        activity = lifecycle.payment_activity(status, refund_recorded=refund_recorded)
        if activity is not None:
            change.record(activity)
        change.emit(
            events.ORDER_PAYMENT_STATUS_UPDATED,
            lambda final: events_pb2.OrderPaymentStatusUpdated(
                order=final,
                previous_payment_status=order_pb2.PaymentStatus.ValueType(int(previous)),
            ),
        )
        if lifecycle.approved_by_payment(OrderStatus(order.status), status):
            order.status = order_pb2.ORDER_STATUS_APPROVED
            change.record(ActivityType.ORDER_APPROVED)
            change.emit(events.ORDER_APPROVED, lambda final: events_pb2.OrderApproved(order=final))

    def outcome(self, new_ids: Sequence[str] = ()) -> Outcome:
        return Outcome(
            self.transactions(), PaymentStatus(self.order.payment_status), tuple(new_ids)
        )


class TransactionsService:
    def __init__(
        self,
        database: Database,
        *,
        restock_worker: RestockWorker | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._database = database
        self._restock = restock_worker
        self._clock = clock

    # -- reads --------------------------------------------------------------------------------

    async def list_for_orders(
        self, caller: Caller, order_ids: Sequence[str], *, single: bool
    ) -> list[transactions_pb2.OrderTransactions]:
        staff_only(caller)
        if single:
            require(order_ids[0], "order_id")
        else:
            if not order_ids or len(order_ids) > MAX_ORDERS:
                raise errors.InvalidArgument.of("order_ids", f"must hold 1..{MAX_ORDERS} ids")
            for index, order_id in enumerate(order_ids):
                require(order_id, f"order_ids[{index}]")
        wanted = list(dict.fromkeys(order_ids))

        async def read(session: AsyncSession) -> list[transactions_pb2.OrderTransactions]:
            store = OrderStore(session)
            known = await store.load_many(caller.site, wanted)
            ids = [order_id for order_id in wanted if order_id in known]
            payments = await store.payments_of(ids)
            refunds = await store.refunds_of(ids)
            return [
                transactions_pb2.OrderTransactions(
                    order_id=order_id, payments=payments[order_id], refunds=refunds[order_id]
                )
                for order_id in ids
            ]

        found = await self._database.run(read, readonly=True)
        if single and not found:
            raise order_not_found(order_ids[0])
        return found

    # -- the unit of work of a transactions change ---------------------------------------------

    async def _ledger(self, session: AsyncSession, site: str, order_id: str) -> _Ledger:
        store = OrderStore(session)
        stored = await store.load(site, order_id, lock=True)
        if stored is None:
            raise order_not_found(order_id)
        payments = (await store.payments_of([order_id]))[order_id]
        refunds = (await store.refunds_of([order_id]))[order_id]
        return _Ledger(OrderChange(store, site, stored, self._clock()), payments, refunds)

    # -- AddPayments ----------------------------------------------------------------------------

    async def add_payments(
        self,
        site: str,
        order_id: str,
        payments: Sequence[transactions_pb2.Payment],
        *,
        request: Message,
        request_id: str,
        respond: Callable[[Outcome], M],
        response_type: type[M],
    ) -> M:
        amounts = _check_payments(order_id, payments)

        async def produce(session: AsyncSession) -> M:
            ledger = await self._ledger(session, site, order_id)
            check_payment_room(len(ledger.payments), len(payments))
            now = ledger.change.now
            added = [
                _new_payment(given, amount, ledger.order, now)
                for given, amount in zip(payments, amounts, strict=True)
            ]
            await ledger.change.store.add_payments(
                site, order_id, added, start=len(ledger.payments)
            )
            ledger.payments.extend(added)
            ids = [payment.id for payment in added]
            ledger.emit_updated(Action.TRANSACTIONS_UPDATE_ACTION_PAYMENTS_ADDED, ids)
            ledger.recompute()
            await ledger.change.finish()
            return respond(ledger.outcome(ids))

        async def unit(session: AsyncSession) -> M:
            return await run_idempotent(
                session,
                site=site,
                scope=f"{SERVICE}/AddPayments",
                request_id=request_id,
                request=request,
                response_type=response_type,
                produce=lambda: produce(session),
            )

        return await self._database.run(unit)

    # -- UpdatePaymentStatus / BulkUpdatePaymentStatuses ---------------------------------------

    async def update_payment_status(
        self, site: str, order_id: str, payment_id: str, status_value: int
    ) -> Outcome:
        problems = errors.Violations()
        if not order_id:
            problems.add("order_id", "required")
        if not payment_id:
            problems.add("payment_id", "required")
        problems.raise_if_any()
        wanted = requested_status(status_value, "status")

        async def unit(session: AsyncSession) -> Outcome:
            ledger = await self._ledger(session, site, order_id)
            payment = next((p for p in ledger.payments if p.id == payment_id), None)
            if payment is None:
                raise errors.NotFound(
                    "PAYMENT_NOT_FOUND",
                    f"the order has no payment {payment_id!r}",
                    metadata={"payment_id": payment_id},
                )
            if payment.HasField("gift_card_payment_details"):
                details = payment.gift_card_payment_details
                if not change_gift_card_status(details.voided, wanted, "status").changed:
                    return ledger.outcome()
                details.voided = True
            else:
                current = TransactionStatus(payment.regular_payment_details.status)
                if not change_regular_status(current, wanted).changed:
                    return ledger.outcome()
                payment.regular_payment_details.status = (
                    transactions_pb2.TransactionStatus.ValueType(int(wanted))
                )
            set_timestamp(payment.updated_date, ledger.change.now)
            await ledger.change.store.save_payment(order_id, payment)
            ledger.emit_updated(
                Action.TRANSACTIONS_UPDATE_ACTION_PAYMENT_STATUS_UPDATED, [payment_id]
            )
            ledger.recompute()
            await ledger.change.finish()
            return ledger.outcome()

        return await self._database.run(unit)

    async def bulk_update_payment_statuses(
        self, site: str, items: Sequence[tuple[str, str]], status_value: int
    ) -> list[PaymentItemResult]:
        """`items` are (payment id, order id) pairs."""
        if not items or len(items) > MAX_BULK:
            raise errors.InvalidArgument.of(
                "payment_and_order_ids", f"must hold 1..{MAX_BULK} items"
            )
        seen: set[str] = set()
        for index, (payment_id, _order_id) in enumerate(items):
            if payment_id and payment_id in seen:
                raise errors.InvalidArgument.of(
                    f"payment_and_order_ids[{index}].payment_id", "names a payment given before"
                )
            seen.add(payment_id)
        requested_status(status_value, "status")
        results = []
        for index, (payment_id, order_id) in enumerate(items):
            try:
                outcome = await self.update_payment_status(site, order_id, payment_id, status_value)
            except errors.DomainError as exc:
                results.append(PaymentItemResult(payment_id, index, error=exc))
            else:
                results.append(PaymentItemResult(payment_id, index, outcome=outcome))
        return results

    # -- AddRefund ------------------------------------------------------------------------------

    async def add_refund(
        self,
        site: str,
        order_id: str,
        refund: transactions_pb2.Refund,
        side_effects: transactions_pb2.RefundSideEffects,
        *,
        request: Message,
        request_id: str,
        respond: Callable[[Outcome], M],
        response_type: type[M],
    ) -> M:
        wanted = _refund_request(order_id, refund, side_effects)

        async def produce(session: AsyncSession) -> M:
            ledger = await self._ledger(session, site, order_id)
            order = ledger.order
            plan = plan_refund(
                wanted,
                payments={p.id: payment_facts(p) for p in ledger.payments},
                refunded_by_payment=refunded_by_payment(ledger.refunds),
                lines=line_facts(order),
                refund_count=len(ledger.refunds),
            )
            now = ledger.change.now
            recorded = _new_refund(refund, wanted, order, now)
            for payment in ledger.payments:
                new_status = plan.payment_statuses.get(payment.id)
                if new_status is not None:
                    payment.regular_payment_details.status = (
                        transactions_pb2.TransactionStatus.ValueType(int(new_status))
                    )
                if any(t.payment_id == payment.id for t in recorded.transactions):
                    set_timestamp(payment.updated_date, now)
                    await ledger.change.store.save_payment(order_id, payment)
            await ledger.change.store.add_refund(
                site, order_id, recorded, position=len(ledger.refunds)
            )
            ledger.refunds.append(recorded)
            for line in order.line_items:
                line.refund_quantity += plan.refund_quantities.get(line.id, 0)
                line.restock_quantity += plan.restock_quantities.get(line.id, 0)
            refunded = order_pb2.OrderRefunded(
                manual=all(t.external_refund for t in recorded.transactions),
                amount=prices.price(plan.amount, order.currency, locale_of(order)),
                reason=refund.details.reason,
            )
            ledger.change.record(ActivityType.ORDER_REFUNDED, refunded=refunded)
            jobs = await restock.add_jobs(
                session, site, order, plan.restock_quantities, f"refund/{recorded.id}"
            )
            ledger.emit_updated(
                Action.TRANSACTIONS_UPDATE_ACTION_REFUND_ADDED,
                [t.payment_id for t in recorded.transactions],
                refund_id=recorded.id,
                send_email=side_effects.send_order_refunded_email,
                custom_message=side_effects.custom_message,
            )
            ledger.recompute(refund_recorded=True)
            await ledger.change.finish()
            session.info["orders.restock_jobs"] = jobs
            return respond(ledger.outcome([recorded.id]))

        async def unit(session: AsyncSession) -> tuple[M, int]:
            response = await run_idempotent(
                session,
                site=site,
                scope=f"{SERVICE}/AddRefund",
                request_id=request_id,
                request=request,
                response_type=response_type,
                produce=lambda: produce(session),
            )
            return response, int(session.info.get("orders.restock_jobs", 0))

        response, jobs = await self._database.run(unit)
        if jobs and self._restock is not None:
            self._restock.wake()
        return response


def _check_payments(order_id: str, payments: Sequence[transactions_pb2.Payment]) -> list[Decimal]:
    problems = errors.Violations()
    if not order_id:
        problems.add("order_id", "required")
    if not payments or len(payments) > MAX_PAYMENTS_PER_CALL:
        problems.add("payments", f"must hold 1..{MAX_PAYMENTS_PER_CALL} payments")
    amounts: list[Decimal] = []
    for index, payment in enumerate(payments):
        path = f"payments[{index}]"
        amount = prices.parse_positive(payment.amount.amount, f"{path}.amount.amount", problems)
        amounts.append(amount or Decimal(0))
        details = payment.WhichOneof("payment_details")
        if details is None:
            problems.add(f"{path}.payment_details", "required: regular or gift card details")
        elif details == "gift_card_payment_details":
            if not payment.gift_card_payment_details.gift_card_id:
                problems.add(f"{path}.gift_card_payment_details.gift_card_id", "required")
        else:
            regular = payment.regular_payment_details
            try:
                requested_status(regular.status, f"{path}.regular_payment_details.status")
            except errors.InvalidArgument as exc:
                for violation in exc.violations:
                    problems.add(violation.field, violation.description)
            for name in ("payment_method", "payment_provider"):
                if len(getattr(regular, name)) > MAX_TEXT:
                    problems.add(
                        f"{path}.regular_payment_details.{name}", f"at most {MAX_TEXT} characters"
                    )
    problems.raise_if_any()
    return amounts


def _new_payment(
    given: transactions_pb2.Payment, amount: Decimal, order: order_pb2.Order, now: datetime
) -> transactions_pb2.Payment:
    payment = transactions_pb2.Payment()
    payment.CopyFrom(given)
    payment.id = str(uuid.uuid4())
    set_timestamp(payment.created_date, now)
    set_timestamp(payment.updated_date, now)
    payment.amount.Clear()
    prices.present(payment.amount, amount, order.currency, locale_of(order))
    if payment.HasField("gift_card_payment_details"):
        payment.gift_card_payment_details.voided = False  # set only through UpdatePaymentStatus
    return payment


def _refund_request(
    order_id: str,
    refund: transactions_pb2.Refund,
    side_effects: transactions_pb2.RefundSideEffects,
) -> RefundRequest:
    problems = errors.Violations()
    if not order_id:
        problems.add("order_id", "required")
    transactions = []
    for index, transaction in enumerate(refund.transactions):
        amount = prices.parse_positive(
            transaction.amount.amount, f"refund.transactions[{index}].amount.amount", problems
        )
        transactions.append((transaction.payment_id, amount or Decimal(0)))
    if len(refund.details.reason) > MAX_MESSAGE:
        problems.add("refund.details.reason", f"at most {MAX_MESSAGE} characters")
    if len(side_effects.custom_message) > MAX_MESSAGE:
        problems.add("side_effects.custom_message", f"at most {MAX_MESSAGE} characters")
    try:
        restock_type = RestockType(side_effects.restock_info.type)
    except ValueError:
        problems.add("side_effects.restock_info.type", "not a known RESTOCK_TYPE_*")
        restock_type = RestockType.NO_ITEMS
    wanted = RefundRequest(
        transactions=transactions,
        items=[RefundLine(i.line_item_id, i.quantity) for i in refund.details.items],
        restock_type=restock_type,
        restock_items=[
            RefundLine(i.line_item_id, i.quantity) for i in side_effects.restock_info.items
        ],
    )
    try:
        check_shape(wanted)
    except errors.InvalidArgument as exc:
        for violation in exc.violations:
            problems.add(violation.field, violation.description)
    problems.raise_if_any()
    return wanted


def _new_refund(
    given: transactions_pb2.Refund,
    wanted: RefundRequest,
    order: order_pb2.Order,
    now: datetime,
) -> transactions_pb2.Refund:
    refund = transactions_pb2.Refund(id=str(uuid.uuid4()))
    refund.details.CopyFrom(given.details)
    set_timestamp(refund.created_date, now)
    for transaction, (payment_id, amount) in zip(
        given.transactions, wanted.transactions, strict=True
    ):
        recorded = refund.transactions.add(
            payment_id=payment_id,
            refund_status=_SUCCEEDED,
            gateway_refund_id=transaction.gateway_refund_id,
            external_refund=transaction.external_refund,
        )
        prices.present(recorded.amount, amount, order.currency, locale_of(order))
    return refund
