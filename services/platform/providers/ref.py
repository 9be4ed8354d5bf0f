"""`ProviderRef`: what a caller needs to call one registered provider."""

from __future__ import annotations

from dataclasses import dataclass, field

from google.protobuf import struct_pb2

from services.platform.providers.kinds import Kind

#: Calls to a provider never get more than this, whatever it is registered with.
MAX_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class ProviderRef:
    """One enabled registration of `site`, as the registry reported it."""

    id: str
    site: str
    kind: Kind
    app_id: str
    target: str
    timeout_s: float
    tls: bool = False
    validate_in_cart: bool = False
    enabled: bool = True
    revision: int = 0
    settings: struct_pb2.Struct = field(default_factory=struct_pb2.Struct, compare=False)

    @property
    def breaker_key(self) -> tuple[str, int, str, str]:
        """Breakers are per registration and address: re-pointing a provider starts afresh."""
        return (self.site, int(self.kind), self.app_id, self.target)

    def settings_struct(self) -> struct_pb2.Struct:
        """A copy of the registration's settings, to put in an SPI request's `settings`."""
        copy = struct_pb2.Struct()
        copy.CopyFrom(self.settings)
        return copy
