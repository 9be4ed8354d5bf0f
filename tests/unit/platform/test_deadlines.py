"""The request deadline shared by the services (services.platform.deadlines)."""

from __future__ import annotations

import pytest

from services.platform.deadlines import Deadline


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_remaining_counts_down_and_never_goes_negative(clock: FakeClock) -> None:
    deadline = Deadline(2.0, clock=clock)
    assert deadline.remaining() == 2.0
    clock.advance(0.5)
    assert deadline.remaining() == 1.5
    clock.advance(5.0)
    assert deadline.remaining() == 0.0


def test_a_deadline_already_past_has_nothing_left(clock: FakeClock) -> None:
    assert Deadline(-1.0, clock=clock).remaining() == 0.0


def test_no_deadline_stays_none(clock: FakeClock) -> None:
    deadline = Deadline(None, clock=clock)
    clock.advance(100.0)
    assert deadline.remaining() is None
    assert deadline.reserving(0.2, at_most_s=0.25).remaining() is None
    assert deadline.share(0.6).remaining() is None


def test_reserving_keeps_a_fraction_of_the_time_left(clock: FakeClock) -> None:
    deadline = Deadline(1.0, clock=clock)
    clock.advance(0.5)
    # 20% of the 0.5 s left.
    assert deadline.reserving(0.2, at_most_s=0.25).remaining() == pytest.approx(0.4)


def test_reserving_is_at_most_the_upper_bound(clock: FakeClock) -> None:
    assert Deadline(10.0, clock=clock).reserving(0.2, at_most_s=0.25).remaining() == 9.75


def test_reserving_is_at_least_the_lower_bound(clock: FakeClock) -> None:
    reserved = Deadline(0.4, clock=clock).reserving(0.15, at_least_s=0.1, at_most_s=0.5)
    assert reserved.remaining() == pytest.approx(0.3)


def test_reserving_more_than_is_left_leaves_nothing(clock: FakeClock) -> None:
    reserved = Deadline(0.05, clock=clock).reserving(0.15, at_least_s=0.1, at_most_s=0.5)
    assert reserved.remaining() == 0.0


def test_reserving_leaves_the_original_alone(clock: FakeClock) -> None:
    deadline = Deadline(10.0, clock=clock)
    deadline.reserving(0.2, at_most_s=0.25)
    assert deadline.remaining() == 10.0


def test_capped_is_at_most_the_cap_from_now(clock: FakeClock) -> None:
    deadline = Deadline(10.0, clock=clock)
    clock.advance(1.0)
    capped = deadline.capped(3.0)
    assert capped.remaining() == 3.0
    clock.advance(1.0)
    assert capped.remaining() == 2.0


def test_capped_keeps_an_earlier_deadline(clock: FakeClock) -> None:
    assert Deadline(2.0, clock=clock).capped(3.0).remaining() == 2.0


def test_capped_without_a_deadline_is_the_cap(clock: FakeClock) -> None:
    capped = Deadline(None, clock=clock).capped(3.0)
    assert capped.remaining() == 3.0
    clock.advance(5.0)
    assert capped.remaining() == 0.0


def test_share_is_a_fraction_of_the_time_left(clock: FakeClock) -> None:
    deadline = Deadline(2.0, clock=clock)
    clock.advance(1.0)
    first = deadline.share(0.6)
    assert first.remaining() == pytest.approx(0.6)
    clock.advance(0.6)
    assert first.remaining() == pytest.approx(0.0)
    # The rest is left to the next round.
    assert deadline.remaining() == pytest.approx(0.4)


def test_share_of_a_past_deadline_is_nothing(clock: FakeClock) -> None:
    deadline = Deadline(1.0, clock=clock)
    clock.advance(2.0)
    assert deadline.share(0.6).remaining() == 0.0


def test_checkout_budget_arithmetic(clock: FakeClock) -> None:
    """The composition checkout uses: a margin of 15% within [0.1 s, 0.5 s], then a cap."""

    def budget(remaining_s: float | None, cap_s: float) -> float | None:
        caller = Deadline(remaining_s, clock=clock)
        return caller.reserving(0.15, at_least_s=0.1, at_most_s=0.5).capped(cap_s).remaining()

    assert budget(None, 8.0) == 8.0
    assert budget(2.0, 8.0) == pytest.approx(1.7)
    assert budget(10.0, 8.0) == 8.0
    assert budget(10.0, 20.0) == 9.5
    assert budget(0.5, 8.0) == pytest.approx(0.4)
    assert budget(0.05, 8.0) == 0.0
