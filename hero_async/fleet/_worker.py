"""A fleet worker: procrastinate runs shard jobs; each shard is one ``send_invitations`` call
against the shared PostgreSQL ledger, rate budget and token store.

    await run_worker(url, concurrency=20, rate_limit=60, burst=True)

``burst`` exits once every shard is finished, recovering stalled shards of dead workers on
the way (procrastinate's ``run_worker_async(wait=False)`` alone stops at the first empty
fetch, even while other workers' shards are still running or stalled).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from procrastinate import App
from psycopg_pool import AsyncConnectionPool

from .._client import HeroClient
from .._config import from_env
from .._constants import ENV_API_KEY
from ..bulk import LEASE_SECONDS
from ._db import open_pool
from ._jobs import QUEUE, build_app, defer_reconcile, defer_shard, retry_stalled
from ._ledger import PostgresLedger
from ._manage import MAX_ATTEMPTS, given_up
from ._ratelimit import PostgresRateLimiter
from ._shard import fleet_client, shard_run

__all__ = ["MAX_ATTEMPTS", "run_worker"]

_UNFINISHED = b"""SELECT count(*) FROM hero_fleet.shards s WHERE NOT s.done
AND (s.attempts < %s OR EXISTS (SELECT 1 FROM procrastinate_jobs j
    WHERE j.queueing_lock = 'shard:' || s.campaign || ':' || s.shard
      AND j.status IN ('todo', 'doing')))"""
_LOST = b"""SELECT s.campaign, s.shard FROM hero_fleet.shards s
WHERE NOT s.done AND s.attempts < %s AND NOT EXISTS (
    SELECT 1 FROM procrastinate_jobs j
    WHERE j.queueing_lock = 'shard:' || s.campaign || ':' || s.shard
      AND j.status IN ('todo', 'doing'))"""


class _Worker:
    def __init__(
        self,
        pool: AsyncConnectionPool[Any],
        hero: HeroClient,
        limiter: PostgresRateLimiter,
        *,
        concurrency: int,
        lease_seconds: float,
        stalled_after: float,
    ) -> None:
        self.pool, self.hero, self.limiter = pool, hero, limiter
        self.concurrency, self.lease, self.stalled_after = concurrency, lease_seconds, stalled_after
        self.app: App | None = None

    async def run_shard(self, campaign: str, number: int) -> None:
        await shard_run(
            self.pool,
            self.hero,
            self.limiter,
            campaign,
            number,
            concurrency=self.concurrency,
            lease_seconds=self.lease,
        )

    async def reconcile(self) -> None:
        assert self.app is not None
        await retry_stalled(self.app, self.stalled_after)
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                b"SELECT DISTINCT campaign FROM hero_fleet.shards WHERE NOT done"
            )
            campaigns = [row[0] async for row in cur]
            lost = await (await conn.execute(_LOST, (MAX_ATTEMPTS,))).fetchall()
        for name in campaigns:
            await PostgresLedger(self.pool, name, lease_seconds=self.lease).sweep()
        for campaign, number in lost:
            await defer_shard(self.app, campaign, number)

    async def unfinished(self) -> int:
        async with self.pool.connection() as conn:
            row = await (await conn.execute(_UNFINISHED, (MAX_ATTEMPTS,))).fetchone()
        return int(row[0]) if row else 0


async def run_worker(
    url: str,
    *,
    api_key: str | None = None,
    practice_group_id: str | None = None,
    base_url: str | None = None,
    concurrency: int = 20,
    jobs: int = 2,
    rate_limit: float | None = None,
    burst: bool = False,
    stalled_after: float = 30.0,
    lease_seconds: float = LEASE_SECONDS,
) -> list[tuple[str, int]]:
    """Run shard jobs until stopped (SIGINT/SIGTERM), or with ``burst`` until none is left.
    ``rate_limit`` (requests/s) is stored as the key's budget for the whole fleet. Returns
    the (campaign, shard) pairs given up after ``MAX_ATTEMPTS`` runs (``Campaign.retry``
    re-opens them): with ``burst``, an empty list means every shard finished."""
    pool = await open_pool(url)
    try:
        key = from_env(api_key, "api_key", ENV_API_KEY)  # hashed for the shared rows
        limiter = PostgresRateLimiter(pool, key)
        if rate_limit is not None:
            await limiter.set_rate(rate_limit)
        async with fleet_client(pool, limiter, api_key, practice_group_id, base_url) as hero:
            worker = _Worker(
                pool,
                hero,
                limiter,
                concurrency=concurrency,
                lease_seconds=lease_seconds,
                stalled_after=stalled_after,
            )
            await _serve(url, worker, jobs=jobs, burst=burst)
        await limiter.aclose()
        return await given_up(pool)
    finally:
        await pool.close()


async def _serve(url: str, worker: _Worker, *, jobs: int, burst: bool) -> None:
    app = worker.app = build_app(url, worker.run_shard, worker.reconcile)
    options: dict[str, Any] = {
        "queues": [QUEUE],
        "concurrency": jobs,
        "listen_notify": False,
        "fetch_job_polling_interval": 0.5,
        "stalled_worker_timeout": worker.stalled_after,
        "update_heartbeat_interval": worker.stalled_after / 3,
        "delete_jobs": "never",
    }
    async with app.open_async():
        if not burst:
            ticker = asyncio.create_task(_tick(app, worker.stalled_after / 2))
            try:
                await app.run_worker_async(wait=True, **options)
            finally:
                ticker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ticker
            return
        while True:
            await defer_reconcile(app)
            await app.run_worker_async(wait=False, install_signal_handlers=False, **options)
            if await worker.unfinished() == 0:
                return
            await asyncio.sleep(min(1.0, worker.stalled_after / 3))  # others' shards running


async def _tick(app: App, every: float) -> None:
    while True:
        await defer_reconcile(app)
        await asyncio.sleep(every)
