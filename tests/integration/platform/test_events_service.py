"""EventsService on real grpc.aio servers (127.0.0.1, port 0) over both buses."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
import redis.asyncio
from google.protobuf import timestamp_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from sqlalchemy.ext.asyncio import AsyncSession

from ecom.cart.v1 import cart_pb2, events_pb2
from ecom.common.v1 import query_pb2
from ecom.events.v1 import events_service_pb2 as pb
from ecom.events.v1 import events_service_pb2_grpc
from ecom.events.v1.event_pb2 import Event
from services.events import MODULE
from services.events.api import EventsServicer
from services.events.feed import EventFeed
from services.events.slots import LocalSlots, RedisSlots, StreamSlots
from services.platform.config import Config
from services.platform.db import Database
from services.platform.events.bus import EventBus, InProcessBus
from services.platform.events.relay import OutboxRelay
from services.platform.identity import Role, TokenService
from services.platform.interceptors import CallInterceptor
from services.platform.migrations import migrate
from services.platform.outbox import record_event
from services.platform.runtime import Runtime
from services.platform.server import RunningServer, start_server


@dataclass
class Client:
    stub: events_service_pb2_grpc.EventsServiceStub
    tokens: TokenService
    bus: EventBus

    def auth(self, site: str, role: Role = Role.ADMIN) -> tuple[tuple[str, str], ...]:
        token = self.tokens.mint(role=role, site=site, subject="tester")
        return (("authorization", f"Bearer {token}"),)


@pytest.fixture
async def served(
    request: pytest.FixtureRequest, bus_backend: str, make_config: Callable[..., Config]
) -> AsyncIterator[Client]:
    """The `events` target on `start_server`, with the runtime's bus of each backend."""
    environ: dict[str, str] = {}
    if bus_backend == "redis":
        environ["ECOM_REDIS_URL"] = request.getfixturevalue("redis_url")
        environ["ECOM_KEY_PREFIX"] = request.getfixturevalue("key_prefix") + uuid.uuid4().hex[:8]
    running: RunningServer = await start_server(Runtime(make_config(**environ)), [MODULE])
    channel = grpc.aio.insecure_channel(running.address)
    try:
        yield Client(
            events_service_pb2_grpc.EventsServiceStub(channel),
            running.runtime.tokens,
            running.runtime.bus,
        )
    finally:
        await channel.close()
        await running.stop(0)


StartCustomServer = Callable[..., Awaitable[Client]]


@pytest.fixture
async def custom_server() -> AsyncIterator[StartCustomServer]:
    """A bare grpc.aio server with the interceptor and a feed tuned for timing tests."""
    started: list[tuple[grpc.aio.Server, grpc.aio.Channel]] = []
    tokens = TokenService("test-secret-" + uuid.uuid4().hex)

    async def start(bus: EventBus, **feed_options: Any) -> Client:
        server = grpc.aio.server(interceptors=[CallInterceptor(tokens)])
        events_service_pb2_grpc.add_EventsServiceServicer_to_server(
            EventsServicer(EventFeed(bus, **feed_options)), server
        )
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        started.append((server, channel))
        return Client(events_service_pb2_grpc.EventsServiceStub(channel), tokens, bus)

    yield start
    for server, channel in started:
        await channel.close()
        await server.stop(0)


def _event(
    site: str,
    type: str = "ecom.cart.v1.cart_updated",
    entity: str = "cart-1",
    seq: int = 1,
    at: datetime | None = None,
) -> Event:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(at or datetime.now(UTC))
    return Event(
        id=str(uuid.uuid4()),
        type=type,
        site=site,
        entity_id=entity,
        entity_sequence=seq,
        event_time=stamp,
    )


def _details(error: grpc.aio.AioRpcError) -> tuple[list[str], str]:
    """(BadRequest field paths, ErrorInfo reason) of an error status."""
    status = rpc_status.from_call(error)
    fields: list[str] = []
    reason = ""
    for detail in status.details if status else []:
        bad = error_details_pb2.BadRequest()
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(bad):
            fields.extend(v.field for v in bad.field_violations)
        elif detail.Unpack(info):
            reason = info.reason
    return fields, reason


async def _list(client: Client, site: str, **request: Any) -> pb.ListEventsResponse:
    response: pb.ListEventsResponse = await client.stub.ListEvents(
        pb.ListEventsRequest(**request), metadata=client.auth(site)
    )
    return response


