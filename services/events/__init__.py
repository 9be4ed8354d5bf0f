"""The `events` service target: `ecom.events.v1.EventsService` over the runtime's event bus.

It owns no tables: events are written to each publishing service's outbox and relayed to the
bus by that service; this service only reads the bus (Redis Streams, or the in-process bus when
everything runs in one process).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import grpc

from ecom.events.v1 import events_service_pb2, events_service_pb2_grpc
from services.events.api import EventsServicer
from services.events.feed import EventFeed
from services.events.slots import LocalSlots, RedisSlots, StreamSlots
from services.platform.module import Binding, ServiceModule

if TYPE_CHECKING:
    from services.platform.runtime import Runtime

SERVICE_NAME = events_service_pb2.DESCRIPTOR.services_by_name["EventsService"].full_name


async def bind(runtime: Runtime, server: grpc.aio.Server) -> Binding:
    slots: StreamSlots = (
        RedisSlots(runtime.redis, runtime.key_prefix) if runtime.redis is not None else LocalSlots()
    )
    servicer = EventsServicer(EventFeed(runtime.bus, slots=slots))
    events_service_pb2_grpc.add_EventsServiceServicer_to_server(servicer, server)
    return Binding(service_names=[SERVICE_NAME])


MODULE = ServiceModule(name="events", bind=bind)
