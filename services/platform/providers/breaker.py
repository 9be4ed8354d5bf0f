"""Circuit breakers for provider calls: stop calling a provider that keeps failing.

A breaker is CLOSED while calls succeed. After `failure_threshold` failures in a row it OPENs:
calls are refused without touching the network for `cool_down_s`. Then it is HALF_OPEN and lets
`half_open_trials` calls through at a time; one success closes it, one failure opens it again for
another cool-down. State lives in the process (each process keeps its own breakers), which is
enough for its purpose: sparing a cart the wait for a provider that is known to be down.

Callers follow the protocol `allow()` -> call -> `record_success()` / `record_failure()` (or
`record_neutral()` when the call ended in a way that says nothing about the provider, such as the
caller's own deadline running out).
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass

DEFAULT_FAILURE_THRESHOLD = 5
DEFAULT_COOL_DOWN_S = 30.0


class BreakerState(enum.IntEnum):
    """Numbers as in `ecom.providers.v1.CircuitState`."""

    CLOSED = 1
    OPEN = 2
    HALF_OPEN = 3


@dataclass(frozen=True)
class BreakerPolicy:
    failure_threshold: int = DEFAULT_FAILURE_THRESHOLD
    cool_down_s: float = DEFAULT_COOL_DOWN_S
    half_open_trials: int = 1

    def __post_init__(self) -> None:
        if self.failure_threshold < 1 or self.half_open_trials < 1 or self.cool_down_s < 0:
            raise ValueError("breaker policy needs threshold >= 1, trials >= 1, cool-down >= 0")


class CircuitBreaker:
    def __init__(self, policy: BreakerPolicy, clock: Callable[[], float] = time.monotonic) -> None:
        self._policy = policy
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trials_in_flight = 0

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._clock() - self._opened_at < self._policy.cool_down_s:
            return BreakerState.OPEN
        return BreakerState.HALF_OPEN

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    def retry_after_s(self) -> float:
        """Seconds until the breaker lets a trial through (0 unless OPEN)."""
        if self._opened_at is None:
            return 0.0
        return max(0.0, self._opened_at + self._policy.cool_down_s - self._clock())

    def allow(self) -> bool:
        """Whether a call may go out now; a True in HALF_OPEN reserves a trial slot."""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.OPEN:
            return False
        if self._trials_in_flight >= self._policy.half_open_trials:
            return False
        self._trials_in_flight += 1
        return True

    def record_success(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._trials_in_flight = 0

    def record_failure(self) -> None:
        self._failures += 1
        if self._opened_at is not None:
            # A failed trial (or a late failure of a call started before the breaker opened)
            # starts a fresh cool-down.
            self._opened_at = self._clock()
            self._trials_in_flight = 0
        elif self._failures >= self._policy.failure_threshold:
            self._opened_at = self._clock()

    def record_neutral(self) -> None:
        """The call ended without telling whether the provider works: free its trial slot."""
        if self._trials_in_flight:
            self._trials_in_flight -= 1


class BreakerBoard:
    """The breakers of one process, one per key (site, kind, app id, target), made on demand."""

    def __init__(
        self,
        policy: BreakerPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy or BreakerPolicy()
        self._clock = clock
        self._breakers: dict[Hashable, CircuitBreaker] = {}

    def get(self, key: Hashable) -> CircuitBreaker:
        breaker = self._breakers.get(key)
        if breaker is None:
            breaker = self._breakers[key] = CircuitBreaker(self.policy, self._clock)
        return breaker

    def state(self, key: Hashable) -> BreakerState:
        """The state for `key` without creating a breaker (unknown keys are CLOSED)."""
        breaker = self._breakers.get(key)
        return breaker.state if breaker else BreakerState.CLOSED
