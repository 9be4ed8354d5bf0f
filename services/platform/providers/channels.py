"""One long-lived grpc.aio channel per provider address, shared by every call to it.

HTTP/2 multiplexes concurrent calls on one connection, so a pool of one channel per (target, tls)
is enough and spares each call a TCP (and TLS) handshake. Channels belong to the event loop that
made them; a pool is owned by one `ProviderClient` and closed with it.
"""

from __future__ import annotations

from collections.abc import Sequence

import grpc

ChannelOptions = Sequence[tuple[str, int | str]]


class ChannelPool:
    def __init__(self, options: ChannelOptions = ()) -> None:
        self._options = tuple(options)
        self._channels: dict[tuple[str, bool], grpc.aio.Channel] = {}

    def __len__(self) -> int:
        return len(self._channels)

    def get(self, target: str, *, tls: bool = False) -> grpc.aio.Channel:
        key = (target, tls)
        channel = self._channels.get(key)
        if channel is None:
            if tls:
                channel = grpc.aio.secure_channel(
                    target, grpc.ssl_channel_credentials(), options=self._options
                )
            else:
                channel = grpc.aio.insecure_channel(target, options=self._options)
            self._channels[key] = channel
        return channel

    async def close(self) -> None:
        channels, self._channels = list(self._channels.values()), {}
        for channel in channels:
            await channel.close(grace=None)