async def test_list_events_pages_through_the_site_history(served: Client, site: str) -> None:
    published = [_event(site, seq=n) for n in range(1, 6)]
    await served.bus.publish([*published, _event("another-site")])
    first = await _list(served, site, page_size=2)
    assert [e.entity_sequence for e in first.events] == [1, 2] and first.next_page_token
    second = await _list(served, site, page_size=2, page_token=first.next_page_token)
    third = await _list(served, site, page_size=2, page_token=second.next_page_token)
    assert [e.entity_sequence for e in second.events] == [3, 4]
    assert [e.entity_sequence for e in third.events] == [5] and third.next_page_token == ""
    assert [e.id for e in [*first.events, *second.events, *third.events]] == [
        e.id for e in published
    ]
    assert all(e.cursor and e.site == site for e in first.events)

    newest = await _list(served, site, page_size=3, order=query_pb2.SORT_ORDER_DESC)
    assert [e.entity_sequence for e in newest.events] == [5, 4, 3]
    older = await _list(
        served,
        site,
        page_size=3,
        order=query_pb2.SORT_ORDER_DESC,
        page_token=newest.next_page_token,
    )
    assert [e.entity_sequence for e in older.events] == [2, 1] and older.next_page_token == ""


async def test_list_events_filters(served: Client, site: str) -> None:
    now = datetime.now(UTC)
    await served.bus.publish(
        [
            _event(site, "ecom.cart.v1.cart_created", "cart-1", at=now - timedelta(hours=2)),
            _event(site, "ecom.orders.v1.order_created", "order-1", at=now - timedelta(hours=1)),
            _event(site, "ecom.cart.v1.cart_updated", "cart-2", 1, at=now),
        ]
    )
    by_type = await _list(served, site, filter=pb.EventFilter(types=["ecom.cart.v1."]))
    assert [e.entity_id for e in by_type.events] == ["cart-1", "cart-2"]
    by_entity = await _list(served, site, filter=pb.EventFilter(entity_ids=["order-1", "cart-2"]))
    assert [e.entity_id for e in by_entity.events] == ["order-1", "cart-2"]
    window = query_pb2.TimestampRange()
    window.start.FromDatetime(now - timedelta(minutes=90))
    window.end.FromDatetime(now)
    by_time = await _list(served, site, filter=pb.EventFilter(event_time=window))
    assert [e.entity_id for e in by_time.events] == ["order-1"]


