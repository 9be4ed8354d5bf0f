"""The SPI client runtime: finding providers (registry), calling them (deadlines, metadata, pooled
channels, circuit breakers, fan-out) and caching their answers. See `client.py`."""

from services.platform.providers.breaker import BreakerPolicy, BreakerState, CircuitBreaker
from services.platform.providers.cache import ResponseCache, TTLCache
from services.platform.providers.client import (
    ProviderCall,
    ProviderClient,
)
from services.platform.providers.kinds import Kind
from services.platform.providers.outcome import (
    PROVIDER_ERROR,
    PROVIDER_TIMEOUT,
    PROVIDER_UNAVAILABLE,
    Outcome,
)
from services.platform.providers.ref import ProviderRef

__all__ = [
    "PROVIDER_ERROR",
    "PROVIDER_TIMEOUT",
    "PROVIDER_UNAVAILABLE",
    "BreakerPolicy",
    "BreakerState",
    "CircuitBreaker",
    "Kind",
    "Outcome",
    "ProviderCall",
    "ProviderClient",
    "ProviderRef",
    "ResponseCache",
    "TTLCache",
]
