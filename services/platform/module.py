"""How a service plugs into the runtime.

Each service package exposes a `MODULE: ServiceModule`. The server asks it to `bind` its
servicers to a grpc.aio server, using shared mechanics from the `Runtime` (its database, the
event bus, provider calls, peer channels). Nothing else about a service is known to the platform.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import grpc

if TYPE_CHECKING:
    from services.platform.runtime import Runtime


@dataclass(frozen=True)
class Binding:
    """What a service put on the server: proto service names (for health and reflection) and
    background tasks the runtime runs and cancels on shutdown (relays, sweepers)."""

    service_names: Sequence[str]
    background: Sequence[Callable[[], Awaitable[None]]] = field(default_factory=tuple)
    close: Callable[[], Awaitable[None]] | None = None


@dataclass(frozen=True)
class ServiceModule:
    """A deployable service target (`ecom serve --services <name>`)."""

    name: str
    #: Binds servicers to `server` and returns what it bound.
    bind: Callable[[Runtime, grpc.aio.Server], Awaitable[Binding]]
    #: Alembic script location (a directory) of the service's tables. A service with a
    #: database sets it: the server then migrates that database (platform tables included)
    #: and runs the relay that publishes its outbox.
    migrations: str | None = None
    #: SQLAlchemy MetaData of the service's tables (for Alembic autogenerate and tests).
    metadata_module: str | None = None
