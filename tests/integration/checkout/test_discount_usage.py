"""CreateOrder reserves, records and releases discount usage over real gRPC (checkout, the real
discounts service, orders), on SQLite and on PostgreSQL with Redis: coupon and rule usage limits
hold under concurrent orders, a retried CreateOrder counts a use once, and every path that gives
up on an order gives the uses back."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest
import sqlalchemy as sa
from google.protobuf import field_mask_pb2, json_format
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from ecom.checkout.v1 import checkout_pb2, checkout_service_pb2, checkout_service_pb2_grpc
from ecom.discounts.v1 import (
    coupon_pb2,
    coupons_service_pb2,
    coupons_service_pb2_grpc,
    discount_rule_pb2,
    discount_rules_service_pb2,
    discount_rules_service_pb2_grpc,
)
from ecom.spi.validations.v1 import validations_provider_service_pb2 as validations_pb2
from ecom.spi.validations.v1 import validations_provider_service_pb2_grpc as validations_grpc
from services.platform.providers import Kind
from services.platform.schema.tables import outbox
from tests.helpers import eventually
from tests.integration.checkout.conftest import SQLITE_ONLY, StartSuite, Suite, product
from tests.integration.checkout.kit import Started, error_info, line
from tests.integration.checkout.orders_front import OrdersFront
from tests.integration.checkout.test_create_order import orders_of, ready, shipping
from tests.integration.unimplemented import UnimplementedDiscountRulesService

pytestmark = pytest.mark.integration
pb = checkout_service_pb2
dpb = discount_rules_service_pb2
LIMIT_REACHED = "ecom.discounts.v1.discount_rule_usage_limit_reached"
COUPON_REFUSALS = {"COUPON_USAGE_EXHAUSTED", "CALCULATION_ERRORS"}


# -- discounts, through the real service ---------------------------------------------------------


async def make_coupon(suite: Suite, code: str, **fields: Any) -> coupon_pb2.Coupon:
    """A coupon; `fields` in proto JSON (percentOffRate, moneyOffAmount, usageLimit...)."""
    spec = {"code": code, "name": f"Coupon {code}", **fields}
    stub = coupons_service_pb2_grpc.CouponsServiceStub(suite.channel)
    response: coupons_service_pb2.CreateCouponResponse = await stub.CreateCoupon(
        coupons_service_pb2.CreateCouponRequest(
            coupon=json_format.ParseDict(spec, coupon_pb2.Coupon())
        ),
        metadata=suite.admin(),
    )
    return response.coupon


async def coupon_uses(suite: Suite, coupon_id: str) -> int:
    stub = coupons_service_pb2_grpc.CouponsServiceStub(suite.channel)
    response = await stub.GetCoupon(
        coupons_service_pb2.GetCouponRequest(coupon_id=coupon_id), metadata=suite.admin()
    )
    return int(response.coupon.number_of_usages)


def rules(suite: Suite) -> discount_rules_service_pb2_grpc.DiscountRulesServiceStub:
    return discount_rules_service_pb2_grpc.DiscountRulesServiceStub(suite.channel)


async def make_rule(
    suite: Suite, name: str, item_id: str, percent: str, *, usage_limit: int | None = None
) -> discount_rule_pb2.DiscountRule:
    """`percent` off every unit of `item_id` of the reference catalog, always triggered."""
    scope = {
        "type": "SCOPE_TYPE_CATALOG_ITEM",
        "catalogItem": {"catalogAppId": "ecom.catalog", "catalogItemId": item_id},
    }
    spec: dict[str, Any] = {
        "name": name,
        "trigger": {"itemQuantityRange": {"min": 1}},
        "discounts": {
            "values": [
                {
                    "targetType": "TARGET_TYPE_SPECIFIC_ITEMS",
                    "specificItemsInfo": {"scopes": [scope]},
                    "discountType": "DISCOUNT_TYPE_PERCENTAGE",
                    "percentage": percent,
                }
            ]
        },
    }
    if usage_limit is not None:
        spec["settings"] = {"usageLimit": usage_limit}
    response: dpb.CreateDiscountRuleResponse = await rules(suite).CreateDiscountRule(
        dpb.CreateDiscountRuleRequest(
            discount_rule=json_format.ParseDict(spec, discount_rule_pb2.DiscountRule())
        ),
        metadata=suite.admin(),
    )
    return response.discount_rule


async def rule_uses(suite: Suite, rule_id: str) -> int:
    response = await rules(suite).GetDiscountRule(
        dpb.GetDiscountRuleRequest(discount_rule_id=rule_id), metadata=suite.admin()
    )
    return int(response.discount_rule.usage_count)


async def discount_events(suite: Suite, event_type: str, entity_id: str) -> int:
    """How many `event_type` events the discounts service recorded for the entity."""

    async def count(session: Any) -> int:
        rows = await session.execute(
            sa.select(sa.func.count())
            .select_from(outbox)
            .where(
                outbox.c.site == suite.site,
                outbox.c.type == event_type,
                outbox.c.entity_id == entity_id,
            )
        )
        return int(rows.scalar_one())

    return await suite.runtime.database("discounts").run(count, readonly=True)


# -- checkout helpers ----------------------------------------------------------------------------


async def priced(suite: Suite, item_id: str, quantity: int, coupon: str = "") -> Any:
    """A checkout ready for an order (the coupon applied when given)."""
    return await suite.create([line(item_id, quantity)], info=ready(), coupon_code=coupon)


async def place_all(suite: Suite, requests: list[pb.CreateOrderRequest]) -> list[Any]:
    """CreateOrder for each request at once, each on its own channel (truly concurrent calls);
    the responses or the errors, in order."""
    channels = [grpc.aio.insecure_channel(suite.running.address) for _ in requests]
    try:
        return await asyncio.gather(
            *(
                checkout_service_pb2_grpc.CheckoutServiceStub(channel).CreateOrder(
                    request, metadata=suite.visitor()
                )
                for channel, request in zip(channels, requests, strict=True)
            ),
            return_exceptions=True,
        )
    finally:
        await asyncio.gather(*(channel.close() for channel in channels))


async def stored(suite: Suite, checkout_id: str) -> checkout_pb2.Checkout:
    response: pb.GetCheckoutResponse = await suite.checkout.GetCheckout(
        pb.GetCheckoutRequest(id=checkout_id), metadata=suite.visitor()
    )
    return response.checkout


async def writable(suite: Suite, checkout_id: str) -> bool:
    """The checkout is open: not completed and no placement blocks a mutation."""
    response = await suite.checkout.UpdateCheckout(
        pb.UpdateCheckoutRequest(
            checkout=checkout_pb2.Checkout(id=checkout_id, buyer_note="still mine"),
            update_mask=field_mask_pb2.FieldMask(paths=["buyer_note"]),
        ),
        metadata=suite.visitor(),
    )
    return not response.checkout.completed


def coupon_refusal(exc: BaseException, checkout: checkout_pb2.Checkout) -> str:
    """The reason of a CreateOrder refused because the coupon had no use left. Depending on
    when the call looked, the last uses were already held by others when it priced the checkout
    (step 1: CALCULATION_ERRORS, the stored checkout's coupon error says why) or were taken
    between its pricing and its reservation (step 2: COUPON_USAGE_EXHAUSTED)."""
    assert isinstance(exc, grpc.aio.AioRpcError), exc
    assert exc.code() is grpc.StatusCode.FAILED_PRECONDITION, exc
    reason, metadata, _ = error_info(exc)
    if reason == "CALCULATION_ERRORS":
        assert metadata["areas"] == "coupon_calculation_error"
        assert checkout.calculation_errors.coupon_calculation_error.code == (
            "COUPON_USAGE_EXHAUSTED"
        )
    else:
        assert reason == "COUPON_USAGE_EXHAUSTED", reason
        assert metadata["coupon_code"].upper() == "LAST5"
    return reason


# -- the tests -----------------------------------------------------------------------------------


async def test_twenty_orders_on_a_coupon_with_five_uses_place_five(suite: Suite) -> None:
    await suite.products(product("lamp", "30.00"), stock={"lamp": 100})
    await shipping(suite)
    coupon = await make_coupon(suite, "LAST5", percentOffRate="10", usageLimit=5)
    checkouts = [await priced(suite, "lamp", 2, "last5") for _ in range(20)]
    for checkout in checkouts:
        assert checkout.applied_discounts[0].coupon.id == coupon.id

    results = await place_all(suite, [pb.CreateOrderRequest(id=c.id) for c in checkouts])

    placed = [(c, r) for c, r in zip(checkouts, results, strict=True) if not _failed(r)]
    refused = [(c, r) for c, r in zip(checkouts, results, strict=True) if _failed(r)]
    assert (len(placed), len(refused)) == (5, 15)
    for checkout, response in placed:
        assert [d.coupon.code for d in response.checkout.applied_discounts] == ["LAST5"]
        assert await orders_of(suite, checkout.id) == [response.order_id]
    for checkout, exc in refused:
        coupon_refusal(exc, await stored(suite, checkout.id))
        assert await orders_of(suite, checkout.id) == []
        assert await writable(suite, checkout.id)  # open again: the buyer may drop the coupon
    assert await coupon_uses(suite, coupon.id) == 5
    stock = await suite.product_stock("lamp")
    assert (stock.quantity, stock.reserved) == (90, 0)  # 5 orders x 2 sold; the rest released


async def test_a_rule_with_one_use_gives_it_to_one_order(suite: Suite) -> None:
    await suite.products(product("lamp", "30.00"), stock={"lamp": 10})
    await shipping(suite)
    rule = await make_rule(suite, "First lamp 10% off", "lamp", "10", usage_limit=1)
    first, second = await priced(suite, "lamp", 1), await priced(suite, "lamp", 1)
    for checkout in (first, second):
        assert [d.discount_rule.id for d in checkout.applied_discounts] == [rule.id]
    # lamp 30.00 - 10% = 27.00; shipping 5.00; NY tax 8.875%: 27.00 -> 2.40 (2.39625),
    # 5.00 -> 0.44 (0.44375); total 27.00 + 5.00 + 2.40 + 0.44 = 34.84.
    assert first.price_summary.total.amount == "34.84"

    # Both at once, each expecting the discounted total: one gets the rule's only use.
    results = await place_all(
        suite,
        [pb.CreateOrderRequest(id=c.id, expected_total="34.84") for c in (first, second)],
    )
    assert sum(not _failed(r) for r in results) == 1
    loser, refusal = next(
        (c, r) for c, r in zip((first, second), results, strict=True) if _failed(r)
    )
    assert isinstance(refusal, grpc.aio.AioRpcError)
    assert refusal.code() is grpc.StatusCode.FAILED_PRECONDITION
    # Step 2 refuses the use (DISCOUNT_RULE_USAGE_EXHAUSTED), or step 1 already priced the
    # checkout without the exhausted rule, so the expected total no longer holds.
    reason, metadata, _ = error_info(refusal)
    assert reason in {"DISCOUNT_RULE_USAGE_EXHAUSTED", "TOTAL_CHANGED"}, reason
    if reason == "DISCOUNT_RULE_USAGE_EXHAUSTED":
        assert metadata["discount_rule_ids"] == rule.id
    assert await orders_of(suite, loser.id) == []
    assert await rule_uses(suite, rule.id) == 1
    assert await discount_events(suite, LIMIT_REACHED, rule.id) == 1

    # The loser, placed again, is priced without the rule: 30.00 + 5.00 shipping + tax 2.66
    # (2.6625) + 0.44 = 38.10; it counts no use, and the limit-reached event stays the only one.
    again = await suite.checkout.CreateOrder(
        pb.CreateOrderRequest(id=loser.id), metadata=suite.visitor()
    )
    assert not again.checkout.applied_discounts
    assert again.checkout.price_summary.total.amount == "38.10"
    assert await rule_uses(suite, rule.id) == 1
    assert await discount_events(suite, LIMIT_REACHED, rule.id) == 1


async def test_a_retried_create_order_counts_the_use_once(suite: Suite) -> None:
    await suite.products(product("lamp", "30.00"), stock={"lamp": 10})
    await shipping(suite)
    coupon = await make_coupon(suite, "AGAIN", moneyOffAmount="3.00", usageLimit=10)
    rule = await make_rule(suite, "Lamps 10% off", "lamp", "10")
    checkout = await priced(suite, "lamp", 1, "again")

    results = await place_all(suite, [pb.CreateOrderRequest(id=checkout.id)] * 5)
    assert not any(_failed(r) for r in results), results
    assert len({r.order_id for r in results}) == 1
    again = await suite.checkout.CreateOrder(
        pb.CreateOrderRequest(id=checkout.id), metadata=suite.visitor()
    )
    assert again.order_id == results[0].order_id
    assert await coupon_uses(suite, coupon.id) == 1
    assert await rule_uses(suite, rule.id) == 1


@SQLITE_ONLY
async def test_a_use_taken_between_pricing_and_reservation_refuses_and_releases(
    suite: Suite,
) -> None:
    """Deterministic step-2 refusal: a validations provider (asked after discounts are priced)
    holds the CreateOrder until another reservation took the coupon's only use."""
    await suite.products(product("lamp", "30.00"), stock={"lamp": 10})
    await shipping(suite)
    gate = GatedValidations()
    started = await gate.serve()
    suite.providers.append(started)  # stopped with the suite
    # A long timeout: the gate, not the provider deadline, decides when it answers.
    await suite.register(Kind.VALIDATIONS, "gated", started.target, timeout_ms=15_000)
    coupon = await make_coupon(suite, "ONCE", percentOffRate="10", usageLimit=1)
    checkout = await priced(suite, "lamp", 2, "ONCE")
    assert checkout.applied_discounts[0].coupon.id == coupon.id

    gate.close()
    placing = asyncio.ensure_future(
        suite.checkout.CreateOrder(pb.CreateOrderRequest(id=checkout.id), metadata=suite.visitor())
    )
    await asyncio.wait_for(gate.entered.wait(), 20)  # priced with the coupon
    # Meanwhile another call gives up waiting just before its deadline, told when to retry
    # (a loaded machine may let the deadline pass first: then it just tries again).
    for _ in range(5):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await suite.checkout.CreateOrder(
                pb.CreateOrderRequest(id=checkout.id), metadata=suite.visitor(), timeout=1.0
            )
        if caught.value.code() is not grpc.StatusCode.DEADLINE_EXCEEDED:
            break
    assert caught.value.code() is grpc.StatusCode.ABORTED
    assert error_info(caught.value)[0] == "ORDER_CREATION_IN_PROGRESS"
    assert _has_retry_info(caught.value)
    other = str(uuid.uuid4())
    await rules(suite).ReserveDiscountUsage(
        dpb.ReserveDiscountUsageRequest(reservation_id=other, coupon_code="once"),
        metadata=suite.runtime.service_metadata(suite.site),
    )
    gate.open()
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await placing
    assert caught.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert error_info(caught.value)[:2] == ("COUPON_USAGE_EXHAUSTED", {"coupon_code": "ONCE"})
    assert (await suite.product_stock("lamp")).reserved == 0  # the stock went back
    assert await writable(suite, checkout.id)

    # Once the other reservation lets go, the same checkout gets the use.
    await rules(suite).ReleaseDiscountUsage(
        dpb.ReleaseDiscountUsageRequest(reservation_id=other),
        metadata=suite.runtime.service_metadata(suite.site),
    )
    placed = await suite.checkout.CreateOrder(
        pb.CreateOrderRequest(id=checkout.id), metadata=suite.visitor()
    )
    assert placed.checkout.applied_discounts[0].coupon.code == "ONCE"
    assert await coupon_uses(suite, coupon.id) == 1


async def test_a_rejected_order_gives_the_use_back(start_suite: StartSuite) -> None:
    front = OrdersFront(refuse=True)
    suite = await start_suite(orders_front=front.start)
    try:
        await suite.products(product("lamp", "30.00"), stock={"lamp": 10})
        await shipping(suite)
        coupon = await make_coupon(suite, "ONLY1", percentOffRate="10", usageLimit=1)
        first = await priced(suite, "lamp", 1, "only1")
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await suite.checkout.CreateOrder(
                pb.CreateOrderRequest(id=first.id), metadata=suite.visitor()
            )
        assert error_info(caught.value)[0] == "ORDER_REJECTED"
        assert (await suite.product_stock("lamp")).reserved == 0
        assert await writable(suite, first.id)

        # The released use is there for another checkout: the coupon's last use.
        front.refuse = False
        second = await priced(suite, "lamp", 1, "only1")
        assert second.applied_discounts[0].coupon.id == coupon.id
        assert not second.HasField("calculation_errors")
        placed = await suite.checkout.CreateOrder(
            pb.CreateOrderRequest(id=second.id), metadata=suite.visitor()
        )
        assert placed.checkout.applied_discounts[0].coupon.code == "ONLY1"
        assert await coupon_uses(suite, coupon.id) == 1
    finally:
        await front.stop()


@SQLITE_ONLY
async def test_discounts_down_at_reservation_holds_nothing_and_an_owed_record_is_retried(
    start_suite: StartSuite,
) -> None:
    front = DiscountsFront()
    address = await front.start()
    suite = await start_suite(ECOM_DISCOUNTS_ADDR=address, CHECKOUT_RESERVATION_TIMEOUT_S=0.5)
    front.upstream(suite.running.address)
    try:
        await suite.products(product("lamp", "30.00"), stock={"lamp": 10})
        await shipping(suite)
        coupon = await make_coupon(suite, "DOWN", percentOffRate="10", usageLimit=3)
        checkout = await priced(suite, "lamp", 1, "down")
        assert checkout.applied_discounts[0].coupon.id == coupon.id

        # Reserving fails: UNAVAILABLE with RetryInfo, the stock goes back, the checkout is open.
        front.reserve_down = True
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await suite.checkout.CreateOrder(
                pb.CreateOrderRequest(id=checkout.id), metadata=suite.visitor()
            )
        assert caught.value.code() is grpc.StatusCode.UNAVAILABLE
        assert error_info(caught.value)[0] == "DISCOUNTS_UNAVAILABLE"
        assert _has_retry_info(caught.value)
        assert (await suite.product_stock("lamp")).reserved == 0
        assert await writable(suite, checkout.id)
        assert await coupon_uses(suite, coupon.id) == 0

        # Recording fails after the order exists: the order stands, the finisher records later,
        # once (the first record's answer is lost after it counted: idempotent per order id).
        front.reserve_down = False
        front.lose_record_answers = 2
        placed = await suite.checkout.CreateOrder(
            pb.CreateOrderRequest(id=checkout.id), metadata=suite.visitor()
        )
        assert placed.order_id

        async def recorded() -> bool:
            return front.records_answered >= 1

        await eventually(recorded, timeout_s=20)
        assert front.records_sent >= 3
        assert await coupon_uses(suite, coupon.id) == 1
        stock = await suite.product_stock("lamp")
        assert (stock.quantity, stock.reserved) == (9, 0)
    finally:
        await front.stop()


# -- scripted parts ------------------------------------------------------------------------------


def _failed(result: object) -> bool:
    return isinstance(result, BaseException)


def _has_retry_info(exc: grpc.aio.AioRpcError) -> bool:
    status = rpc_status.from_call(exc)
    details = status.details if status is not None else ()
    return any(d.Is(error_details_pb2.RetryInfo.DESCRIPTOR) for d in details)


@dataclass
class GatedValidations(validations_grpc.ValidationsProviderServiceServicer):
    """A validations provider that finds nothing wrong; while closed, each call waits until the
    gate opens (`entered` tells that a call is waiting)."""

    entered: asyncio.Event = field(default_factory=asyncio.Event)
    _gate: asyncio.Event | None = None

    async def serve(self) -> Started:
        server = grpc.aio.server()
        validations_grpc.add_ValidationsProviderServiceServicer_to_server(self, server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        return Started(server, port)

    def close(self) -> None:
        self._gate = asyncio.Event()

    def open(self) -> None:
        if self._gate is not None:
            self._gate.set()

    async def GetValidationViolations(
        self,
        request: validations_pb2.GetValidationViolationsRequest,
        context: grpc.aio.ServicerContext,
    ) -> validations_pb2.GetValidationViolationsResponse:
        if self._gate is not None:
            self.entered.set()
            await self._gate.wait()
        return validations_pb2.GetValidationViolationsResponse()


@dataclass
class DiscountsFront(UnimplementedDiscountRulesService):
    """Between the checkout and the real discounts service: forwards what the checkout calls;
    can fail ReserveDiscountUsage, and lose RecordDiscountUsage answers after they counted."""

    reserve_down: bool = False
    lose_record_answers: int = 0
    records_sent: int = 0
    records_answered: int = 0
    _target: str = ""
    _upstream: grpc.aio.Channel | None = None
    _server: grpc.aio.Server | None = None

    async def start(self) -> str:
        self._server = grpc.aio.server()
        discount_rules_service_pb2_grpc.add_DiscountRulesServiceServicer_to_server(
            self, self._server
        )
        port = self._server.add_insecure_port("127.0.0.1:0")
        await self._server.start()
        return f"127.0.0.1:{port}"

    def upstream(self, target: str) -> None:
        self._upstream = grpc.aio.insecure_channel(target)

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.stop(0)
        if self._upstream is not None:
            await self._upstream.close()

    def _stub(self) -> discount_rules_service_pb2_grpc.DiscountRulesServiceStub:
        assert self._upstream is not None
        return discount_rules_service_pb2_grpc.DiscountRulesServiceStub(self._upstream)

    @staticmethod
    def _metadata(context: grpc.aio.ServicerContext) -> list[tuple[str, str]]:
        return [(k, str(v)) for k, v in context.invocation_metadata() or ()]

    async def GetAppliedDiscounts(
        self, request: dpb.GetAppliedDiscountsRequest, context: grpc.aio.ServicerContext
    ) -> dpb.GetAppliedDiscountsResponse:
        response: dpb.GetAppliedDiscountsResponse = await self._stub().GetAppliedDiscounts(
            request, metadata=self._metadata(context), timeout=context.time_remaining()
        )
        return response

    async def ReserveDiscountUsage(
        self, request: dpb.ReserveDiscountUsageRequest, context: grpc.aio.ServicerContext
    ) -> dpb.ReserveDiscountUsageResponse:
        if self.reserve_down:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "discounts are down")
        response: dpb.ReserveDiscountUsageResponse = await self._stub().ReserveDiscountUsage(
            request, metadata=self._metadata(context), timeout=context.time_remaining()
        )
        return response

    async def ReleaseDiscountUsage(
        self, request: dpb.ReleaseDiscountUsageRequest, context: grpc.aio.ServicerContext
    ) -> dpb.ReleaseDiscountUsageResponse:
        response: dpb.ReleaseDiscountUsageResponse = await self._stub().ReleaseDiscountUsage(
            request, metadata=self._metadata(context), timeout=context.time_remaining()
        )
        return response

    async def RecordDiscountUsage(
        self, request: dpb.RecordDiscountUsageRequest, context: grpc.aio.ServicerContext
    ) -> dpb.RecordDiscountUsageResponse:
        self.records_sent += 1
        response: dpb.RecordDiscountUsageResponse = await self._stub().RecordDiscountUsage(
            request, metadata=self._metadata(context), timeout=context.time_remaining()
        )
        if self.lose_record_answers > 0:
            self.lose_record_answers -= 1
            await context.abort(grpc.StatusCode.UNAVAILABLE, "connection lost after the call")
        self.records_answered += 1
        return response
