"""Load: 10,000 concurrent calls through one client with a pool of 100 connections."""

from __future__ import annotations

import asyncio
import time

from reliability_support import API_KEY, GROUPS, HOME, acquired_connections, pending_tasks

from hero_async import HeroClient, LocalRateLimiter
from hero_async.testing import FakeHero, Fault

CALLS = 10_000
POOL = 100


async def _calls(hero: HeroClient, n: int) -> list[object]:
    views = [hero.practice_group(group) for group in GROUPS]

    async def one(i: int) -> object:
        if i % 2:
            return await views[i % len(views)].locations.list()
        return await hero.practice_group_info.me()

    return await asyncio.gather(*(one(i) for i in range(n)), return_exceptions=True)


async def test_ten_thousand_concurrent_calls_never_exceed_the_pool(network: FakeHero) -> None:
    """The fake observes at most ``max_connections`` requests at once, and every call ends."""
    network.add_fault(Fault(latency=0.002, times=None))  # handlers overlap, as on a real server
    async with HeroClient(API_KEY, HOME, base_url=network.url, max_connections=POOL) as hero:
        results = await _calls(hero, CALLS)
        assert acquired_connections(hero) == 0
    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors == []
    assert network.count() == CALLS
    assert POOL // 2 <= network.max_concurrent_requests <= POOL
    assert not await pending_tasks()


def _in_flight(fake: FakeHero) -> int:
    return fake._dispatcher.in_flight


async def test_a_429_storm_costs_a_bounded_number_of_requests(network: FakeHero) -> None:
    """Hero answers 429 (Retry-After: 1) to everything until the client has paused. The
    shared pause must hold back every request that has not gone out yet, including those
    queued for a pool connection: only what was already on the wire meets the storm, so the
    number of 429s is about one pool's worth, not one per waiting call. The storm ends on an
    event (the client paused), not after a real sleep, so CPU speed cannot change the count."""
    async with HeroClient(API_KEY, HOME, base_url=network.url, max_connections=POOL) as hero:
        await hero.practice_group_info.me()  # warm: one connection open
        storm = network.add_fault(Fault(status=429, retry_after=1, times=None))
        storm_seconds: list[float] = []
        limiter = hero._core.limiter
        assert isinstance(limiter, LocalRateLimiter)

        async def end_storm() -> None:
            while not (storm.hits and limiter.paused_until > time.monotonic()):
                await asyncio.sleep(0)
            began = time.monotonic()
            while _in_flight(network):
                await asyncio.sleep(0)  # what was on the wire has met the storm
            storm.remove()
            storm_seconds.append(time.monotonic() - began)

        ender = asyncio.create_task(end_storm())
        started = time.monotonic()
        results = await _calls(hero, CALLS)
        await ender
        elapsed = time.monotonic() - started
        assert acquired_connections(hero) == 0
    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors == []  # every call completes once the storm is over
    assert elapsed >= 1.0  # the Retry-After pause was honoured
    assert storm.hits <= 3 * POOL, (
        f"{storm.hits} requests met the 429 storm ({storm_seconds[0]:.2f} s, Retry-After 1 s); "
        f"a shared pause should stop all but the ~{POOL} already on the wire"
    )
    assert network.count() <= CALLS + 1 + 3 * POOL


async def test_a_sustained_rate_limit_is_met_with_pauses_not_a_retry_flood(
    network: FakeHero,
) -> None:
    """The fake limits the key to 2,000 requests/s (bucket of 2,000, Retry-After in whole
    seconds). 6,000 calls at once must not turn into one 429 per waiting call: each 429 wave
    should cost about one pool's worth of requests."""
    network.set_rate_limit(2000)
    async with HeroClient(API_KEY, HOME, base_url=network.url, max_connections=POOL) as hero:
        results = await _calls(hero, 6000)
        assert acquired_connections(hero) == 0
    limited = network.count(status=429)
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert limited <= 5 * POOL, f"{limited} requests were answered 429"
