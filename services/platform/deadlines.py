"""How much time a request still has, on the monotonic clock, and how much of it the calls it
makes to providers and peers may use.

A request's own deadline is not the deadline of the calls it makes: after they answer, the
request still has work to do (store the result, render the answer). So the calls get a
deadline that ends a reserve before the request's (`reserving`): a provider that uses all of
its time must still leave the request the time to store and answer, instead of turning a slow
provider into a DEADLINE_EXCEEDED of the whole request. Work done in rounds gives each round a
part of the time left (`share`), so that a hanging call in one round cannot starve the next.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class Deadline:
    """When a request must be answered, on the monotonic clock (None: the caller set none)."""

    def __init__(
        self, remaining_s: float | None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._clock = clock
        self._end = None if remaining_s is None else clock() + remaining_s

    def _ending_at(self, end: float | None) -> Deadline:
        other = Deadline(None, clock=self._clock)
        other._end = end
        return other

    def remaining(self) -> float | None:
        """The seconds left, never negative; None when there is no deadline."""
        return None if self._end is None else max(0.0, self._end - self._clock())

    def reserving(self, fraction: float, *, at_least_s: float = 0.0, at_most_s: float) -> Deadline:
        """A deadline that ends a reserve before this one: `fraction` of the time left, clamped
        to [`at_least_s`, `at_most_s`]. Still none when this one has none."""
        left = self.remaining()
        if self._end is None or left is None:
            return self._ending_at(None)
        return self._ending_at(self._end - min(max(left * fraction, at_least_s), at_most_s))

    def capped(self, cap_s: float) -> Deadline:
        """At most `cap_s` from now; `cap_s` from now when this one has no deadline."""
        cap = self._clock() + cap_s
        return self._ending_at(cap if self._end is None else min(self._end, cap))

    def share(self, fraction: float) -> Deadline:
        """This round's part (`fraction`) of the time left, leaving the rest to later rounds."""
        left = self.remaining()
        return self._ending_at(None if left is None else self._clock() + left * fraction)
