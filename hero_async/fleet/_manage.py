"""Looking after a campaign once it has run: retry what can be retried, settle unknowns.

``retry`` re-opens every shard that still holds a key worth another run -- a retryable
failure, a key no run reached, a key stopped between steps -- or that was given up after
``MAX_ATTEMPTS`` runs, and defers its job again (the queueing lock keeps it queued once).
Keys already sent, outcome_unknown or held by a live claim are never what re-opens a shard;
the ledger decides, key by key, what the new run may send.

``resolve`` records a person's answer for an outcome_unknown key in the ledger (fenced like
every write) and in the campaign's results, so the report and ``retry`` see it.
"""

from __future__ import annotations

from typing import Any

from procrastinate import App
from psycopg_pool import AsyncConnectionPool

from ..bulk import LedgerEntry, Resolution, State
from ._jobs import defer_shard
from ._ledger import PostgresLedger

__all__ = ["MAX_ATTEMPTS", "given_up", "resolve", "retry"]

MAX_ATTEMPTS = 10  # shard runs before a shard is given up (its keys stay in the ledger)

_GIVEN_UP = b"""SELECT s.campaign, s.shard FROM hero_fleet.shards s
WHERE NOT s.done AND s.attempts >= %s AND (%s::text IS NULL OR s.campaign = %s)
  AND NOT EXISTS (SELECT 1 FROM procrastinate_jobs j
    WHERE j.queueing_lock = 'shard:' || s.campaign || ':' || s.shard
      AND j.status IN ('todo', 'doing'))
ORDER BY s.campaign, s.shard"""
# Shards with a key another run could still send: no ledger row, or a row that is neither
# sent, unknown nor claimed, whose last result is missing, a retryable failure or a skip.
_RETRYABLE = b"""SELECT DISTINCT i.shard FROM hero_fleet.invitations i
LEFT JOIN hero_fleet.results r ON r.campaign = i.campaign AND r.key = i.key
LEFT JOIN hero_fleet.entries e ON e.ledger = i.campaign AND e.key = i.key
WHERE i.campaign = %(c)s
  AND coalesce(e.state, '') NOT IN ('sent', 'outcome_unknown', 'link_claimed', 'message_claimed')
  AND (r.state IS NULL OR r.state = 'skipped' OR (r.state = 'failed' AND r.retryable))
UNION SELECT shard FROM hero_fleet.shards
WHERE campaign = %(c)s AND NOT done AND attempts >= %(max)s
ORDER BY 1"""
_REOPEN = b"""UPDATE hero_fleet.shards SET done = false, attempts = 0
WHERE campaign = %s AND shard = ANY(%s)"""
_RESULT = b"""UPDATE hero_fleet.results SET state = %(state)s, step = %(step)s,
    patient_id = %(patient_id)s, link_id = %(link_id)s, short_link = %(short_link)s,
    message_id = %(message_id)s, error_type = %(error_type)s, error = %(error)s,
    retryable = %(retryable)s
WHERE campaign = %(campaign)s AND key = %(key)s"""


async def given_up(pool: AsyncConnectionPool[Any], campaign: str | None = None) -> list[Any]:
    """(campaign, shard) of every shard run MAX_ATTEMPTS times without finishing."""
    async with pool.connection() as conn:
        cur = await conn.execute(_GIVEN_UP, (MAX_ATTEMPTS, campaign, campaign))
        return [tuple(row) for row in await cur.fetchall()]


async def retry(pool: AsyncConnectionPool[Any], app: App, campaign: str) -> tuple[int, int]:
    """Re-open and re-defer the campaign's shards worth another run: (re-opened, of them
    newly queued -- the others had a job queued or running already)."""
    async with pool.connection() as conn, conn.transaction():
        await conn.execute(b"SELECT pg_advisory_xact_lock(hashtext(%s))", (f"campaign:{campaign}",))
        cur = await conn.execute(_RETRYABLE, {"c": campaign, "max": MAX_ATTEMPTS})
        shards = [int(row[0]) for row in await cur.fetchall()]
        await conn.execute(_REOPEN, (campaign, shards))
        queued = 0
        for shard in shards:
            queued += await defer_shard(app, campaign, shard, connection=conn)
    return len(shards), queued


async def resolve(
    pool: AsyncConnectionPool[Any], campaign: str, key: str, outcome: Resolution, who: str
) -> LedgerEntry:
    """Record a person's answer for an outcome_unknown key (LedgerError if it is not one)."""
    entry = await PostgresLedger(pool, campaign).resolve(key, outcome, who)
    sent = entry.state == State.SENT
    async with pool.connection() as conn:
        await conn.execute(
            _RESULT,
            {
                **entry._asdict(),
                "campaign": campaign,
                "state": "sent" if sent else "failed",
                "error_type": None if sent else "ResolvedNotSent",
                "error": entry.error,
                "retryable": not sent,  # campaign retry sends it again
            },
        )
    return entry
