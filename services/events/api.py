"""gRPC servicer of `ecom.events.v1.EventsService`: request fields in, responses out."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from ecom.common.v1 import query_pb2
from ecom.events.v1 import events_service_pb2 as pb
from ecom.events.v1 import events_service_pb2_grpc
from services.events.feed import EventFeed, Heartbeat
from services.platform.identity import current_caller


class EventsServicer(events_service_pb2_grpc.EventsServiceServicer):
    def __init__(self, feed: EventFeed) -> None:
        self._feed = feed

    async def Subscribe(  # gRPC method name
        self, request: pb.SubscribeRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.SubscribeResponse]:
        items = await self._feed.subscribe(
            current_caller().site,
            types=list(request.types),
            start_cursor=request.start_cursor,
            from_beginning=request.from_beginning,
        )
        # Headers now, not with the first event: a client that sees them knows its start
        # position is fixed, so nothing published from then on can be missed.
        await context.send_initial_metadata(())
        async for item in items:
            if isinstance(item, Heartbeat):
                yield pb.SubscribeResponse(heartbeat=item)
            else:
                yield pb.SubscribeResponse(event=item)

    async def ListEvents(  # gRPC method name
        self, request: pb.ListEventsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListEventsResponse:
        events, next_page_token = await self._feed.list_events(
            current_caller().site,
            event_filter=request.filter,
            descending=request.order == query_pb2.SORT_ORDER_DESC,
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return pb.ListEventsResponse(events=events, next_page_token=next_page_token)
