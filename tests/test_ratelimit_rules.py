"""The rate gate's rules at their edges: settings refused, what one 429 episode is, the
window the sending rate is counted over, and the shape of the regrowth after a cut.

Everything runs on an injected monotonic clock whose sleep only moves it on; no real time
passes. Written for the mutation run of ``hero_async/_ratelimit.py`` (tests/MUTATION.md).
"""

from __future__ import annotations

import math

import pytest

from hero_async import LocalRateLimiter, ValidationError
from hero_async import _constants as C

# CUBIC's K: seconds from the cut until the rate is back at the plateau.
K = math.cbrt((1 - C.ADAPTIVE_CUT) / C.ADAPTIVE_CUBIC_SCALE)


class Time:
    """A monotonic clock that moves only when set or slept on (sleep returns at once)."""

    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


def _adaptive(time: Time, rate: float | None = None) -> LocalRateLimiter:
    return LocalRateLimiter(rate, adaptive=True, clock=time, sleep=time.sleep)


async def _send_at(limiter: LocalRateLimiter, time: Time, rate: float, until: float) -> None:
    """One caller starting ``rate`` requests per second (when let) until ``until``."""
    begin = time.now
    for i in range(math.ceil((until - begin) * rate)):
        time.now = max(time.now, begin + i / rate)  # not summed: no float drift
        await limiter.acquire()
    time.now = max(time.now, until)


async def _send_flat_out(limiter: LocalRateLimiter, time: Time, until: float) -> None:
    """One caller starting requests as fast as the limiter lets it until ``until``."""
    while time.now < until:
        await limiter.acquire()


async def _cut_from_100_per_second(time: Time) -> tuple[LocalRateLimiter, float]:
    """A limiter that sent 100 requests/s for 2 s and then saw a 429 (Retry-After 1 s) at
    t=102: returns it with the rate it allowed right after the cut."""
    limiter = _adaptive(time)
    await _send_at(limiter, time, 100, 102.0)
    limiter.pause(1.0)
    assert limiter.rate is not None
    return limiter, limiter.rate


@pytest.mark.parametrize("rate", [math.nan, math.inf, -math.inf, 0.0, -2.0])
def test_a_rate_that_is_not_a_finite_positive_number_is_refused(rate: float) -> None:
    """The error names the client setting and says what would be accepted."""
    with pytest.raises(ValidationError) as caught:
        LocalRateLimiter(rate)
    assert caught.value.field == "rate_limit"
    assert str(caught.value) == (
        "rate_limit: must be a finite number of requests per second above 0, or None"
    )


@pytest.mark.parametrize(
    ("retry_after", "gap", "cuts_again"),
    [
        (2.0, 1.0, False),  # inside the Retry-After period
        (0.1, 0.3, False),  # Retry-After shorter than the episode: the episode still holds
        (0.1, C.ADAPTIVE_EPISODE_SECONDS, True),  # exactly at the episode's end: a new one
        (1.0, 1.0, True),  # exactly at the Retry-After's end (longer than the episode)
        (2.0, 2.5, True),  # well after
    ],
)
async def test_a_429_is_part_of_the_last_episode_until_its_retry_after_or_half_a_second(
    retry_after: float, gap: float, cuts_again: bool
) -> None:
    """429s of requests already in flight belong to one episode, which cuts the rate once;
    the episode lasts the Retry-After or ADAPTIVE_EPISODE_SECONDS, whichever is longer."""
    time = Time()
    limiter = _adaptive(time)
    await _send_at(limiter, time, 100, 102.0)
    limiter.pause(retry_after)
    first = limiter.rate
    assert first is not None
    time.now = 102.0 + gap
    limiter.pause(retry_after)
    assert limiter.rate is not None
    assert (limiter.rate < first) is cuts_again


async def test_a_429_in_the_first_second_of_the_clock_is_learned_from() -> None:
    """A monotonic clock may start at 0: the first 429 cuts even then."""
    time = Time(now=0.0)
    limiter = _adaptive(time)
    await _send_at(limiter, time, 20, 0.5)  # 10 starts
    limiter.pause(1.0)
    expected = 10 * C.ADAPTIVE_PLATEAU * C.ADAPTIVE_CUT
    assert limiter.rate == pytest.approx(expected)


async def test_the_sending_rate_counts_the_last_second_only() -> None:
    """A start exactly one window old no longer counts towards the rate a 429 cuts from."""
    time = Time(now=100.0)
    limiter = _adaptive(time)
    for at in (100.0, 100.5):
        time.now = at
        for _ in range(10):
            await limiter.acquire()
    time.now = 100.0 + C.ADAPTIVE_WINDOW_SECONDS
    limiter.pause(1.0)
    expected = 10 / C.ADAPTIVE_WINDOW_SECONDS * C.ADAPTIVE_PLATEAU * C.ADAPTIVE_CUT
    assert limiter.rate == pytest.approx(expected)


async def test_the_sending_rate_is_per_second_whatever_the_window(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With a 2 s window, 100 starts/s is still read as 100 per second."""
    monkeypatch.setattr(C, "ADAPTIVE_WINDOW_SECONDS", 2.0)
    time = Time()
    limiter = _adaptive(time)
    await _send_at(limiter, time, 100, 103.0)
    limiter.pause(1.0)
    assert limiter.rate == pytest.approx(100 * C.ADAPTIVE_PLATEAU * C.ADAPTIVE_CUT, rel=0.02)


async def test_the_rate_is_back_at_the_plateau_after_k_seconds_and_mirrors_after() -> None:
    """CUBIC: K seconds after the cut the rate is back at the plateau; at 2K it is as far
    above the plateau as the cut took it below (while enough is being sent)."""
    time = Time()
    limiter, first = await _cut_from_100_per_second(time)
    plateau = first / C.ADAPTIVE_CUT
    await _send_flat_out(limiter, time, 102.0 + K)
    assert limiter.rate == pytest.approx(plateau, rel=0.01)
    await _send_flat_out(limiter, time, 102.0 + 2 * K)
    assert limiter.rate == pytest.approx(plateau * (2 - C.ADAPTIVE_CUT), rel=0.02)


async def test_the_learned_rate_never_runs_more_than_twice_ahead_of_what_is_sent() -> None:
    """Demand lower than the limit: the allowed rate stays at twice what is actually sent,
    though the curve alone (at 2K, 20 % above the plateau) would allow more."""
    time = Time()
    limiter, first = await _cut_from_100_per_second(time)
    plateau = first / C.ADAPTIVE_CUT
    demand = plateau / 2  # 2 x demand is between the floor and the curve at 2K
    await _send_at(limiter, time, demand, 102.0 + 2 * K)
    assert limiter.rate == pytest.approx(2 * demand, rel=0.03)
