"""The table of hand-computed discount cases (tests/integration/discounts/cases.py) through the
cart's EstimateTotals over real gRPC, as the table's docstring describes, and the cart with the
discounts service refusing a coupon or gone.

One served topology per backend (SQLite with the in-process session store and event bus, or
PostgreSQL with Redis): the provider registry, the reference catalog, the discounts service and
the cart on one real server, shared by the module's tests, which keep apart by using a fresh site
per case. Each case upserts its items into the reference catalog at the case's prices, sets the
stacking policy, creates its rules and coupons, creates a cart with its lines and coupon code,
and compares EstimateTotals' price summary, line discounts and applied discounts with the table
(no shipping provider and no tax are configured, so total = subtotal - discount)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import grpc
import pytest
import pytest_asyncio

from ecom.cart.v1 import cart_service_pb2 as cart_pb
from ecom.cart.v1 import cart_service_pb2_grpc
from ecom.catalog.v1 import catalog_admin_service_pb2, catalog_admin_service_pb2_grpc, product_pb2
from ecom.common.v1 import channel_pb2
from ecom.discounts.v1 import (
    coupons_service_pb2,
    coupons_service_pb2_grpc,
    discount_rules_service_pb2,
    discount_rules_service_pb2_grpc,
    discount_settings_pb2,
)
from services.cart import MODULE as CART
from services.discounts import MODULE as DISCOUNTS
from services.discounts.client import DISCOUNTS_UNAVAILABLE
from services.platform.config import load_config
from services.platform.identity import Role
from services.platform.runtime import Runtime
from services.platform.server import RunningServer, start_server
from services.providers.catalog import MODULE as CATALOG
from services.registry import MODULE as REGISTRY
from tests.integration.cart.kit import line
from tests.integration.discounts import kit as discounts_kit
from tests.integration.discounts.cases import (
    BEST_PER_ITEM,
    CASES,
    PAST_END,
    PAST_START,
    Case,
    coupon,
    rule,
    specific,
)
from tests.integration.discounts.kit import coupon_from, rule_from

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

Metadata = tuple[tuple[str, str], ...]
APP = "ecom.catalog"  # the reference catalog's app id, which the cases' scopes name
RUN = uuid.uuid4().hex[:10]


def case_site(backend: str, index: int) -> str:
    return f"dc-{RUN}-{backend}-{index}"


@dataclass
class Topology:
    running: RunningServer
    channel: grpc.aio.Channel
    backend: str

    def auth(self, site: str, role: Role, subject: str) -> Metadata:
        token = self.running.runtime.tokens.mint(role=role, site=site, subject=subject)
        return (("authorization", f"Bearer {token}"),)

    @property
    def cart(self) -> cart_service_pb2_grpc.CartServiceStub:
        return cart_service_pb2_grpc.CartServiceStub(self.channel)

    @property
    def rules(self) -> discount_rules_service_pb2_grpc.DiscountRulesServiceStub:
        return discount_rules_service_pb2_grpc.DiscountRulesServiceStub(self.channel)

    @property
    def coupons(self) -> coupons_service_pb2_grpc.CouponsServiceStub:
        return coupons_service_pb2_grpc.CouponsServiceStub(self.channel)

    @property
    def catalog(self) -> catalog_admin_service_pb2_grpc.CatalogAdminServiceStub:
        return catalog_admin_service_pb2_grpc.CatalogAdminServiceStub(self.channel)


def _environ(backend: str, request: pytest.FixtureRequest, data_dir: Path) -> dict[str, str]:
    # JPY cases run on sites whose carts are in JPY; the sites are known before the server starts.
    jpy = {
        case_site(backend, index): {"currency": "JPY"}
        for index, case in enumerate(CASES)
        if case.currency == "JPY"
    }
    environ = {
        "ECOM_DATA_DIR": str(data_dir),
        "ECOM_DEMO_DATA": "no",
        "ECOM_SITE_SETTINGS": json.dumps(jpy),
    }
    if backend == "postgresql":
        environ |= {
            "ECOM_DATABASE_URL": request.getfixturevalue("postgres_url"),
            "ECOM_REDIS_URL": request.getfixturevalue("redis_url"),
            "ECOM_KEY_PREFIX": f"{request.getfixturevalue('key_prefix')}{RUN}:",
        }
    return environ


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=["sqlite", "postgresql"])
async def topology(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Topology]:
    backend = str(request.param)
    config = load_config(_environ(backend, request, tmp_path_factory.mktemp(f"dc-{backend}")))
    running = await start_server(Runtime(config), [REGISTRY, CATALOG, DISCOUNTS, CART])
    channel = grpc.aio.insecure_channel(running.address)
    yield Topology(running, channel, backend)
    await channel.close()
    await running.stop(0)


async def prepare(topology: Topology, site: str, case: Case) -> None:
    """The case's items in the reference catalog, its stacking policy, rules and coupons."""
    admin = topology.auth(site, Role.ADMIN, "admin-1")
    products = []
    for item in {item.item_id: item for item in case.lines}.values():
        product = product_pb2.Product(
            id=item.item_id,
            name=item.item_id.title(),
            price=item.price,
            currency=case.currency,
            shippable=False,
            weight_unit=channel_pb2.WEIGHT_UNIT_KG,
        )
        products.append(product)
    await topology.catalog.UpsertProducts(
        catalog_admin_service_pb2.UpsertProductsRequest(products=products), metadata=admin
    )
    if case.stacking == BEST_PER_ITEM:
        settings = discount_settings_pb2.DiscountSettings(
            stacking_policy=discount_settings_pb2.STACKING_POLICY_BEST_PER_ITEM
        )
        await topology.rules.UpdateDiscountSettings(
            discount_rules_service_pb2.UpdateDiscountSettingsRequest(discount_settings=settings),
            metadata=admin,
        )
    for spec in case.rules:  # in order: the oldest rule is first
        await topology.rules.CreateDiscountRule(
            discount_rules_service_pb2.CreateDiscountRuleRequest(discount_rule=rule_from(spec)),
            metadata=admin,
        )
    for spec in case.coupons:
        await topology.coupons.CreateCoupon(
            coupons_service_pb2.CreateCouponRequest(coupon=coupon_from(spec)), metadata=admin
        )


