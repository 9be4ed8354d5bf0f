"""The providers as the suite finds and calls them: listed by the registry of the process for
every site when no providers file is set, healthy for CheckProvider, configured per site through
registration settings, and a registration whose settings do not parse becomes a calculation error
(PROVIDER_ERROR naming the setting), not a failed cart."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import grpc
import pytest
from google.protobuf.message import Message

from ecom.common.v1 import channel_pb2
from ecom.providers.v1 import provider_pb2
from ecom.providers.v1 import provider_registry_service_pb2 as registry_pb
from ecom.providers.v1 import provider_registry_service_pb2_grpc as registry_grpc
from ecom.spi.additional_fees.v1 import additional_fees_provider_service_pb2 as fees_pb
from ecom.spi.shipping_rates.v1 import shipping_rates_provider_service_pb2 as shipping_pb
from ecom.spi.validations.v1 import validations_provider_service_pb2 as validations_pb
from services import registry
from services.platform.config import Config
from services.platform.identity import Role
from services.platform.providers.client import ProviderCall
from services.platform.providers.kinds import Kind
from services.platform.providers.ref import ProviderRef
from services.platform.runtime import Runtime
from services.platform.server import RunningServer, start_server
from services.providers import fees, shipping, validations
from tests.integration.reference_providers.kit import address, line, struct

SITE = "shop-1"
OURS = {
    (provider_pb2.PROVIDER_KIND_SHIPPING_RATES, "ecom.shipping"),
    (provider_pb2.PROVIDER_KIND_ADDITIONAL_FEES, "ecom.fees"),
    (provider_pb2.PROVIDER_KIND_VALIDATIONS, "ecom.validations"),
}

Start = Callable[..., Awaitable[RunningServer]]


@pytest.fixture
async def start(tmp_path: Path, make_config: Callable[..., Config]) -> AsyncIterator[Start]:
    """The registry and the three providers in one process, as `ecom serve` runs them."""
    started: list[RunningServer] = []

    async def run(providers_file: dict[str, Any] | None = None) -> RunningServer:
        env = {}
        if providers_file is not None:
            path = tmp_path / "providers.json"
            path.write_text(json.dumps(providers_file))
            env["ECOM_PROVIDERS_FILE"] = str(path)
        modules = [registry.MODULE, shipping.MODULE, fees.MODULE, validations.MODULE]
        running = await start_server(Runtime(make_config(**env)), modules)
        started.append(running)
        return running

    yield run
    for running in started:
        await running.stop(0)


def admin(running: RunningServer, site: str = SITE) -> tuple[tuple[str, str], ...]:
    token = running.runtime.tokens.mint(role=Role.ADMIN, site=site, subject="admin-1")
    return (("authorization", f"Bearer {token}"),)


async def listed(running: RunningServer, site: str = SITE) -> list[provider_pb2.Provider]:
    async with grpc.aio.insecure_channel(running.address) as channel:
        stub = registry_grpc.ProviderRegistryServiceStub(channel)
        answer = await stub.ListProviders(
            registry_pb.ListProvidersRequest(), metadata=admin(running, site)
        )
    return list(answer.providers)


def rates_request() -> shipping_pb.GetShippingRatesRequest:
    return shipping_pb.GetShippingRatesRequest(
        line_items=[line("a", price="20.00", weight="0.5")],
        shipping_destination=address("US", "US-NY"),
        weight_unit=channel_pb2.WEIGHT_UNIT_KG,
        currency="USD",
    )


async def test_served_by_default_for_every_site_and_healthy(start: Start) -> None:
    running = await start()

    for site in (SITE, "another-site"):
        mine = [p for p in await listed(running, site) if (p.kind, p.app_id) in OURS]
        assert {(p.kind, p.app_id) for p in mine} == OURS
        assert {p.source for p in mine} == {provider_pb2.PROVIDER_SOURCE_CONFIG_FILE}
        assert {p.target for p in mine} == {running.address}

    async with grpc.aio.insecure_channel(running.address) as channel:
        stub = registry_grpc.ProviderRegistryServiceStub(channel)
        for provider in await listed(running):
            if (provider.kind, provider.app_id) not in OURS:
                continue
            checked = await stub.CheckProvider(
                registry_pb.CheckProviderRequest(id=provider.id), metadata=admin(running)
            )
            assert checked.health == provider_pb2.PROVIDER_HEALTH_SERVING, provider.app_id


async def test_the_suite_calls_them_through_its_provider_client(start: Start) -> None:
    running = await start()
    client = running.runtime.providers

    [ship] = await client.providers(SITE, Kind.SHIPPING_RATES)
    [fee] = await client.providers(SITE, Kind.ADDITIONAL_FEES)
    [check] = await client.providers(SITE, Kind.VALIDATIONS)
    outcomes = await client.fan_out(
        [
            _call(ship, "GetShippingRates", rates_request(), shipping_pb.GetShippingRatesResponse),
            _call(
                fee,
                "CalculateAdditionalFees",
                fees_pb.CalculateAdditionalFeesRequest(
                    line_items=[line("a", quantity=2)], currency="USD", subtotal="20.00"
                ),
                fees_pb.CalculateAdditionalFeesResponse,
            ),
            _call(
                check,
                "GetValidationViolations",
                validations_pb.GetValidationViolationsRequest(
                    source=validations_pb.SOURCE_CHECKOUT,
                    line_items=[line("a", quantity=11)],
                    currency="USD",
                ),
                validations_pb.GetValidationViolationsResponse,
            ),
        ]
    )

    assert all(outcome.ok for outcome in outcomes), [o.message for o in outcomes]
    rates, charged, violations = (outcome.unwrap() for outcome in outcomes)
    assert {r.code for r in rates.shipping_rates} >= {"standard", "economy", "pickup-new-york"}
    assert [(f.code, f.price) for f in charged.additional_fees] == [("handling", "1.00")]
    assert [v.target.line_item.id for v in violations.violations] == ["a"]


async def test_per_site_settings_from_the_providers_file(start: Start) -> None:
    flat = {
        "currency": "EUR",
        "regions": [
            {
                "id": "dach",
                "name": "DACH",
                "countries": ["DE", "AT", "CH"],
                "rates": [{"code": "dhl", "title": "DHL", "type": "flat", "price": "4.90"}],
            }
        ],
    }
    entry = {"kind": "shipping_rates", "app_id": "ecom.shipping", "target": "@shipping"}
    running = await start(
        {"providers": [{**entry, "sites": ["*"]}, {**entry, "site": "shop-de", "settings": flat}]}
    )
    client = running.runtime.providers
    request = shipping_pb.GetShippingRatesRequest(
        line_items=[line("a")],
        shipping_destination=address("DE"),
        weight_unit=channel_pb2.WEIGHT_UNIT_KG,
        currency="EUR",
    )

    async def quoted(site: str) -> dict[str, str]:
        [ref] = await client.providers(site, Kind.SHIPPING_RATES)
        outcome = await client.call(
            ref,
            Kind.SHIPPING_RATES.method("GetShippingRates"),
            with_settings(request, ref),
            shipping_pb.GetShippingRatesResponse,
        )
        assert outcome.ok, outcome.message
        return {rate.code: rate.cost.price for rate in outcome.unwrap().shipping_rates}

    assert await quoted("shop-de") == {"dhl": "4.90"}
    assert await quoted(SITE) == {"international": "25.00", "international-economy": "14.00"}


async def test_unreadable_settings_become_a_provider_error(start: Start) -> None:
    running = await start()
    broken = provider_pb2.Provider(
        kind=provider_pb2.PROVIDER_KIND_SHIPPING_RATES,
        app_id="broken-shipping",
        target=running.address,
        settings=struct(
            {
                "regions": [
                    {
                        "id": "us",
                        "name": "US",
                        "countries": ["US"],
                        "rates": [{"code": "x", "title": "X", "type": "flat"}],
                    }
                ]
            }
        ),
    )
    async with grpc.aio.insecure_channel(running.address) as channel:
        await registry_grpc.ProviderRegistryServiceStub(channel).RegisterProvider(
            registry_pb.RegisterProviderRequest(provider=broken), metadata=admin(running)
        )
    client = running.runtime.providers
    refs = {ref.app_id: ref for ref in await client.providers(SITE, Kind.SHIPPING_RATES)}

    outcome = await client.call(
        refs["broken-shipping"],
        Kind.SHIPPING_RATES.method("GetShippingRates"),
        with_settings(rates_request(), refs["broken-shipping"]),
        shipping_pb.GetShippingRatesResponse,
    )

    assert not outcome.ok
    error = outcome.calculation_error()
    assert (error.code, error.app_id) == ("PROVIDER_ERROR", "broken-shipping")
    assert "INVALID_ARGUMENT" in error.description
    assert "settings.regions[0].rates[0].price: is required" in error.description
    # The default registration of the same provider is unaffected.
    fine = await client.call(
        refs["ecom.shipping"],
        Kind.SHIPPING_RATES.method("GetShippingRates"),
        with_settings(rates_request(), refs["ecom.shipping"]),
        shipping_pb.GetShippingRatesResponse,
    )
    assert fine.ok


M = TypeVar("M", bound=Message)


def with_settings(request: M, ref: ProviderRef) -> M:
    """The request with the registration's settings, as the suite's callers send them."""
    request.settings.CopyFrom(ref.settings_struct())  # type: ignore[attr-defined]
    return request


def _call(ref: ProviderRef, rpc: str, request: Message, response_type: type[M]) -> ProviderCall[M]:
    return ProviderCall(ref, ref.kind.method(rpc), with_settings(request, ref), response_type)
