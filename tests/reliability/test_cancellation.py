"""Cancellation at any await point of a request leaves the token cache and the pool consistent.

Each test cancels the same operation at every point it can reach: after 0, 1, 2 ... event-loop
iterations (which walks through the limiter, the pool, the write, the read and the token
cache's single flight), and at seeded random moments while the fake holds the answer. After
every cancellation:

* no connection is left acquired and no waiter is left queued in the pool;
* no token-cache lock is left held, and a fetch left in flight finishes on its own;
* the next call succeeds and costs at most one more token request (single flight kept).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from reliability_support import API_KEY, HOME, acquired_connections, pending_tasks, quiesce

from hero_async import HeroClient, HeroError
from hero_async.testing import FakeHero, Fault, _dispatch

TOKEN = "/v1/access_token"
Operation = Callable[[HeroClient], Awaitable[Any]]


def assert_pool_consistent(hero: HeroClient) -> None:
    assert acquired_connections(hero) == 0
    session = hero._core.transport.session  # type: ignore[attr-defined]
    if session is None:  # cancelled before the first request made the pool
        return
    connector = session.connector
    assert isinstance(connector, aiohttp.BaseConnector)
    waiters = connector._waiters  # type: ignore[attr-defined]
    assert not any(waiters.values()), f"pool waiters left behind: {waiters}"


async def assert_tokens_consistent(hero: HeroClient, fake: FakeHero, group: str) -> None:
    cache = hero._core._tokens
    for flight in list(cache._flights.values()):
        await asyncio.wait([flight])  # a shielded fetch outlives its cancelled caller
    assert not cache._flights
    assert not [g for g, lock in cache._locks.items() if lock.locked()]
    before = fake.count(method="POST", path=TOKEN, practice_group_id=group)
    token = await hero.practice_group(group).access_token()
    claims = fake.decode_access_token(token.token)
    assert claims  # a real token of this fake, not a half-written entry
    after = fake.count(method="POST", path=TOKEN, practice_group_id=group)
    assert after - before <= 1


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def cancel_after_iterations(operation: Awaitable[Any], iterations: int) -> bool:
    """Run ``operation``, cancel it after ``iterations`` loop turns; True if it finished first."""
    task = asyncio.ensure_future(operation)
    for _ in range(iterations):
        if task.done():
            break
        await asyncio.sleep(0)
    finished = task.done()
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    except HeroError:
        pass  # e.g. an OutcomeUnknownError the cancellation raced with
    return finished


async def sweep(hero: HeroClient, fake: FakeHero, operation: Operation, group: str) -> int:
    """Cancel at 0, 1, 2 ... iterations until the operation completes on its own."""
    for iterations in range(400):
        await hero._core._tokens.invalidate(group)  # each run must fetch a token afresh
        finished = await cancel_after_iterations(operation(hero), iterations)
        await quiesce()  # the shielded token fetch a cancelled caller left runs to its end
        assert_pool_consistent(hero)
        await assert_tokens_consistent(hero, fake, group)
        if finished:
            return iterations
    raise AssertionError("the operation never completed in 400 loop iterations")


OPERATIONS: dict[str, tuple[str, Operation]] = {
    "access_token (own group)": (HOME, lambda h: h.access_token()),
    "access_token (other group)": ("1004", lambda h: h.practice_group("1004").access_token()),
    "GET /v1/me": (HOME, lambda h: h.practice_group_info.me()),
    "POST /v1/booking_links": (
        "1002",
        lambda h: h.practice_group("1002").booking_links.create(
            appointment_type_id="10", location_id="20"
        ),
    ),
    "register_pds then token": (
        "1003",
        lambda h: _register_then_token(h.practice_group("1003")),
    ),
}


async def _register_then_token(view: Any) -> Any:
    await view.patients.register_pds(nhs_number="9434765919", dob="1980-01-31")
    return await view.access_token()


@pytest.mark.parametrize("name", sorted(OPERATIONS))
async def test_cancelling_at_every_loop_iteration_leaves_cache_and_pool_consistent(
    hero: HeroClient, network: FakeHero, name: str, loop_trouble: Any
) -> None:
    group, operation = OPERATIONS[name]
    reached = await sweep(hero, network, operation, group)
    assert reached >= 5  # the sweep really cut through several await points


@pytest.mark.parametrize("seed", range(3))
async def test_cancelling_at_random_moments_while_hero_is_slow(
    network: FakeHero, seed: int, loop_trouble: Any
) -> None:
    """The fake holds answers 1-20 ms (and fails some); callers are cancelled at random."""
    rng = random.Random(seed)
    network.add_fault(Fault(latency=0.01, times=None, probability=0.5))
    network.add_fault(Fault(status=503, times=None, probability=0.1))
    network.add_fault(Fault(status=429, retry_after=0.01, times=None, probability=0.05))
    async with HeroClient(
        API_KEY, HOME, base_url=network.url, max_connections=4, sleep=_fast_sleep
    ) as hero:
        for _ in range(40):
            group = rng.choice(["1001", "1002", "1003"])
            view = hero.practice_group(group)
            calls: list[Callable[[], Awaitable[Any]]] = [
                view.access_token,
                view.practice_group_info.me,
                view.locations.list,
            ]
            tasks = [asyncio.ensure_future(rng.choice(calls)()) for _ in range(6)]
            await asyncio.sleep(rng.uniform(0, 0.025))
            for task in tasks:
                if rng.random() < 0.6:
                    task.cancel()
            outcomes = await asyncio.gather(*tasks, return_exceptions=True)
            unexpected = [
                o
                for o in outcomes
                if isinstance(o, BaseException)
                and not isinstance(o, asyncio.CancelledError | HeroError)
            ]
            assert unexpected == []
            await quiesce()  # shielded token fetches still hold a connection until they land
            assert_pool_consistent(hero)
            await assert_tokens_consistent(hero, network, group)
    assert not await pending_tasks()


HOLD = 1.0  # the fake holds these answers; every step the test takes meanwhile is ~1 ms


async def until(condition: Callable[[], bool], turns: int = 100_000) -> None:
    """Let the loop run until ``condition`` holds: ordering by events, not by real sleeps."""
    for _ in range(turns):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never became true")


def _waiting_for_a_slot(hero: HeroClient) -> int:
    waiters = hero._core._slots._waiters
    return 0 if waiters is None else sum(not w.done() for w in waiters)


async def _fast_sleep(seconds: float) -> None:
    await asyncio.sleep(seconds / 50)


async def test_cancelling_a_call_waiting_for_a_pool_connection(
    network: FakeHero, loop_trouble: Any
) -> None:
    """With the pool full, a queued call is cancelled: it leaves no waiter behind and the
    pool serves the next call once the slow ones finish."""
    network.add_fault(Fault(latency=HOLD, times=2))
    async with HeroClient(API_KEY, HOME, base_url=network.url, max_connections=2) as hero:
        slow = [asyncio.ensure_future(hero.practice_group_info.me()) for _ in range(2)]
        await until(lambda: network.max_concurrent_requests == 2)  # both held by the fake
        queued = asyncio.ensure_future(hero.practice_group_info.me())
        await until(lambda: _waiting_for_a_slot(hero) == 1)
        assert not queued.done()
        queued.cancel()
        with pytest.raises(asyncio.CancelledError):
            await queued
        await asyncio.gather(*slow)
        await settle()
        assert_pool_consistent(hero)
        await hero.practice_group_info.me()
        assert network.max_concurrent_requests <= 2


async def test_cancelling_one_waiter_of_a_shared_token_fetch_spares_the_others(
    hero: HeroClient, network: FakeHero, loop_trouble: Any
) -> None:
    network.add_fault(Fault(method="POST", path=TOKEN, latency=HOLD, times=1))
    waiters = [asyncio.ensure_future(hero.practice_group("1005").access_token()) for _ in range(5)]
    await until(lambda: network.max_concurrent_requests == 1)  # the one fetch is at the fake
    waiters[0].cancel()
    waiters[3].cancel()
    outcomes = await asyncio.gather(*waiters, return_exceptions=True)
    tokens = {o.token for o in outcomes if not isinstance(o, BaseException)}
    assert len(tokens) == 1
    assert sum(isinstance(o, asyncio.CancelledError) for o in outcomes) == 2
    assert network.count(method="POST", path=TOKEN, practice_group_id="1005") == 1


async def test_cancelling_during_backoff_and_during_the_429_pause(
    network: FakeHero, loop_trouble: Any
) -> None:
    """The client's sleep hook tells us when a call is in its backoff or its 429 pause (no
    guessing with real sleeps), and holds it there until cancelled."""
    sleeping: list[float] = []

    async def held_sleep(seconds: float) -> None:
        sleeping.append(seconds)
        await asyncio.Event().wait()  # only cancellation ends it

    hero = HeroClient(API_KEY, HOME, base_url=network.url, sleep=held_sleep)
    await hero.__aenter__()
    network.add_fault(Fault(method="GET", path="/v1/me", status=503, times=1))
    in_backoff = asyncio.ensure_future(hero.practice_group_info.me())
    await until(lambda: len(sleeping) == 1)  # now sleeping before the retry
    in_backoff.cancel()
    with pytest.raises(asyncio.CancelledError):
        await in_backoff

    network.add_fault(Fault(method="GET", path="/v1/me", status=429, retry_after=30, times=1))
    paused = asyncio.ensure_future(hero.practice_group_info.me())
    await until(lambda: len(sleeping) == 2)  # in the client-wide 429 pause
    behind = asyncio.ensure_future(hero.practice_group("1002").locations.list())
    await until(lambda: len(sleeping) == 3)  # held by the same pause
    assert network.count(path="/v1/locations") == 0
    paused.cancel()
    behind.cancel()
    for task in (paused, behind):
        with pytest.raises(asyncio.CancelledError):
            await task
    await settle()
    assert_pool_consistent(hero)
    await hero.aclose()  # the 30 s pause is still on: held_sleep would hold any new call


class HeldAnswers:
    """Stands in for the fake's ``asyncio``: a latency fault waits for :meth:`release` instead
    of a real timer, so the test, not the clock, decides when a held answer comes."""

    def __init__(self) -> None:
        self.holding = 0
        self._released = asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)

    async def sleep(self, seconds: float) -> None:
        self.holding += 1
        await self._released.wait()

    def release(self) -> None:
        self._released.set()


async def test_closing_the_client_cancels_a_token_fetch_nobody_waits_for(
    network: FakeHero, monkeypatch: pytest.MonkeyPatch, loop_trouble: Any
) -> None:
    """A caller cancelled mid-fetch leaves the shielded fetch running; closing the client
    cancels it cleanly: no pending task, no unretrieved exception, no unclosed session."""
    held = HeldAnswers()
    monkeypatch.setattr(_dispatch, "asyncio", held)
    network.add_fault(Fault(method="POST", path=TOKEN, latency=HOLD, times=1))
    try:
        async with HeroClient(API_KEY, HOME, base_url=network.url) as hero:
            caller = asyncio.ensure_future(hero.access_token())
            await until(lambda: held.holding == 1)  # the fetch is at the fake, held there
            caller.cancel()
            with pytest.raises(asyncio.CancelledError):
                await caller
            flight = next(iter(hero._core._tokens._flights.values()))  # fetching for nobody
            assert not flight.done()
        assert flight.cancelled()  # ended by closing the client, not by an answer
        assert not hero._core._tokens._flights
    finally:
        held.release()  # the fake's handler answers a closed connection and ends
    assert not await pending_tasks()
