"""The adaptive rate: learned from 429s, held under the key's limit, on monotonic time only.

The figures test drives the real limiter against a model of a server-side token bucket in
virtual time (no real sleep decides anything); the benchmark measures the same over HTTP.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from aioresponses import CallbackResult

from hero_async import LocalRateLimiter, RateLimitError
from hero_async import _constants as C

if TYPE_CHECKING:
    from conftest import ClientFactory, FakeClock, FakeHero, RecordingSleep

ME = {"id": "1001", "name": "Riverside Surgery"}


class VirtualTime:
    """A monotonic clock and sleep for many tasks: time jumps to the next wake-up once every
    task is asleep, so a minute of traffic runs in a fraction of a second, deterministically."""

    def __init__(self) -> None:
        self.now = 0.0
        self._heap: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future = asyncio.get_running_loop().create_future()
        heapq.heappush(self._heap, (self.now + max(seconds, 0.0), next(self._seq), future))
        await future

    async def drive(self, live: Callable[[], int]) -> None:
        while live():
            while len(self._heap) < live():
                await asyncio.sleep(0)
            when, _, future = heapq.heappop(self._heap)
            self.now = max(self.now, when)
            future.set_result(None)
            await asyncio.sleep(0)


class TokenBucket:
    """What a rate-limited API does (FakeHero's rule too): ``rate`` tokens per second, one
    second of burst, a 429 with whole-second Retry-After when empty."""

    def __init__(self, rate: float) -> None:
        self.rate, self.tokens, self.last = rate, rate, 0.0

    def take(self, now: float) -> int | None:
        self.tokens = min(self.rate, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1:
            self.tokens -= 1
            return None
        return math.ceil((1 - self.tokens) / self.rate)


async def _traffic(
    limit: float, told: bool, requests: int = 2400, concurrency: int = 20
) -> tuple[float, float, float | None]:
    """(fraction of the limit, 429s per 100 requests, final rate): the client's retry loop
    in miniature -- acquire, send (30 ms), on a 429 pause for Retry-After and try again."""
    time = VirtualTime()
    limiter = LocalRateLimiter(limit if told else None, adaptive=True, clock=time, sleep=time.sleep)
    server = TokenBucket(limit)
    todo = iter(range(requests))
    counts = {"ok": 0, "429": 0, "live": concurrency}

    async def worker() -> None:
        for _ in todo:
            while True:
                await limiter.acquire()
                wait = server.take(time.now)
                await time.sleep(0.030)
                if wait is None:
                    counts["ok"] += 1
                    break
                counts["429"] += 1
                limiter.pause(float(wait))
        counts["live"] -= 1

    tasks = [asyncio.ensure_future(worker()) for _ in range(concurrency)]
    await time.drive(lambda: counts["live"])
    await asyncio.gather(*tasks)
    sent = counts["ok"] + counts["429"]
    return counts["ok"] / time.now / limit, 100 * counts["429"] / sent, limiter.rate


@pytest.mark.parametrize("limit", [40, 200])
async def test_not_told_the_limit_it_learns_it(limit: float) -> None:
    """The issue's targets: >= 0.85 of the limit with <= 5 429s per 100 requests."""
    fraction, per_100, rate = await _traffic(limit, told=False)
    assert fraction >= 0.85
    assert per_100 <= 5
    assert rate is not None  # it did learn something


@pytest.mark.parametrize("limit", [40, 200])
async def test_told_the_limit_it_stays_under_it(limit: float) -> None:
    fraction, per_100, rate = await _traffic(limit, told=True)
    assert fraction >= 0.95
    assert per_100 <= 1
    assert rate == limit


async def test_nothing_is_gated_before_the_first_429() -> None:
    time = VirtualTime()
    limiter = LocalRateLimiter(adaptive=True, clock=time, sleep=time.sleep)
    for _ in range(1000):
        await limiter.acquire()  # would hang: nothing drives the virtual time
    assert limiter.rate is None


async def _sent_at(
    limiter: LocalRateLimiter, time: VirtualTime, rate: float, seconds: float
) -> None:
    """Send at ``rate`` for ``seconds`` of virtual time (one caller, acquire before each)."""
    end = time.now + seconds
    while time.now < end:
        await limiter.acquire()
        time.now += 1 / rate


async def test_an_episode_of_429s_cuts_once_from_what_was_sent() -> None:
    time = VirtualTime()
    limiter = LocalRateLimiter(adaptive=True, clock=time, sleep=time.sleep)
    await _sent_at(limiter, time, 100, 2.0)
    limiter.pause(1.0)
    limiter.pause(1.0)  # a second request that was in flight: the same episode
    time.now += 1.0
    expected = 100 * C.ADAPTIVE_PLATEAU * C.ADAPTIVE_CUT
    assert limiter.rate == pytest.approx(expected, rel=0.05)


async def test_many_429s_in_one_episode_cut_deeper() -> None:
    time = VirtualTime()
    limiter = LocalRateLimiter(adaptive=True, clock=time, sleep=time.sleep)
    await _sent_at(limiter, time, 100, 2.0)
    for _ in range(C.ADAPTIVE_DEEP_CUT_429S):
        limiter.pause(1.0)
    time.now += 1.0
    expected = 100 * C.ADAPTIVE_PLATEAU * C.ADAPTIVE_DEEP_CUT
    assert limiter.rate == pytest.approx(expected, rel=0.05)


async def test_the_rate_regrows_flattens_near_the_old_rate_then_probes_above() -> None:
    time = VirtualTime()
    limiter = LocalRateLimiter(adaptive=True, clock=time, sleep=time.sleep)
    await _sent_at(limiter, time, 50, 2.0)
    limiter.pause(1.0)
    time.now += 1.0
    plateau = 50 * C.ADAPTIVE_PLATEAU
    rates = []
    for _ in range(12):  # keep sending at whatever is allowed, one second at a time
        rates.append(limiter.rate)
        await _sent_at(limiter, time, limiter.rate or 1, 1.0)
    assert rates == sorted(rates)  # only ever grows while Hero says nothing
    assert rates[0] == pytest.approx(plateau * C.ADAPTIVE_CUT, rel=0.05)
    assert max(rates[2:5]) == pytest.approx(plateau, rel=0.05)  # flat near the plateau
    assert rates[-1] > plateau * 1.02  # and then probing for more


async def test_a_given_rate_limit_stays_a_hard_cap() -> None:
    time = VirtualTime()
    limiter = LocalRateLimiter(10, adaptive=True, clock=time, sleep=time.sleep)
    await _sent_at(limiter, time, 10, 2.0)
    limiter.pause(1.0)
    time.now += 1.0
    rates = []
    for _ in range(30):  # send at whatever is allowed: the learned rate grows well past 10
        rates.append(limiter.rate or 0)
        await _sent_at(limiter, time, rates[-1], 1.0)
    assert max(rates) == 10
    assert rates[-1] == 10


async def test_a_slot_waiter_waits_out_a_pause_that_began_while_it_waited(
    clock: FakeClock, sleep: RecordingSleep
) -> None:
    """Starts queued for the rate's spacing must not go out during a 429 pause that began
    while they waited: that is how one 429 turned into twenty."""

    async def sleep_then_429(seconds: float) -> None:
        first = not sleep.delays
        await sleep(seconds)
        if first:
            limiter.pause(5.0)  # another request's 429, while this one slept for its slot

    limiter = LocalRateLimiter(1.0, clock=clock, sleep=sleep_then_429)
    await limiter.acquire()
    start = clock()
    await limiter.acquire()
    assert clock() == pytest.approx(start + 1.0 + 5.0)
    assert sleep.delays == [pytest.approx(1.0), pytest.approx(5.0)]


# -- through the client ------------------------------------------------------------------------


async def test_client_rate_reports_what_it_learned(
    client: ClientFactory, api: FakeHero, clock: FakeClock, sleep: RecordingSleep
) -> None:
    api.add("GET", "/v1/me", payload=ME, repeat=5)
    api.add("GET", "/v1/me", status=429, headers={"Retry-After": "1"})
    api.add("GET", "/v1/me", payload=ME, repeat=True)
    hero = await client()
    assert hero.rate is None
    for _ in range(6):
        clock.advance(0.1)  # 10 requests/s
        await hero.practice_group_info.me()
    sent_in_window = 6 / C.ADAPTIVE_WINDOW_SECONDS  # the 429 was the sixth start in 0.6 s
    assert hero.rate == pytest.approx(sent_in_window * C.ADAPTIVE_PLATEAU * C.ADAPTIVE_CUT)


async def test_client_rate_is_the_cap_when_told(client: ClientFactory) -> None:
    assert (await client(rate_limit=5)).rate == 5
    assert (await client(rate_limiter=LocalRateLimiter(7))).rate == 7

    class Shared:  # e.g. a Redis limiter shared by a fleet: its rate is not ours to know
        async def acquire(self) -> None:
            pass

        def pause(self, seconds: float) -> None:
            pass

    assert (await client(rate_limiter=Shared())).rate is None


@pytest.mark.parametrize("step", [-3600.0, 3600.0])
async def test_a_wall_clock_step_during_a_429_pause_changes_nothing(
    client: ClientFactory, api: FakeHero, step: float
) -> None:
    """The pause runs on monotonic time: the wall clock jumping an hour back (or on) while
    paused neither stalls the client for an hour nor ends the pause early."""
    wall = [1_700_000_000.0]
    mono = [50.0]
    sent_at: list[float] = []

    async def sleep(seconds: float) -> None:
        wall[0] += step  # NTP steps the clock while we sleep
        mono[0] += seconds
        await asyncio.sleep(0)

    async def me(url: Any, **kwargs: Any) -> CallbackResult:
        sent_at.append(mono[0])
        if len(sent_at) == 1:
            return CallbackResult(status=429, headers={"Retry-After": "2"})
        return CallbackResult(payload=ME)

    api.add("GET", "/v1/me", callback=me, repeat=True)
    hero = await client(clock=lambda: wall[0], monotonic=lambda: mono[0], sleep=sleep)
    await hero.practice_group_info.me()
    await hero.practice_group_info.me()
    assert sent_at[1] - sent_at[0] == pytest.approx(2.0)
    assert sent_at[2] - sent_at[1] < 2.0  # and nothing stalls afterwards (only the learned
    # rate spaces it: one request in the window when the 429 came)


async def test_bulk_views_retry_429s_for_a_time_not_a_count(
    client: ClientFactory, api: FakeHero, clock: FakeClock
) -> None:
    """A 429 means Hero did not act: a bulk step keeps trying (more often than max_retries)
    while within BULK_THROTTLE_BUDGET_SECONDS, and only then gives up, retryable."""
    hero = await client(max_retries=2)
    view = hero._bulk_view("1001", None)
    api.add("GET", "/v1/me", status=429, headers={"Retry-After": "30"}, repeat=10)
    api.add("GET", "/v1/me", payload=ME)
    assert (await view.request("GET", "/v1/me")) == ME
    assert api.count("GET", "/v1/me") == 11

    api.add("GET", "/v1/me", status=429, headers={"Retry-After": "120"}, repeat=True)
    with pytest.raises(RateLimitError):
        await view.request("GET", "/v1/me")
    budget_attempts = C.BULK_THROTTLE_BUDGET_SECONDS / 120 + 1 + 2
    assert api.count("GET", "/v1/me") - 11 == pytest.approx(budget_attempts, abs=1)


async def test_plain_calls_still_give_up_after_max_retries(
    client: ClientFactory, api: FakeHero
) -> None:
    hero = await client(max_retries=2)
    api.add("GET", "/v1/me", status=429, headers={"Retry-After": "1"}, repeat=True)
    with pytest.raises(RateLimitError):
        await hero.practice_group_info.me()
    assert api.count("GET", "/v1/me") == 3
