"""What a campaign looks like now (status) and the final per-key report (same shape as
``invite``'s: a :class:`hero_async.bulk.BulkReport`).

A key's report row is its latest result, except that a "skipped" one (already sent, or
claimed by another run at the time) is reported from the ledger's row: sent with its ids, or
outcome_unknown for a claim whose run died. A key whose shard never finished is reported from its
ledger row (a claim without an answer is ``outcome_unknown``), or ``failed`` ``NotStarted``
(retryable) when no run reached it.
"""

from __future__ import annotations

from typing import Any

from psycopg_pool import AsyncConnectionPool

from ..bulk import BulkReport, InvitationResult, LedgerError

__all__ = ["report", "status", "total"]

_REPORT = b"""SELECT k.key, coalesce(r.practice_group_id, i.practice_group_id, e.practice_group_id),
       r.state, r.step, r.patient_id, r.link_id, r.short_link, r.message_id, r.error_type,
       r.error, r.retryable, e.state, e.step, e.patient_id, e.link_id, e.short_link,
       e.message_id, e.error_type, e.error
FROM (SELECT key FROM hero_fleet.invitations WHERE campaign = %(c)s
      UNION SELECT key FROM hero_fleet.results WHERE campaign = %(c)s) k
LEFT JOIN hero_fleet.invitations i ON i.campaign = %(c)s AND i.key = k.key
LEFT JOIN hero_fleet.results r ON r.campaign = %(c)s AND r.key = k.key
LEFT JOIN hero_fleet.entries e ON e.ledger = %(c)s AND e.key = k.key
ORDER BY k.key COLLATE "C\""""
_LEDGER_TO_REPORT = {
    "sent": "sent",
    "link_claimed": "outcome_unknown",
    "message_claimed": "outcome_unknown",
    "outcome_unknown": "outcome_unknown",
    "failed": "failed",
}


def _row(row: tuple[Any, ...]) -> InvitationResult:
    key, group, state, *result = row[:11]
    ledger_state, *ledger = row[11:]
    if state is not None and not (state == "skipped" and ledger_state is not None):
        return InvitationResult(key, group, state, *result)
    if ledger_state is None:
        return InvitationResult(
            key,
            group,
            "failed",
            error_type="NotStarted",
            error="no worker has reached this key yet",
            retryable=True,
        )
    mapped = _LEDGER_TO_REPORT.get(ledger_state)
    step, patient, link, short, message, error_type, error = ledger
    if mapped == "sent":
        return InvitationResult(key, group, "sent", None, patient, link, short, message)
    if mapped is None:  # linked / registered: stopped between steps, nothing in flight
        return InvitationResult(
            key,
            group,
            "failed",
            step,
            patient,
            link,
            short,
            None,
            "NotFinished",
            "the shard stopped before this key's last step",
            True,
        )
    return InvitationResult(
        key,
        group,
        mapped,
        step,
        patient,
        link,
        short,
        message,
        error_type,
        error,
        mapped == "failed",
    )


async def total(pool: AsyncConnectionPool[Any], name: str) -> int:
    async with pool.connection() as conn:
        cur = await conn.execute(b"SELECT total FROM hero_fleet.campaigns WHERE name = %s", (name,))
        row = await cur.fetchone()
    if row is None:
        raise LedgerError(f"no campaign named {name!r} in this database")
    return int(row[0])


async def report(pool: AsyncConnectionPool[Any], name: str) -> BulkReport:
    """Every key of the campaign once (the caller closes the report)."""
    await total(pool, name)
    out = BulkReport()
    async with pool.connection() as conn:
        async for row in await conn.execute(_REPORT, {"c": name}):
            out.add(_row(row))
    return out


async def status(pool: AsyncConnectionPool[Any], name: str) -> dict[str, Any]:
    """Shards by state, ledger rows by state, results by state (no keys, no patient data)."""
    invitations = await total(pool, name)
    async with pool.connection() as conn:
        shards = await (
            await conn.execute(
                b"SELECT count(*), count(*) FILTER (WHERE done), coalesce(sum(attempts), 0)"
                b" FROM hero_fleet.shards WHERE campaign = %s",
                (name,),
            )
        ).fetchone()
        jobs = dict(
            await (
                await conn.execute(
                    b"SELECT status::text, count(*) FROM procrastinate_jobs"
                    b" WHERE task_name = 'hero_fleet.shard' AND args->>'campaign' = %s GROUP BY 1",
                    (name,),
                )
            ).fetchall()
        )
        ledger = dict(
            await (
                await conn.execute(
                    b"SELECT state, count(*) FROM hero_fleet.entries WHERE ledger = %s GROUP BY 1",
                    (name,),
                )
            ).fetchall()
        )
        results = dict(
            await (
                await conn.execute(
                    b"SELECT state, count(*) FROM hero_fleet.results"
                    b" WHERE campaign = %s GROUP BY 1",
                    (name,),
                )
            ).fetchall()
        )
    assert shards is not None
    return {
        "campaign": name,
        "invitations": invitations,
        "shards": {"total": shards[0], "done": shards[1], "runs": int(shards[2])},
        "jobs": jobs,
        "ledger": ledger,
        "results": results,
        "finished": shards[0] == shards[1],
    }