async def estimate(topology: Topology, site: str, case: Case) -> cart_pb.EstimateTotalsResponse:
    buyer = topology.auth(site, Role.VISITOR, f"v-{uuid.uuid4().hex[:8]}")
    created = await topology.cart.CreateCart(
        cart_pb.CreateCartRequest(
            line_items=[line(item.item_id, item.quantity, app_id=APP) for item in case.lines],
            coupon_code=case.coupon_code or "",
        ),
        metadata=buyer,
    )
    assert created.cart.currency == case.currency
    response: cart_pb.EstimateTotalsResponse = await topology.cart.EstimateTotals(
        cart_pb.EstimateTotalsRequest(id=created.cart.id), metadata=buyer, timeout=20
    )
    return response


def applied_amounts(response: cart_pb.EstimateTotalsResponse) -> dict[str, Decimal]:
    """Rule name or coupon code -> what it took off, as the cart lists them."""
    amounts: dict[str, Decimal] = {}
    for discount in response.applied_discounts:
        if discount.HasField("discount_rule"):
            key, amount = discount.discount_rule.name.original, discount.discount_rule.amount
        else:
            key, amount = discount.coupon.code, discount.coupon.amount
        amounts[key] = amounts.get(key, Decimal(0)) + Decimal(amount.amount)
    return amounts


@pytest.mark.parametrize("index", range(len(CASES)), ids=[case.name for case in CASES])
async def test_case_through_the_cart(topology: Topology, index: int) -> None:
    case = CASES[index]
    site = case_site(topology.backend, index)
    await prepare(topology, site, case)
    response = await estimate(topology, site, case)

    summary = response.price_summary
    assert summary.subtotal.amount == case.subtotal
    assert summary.discount.amount == case.total_discount
    assert summary.total.amount == case.total
    by_item = {item.id: item.catalog_reference.catalog_item_id for item in response.cart.line_items}
    assert len(by_item) == len(case.lines)
    for calculated in response.calculated_line_items:
        item_id = by_item[calculated.line_item_id]
        expected = Decimal(case.line_discounts.get(item_id, "0"))
        assert Decimal(calculated.prices_breakdown.total_discount.amount) == expected, item_id

    errors = response.calculation_errors
    assert not errors.HasField("discounts_calculation_error")
    assert errors.coupon_calculation_error.code == case.coupon_error
    expected_applied = {key: Decimal(value) for key, value in case.applied.items()}
    if case.free_shipping:
        # No shipping is priced here (no provider): free shipping takes nothing off a cart.
        expected_applied = {key: Decimal(0) for key in expected_applied}
    if case.coupon_error:
        # A refused coupon stays on the cart, listed by its code at 0.
        expected_applied[(case.coupon_code or "").strip()] = Decimal(0)
    assert applied_amounts(response) == expected_applied


# -- the cart and the discounts service on servers of their own ------------------------------------


@dataclass
class Apart:
    cart_running: RunningServer
    channel: grpc.aio.Channel
    discounts: discounts_kit.Served | None

    def auth(self, site: str, role: Role, subject: str) -> Metadata:
        token = self.cart_running.runtime.tokens.mint(role=role, site=site, subject=subject)
        return (("authorization", f"Bearer {token}"),)


