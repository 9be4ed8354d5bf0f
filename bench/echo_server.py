"""The baseline: a bare grpc.aio server that echoes bytes, no interceptors, no storage.

Requests are raw bytes: the first 4 bytes (big-endian) say how long the response must be, so
the echo moves the same message sizes as the scenario it is compared with.
`python -m bench.echo_server --port P --workers N`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
from types import FrameType

import grpc

SERVICE = "bench.Echo"
METHOD = f"/{SERVICE}/Echo"


async def _echo(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
    size = int.from_bytes(request[:4], "big")
    return b"\x00" * size


async def _serve(port: int) -> None:
    server = grpc.aio.server(options=[("grpc.so_reuseport", 1)])
    handler = grpc.unary_unary_rpc_method_handler(_echo)
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(SERVICE, {"Echo": handler}),)
    )
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    print("ready", flush=True)
    await stop.wait()
    await server.stop(1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    children: list[int] = []
    for _ in range(args.workers):
        pid = os.fork()
        if pid == 0:
            asyncio.run(_serve(args.port))
            os._exit(0)
        children.append(pid)

    def stop_children(signum: int, frame: FrameType | None) -> None:
        for child in children:
            os.kill(child, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop_children)
    for child in children:
        os.waitpid(child, 0)


if __name__ == "__main__":
    main()
