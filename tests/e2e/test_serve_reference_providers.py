"""`ecom serve` on embedded defaults runs the reference shipping, fees and validations providers:
listed, SERVING, registered for every site, and answering with their demo settings."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from ecom.common.v1 import address_pb2, catalog_pb2, channel_pb2, line_item_pb2, money_pb2
from ecom.providers.v1 import provider_pb2
from ecom.providers.v1 import provider_registry_service_pb2 as registry_pb
from ecom.providers.v1 import provider_registry_service_pb2_grpc as registry_grpc
from ecom.spi.shipping_rates.v1 import shipping_rates_provider_service_pb2 as shipping_pb
from ecom.spi.shipping_rates.v1 import shipping_rates_provider_service_pb2_grpc as shipping_grpc
from tests.e2e.serve import ServeProcess, ecom_serve, suite_env

OURS = {
    "ecom.spi.shipping_rates.v1.ShippingRatesProviderService": (
        provider_pb2.PROVIDER_KIND_SHIPPING_RATES,
        "ecom.shipping",
    ),
    "ecom.spi.additional_fees.v1.AdditionalFeesProviderService": (
        provider_pb2.PROVIDER_KIND_ADDITIONAL_FEES,
        "ecom.fees",
    ),
    "ecom.spi.validations.v1.ValidationsProviderService": (
        provider_pb2.PROVIDER_KIND_VALIDATIONS,
        "ecom.validations",
    ),
}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    with ecom_serve(suite_env(tmp_path_factory.mktemp("serve-providers"))) as serve:
        yield serve


async def test_the_three_providers_are_listed_and_serving(served: ServeProcess) -> None:
    assert set(OURS) <= set(served.services)
    async with grpc.aio.insecure_channel(served.address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for name in OURS:
            reply = await health.Check(health_pb2.HealthCheckRequest(service=name), timeout=10)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING, name


async def test_registered_for_a_site_and_answering(served: ServeProcess) -> None:
    metadata = (("authorization", f"Bearer {served.admin_token}"),)
    async with grpc.aio.insecure_channel(served.address) as channel:
        listed = await registry_grpc.ProviderRegistryServiceStub(channel).ListProviders(
            registry_pb.ListProvidersRequest(), metadata=metadata, timeout=10
        )
        registered = {(p.kind, p.app_id): p for p in listed.providers}
        for kind_and_app in OURS.values():
            assert registered[kind_and_app].target == served.address
            assert registered[kind_and_app].enabled

        line = line_item_pb2.LineItem(
            id="l-1",
            quantity=1,
            price=money_pb2.Price(amount="20.00"),
            physical_properties=catalog_pb2.PhysicalProperties(weight="0.5", shippable=True),
        )
        rates = await shipping_grpc.ShippingRatesProviderServiceStub(channel).GetShippingRates(
            shipping_pb.GetShippingRatesRequest(
                line_items=[line],
                shipping_destination=address_pb2.Address(country="US", subdivision="US-NY"),
                weight_unit=channel_pb2.WEIGHT_UNIT_KG,
                currency="USD",
            ),
            metadata=metadata,
            timeout=10,
        )
    assert rates.region.id == "domestic"
    assert {r.code: r.cost.price for r in rates.shipping_rates}["standard"] == "5.00"
