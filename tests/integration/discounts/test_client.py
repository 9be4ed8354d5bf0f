"""The suite's client of GetAppliedDiscounts (`services.discounts.client`) over real gRPC: against
the real discounts service, and against a scripted DiscountRulesService on a real server that is
slow, failing or answers garbage. Whatever the service does, the client returns a result: the
failures are a `discounts_error` (and a `coupon_error` when a code was given), never an
exception, and never a partly used answer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import grpc
import pytest
import pytest_asyncio

from ecom.common.v1 import buyer_pb2, money_pb2
from ecom.discounts.v1 import discount_rules_service_pb2 as pb
from ecom.discounts.v1 import discount_rules_service_pb2_grpc as pb_grpc
from services.discounts.client import (
    DISCOUNTS_UNAVAILABLE,
    AppliedCoupon,
    DiscountLine,
    DiscountsClient,
    DiscountsQuery,
)
from services.platform.config import load_config
from services.platform.runtime import Runtime
from services.pricing import DiscountSource, DiscountSourceKind, LineDiscount, ShippingDiscount
from tests.integration.discounts.cases import coupon, rule, specific
from tests.integration.discounts.kit import CATALOG, NOWHERE, Served, coupon_from, rule_from
from tests.integration.unimplemented import UnimplementedDiscountRulesService

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

LINES = [
    DiscountLine("l1", CATALOG, "shirt", 2, Decimal("20.00")),
    DiscountLine("l2", CATALOG, "mug", 1, Decimal("9.99")),
]


def query(coupon_code: str = "", **fields: object) -> DiscountsQuery:
    return DiscountsQuery(LINES, coupon_code, "USD", **fields)  # type: ignore[arg-type]


@pytest_asyncio.fixture(loop_scope="module")
async def runtimes(tmp_path: Path) -> AsyncIterator[list[Runtime]]:
    made: list[Runtime] = []
    yield made
    for runtime in made:
        await runtime.close()


def client_to(address: str, runtimes: list[Runtime], tmp_path: Path) -> DiscountsClient:
    """A client in a process of its own whose `discounts` peer is `address`."""
    runtime = Runtime(load_config({"ECOM_DATA_DIR": str(tmp_path), "ECOM_DISCOUNTS_ADDR": address}))
    runtimes.append(runtime)
    return DiscountsClient(runtime)


async def test_the_real_service_in_the_engines_terms(
    sqlite_only: Served, site: str, runtimes: list[Runtime], tmp_path: Path
) -> None:
    made = await sqlite_only.create_rule(
        site, rule_from(rule("10% off shirts", specific("PERCENTAGE", "10", "shirt")))
    )
    ship = await sqlite_only.create_coupon(site, coupon_from(coupon("SHIP", freeShipping=True)))
    save = await sqlite_only.create_coupon(
        site, coupon_from(coupon("SAVE3", "Three off", moneyOffAmount="3"))
    )
    client = client_to(sqlite_only.running.address, runtimes, tmp_path)
    buyer = buyer_pb2.BuyerInfo(visitor_id="v-1")

    result = await client.evaluate(site, query(" save3", buyer=buyer), remaining_s=5)
    rule_source = DiscountSource(DiscountSourceKind.DISCOUNT_RULE, made.id)
    coupon_source = DiscountSource(DiscountSourceKind.COUPON, save.id)
    # Rule: 10% of 40.00 = 4.00. Coupon 3.00 over what is left, 36.00 and 9.99 (45.99):
    # 2.3483.. and 0.6516.. -> floors 2.34 + 0.65; the missing cent goes to the largest
    # remainder (0.0083 of l1 over 0.0016 of l2).
    assert set(result.line_discounts) == {
        LineDiscount(rule_source, "l1", Decimal("4.00")),
        LineDiscount(coupon_source, "l1", Decimal("2.35")),
        LineDiscount(coupon_source, "l2", Decimal("0.65")),
    }
    assert result.coupon == AppliedCoupon(save.id, "SAVE3", "Three off")
    assert dict(result.rules) == {made.id: "10% off shirts"}
    assert result.coupon_error is None and result.discounts_error is None

    free = await client.evaluate(site, query("SHIP", shipping_amount=Decimal("5")), remaining_s=5)
    assert free.shipping_discounts == (
        ShippingDiscount(DiscountSource(DiscountSourceKind.COUPON, ship.id)),
    )

    refused = await client.evaluate(site, query("NOPE"), remaining_s=5)
    assert refused.coupon is None and refused.coupon_code == "NOPE"
    assert refused.coupon_error is not None and refused.coupon_error.code == "COUPON_NOT_FOUND"
    assert len(refused.line_discounts) == 1  # the rule still applies

    # Nothing to discount and no code: no call at all (and no error).
    assert await client.evaluate(site, DiscountsQuery([], "", "USD"), remaining_s=5) == (
        type(result)()
    )


@dataclass
class Scripted(UnimplementedDiscountRulesService):
    """A DiscountRulesService that answers what the test scripts."""

    mode: str = "garbage"
    calls: int = 0

    async def GetAppliedDiscounts(
        self, request: pb.GetAppliedDiscountsRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetAppliedDiscountsResponse:
        self.calls += 1
        if self.mode == "slow":
            await asyncio.sleep(3)
        if self.mode == "failing":
            await context.abort(grpc.StatusCode.INTERNAL, "scripted failure")
        # Garbage: a discount for a line nobody asked about.
        return pb.GetAppliedDiscountsResponse(
            currency=request.currency,
            line_item_discounts=[
                pb.LineItemDiscount(
                    line_item_id="not-a-line", total_discount=money_pb2.Price(amount="1.00")
                )
            ],
        )


@pytest_asyncio.fixture(loop_scope="module")
async def scripted() -> AsyncIterator[tuple[Scripted, str]]:
    servicer = Scripted()
    server = grpc.aio.server()
    pb_grpc.add_DiscountRulesServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield servicer, f"127.0.0.1:{port}"
    await server.stop(0)


@pytest.mark.parametrize(
    ("mode", "phrase"),
    [
        ("garbage", "answer was rejected"),
        ("failing", "INTERNAL"),
        ("slow", "did not answer within"),
    ],
)
async def test_a_bad_service_is_a_calculation_error(
    scripted: tuple[Scripted, str],
    runtimes: list[Runtime],
    tmp_path: Path,
    mode: str,
    phrase: str,
) -> None:
    servicer, address = scripted
    servicer.mode = mode
    client = client_to(address, runtimes, tmp_path)
    # The slow service sleeps 3 s: the call ends at its 0.5 s deadline ("did not answer").
    result = await client.evaluate("site-x", query("SAVE"), remaining_s=0.5)
    assert servicer.calls == 1
    assert result.discounts_error is not None and result.coupon_error is not None
    assert result.discounts_error.code == result.coupon_error.code == DISCOUNTS_UNAVAILABLE
    assert phrase in result.discounts_error.description
    assert result.line_discounts == () and result.coupon is None and not result.rules


async def test_nobody_listening_and_no_time_left(runtimes: list[Runtime], tmp_path: Path) -> None:
    client = client_to(NOWHERE, runtimes, tmp_path)
    down = await client.evaluate("site-x", query(), remaining_s=2)
    assert down.discounts_error is not None and down.discounts_error.code == DISCOUNTS_UNAVAILABLE
    assert down.coupon_error is None  # no code was given
    late = await client.evaluate("site-x", query("SAVE"), remaining_s=0)
    assert late.discounts_error is not None and "no time was left" in (
        late.discounts_error.description
    )