async def test_list_events_refuses_bad_requests(served: Client, site: str) -> None:
    await served.bus.publish([_event(site, seq=n) for n in range(1, 4)])
    page = await _list(served, site, page_size=1, filter=pb.EventFilter(types=["ecom.cart.v1."]))
    cases: list[tuple[dict[str, object], str]] = [
        ({"page_size": -1}, "page_size"),
        ({"filter": pb.EventFilter(types=["ecom.cart.v1.nope"])}, "filter.types[0]"),
        ({"filter": pb.EventFilter(types=["ecom.nothing."])}, "filter.types[0]"),
        ({"filter": pb.EventFilter(types=["Bad Type"])}, "filter.types[0]"),
        ({"filter": pb.EventFilter(entity_ids=[str(n) for n in range(101)])}, "filter.entity_ids"),
        ({"page_token": "garbage"}, "page_token"),
        # A token is bound to the filter and order it was issued for.
        ({"page_token": page.next_page_token}, "page_token"),
        (
            {
                "page_token": page.next_page_token,
                "order": query_pb2.SORT_ORDER_DESC,
                "filter": pb.EventFilter(types=["ecom.cart.v1."]),
            },
            "page_token",
        ),
    ]
    for request, field in cases:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await _list(served, site, **request)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, request
        assert field in _details(caught.value)[0], request
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _list(
            served,
            site + "-other",
            page_size=1,
            filter=pb.EventFilter(types=["ecom.cart.v1."]),
            page_token=page.next_page_token,
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_buyers_may_not_read_events(served: Client, site: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await served.stub.ListEvents(
            pb.ListEventsRequest(), metadata=served.auth(site, Role.VISITOR)
        )
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    stream = served.stub.Subscribe(pb.SubscribeRequest(), metadata=served.auth(site, Role.MEMBER))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stream.read()
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def _next_event(stream: grpc.aio.UnaryStreamCall) -> Event:
    while True:
        message = await asyncio.wait_for(stream.read(), 5)
        assert message is not grpc.aio.EOF
        if message.HasField("event"):
            event: Event = message.event
            return event


async def test_subscribe_from_beginning_then_live(served: Client, site: str) -> None:
    history = [_event(site, seq=1), _event(site, seq=2)]
    await served.bus.publish(history)
    stream = served.stub.Subscribe(
        pb.SubscribeRequest(from_beginning=True), metadata=served.auth(site)
    )
    try:
        assert [(await _next_event(stream)).id for _ in range(2)] == [e.id for e in history]
        live = _event(site, seq=3)
        await served.bus.publish([_event("another-site"), live])
        assert (await _next_event(stream)).id == live.id
    finally:
        stream.cancel()


async def test_subscribe_without_position_sends_only_new_events(served: Client, site: str) -> None:
    await served.bus.publish([_event(site, seq=1)])
    stream = served.stub.Subscribe(pb.SubscribeRequest(), metadata=served.auth(site))
    try:
        # The response headers arrive once the start position is fixed.
        await asyncio.wait_for(stream.wait_for_connection(), 5)
        fresh = _event(site, seq=2)
        await served.bus.publish([fresh])
        assert (await _next_event(stream)).id == fresh.id
    finally:
        stream.cancel()


async def test_subscribe_resumes_after_a_cursor_with_a_type_filter(
    served: Client, site: str
) -> None:
    await served.bus.publish(
        [
            _event(site, seq=1),
            _event(site, "ecom.orders.v1.order_created", "order-1"),
            _event(site, seq=2),
            _event(site, "ecom.orders.v1.order_updated", "order-1", 2),
        ]
    )
    stream = served.stub.Subscribe(
        pb.SubscribeRequest(from_beginning=True, types=["ecom.orders.v1."]),
        metadata=served.auth(site),
    )
    first = await _next_event(stream)
    stream.cancel()
    assert first.type == "ecom.orders.v1.order_created"
    resumed = served.stub.Subscribe(
        pb.SubscribeRequest(start_cursor=first.cursor, types=["ecom.orders.v1."]),
        metadata=served.auth(site),
    )
    try:
        assert (await _next_event(resumed)).type == "ecom.orders.v1.order_updated"
    finally:
        resumed.cancel()


async def test_subscribe_refuses_bad_positions(served: Client, site: str) -> None:
    await served.bus.publish([_event(site)])
    cursor = (await _list(served, site)).events[0].cursor
    cases: list[tuple[pb.SubscribeRequest, str, str]] = [
        (pb.SubscribeRequest(start_cursor="c1.bm9wZQ"), site, "start_cursor"),
        (pb.SubscribeRequest(start_cursor="1-1"), site, "start_cursor"),
        (pb.SubscribeRequest(start_cursor=cursor), site + "-other", "start_cursor"),
        (pb.SubscribeRequest(start_cursor=cursor, from_beginning=True), site, "from_beginning"),
        (pb.SubscribeRequest(types=["ecom.cart.v1.cart_exploded"]), site, "types[0]"),
    ]
    for request, caller_site, field in cases:
        stream = served.stub.Subscribe(request, metadata=served.auth(caller_site))
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await asyncio.wait_for(stream.read(), 5)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, request
        assert field in _details(caught.value)[0]


async def test_relayed_outbox_events_reach_subscribers(
    served: Client,
    site: str,
    make_config: Callable[..., Config],
    database_environ: dict[str, str],
    service_name: str,
) -> None:
    """The whole path: a change commits its event, the relay publishes it, a consumer gets it."""
    db = Database.for_service(make_config(**database_environ), service_name)
    await migrate(db, None)
    relay = asyncio.create_task(OutboxRelay(db, served.bus).run())
    stream = served.stub.Subscribe(
        pb.SubscribeRequest(from_beginning=True), metadata=served.auth(site)
    )
    try:

        async def change(session: AsyncSession) -> None:
            await record_event(
                session,
                site=site,
                type="ecom.cart.v1.cart_created",
                entity_id="cart-9",
                payload=events_pb2.CartCreated(cart=cart_pb2.Cart(id="cart-9")),
            )

        await db.run(change)
        event = await _next_event(stream)
        assert (event.type, event.entity_id, event.entity_sequence) == (
            "ecom.cart.v1.cart_created",
            "cart-9",
            1,
        )
        payload = events_pb2.CartCreated()
        assert event.payload.Unpack(payload) and payload.cart.id == "cart-9"
    finally:
        stream.cancel()
        relay.cancel()
        await asyncio.gather(relay, return_exceptions=True)
        await db.dispose()


async def test_idle_stream_sends_heartbeats_that_resume(
    custom_server: StartCustomServer, site: str
) -> None:
    client: Client = await custom_server(InProcessBus(), heartbeat_s=0.2)
    await client.bus.publish([_event(site, seq=1)])
    stream = client.stub.Subscribe(
        pb.SubscribeRequest(types=["ecom.orders.v1."], from_beginning=True),
        metadata=client.auth(site),
    )
    message = await asyncio.wait_for(stream.read(), 5)
    stream.cancel()
    assert message.HasField("heartbeat") and message.heartbeat.cursor
    assert message.heartbeat.server_time.seconds > 0
    # The heartbeat's cursor is past the non-matching cart event: resuming skips it.
    await client.bus.publish([_event(site, "ecom.orders.v1.order_created", "order-1")])
    resumed = client.stub.Subscribe(
        pb.SubscribeRequest(start_cursor=message.heartbeat.cursor), metadata=client.auth(site)
    )
    try:
        assert (await _next_event(resumed)).type == "ecom.orders.v1.order_created"
    finally:
        resumed.cancel()


async def test_stream_ends_unavailable_at_its_maximum_life(
    custom_server: StartCustomServer, site: str
) -> None:
    client: Client = await custom_server(InProcessBus(), heartbeat_s=0.1, max_stream_s=0.3)
    stream = client.stub.Subscribe(pb.SubscribeRequest(), metadata=client.auth(site))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for _ in stream:
            pass
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_expired_cursor_is_refused(custom_server: StartCustomServer, site: str) -> None:
    bus = InProcessBus(max_len=2)
    client: Client = await custom_server(bus)
    await bus.publish([_event(site, seq=1)])
    cursor = (await _list(client, site)).events[0].cursor
    await bus.publish([_event(site, seq=n) for n in range(2, 5)])
    stream = client.stub.Subscribe(
        pb.SubscribeRequest(start_cursor=cursor), metadata=client.auth(site)
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await asyncio.wait_for(stream.read(), 5)
    # OUT_OF_RANGE in the contract; FAILED_PRECONDITION until errors.py gains OutOfRange.
    assert caught.value.code() in (
        grpc.StatusCode.OUT_OF_RANGE,
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert _details(caught.value)[1] == "CURSOR_EXPIRED"


@pytest.fixture(params=["local", "redis"])
async def two_slots(request: pytest.FixtureRequest) -> AsyncIterator[StreamSlots]:
    """Room for two streams per site: in process, or shared through Redis."""
    if request.param == "local":
        yield LocalSlots(limit=2)
        return
    client = redis.asyncio.Redis.from_url(request.getfixturevalue("redis_url"))
    prefix = request.getfixturevalue("key_prefix") + uuid.uuid4().hex[:8] + ":"
    try:
        yield RedisSlots(client, prefix, limit=2, lease_ttl_s=1.5)
    finally:
        await client.aclose()


async def test_open_streams_per_site_are_limited(
    custom_server: StartCustomServer, two_slots: StreamSlots, site: str
) -> None:
    client: Client = await custom_server(InProcessBus(), slots=two_slots)
    await client.bus.publish([_event(site)])
    request = pb.SubscribeRequest(from_beginning=True)
    first = client.stub.Subscribe(request, metadata=client.auth(site))
    second = client.stub.Subscribe(request, metadata=client.auth(site))
    await _next_event(first)
    await _next_event(second)  # both hold a lease now
    other_site = client.stub.Subscribe(request, metadata=client.auth(site + "-other"))
    await asyncio.wait_for(other_site.wait_for_connection(), 5)
    third = client.stub.Subscribe(request, metadata=client.auth(site))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _next_event(third)
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert _details(caught.value)[1] == "SUBSCRIPTION_LIMIT_REACHED"
    # Leases outlive their lifetime while streams run: they are renewed.
    await asyncio.sleep(1.7)
    fourth = client.stub.Subscribe(request, metadata=client.auth(site))
    with pytest.raises(grpc.aio.AioRpcError):
        await _next_event(fourth)
    # A closed stream gives its lease back.
    first.cancel()
    deadline = asyncio.get_running_loop().time() + 5
    while True:
        retry = client.stub.Subscribe(request, metadata=client.auth(site))
        try:
            await _next_event(retry)
            break
        except grpc.aio.AioRpcError as error:
            assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.02)
    for stream in (second, other_site, retry):
        stream.cancel()
