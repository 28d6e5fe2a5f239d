"""One shard run: the idempotent unit of a fleet campaign.

``run_shard(url, "flu-2026", 3)`` sends shard 3's invitations through the campaign's
PostgreSQL ledger, with the fleet-wide rate budget and token store, and records each key's
result. Running it again (after a crash, twice at once, from procrastinate, Celery, arq or
taskiq) sends nothing already sent and nothing another run holds: every request is claimed in
the ledger, after its rate-limit permit, just before it goes out.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from psycopg_pool import AsyncConnectionPool

from .._client import HeroClient
from .._config import from_env
from .._constants import ENV_API_KEY
from ..bulk import LEASE_SECONDS, Campaign, Invitation, InvitationResult
from ._db import open_pool
from ._ledger import PostgresLedger
from ._ratelimit import PostgresRateLimiter
from ._tokens import PostgresTokenStore

__all__ = ["fleet_client", "run_shard", "shard_run"]

_RESULT = b"""INSERT INTO hero_fleet.results VALUES
    (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (campaign, key) DO UPDATE SET
    state = excluded.state, step = excluded.step, patient_id = excluded.patient_id,
    link_id = excluded.link_id, short_link = excluded.short_link,
    message_id = excluded.message_id, error_type = excluded.error_type,
    error = excluded.error, retryable = excluded.retryable
WHERE NOT (results.state = 'sent' AND excluded.state = 'skipped')"""


class _Results:
    """Per-key results written as they come (batched), so a killed shard keeps most."""

    def __init__(self, pool: AsyncConnectionPool[Any], campaign: str) -> None:
        self._pool, self._campaign = pool, campaign
        self._buffer: list[InvitationResult] = []
        self._flushing: asyncio.Task[None] | None = None

    def add(self, result: InvitationResult) -> None:
        self._buffer.append(result)
        if len(self._buffer) >= 50 and self._flushing is None:
            self._flushing = asyncio.get_running_loop().create_task(self._flush_soon())

    async def _flush_soon(self) -> None:
        try:
            await self.flush()
        finally:
            self._flushing = None

    async def flush(self) -> None:
        batch, self._buffer = self._buffer, []
        if batch:
            rows = [(self._campaign, *_fields(r)) for r in batch]
            async with self._pool.connection() as conn, conn.cursor() as cur:
                await cur.executemany(_RESULT, rows)

    async def close(self) -> None:
        if self._flushing is not None:
            await self._flushing
        await self.flush()


def _fields(r: InvitationResult) -> tuple[object, ...]:
    return (
        r.key,
        r.practice_group_id,
        r.state,
        r.step,
        r.patient_id,
        r.link_id,
        r.short_link,
        r.message_id,
        r.error_type,
        r.error,
        r.retryable,
    )


async def shard_run(
    pool: AsyncConnectionPool[Any],
    hero: HeroClient,
    limiter: PostgresRateLimiter,
    campaign: str,
    shard: int,
    *,
    concurrency: int,
    lease_seconds: float = LEASE_SECONDS,
) -> dict[str, int]:
    """The shard on an open pool and client (whose rate limiter is ``limiter``)."""
    if lease_seconds < LEASE_SECONDS:  # the job renews its leases every LEASE_SECONDS / 3
        raise ValueError(f"lease_seconds must be at least {LEASE_SECONDS:g}")
    async with pool.connection() as conn:
        await conn.execute(
            b"UPDATE hero_fleet.shards SET attempts = attempts + 1"
            b" WHERE campaign = %s AND shard = %s",
            (campaign, shard),
        )
        cur = await conn.execute(
            b"SELECT payload FROM hero_fleet.invitations WHERE campaign = %s AND shard = %s"
            b" ORDER BY key",
            (campaign, shard),
        )
        invitations = [Invitation(**row[0]) async for row in cur]
        cur = await conn.execute(
            b"SELECT campaign_name, campaign_fingerprint FROM hero_fleet.ledgers WHERE name = %s",
            (campaign,),
        )
        ident = await cur.fetchone()
    ledger = PostgresLedger(
        pool, campaign, lease_seconds=lease_seconds, before_claim=limiter.prepay
    )
    sink = _Results(pool, campaign)
    try:
        report = await hero.send_invitations(
            invitations,
            ledger=ledger,
            concurrency=concurrency,
            on_progress=sink.add,
            campaign=Campaign(ident[0], ident[1]) if ident else None,
        )
    except BaseException:  # keep the results already known; the job's error is the news
        with contextlib.suppress(Exception):
            await sink.close()
        raise
    counts = dict(report.counts)
    report.close()
    await sink.close()
    async with pool.connection() as conn:
        await conn.execute(
            b"UPDATE hero_fleet.shards SET done = true WHERE campaign = %s AND shard = %s",
            (campaign, shard),
        )
    return counts


def fleet_client(
    pool: AsyncConnectionPool[Any],
    limiter: PostgresRateLimiter,
    api_key: str | None,
    practice_group_id: str | None,
    base_url: str | None,
) -> HeroClient:
    """A client sharing the fleet's rate budget (``limiter``) and token store."""
    tokens = PostgresTokenStore(pool, from_env(api_key, "api_key", ENV_API_KEY))
    return HeroClient(
        api_key, practice_group_id, base_url=base_url, rate_limiter=limiter, token_store=tokens
    )


async def run_shard(
    url: str,
    campaign: str,
    shard: int,
    *,
    api_key: str | None = None,
    practice_group_id: str | None = None,
    base_url: str | None = None,
    concurrency: int = 20,
    lease_seconds: float = LEASE_SECONDS,
) -> dict[str, int]:
    """Run one shard of a submitted campaign to its end; returns this run's counts by
    state (``sent``, ``failed``, ``skipped``, ``outcome_unknown``). Idempotent: call it from
    any job engine, retry it freely. Credentials and ``base_url`` default to the
    environment, as for ``HeroClient``; the rate limit is the fleet's (set by a worker's
    ``rate_limit`` or ``PostgresRateLimiter.set_rate``)."""
    key = from_env(api_key, "api_key", ENV_API_KEY)
    pool = await open_pool(url, max_size=4)
    limiter = PostgresRateLimiter(pool, key)
    try:
        async with fleet_client(pool, limiter, api_key, practice_group_id, base_url) as hero:
            counts = await shard_run(
                pool,
                hero,
                limiter,
                campaign,
                shard,
                concurrency=concurrency,
                lease_seconds=lease_seconds,
            )
        return counts
    finally:
        with contextlib.suppress(Exception):  # pauses still being written to the fleet
            await limiter.aclose()
        await pool.close()