@pytest_asyncio.fixture(loop_scope="module")
async def apart(tmp_path: Path) -> AsyncIterator[Apart]:
    """The discounts service (with its own registry) on one server, the registry, reference
    catalog and cart on another that reaches it through ECOM_DISCOUNTS_ADDR; SQLite."""
    served = await discounts_kit.serve(tmp_path / "discounts", {})
    config = load_config(
        {
            "ECOM_DATA_DIR": str(tmp_path / "cart"),
            "ECOM_DEMO_DATA": "no",
            "ECOM_DISCOUNTS_ADDR": served.running.address,
        }
    )
    running = await start_server(Runtime(config), [REGISTRY, CATALOG, CART])
    channel = grpc.aio.insecure_channel(running.address)
    state = Apart(running, channel, served)
    yield state
    await channel.close()
    await running.stop(0)
    if state.discounts is not None:
        await discounts_kit.stop(state.discounts)


async def test_a_stopped_discounts_service_leaves_the_cart_undiscounted(
    apart: Apart, site: str
) -> None:
    served = apart.discounts
    assert served is not None
    admin = apart.auth(site, Role.ADMIN, "admin-1")
    await catalog_admin_service_pb2_grpc.CatalogAdminServiceStub(apart.channel).UpsertProducts(
        catalog_admin_service_pb2.UpsertProductsRequest(
            products=[product_pb2.Product(id="shirt", name="Shirt", price="20.00")]
        ),
        metadata=admin,
    )
    await served.create_rule(site, rule_from(rule("10% off", specific("PERCENTAGE", "10"))))
    await served.create_coupon(site, coupon_from(coupon("SAVE5", moneyOffAmount="5")))
    cart = cart_service_pb2_grpc.CartServiceStub(apart.channel)
    buyer = apart.auth(site, Role.VISITOR, "v-1")
    created = await cart.CreateCart(
        cart_pb.CreateCartRequest(line_items=[line("shirt", 2, app_id=APP)], coupon_code="SAVE5"),
        metadata=buyer,
    )
    request = cart_pb.EstimateTotalsRequest(id=created.cart.id)

    # Reachable: rule 4.00 on 40.00, then the coupon's 5.00.
    served_totals = await cart.EstimateTotals(request, metadata=buyer, timeout=10)
    assert served_totals.price_summary.discount.amount == "9.00"
    assert not served_totals.HasField("calculation_errors")

    await discounts_kit.stop(served)
    apart.discounts = None
    totals = await cart.EstimateTotals(request, metadata=buyer, timeout=10)
    errors = totals.calculation_errors
    assert errors.discounts_calculation_error.code == DISCOUNTS_UNAVAILABLE
    assert errors.coupon_calculation_error.code == DISCOUNTS_UNAVAILABLE
    assert "SAVE5" in errors.coupon_calculation_error.description
    summary = totals.price_summary
    assert (summary.subtotal.amount, summary.discount.amount, summary.total.amount) == (
        "40.00",
        "0.00",
        "40.00",
    )
    assert [d.coupon.code for d in totals.applied_discounts] == ["SAVE5"]
    assert totals.applied_discounts[0].coupon.amount.amount == "0.00"
    # Every other cart call still answers, undiscounted.
    got = await cart.GetCart(cart_pb.GetCartRequest(id=created.cart.id), metadata=buyer)
    assert got.cart.line_items[0].quantity == 2


async def test_unknown_and_expired_coupons_come_from_the_service(apart: Apart, site: str) -> None:
    served = apart.discounts
    assert served is not None
    admin = apart.auth(site, Role.ADMIN, "admin-1")
    await catalog_admin_service_pb2_grpc.CatalogAdminServiceStub(apart.channel).UpsertProducts(
        catalog_admin_service_pb2.UpsertProductsRequest(
            products=[product_pb2.Product(id="shirt", name="Shirt", price="20.00")]
        ),
        metadata=admin,
    )
    await served.create_coupon(
        site,
        coupon_from(
            coupon("OLD10", percentOffRate="10", startTime=PAST_START, expirationTime=PAST_END)
        ),
    )
    cart = cart_service_pb2_grpc.CartServiceStub(apart.channel)
    buyer = apart.auth(site, Role.VISITOR, "v-2")
    results = {}
    for code in ("NOPE", "OLD10"):
        created = await cart.CreateCart(
            cart_pb.CreateCartRequest(line_items=[line("shirt", app_id=APP)], coupon_code=code),
            metadata=buyer,
        )
        results[code] = await cart.EstimateTotals(
            cart_pb.EstimateTotalsRequest(id=created.cart.id), metadata=buyer, timeout=10
        )
    unknown = results["NOPE"].calculation_errors.coupon_calculation_error
    assert (unknown.code, unknown.description) == (
        "COUPON_NOT_FOUND",
        "coupon 'NOPE' does not exist",
    )
    assert results["OLD10"].calculation_errors.coupon_calculation_error.code == "COUPON_EXPIRED"
    for totals in results.values():
        assert not totals.calculation_errors.HasField("discounts_calculation_error")
        assert totals.price_summary.total.amount == "20.00"
