"""Interop: a whole purchase through the generated TypeScript client (gen/ts), against `ecom serve`,
with the shipping rates coming from a provider written in TypeScript and registered through
ProviderRegistryService.

tests/interop/purchase.ts starts the TS provider (tests/interop/shipping_provider.ts), registers
it as "ts-shipping", buys a demo product as a visitor (current cart -> checkout -> addresses ->
the provider's "ts-express" option -> CreateOrder -> GetOrder) and prints one JSON line, which
this test checks against the demo catalog and the pricing rules. Skipped where node_modules is
missing (run `make setup`), except under CI, which installs it.
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import subprocess
import uuid
from collections.abc import Iterator
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

import grpc
import pytest

from ecom.common.v1 import address_pb2, catalog_pb2, channel_pb2, line_item_pb2, money_pb2
from ecom.spi.shipping_rates.v1 import shipping_rates_provider_service_pb2 as shipping_pb
from ecom.spi.shipping_rates.v1 import shipping_rates_provider_service_pb2_grpc as shipping_grpc
from services.platform.config import DEV_SECRET
from services.platform.identity import Role, TokenService
from services.providers.catalog.demo import DEMO_SITE, PRODUCTS
from tests.e2e.serve import ServeProcess, ecom_serve, suite_env

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
TSC = ROOT / "node_modules" / ".bin" / "tsc"
BUILD = ROOT / ".build" / "interop"
PRODUCT = "canvas-tote"  # no variants, unlimited stock, ships: repeatable on any data dir
QUANTITY = 2
APP_ID = "ts-shipping"
EXPRESS_PRICE = Decimal("19.00")  # shipping_provider.ts DEFAULT_OFFERS
# Sales tax at the destination (purchase.ts ships to US-NY), so that the suite taxes the TS
# provider's rate too (shipping is taxable by default).
NY_RATE = Decimal("0.08875")
TAX_RATES = {"jurisdictions": {"US-NY": {"tax_name": "Sales tax", "rate": str(NY_RATE)}}}
PURCHASE_TIMEOUT_S = 120
# The deadline of the suite's provider calls: its own reference providers (ECOM_PROVIDER_TIMEOUT_MS)
# and the TS one (purchase.ts registers it with --provider-timeout-ms). Above the 2 s default, so
# that a busy CI machine does not turn a slow answer into a calculation error.
PROVIDER_TIMEOUT_MS = 10_000


@pytest.fixture(scope="module")
def compiled() -> Iterator[Path]:
    if not TSC.exists() or shutil.which("node") is None:
        reason = "node or node_modules missing (run `make setup`): TS interop not run"
        if os.environ.get("CI"):
            pytest.fail(reason)  # CI installs node_modules: a skip there would hide a gap
        pytest.skip(reason)
    # A directory of this run's own under .build/interop: pytest runs started at the same time
    # (a developer's and CI's, or several agents') must not delete or rewrite each other's JS
    # while node loads it. Inside the repo so that node resolves node_modules from it.
    out = BUILD / f"run-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    result = subprocess.run(
        [str(TSC), "-p", "tests/interop", "--outDir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, f"tsc -p tests/interop failed:\n{result.stdout}{result.stderr}"
    purchase = out / "tests" / "interop" / "purchase.js"
    assert purchase.exists(), f"tsc wrote no {purchase.relative_to(ROOT)}"
    try:
        yield purchase
    finally:
        shutil.rmtree(out, ignore_errors=True)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    data_dir = tmp_path_factory.mktemp("serve-ts-interop")
    settings = {
        "ECOM_TAX_RATES": json.dumps(TAX_RATES),
        "ECOM_PROVIDER_TIMEOUT_MS": str(PROVIDER_TIMEOUT_MS),
    }
    env = suite_env(data_dir, settings)
    with ecom_serve(env) as serve:
        yield serve


def _text(output: str | bytes | None) -> str:
    if isinstance(output, bytes):
        return output.decode(errors="replace")
    return output or ""


def _run_purchase(script: Path, served: ServeProcess, visitor: str) -> dict[str, Any]:
    visitor_token = TokenService(DEV_SECRET).mint(
        role=Role.VISITOR, site=DEMO_SITE, subject=visitor
    )
    env = {
        **os.environ,
        "ECOM_INTEROP_ADMIN_TOKEN": served.admin_token,
        "ECOM_INTEROP_VISITOR_TOKEN": visitor_token,
    }
    argv = ["node", str(script), "--target", served.address, "--product", PRODUCT]
    argv += ["--quantity", str(QUANTITY), "--app-id", APP_ID]
    argv += ["--provider-timeout-ms", str(PROVIDER_TIMEOUT_MS)]
    argv += ["--timeout-s", str(PURCHASE_TIMEOUT_S - 10)]
    try:
        result = subprocess.run(
            argv,
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=PURCHASE_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(
            f"purchase.js did not finish in {PURCHASE_TIMEOUT_S} s:\n{_text(exc.stdout)}\n"
            f"{_text(exc.stderr)}"
        )
    lines = result.stdout.strip().splitlines()
    report: dict[str, Any] = json.loads(lines[-1]) if lines else {"ok": False}
    server_log = "\n".join(served.output[-40:])
    assert result.returncode == 0 and report.get("ok") is True, (
        f"purchase.js exited {result.returncode}:\n{json.dumps(report, indent=2)}\n"
        f"stderr:\n{result.stderr}\necom serve (last lines):\n{server_log}"
    )
    return report


@pytest.fixture(scope="module")
def visitor() -> str:
    return str(uuid.uuid4())


@pytest.fixture(scope="module")
def report(compiled: Path, served: ServeProcess, visitor: str) -> dict[str, Any]:
    return _run_purchase(compiled, served, visitor)


def _decimals(summary: dict[str, str]) -> dict[str, Decimal]:
    return {name: Decimal(value or "0") for name, value in summary.items()}


def test_the_order_exists_and_is_the_visitors(report: dict[str, Any]) -> None:
    order = report["order"]
    assert order["id"]
    assert int(order["number"]) > 0
    assert order["checkout_id"] == report["checkout_id"]
    assert order["currency"] == report["checkout"]["currency"] == "USD"
    assert order["buyer_email"] == "ada@example.com"
    assert order["billing_country"] == "US"
    assert order["shipping"]["destination_country"] == "US"
    assert report["checkout"]["completed_after_create_order"] is True
    [line] = order["line_items"]
    assert (line["catalog_item_id"], line["app_id"], line["quantity"]) == (
        PRODUCT,
        "ecom.catalog",
        QUANTITY,
    )


def test_the_shipping_option_is_the_ts_providers_express(report: dict[str, Any]) -> None:
    selected = report["checkout"]["selected_shipping_option"]
    assert (selected["carrier_id"], selected["code"]) == (APP_ID, "ts-express")
    assert selected["requested_shipping_option"] is True
    assert report["checkout"]["offered"][APP_ID] == ["ts-standard=7.00", "ts-express=19.00"]
    shipping = report["order"]["shipping"]
    assert (shipping["carrier_id"], shipping["code"], shipping["title"]) == (
        APP_ID,
        "ts-express",
        "TS Express",
    )
    assert Decimal(shipping["price"]) == EXPRESS_PRICE
    assert Decimal(shipping["total_price_before_tax"]) == EXPRESS_PRICE
    shipping_tax = (EXPRESS_PRICE * NY_RATE).quantize(Decimal("0.01"), ROUND_HALF_EVEN)
    assert Decimal(shipping["total_price_after_tax"]) == EXPRESS_PRICE + shipping_tax


def test_totals_add_up(report: dict[str, Any]) -> None:
    order = report["order"]
    prices = _decimals(order["price_summary"])
    assert prices["shipping"] == EXPRESS_PRICE
    assert not order["tax_included_in_prices"]
    assert prices["tax"] > 0
    unit = next(Decimal(p.price) for p in PRODUCTS if p.id == PRODUCT)
    assert prices["subtotal"] == unit * QUANTITY
    expected = prices["subtotal"] - prices["discount"] + prices["shipping"]
    expected += prices["additional_fees"] + prices["tax"]
    assert prices["total"] == expected, order["price_summary"]
    # The order keeps the totals the buyer confirmed on the checkout (CreateOrder ran with
    # expected_total, so a change in between would have failed it).
    assert _decimals(report["checkout"]["price_summary"]) == prices


def test_the_ts_provider_was_called_as_the_spi_says(report: dict[str, Any], visitor: str) -> None:
    provider = report["provider"]
    assert provider["health"] == "SERVING"
    assert provider["registration"]["app_id"] == APP_ID
    assert provider["registration"]["target"] == provider["address"]
    assert provider["registration"]["timeout_ms"] == PROVIDER_TIMEOUT_MS
    stats = provider["stats"]
    assert stats["quotes"] >= 1, stats
    assert stats["probes"] >= 1, stats  # CheckProvider: no Health service, so an empty quote
    assert stats["rejected"] == 0, stats
    assert set(stats["sites"]) == {DEMO_SITE}, stats
    assert stats["appIds"] == [APP_ID], stats
    assert f"visitor/{visitor}" in stats["callers"], stats
    assert stats["currencies"] == ["USD"], stats
    assert report["unregistered"] is True  # purchase.ts deletes its registration at the end


@pytest.fixture
def ts_provider(compiled: Path) -> Iterator[str]:
    """shipping_provider.js run on its own; yields its address."""
    script = compiled.with_name("shipping_provider.js")
    process = subprocess.Popen(
        ["node", str(script)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 30)
        banner = process.stdout.readline() if ready else ""
        match = re.search(r"listening on (127\.0\.0\.1:\d+)", banner)
        assert match, f"shipping_provider.js did not start: {banner!r}"
        yield match.group(1)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _line(shippable: bool) -> line_item_pb2.LineItem:
    return line_item_pb2.LineItem(
        id="l-1",
        quantity=1,
        price=money_pb2.Price(amount="20.00"),
        physical_properties=catalog_pb2.PhysicalProperties(weight="0.5", shippable=shippable),
    )


async def test_the_ts_provider_follows_the_spi_for_a_python_grpc_client(ts_provider: str) -> None:
    destination = address_pb2.Address(country="DE", city="Berlin")
    async with grpc.aio.insecure_channel(ts_provider) as channel:
        stub = shipping_grpc.ShippingRatesProviderServiceStub(channel)

        async def rates(**fields: Any) -> shipping_pb.GetShippingRatesResponse:
            request = shipping_pb.GetShippingRatesRequest(weight_unit=channel_pb2.WEIGHT_UNIT_KG)
            for name, value in fields.items():
                if name == "line_items":
                    request.line_items.extend(value)
                elif name == "shipping_destination":
                    request.shipping_destination.CopyFrom(value)
                else:
                    setattr(request, name, value)
            reply: shipping_pb.GetShippingRatesResponse = await stub.GetShippingRates(
                request, timeout=10
            )
            return reply

        quoted = await rates(
            line_items=[_line(True)], shipping_destination=destination, currency="EUR"
        )
        assert [
            (r.code, r.title, r.cost.price, r.cost.currency) for r in quoted.shipping_rates
        ] == [
            ("ts-standard", "TS Standard", "7.00", "EUR"),
            ("ts-express", "TS Express", "19.00", "EUR"),
        ]
        # A health probe (no lines), nothing that ships, no destination yet: no options, no error.
        assert not (await rates(currency="USD")).shipping_rates
        nothing_ships = await rates(
            line_items=[_line(False)], shipping_destination=destination, currency="USD"
        )
        assert not nothing_ships.shipping_rates
        assert not (await rates(line_items=[_line(True)], currency="USD")).shipping_rates
        # The request must say in which currency to quote.
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await rates(line_items=[_line(True)], shipping_destination=destination)
        assert missing.value.code() == grpc.StatusCode.INVALID_ARGUMENT
