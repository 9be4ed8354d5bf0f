"""ProviderClient against real providers on 127.0.0.1: deadlines, breaker, fan-out, metadata,
response cache."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import grpc

from ecom.spi.shipping_rates.v1 import shipping_rates_provider_service_pb2 as shipping_pb2
from services.platform.config import Config
from services.platform.identity import Caller, Role, bind_call
from services.platform.providers import (
    PROVIDER_ERROR,
    PROVIDER_TIMEOUT,
    PROVIDER_UNAVAILABLE,
    BreakerPolicy,
    BreakerState,
    ProviderCall,
    ProviderClient,
    ResponseCache,
)
from services.platform.runtime import Runtime
from tests.integration.providers.provider_kit import (
    GET_RATES,
    FakeClock,
    ProviderServers,
    closed_port_target,
    rates_request,
    shipping_ref,
)

Rates = shipping_pb2.GetShippingRatesResponse


async def test_a_successful_call_returns_the_response(
    runtime: Runtime, provider_servers: ProviderServers
) -> None:
    provider = await provider_servers.start()
    client = ProviderClient(runtime)
    try:
        outcome = await client.call(
            shipping_ref(provider.target), GET_RATES, rates_request(), Rates
        )
    finally:
        await client.close()
    assert outcome.ok
    assert outcome.unwrap().shipping_rates[0].cost.currency == "USD"
    assert outcome.code == ""


async def test_a_hanging_provider_costs_at_most_its_deadline(
    runtime: Runtime, provider_servers: ProviderServers
) -> None:
    provider = await provider_servers.start()
    provider.servicer.delay_s = 30
    client = ProviderClient(runtime)
    started = time.perf_counter()
    try:
        outcome = await client.call(
            shipping_ref(provider.target, timeout_s=0.2), GET_RATES, rates_request(), Rates
        )
    finally:
        await client.close()
    elapsed = time.perf_counter() - started
    assert not outcome.ok
    assert outcome.code == PROVIDER_TIMEOUT
    assert outcome.reason == "DEADLINE_EXCEEDED"
    assert 0.2 <= elapsed < 0.6
    # The provider saw the deadline on the wire (grpc-timeout, which gRPC rounds up to its
    # unit, so the server may compute a hair more than was set).
    seen = provider.servicer.deadlines[0]
    assert seen is not None and seen <= 0.21


async def test_the_callers_shorter_deadline_wins_and_does_not_trip_the_breaker(
    runtime: Runtime, provider_servers: ProviderServers
) -> None:
    provider = await provider_servers.start()
    provider.servicer.delay_s = 30
    client = ProviderClient(runtime, breaker_policy=BreakerPolicy(failure_threshold=1))
    ref = shipping_ref(provider.target, timeout_s=5)
    started = time.perf_counter()
    try:
        outcome = await client.call(ref, GET_RATES, rates_request(), Rates, remaining_s=0.15)
        expired = await client.call(ref, GET_RATES, rates_request(), Rates, remaining_s=0)
    finally:
        await client.close()
    assert outcome.code == PROVIDER_TIMEOUT
    assert time.perf_counter() - started < 0.5
    # Our own deadline ran out, not the provider's timeout: the breaker learns nothing.
    assert client.breaker_state(ref) is BreakerState.CLOSED
    # No time left at all: no call goes out.
    assert expired.code == PROVIDER_TIMEOUT
    assert provider.servicer.calls == 1


async def test_a_dead_provider_trips_the_breaker_and_is_then_skipped(
    runtime: Runtime, clock: FakeClock
) -> None:
    client = ProviderClient(
        runtime, breaker_policy=BreakerPolicy(failure_threshold=3, cool_down_s=30), clock=clock
    )
    ref = shipping_ref(closed_port_target())
    try:
        failures = [await client.call(ref, GET_RATES, rates_request(), Rates) for _ in range(3)]
        assert [o.code for o in failures] == [PROVIDER_UNAVAILABLE] * 3
        assert not any(o.skipped for o in failures)
        assert client.breaker_state(ref) is BreakerState.OPEN

        started = time.perf_counter()
        skipped = await client.call(ref, GET_RATES, rates_request(), Rates)
        assert time.perf_counter() - started < 0.01
    finally:
        await client.close()
    assert skipped.code == PROVIDER_UNAVAILABLE
    assert skipped.skipped
    assert "circuit open" in skipped.message
    assert skipped.calculation_error().app_id == ref.app_id


async def test_an_open_breaker_makes_no_call_until_a_half_open_trial_succeeds(
    runtime: Runtime, provider_servers: ProviderServers, clock: FakeClock
) -> None:
    provider = await provider_servers.start()
    provider.servicer.fail = grpc.StatusCode.UNAVAILABLE
    client = ProviderClient(
        runtime, breaker_policy=BreakerPolicy(failure_threshold=2, cool_down_s=30), clock=clock
    )
    ref = shipping_ref(provider.target)
    try:
        for _ in range(2):
            await client.call(ref, GET_RATES, rates_request(), Rates)
        assert client.breaker_state(ref) is BreakerState.OPEN
        for _ in range(5):
            assert (await client.call(ref, GET_RATES, rates_request(), Rates)).skipped
        assert provider.servicer.calls == 2  # skipped calls never reached the provider

        clock.advance(31)
        assert client.breaker_state(ref) is BreakerState.HALF_OPEN
        trial = await client.call(ref, GET_RATES, rates_request(), Rates)
        assert trial.code == PROVIDER_UNAVAILABLE and not trial.skipped
        assert client.breaker_state(ref) is BreakerState.OPEN  # a failed trial reopens it

        clock.advance(31)
        provider.servicer.fail = None
        assert (await client.call(ref, GET_RATES, rates_request(), Rates)).ok
        assert client.breaker_state(ref) is BreakerState.CLOSED
    finally:
        await client.close()
    assert provider.servicer.calls == 4


async def test_fan_out_runs_independent_providers_concurrently(
    runtime: Runtime, provider_servers: ProviderServers
) -> None:
    providers = [await provider_servers.start() for _ in range(3)]
    for provider in providers:
        provider.servicer.delay_s = 0.3
    client = ProviderClient(runtime)
    calls = [
        ProviderCall(
            shipping_ref(p.target, app_id=f"carrier-{i}"), GET_RATES, rates_request(), Rates
        )
        for i, p in enumerate(providers)
    ]
    try:
        await client.fan_out(calls[:1])  # connect once, so the timing below is the calls only
        started = time.perf_counter()
        outcomes = await client.fan_out(calls)
        elapsed = time.perf_counter() - started
    finally:
        await client.close()
    assert [o.ok for o in outcomes] == [True, True, True]
    assert [o.ref.app_id for o in outcomes] == ["carrier-0", "carrier-1", "carrier-2"]
    assert elapsed < 0.6, f"fan-out took {elapsed:.3f} s"


async def test_fan_out_reports_each_failure_and_never_raises(
    runtime: Runtime, provider_servers: ProviderServers
) -> None:
    healthy, slow, broken = [await provider_servers.start() for _ in range(3)]
    slow.servicer.delay_s = 30
    broken.servicer.fail = grpc.StatusCode.INVALID_ARGUMENT
    client = ProviderClient(runtime)
    calls = [
        ProviderCall(shipping_ref(healthy.target, app_id="ok"), GET_RATES, rates_request(), Rates),
        ProviderCall(shipping_ref(slow.target, app_id="slow"), GET_RATES, rates_request(), Rates),
        ProviderCall(shipping_ref(broken.target, app_id="bad"), GET_RATES, rates_request(), Rates),
        ProviderCall(
            shipping_ref(closed_port_target(), app_id="dead"), GET_RATES, rates_request(), Rates
        ),
    ]
    started = time.perf_counter()
    try:
        outcomes = await client.fan_out(calls, remaining_s=0.3)
    finally:
        await client.close()
    assert time.perf_counter() - started < 0.8
    assert [o.code for o in outcomes] == [
        "",
        PROVIDER_TIMEOUT,
        PROVIDER_ERROR,
        PROVIDER_UNAVAILABLE,
    ]
    error = outcomes[2].calculation_error()
    assert (error.code, error.app_id) == (PROVIDER_ERROR, "bad")
    assert "INVALID_ARGUMENT" in error.description


async def test_metadata_names_site_caller_request_and_app(
    runtime: Runtime, provider_servers: ProviderServers
) -> None:
    provider = await provider_servers.start()
    client = ProviderClient(runtime)
    ref = shipping_ref(provider.target, app_id="acme")

    async def as_member() -> None:
        bind_call(Caller(site="site-a", subject="m-42", role=Role.MEMBER), "req-123")
        await client.call(ref, GET_RATES, rates_request(), Rates)

    async def in_background() -> None:
        bind_call(None, "")
        await client.call(ref, GET_RATES, rates_request(), Rates)

    try:
        await asyncio.create_task(as_member())
        await asyncio.create_task(in_background())
    finally:
        await client.close()
    member, background = provider.servicer.metadata
    assert member["x-ecom-site"] == "site-a"
    assert member["x-ecom-caller"] == "member/m-42"
    assert member["x-ecom-request-id"] == "req-123"
    assert member["x-ecom-app-id"] == "acme"
    # A third-party address never receives a token that is valid against the suite.
    assert "authorization" not in member

    assert background["x-ecom-caller"] == "service/ecom-suite"
    assert len(background["x-ecom-request-id"]) == 36  # a fresh UUID for unattributed work


async def test_the_suites_own_providers_get_the_sites_service_token(
    make_config: Callable[..., Config], provider_servers: ProviderServers
) -> None:
    provider = await provider_servers.start()
    # The reference shipping provider of this deployment runs at this address.
    runtime = Runtime(make_config(ECOM_SHIPPING_ADDR=provider.target))
    client = ProviderClient(runtime)
    try:
        await client.call(shipping_ref(provider.target), GET_RATES, rates_request(), Rates)
    finally:
        await client.close()
        await runtime.close()
    scheme, _, token = provider.servicer.metadata[0]["authorization"].partition(" ")
    service = runtime.tokens.verify(token)
    assert (scheme, service.role, service.site) == ("Bearer", Role.SERVICE, "site-a")


async def test_a_cache_hit_avoids_the_second_provider_call(
    runtime: Runtime, provider_servers: ProviderServers, clock: FakeClock
) -> None:
    provider = await provider_servers.start()
    client = ProviderClient(runtime)
    cache = ResponseCache(ttl_s=5, max_entries=100, clock=clock)
    ref = shipping_ref(provider.target)
    try:
        first = await client.call(ref, GET_RATES, rates_request(), Rates, cache=cache)
        second = await client.call(ref, GET_RATES, rates_request(), Rates, cache=cache)
        assert provider.servicer.calls == 1
        assert second.from_cache and not first.from_cache
        assert second.unwrap() == first.unwrap()

        # Another request, or the same request for another site, is not a hit.
        await client.call(ref, GET_RATES, rates_request("EUR"), Rates, cache=cache)
        await client.call(
            shipping_ref(provider.target, site="site-b"),
            GET_RATES,
            rates_request(),
            Rates,
            cache=cache,
        )
        assert provider.servicer.calls == 3

        clock.advance(6)  # expired
        await client.call(ref, GET_RATES, rates_request(), Rates, cache=cache)
        assert provider.servicer.calls == 4
    finally:
        await client.close()


async def test_failures_are_not_cached(runtime: Runtime, provider_servers: ProviderServers) -> None:
    provider = await provider_servers.start()
    provider.servicer.fail = grpc.StatusCode.INTERNAL
    client = ProviderClient(runtime)
    cache = ResponseCache()
    ref = shipping_ref(provider.target)
    try:
        assert not (await client.call(ref, GET_RATES, rates_request(), Rates, cache=cache)).ok
        provider.servicer.fail = None
        assert (await client.call(ref, GET_RATES, rates_request(), Rates, cache=cache)).ok
    finally:
        await client.close()
    assert provider.servicer.calls == 2


async def test_one_channel_per_provider_address_is_reused(
    runtime: Runtime, provider_servers: ProviderServers
) -> None:
    provider = await provider_servers.start()
    client = ProviderClient(runtime)
    try:
        await asyncio.gather(
            *(
                client.call(
                    shipping_ref(provider.target, app_id=f"a{i}"), GET_RATES, rates_request(), Rates
                )
                for i in range(10)
            )
        )
        assert len(client.channels) == 1
    finally:
        await client.close()
    assert provider.servicer.calls == 10
