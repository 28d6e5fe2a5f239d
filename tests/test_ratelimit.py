"""LocalRateLimiter (spacing and the shared 429 pause) with an injected clock and sleep."""

from __future__ import annotations

import asyncio
import itertools
from typing import TYPE_CHECKING, Any

import pytest
from aioresponses import CallbackResult

from hero_async import LocalRateLimiter, RateLimiter

if TYPE_CHECKING:
    from conftest import ClientFactory, FakeClock, FakeHero, RecordingSleep

ME = {"id": "1001", "name": "Riverside Surgery"}


def _limiter(clock: FakeClock, sleep: RecordingSleep, rate: float | None = None) -> Any:
    return LocalRateLimiter(rate, clock=clock, sleep=sleep)


async def test_rate_spaces_starts_evenly(clock: FakeClock, sleep: RecordingSleep) -> None:
    """rate=10 lets the first request start at once and each next one 0.1 s after the last."""
    limiter = _limiter(clock, sleep, rate=10)
    starts = []
    for _ in range(5):
        await limiter.acquire()
        starts.append(clock())
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert gaps == [pytest.approx(0.1)] * 4
    assert clock.now - starts[0] == pytest.approx(0.4)
    assert sleep.delays == [pytest.approx(0.1)] * 4


async def test_rate_spacing_holds_for_concurrent_callers(clock: FakeClock) -> None:
    """Concurrent acquirers at the same instant get distinct start slots 1/rate apart."""
    waits: list[float] = []

    async def record(seconds: float) -> None:  # the clock stands still: all arrive at once
        waits.append(seconds)

    limiter = LocalRateLimiter(4, clock=clock, sleep=record)
    await asyncio.gather(*(limiter.acquire() for _ in range(4)))
    assert sorted(waits) == [pytest.approx(0.25), pytest.approx(0.5), pytest.approx(0.75)]


async def test_idle_time_is_not_banked(clock: FakeClock, sleep: RecordingSleep) -> None:
    """After a quiet spell the next request starts at once, but no burst follows."""
    limiter = _limiter(clock, sleep, rate=2)
    await limiter.acquire()
    clock.advance(10)
    await limiter.acquire()
    assert sleep.delays == []
    await limiter.acquire()
    assert sleep.delays == [pytest.approx(0.5)]


async def test_pause_holds_acquire_until_clock_passes(
    clock: FakeClock, sleep: RecordingSleep
) -> None:
    """After pause(5) the next acquire returns only once the clock reaches the pause end."""
    limiter = _limiter(clock, sleep)
    start = clock()
    limiter.pause(5)
    assert limiter.paused_until == start + 5
    await limiter.acquire()
    assert clock() >= start + 5
    assert sleep.delays == [pytest.approx(5)]
    await limiter.acquire()
    assert len(sleep.delays) == 1  # the pause is over


async def test_pause_keeps_the_later_end(clock: FakeClock, sleep: RecordingSleep) -> None:
    """A shorter pause never shortens a longer one already in force."""
    limiter = _limiter(clock, sleep)
    limiter.pause(10)
    limiter.pause(2)
    assert limiter.paused_until == clock() + 10
    await limiter.acquire()
    assert sleep.total == pytest.approx(10)


async def test_pause_extended_while_waiting_is_honoured(clock: FakeClock) -> None:
    """If the pause is extended during the wait, acquire keeps waiting until the new end."""
    delays: list[float] = []
    limiter: LocalRateLimiter

    async def sleep(seconds: float) -> None:
        delays.append(seconds)
        clock.advance(seconds)
        if len(delays) == 1:
            limiter.pause(3)  # another 429 arrives at the end of the first pause

    limiter = LocalRateLimiter(clock=clock, sleep=sleep)
    start = clock()
    limiter.pause(2)
    await limiter.acquire()
    assert delays == [pytest.approx(2), pytest.approx(3)]
    assert clock() == pytest.approx(start + 5)


async def test_no_sleep_on_the_hot_path(clock: FakeClock) -> None:
    """With no rate and no pause, acquire never calls sleep (and never yields to it)."""

    async def forbidden(seconds: float) -> None:
        raise AssertionError(f"slept {seconds}")

    limiter = LocalRateLimiter(clock=clock, sleep=forbidden)
    for _ in range(1000):
        await limiter.acquire()
    limiter.pause(1)
    clock.advance(1)  # the pause has passed
    await limiter.acquire()


async def test_pause_and_rate_combine(clock: FakeClock, sleep: RecordingSleep) -> None:
    """A pause delays the first start; spacing resumes after it."""
    limiter = _limiter(clock, sleep, rate=10)
    start = clock()
    limiter.pause(1)
    await limiter.acquire()
    await limiter.acquire()
    assert clock() == pytest.approx(start + 1.1)


@pytest.mark.parametrize("rate", [0, -1, -0.5])
def test_non_positive_rate_rejected(rate: float) -> None:
    """A rate of zero or below is a ValueError (None means no cap)."""
    with pytest.raises(ValueError, match="rate"):
        LocalRateLimiter(rate)


async def _drive_through_the_protocol(limiter: RateLimiter, clock: FakeClock) -> list[float]:
    """What the client does with any RateLimiter: acquire, pause on a 429, acquire again."""
    starts = []
    await limiter.acquire()
    starts.append(clock())
    limiter.pause(3.0)
    await limiter.acquire()
    starts.append(clock())
    await limiter.acquire()
    starts.append(clock())
    return starts


