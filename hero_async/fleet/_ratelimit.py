"""PostgresRateLimiter: one request budget for an API key, shared by every worker of a fleet.

The budget is one row per API key (keyed by a hash of the key, never the key). Each permit is
a reservation made in one statement, GCRA-style: the row's ``tat`` (theoretical arrival time)
moves on by one interval and the caller learns when its slot starts, by the database clock,
so N workers together start at most one request per interval, however their clocks drift.
A 429 with Retry-After (``pause``) moves the row's ``paused_until``: every reservation after
it, on any worker, starts after the pause.

Each process keeps one reservation in flight (a local lock in front): a reservation is spent
when its slot comes, so fewer outstanding reservations means fewer slots that can fall inside
a pause another worker just declared, and fewer wasted when a worker is killed.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from psycopg_pool import AsyncConnectionPool

from .._constants import MAX_RETRY_AFTER_SECONDS
from ._db import key_id, unavailable

__all__ = ["PostgresRateLimiter"]

Sleep = Callable[[float], Awaitable[None]]

# The stored times are clamped to what a live fleet can have ahead of now (one interval per
# worker in flight, the longest Retry-After), so a step back of the database clock costs a
# short burst, never a stall for as long as the step.
_RESERVE = b"""INSERT INTO hero_fleet.rate_limits AS r (key_id, tat) VALUES (%s, clock_timestamp())
ON CONFLICT (key_id) DO UPDATE
SET tat = greatest(
    least(r.tat, clock_timestamp() + make_interval(secs => r.interval_s * 256)),
    clock_timestamp(),
    least(r.paused_until, clock_timestamp() + make_interval(secs => MAX_PAUSE))
) + make_interval(secs => r.interval_s)
RETURNING extract(epoch FROM r.tat - make_interval(secs => r.interval_s)),
          extract(epoch FROM clock_timestamp())""".replace(
    b"MAX_PAUSE", b"%d" % MAX_RETRY_AFTER_SECONDS
)
_PAUSE = b"""INSERT INTO hero_fleet.rate_limits AS r (key_id, paused_until)
VALUES (%(k)s, clock_timestamp() + make_interval(secs => %(s)s))
ON CONFLICT (key_id) DO UPDATE
SET paused_until = greatest(r.paused_until, clock_timestamp() + make_interval(secs => %(s)s))"""
_SET_RATE = b"""INSERT INTO hero_fleet.rate_limits AS r (key_id, interval_s) VALUES (%(k)s, %(i)s)
ON CONFLICT (key_id) DO UPDATE SET interval_s = excluded.interval_s"""


class PostgresRateLimiter:
    """A :class:`hero_async.RateLimiter` whose budget lives in PostgreSQL.

    ``set_rate(r)`` stores the key's limit for the whole fleet (None: no cap, 429 pauses
    only). Pass it to ``HeroClient(rate_limiter=...)``.
    """

    def __init__(
        self,
        pool: AsyncConnectionPool[Any],
        api_key: str,
        *,
        sleep: Sleep = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._pool = pool
        self._key = key_id(api_key)
        self._sleep = sleep
        self._monotonic = monotonic
        self._lock = asyncio.Lock()
        self._paused_until = 0.0  # this process's own 429s, known before the database has them
        self._pauses: set[asyncio.Task[None]] = set()
        self._prepaid: weakref.WeakKeyDictionary[asyncio.Task[Any], bool] = (
            weakref.WeakKeyDictionary()
        )

    async def set_rate(self, rate: float | None) -> None:
        if rate is not None and not rate > 0:
            raise ValueError("rate must be positive requests per second, or None")
        with unavailable():
            async with self._pool.connection() as conn:
                await conn.execute(_SET_RATE, {"k": self._key, "i": 1.0 / rate if rate else 0.0})

    async def prepay(self) -> None:
        """Take this task's next permit now: the ledger calls it just before a claim, so a
        key is claimed only once its request may go out (a killed worker then leaves only
        its truly in-flight keys unknown, not every key queued behind the rate limit). The
        task's next ``acquire`` spends it without waiting."""
        await self.acquire()
        task = asyncio.current_task()
        if task is not None:
            self._prepaid[task] = True

    async def acquire(self) -> None:
        task = asyncio.current_task()
        if task is not None and self._prepaid.pop(task, False):
            return  # paid for by prepay() just before this task's claim
        async with self._lock:
            while True:
                local = self._paused_until - self._monotonic()
                if local > 0:
                    await self._sleep(local)
                start, now = await self._reserve()
                if start > now:
                    await self._sleep(start - now)
                if self._monotonic() >= self._paused_until:
                    return
                # A 429 of our own arrived while we waited: that slot falls in the pause.

    async def _reserve(self) -> tuple[float, float]:
        with unavailable():
            async with self._pool.connection() as conn, conn.transaction():
                # A reservation lost in a server crash costs nothing (the slot just passes
                # unused), so it need not wait for the WAL flush a ledger claim needs.
                await conn.execute(b"SET LOCAL synchronous_commit = off")
                cur = await conn.execute(_RESERVE, (self._key,))
                row = await cur.fetchone()
        assert row is not None  # an upsert … RETURNING always returns its row
        return float(row[0]), float(row[1])  # slot start, database now (epoch seconds)

    def pause(self, seconds: float) -> None:
        """Hold this process back at once, and the fleet as soon as the row is written."""
        self._paused_until = max(self._paused_until, self._monotonic() + seconds)
        task = asyncio.get_running_loop().create_task(self._pause_fleet(seconds))
        self._pauses.add(task)
        task.add_done_callback(self._pauses.discard)

    async def _pause_fleet(self, seconds: float) -> None:
        try:
            async with self._pool.connection() as conn:
                await conn.execute(_PAUSE, {"k": self._key, "s": seconds})
        except Exception:  # noqa: S110 - the local pause still holds this process back
            pass

    async def aclose(self) -> None:
        """Wait for pauses still being written (so the fleet hears of them)."""
        await asyncio.gather(*self._pauses, return_exceptions=True)
