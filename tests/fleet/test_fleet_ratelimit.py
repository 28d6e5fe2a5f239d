"""The fleet-wide rate limiter: one budget for every worker, by the database's clock."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator

import pytest
from psycopg_pool import AsyncConnectionPool

from hero_async.fleet import PostgresRateLimiter, open_pool

KEY = "key-SECRET-1"


class Recorded(PostgresRateLimiter):
    """Sleeps are recorded, not slept (the slots' start times come from the database)."""

    def __init__(self, pool: AsyncConnectionPool, api_key: str = KEY) -> None:
        self.starts: list[float] = []
        self.slept: list[float] = []

        async def sleep(seconds: float) -> None:
            self.slept.append(seconds)

        super().__init__(pool, api_key, sleep=sleep)

    async def _reserve(self) -> tuple[float, float]:
        start, now = await super()._reserve()
        self.starts.append(start)
        return start, now


@pytest.fixture
async def pools(database_url: str) -> AsyncIterator[list[AsyncConnectionPool]]:
    opened = [await open_pool(database_url, max_size=2) for _ in range(3)]
    yield opened
    for pool in opened:
        await pool.close()


async def test_workers_share_one_budget_spaced_by_the_interval(pools: list) -> None:
    workers = [Recorded(pool) for pool in pools]  # three "processes", three pools
    await workers[0].set_rate(50.0)
    await asyncio.gather(*(w.acquire() for w in workers for _ in range(40)))
    starts = sorted(s for w in workers for s in w.starts)
    assert len(starts) == 120
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert min(gaps) >= 0.02 - 1e-6  # never two starts closer than 1/rate, fleet-wide
    # 120 permits at 50/s take ~2.4 s of slots: the waits were really asked for.
    assert starts[-1] - starts[0] == pytest.approx(119 * 0.02, abs=0.05)


async def test_another_key_has_its_own_budget(pools: list) -> None:
    a, b = Recorded(pools[0], "key-A"), Recorded(pools[1], "key-B")
    await a.set_rate(1.0)
    await b.set_rate(1.0)
    for _ in range(3):
        await a.acquire()
    await b.acquire()
    assert b.slept == [] or max(b.slept) < 0.5  # key A's queue does not delay key B


async def test_a_429_on_one_worker_pauses_the_whole_fleet(pools: list) -> None:
    hit, other = Recorded(pools[0]), Recorded(pools[1])
    await other.acquire()  # no cap: no wait
    hit.pause(30.0)
    await asyncio.gather(*hit._pauses)  # the pause row is written
    await other.acquire()
    assert other.starts[-1] - other.starts[0] >= 29.0  # the other worker's slot is after it
    assert max(other.slept) >= 29.0


async def test_no_cap_and_no_pause_means_no_wait(pools: list) -> None:
    worker = Recorded(pools[0])
    for _ in range(5):
        await worker.acquire()
    assert all(delay < 0.05 for delay in worker.slept)


async def test_rate_must_be_positive(pools: list) -> None:
    with pytest.raises(ValueError, match="positive"):
        await Recorded(pools[0]).set_rate(0.0)


async def test_a_prepaid_permit_is_spent_by_the_same_tasks_next_acquire(
    pools: list[AsyncConnectionPool],
) -> None:
    worker = Recorded(pools[0])
    await worker.set_rate(10.0)
    await worker.prepay()  # the ledger, just before a claim
    await worker.acquire()  # the claimed request: no second reservation
    assert len(worker.starts) == 1
    await worker.acquire()  # the next request pays again
    assert len(worker.starts) == 2

    async def other_task() -> None:
        await worker.acquire()  # another task's acquire never spends this task's permit

    await worker.prepay()
    await asyncio.create_task(other_task())
    assert len(worker.starts) == 4


async def test_the_ledger_takes_the_permit_before_it_claims(database_url: str) -> None:
    from hero_async.bulk import LedgerEntry, RunInfo, State
    from hero_async.fleet import PostgresLedger

    order: list[str] = []

    async def permit() -> None:
        order.append("permit")

    ledger = await PostgresLedger.open(database_url, "l")
    ledger._before_claim = permit
    try:
        await ledger.begin(RunInfo.here(), None)
        entry = LedgerEntry("k1", "1002", State.LINK_CLAIMED, step="link")
        assert await ledger.claim(entry, expect_epoch=0) == 1
        assert order == ["permit"]
    finally:
        await ledger.close()


async def test_a_database_clock_step_back_costs_no_stall(pools: list) -> None:
    """The database clock steps back an hour after reservations and a pause were stored: the
    stored times now lie an hour ahead. The next permits wait at most what a live fleet can
    have ahead of now (256 intervals, the longest Retry-After), not the hour."""
    worker = Recorded(pools[0])
    await worker.set_rate(50.0)
    await worker.acquire()
    async with pools[0].connection() as conn:
        await conn.execute(
            "UPDATE hero_fleet.rate_limits SET tat = clock_timestamp() + interval '1 hour',"
            " paused_until = clock_timestamp() + interval '1 hour'"
        )
    for _ in range(3):
        await worker.acquire()
    assert worker.slept
    assert max(worker.slept) <= 120 + 1
    assert max(worker.slept) > 60  # the stored pause still counted, clamped to its longest