async def test_local_limiter_keeps_the_protocols_promises(
    clock: FakeClock, sleep: RecordingSleep
) -> None:
    """Used only through the RateLimiter protocol: acquire() starts at once when not paused,
    pause(3) holds the next acquire() exactly 3 s, and the pause does not outlive itself."""
    t0 = clock()
    starts = await _drive_through_the_protocol(LocalRateLimiter(clock=clock, sleep=sleep), clock)
    assert [s - t0 for s in starts] == [0.0, pytest.approx(3.0), pytest.approx(3.0)]
    assert sleep.delays == [pytest.approx(3.0)]


# --- the shared 429 pause through the client ---------------------------------------------


async def test_429_on_one_call_pauses_other_calls(
    client: ClientFactory, api: FakeHero, clock: FakeClock, sleep: RecordingSleep
) -> None:
    """After one call gets a 429, a different concurrent call waits out the same pause."""
    limiter = LocalRateLimiter(clock=clock, sleep=sleep)
    hero = await client(rate_limiter=limiter)
    start = clock()
    sent_at: dict[str, list[float]] = {"locations": [], "me": []}
    first_429 = asyncio.Event()

    async def locations(url: Any, **kwargs: Any) -> CallbackResult:
        sent_at["locations"].append(clock())
        if len(sent_at["locations"]) == 1:
            first_429.set()
            return CallbackResult(status=429, headers={"Retry-After": "7"})
        return CallbackResult(payload={"data": [], "count": 0})

    async def me(url: Any, **kwargs: Any) -> CallbackResult:
        sent_at["me"].append(clock())
        return CallbackResult(payload=ME)

    api.add("GET", "/v1/locations", callback=locations, repeat=True)
    api.add("GET", "/v1/me", callback=me, repeat=True)

    async def other_call() -> None:
        await first_429.wait()
        await hero.practice_group_info.me()

    await asyncio.gather(hero.locations.list(), other_call())
    assert sent_at["locations"][0] == start
    assert sent_at["me"] == [pytest.approx(start + 7)]  # held although it never saw a 429
    assert sent_at["locations"][1] == pytest.approx(start + 7)
    assert sleep.total == pytest.approx(7)  # one shared pause, not one each


async def test_429_pauses_other_practice_groups_too(
    client: ClientFactory, api: FakeHero, clock: FakeClock, sleep: RecordingSleep
) -> None:
    """The pause is per API key: a view for another group waits as well."""
    limiter = LocalRateLimiter(clock=clock, sleep=sleep)
    hero = await client(rate_limiter=limiter)
    api.add("GET", "/v1/me", status=429, headers={"Retry-After": "3"})
    api.add("GET", "/v1/me", payload=ME, repeat=True)
    start = clock()
    await hero.practice_group_info.me()
    assert limiter.paused_until == start + 3
    await hero.practice_group("1002").practice_group_info.me()
    assert clock() == pytest.approx(start + 3)


async def test_client_rate_limit_spaces_requests(
    client: ClientFactory, api: FakeHero, clock: FakeClock, sleep: RecordingSleep
) -> None:
    """HeroClient(rate_limit=5) starts requests 0.2 s apart on the injected clock."""
    sent_at: list[float] = []

    async def me(url: Any, **kwargs: Any) -> CallbackResult:
        sent_at.append(clock())
        return CallbackResult(payload=ME)

    api.add("GET", "/v1/me", callback=me, repeat=True)
    hero = await client(rate_limit=5)
    for _ in range(4):
        await hero.practice_group_info.me()
    gaps = [b - a for a, b in itertools.pairwise(sent_at)]
    assert gaps == [pytest.approx(0.2)] * 3


async def test_default_limiter_429_pause_uses_injected_clock(
    client: ClientFactory, api: FakeHero, clock: FakeClock, sleep: RecordingSleep
) -> None:
    """With clock= and sleep= injected, a 429 pause is one injected sleep, not a busy loop."""
    api.add("POST", "/v1/messages/send", status=429, headers={"Retry-After": "2"})
    api.add("POST", "/v1/messages/send", payload={"message_id": "m-1"})
    hero = await client()  # the client's own LocalRateLimiter
    start = clock()
    sent = await hero.messages.send(patient_id="156", message_type="hero", message_string="Hi")
    assert sent.message_id == "m-1"
    assert sleep.delays == [pytest.approx(2)]
    assert clock() == pytest.approx(start + 2)


# --- the hot path: admit() --------------------------------------------------------------


async def test_admit_starts_only_what_acquire_would_start_at_once(
    clock: FakeClock, sleep: RecordingSleep
) -> None:
    """``admit()`` (Core's path without a coroutine) says yes exactly when ``acquire()`` would
    return at once, and counts the start the same way: two limiters, one driven each way,
    learn the same rate from the same 429."""
    admitted = LocalRateLimiter(adaptive=True, clock=clock, sleep=sleep)
    acquired = LocalRateLimiter(adaptive=True, clock=clock, sleep=sleep)
    for _ in range(40):
        assert admitted.admit()
        await acquired.acquire()
        clock.advance(0.01)
    admitted.pause(2.0)
    acquired.pause(2.0)
    assert admitted.rate == acquired.rate is not None
    assert not admitted.admit()  # paused: the caller must wait in acquire()
    assert not LocalRateLimiter(5.0, clock=clock, sleep=sleep).admit()  # a cap spaces starts
    assert sleep.delays == []


async def test_a_limiter_subclass_is_always_awaited(client: ClientFactory, api: FakeHero) -> None:
    """Core skips the coroutine only for LocalRateLimiter itself: a subclass's own
    ``acquire`` runs before every request."""

    class Counting(LocalRateLimiter):
        calls = 0

        async def acquire(self) -> None:
            Counting.calls += 1
            await super().acquire()

    hero = await client(rate_limiter=Counting())
    api.add("GET", "/v1/me", payload=ME, repeat=True)
    for _ in range(3):
        await hero.practice_group_info.me()
    assert Counting.calls == 3
