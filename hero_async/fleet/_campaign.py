"""A campaign in the database: submit (validate, load, shard, enqueue in one transaction),
status and report.

Submitting writes the valid invitations, their shards (one practice group, at most
``shard_size`` keys each), the ledger's campaign identity and one procrastinate job per shard
in a single transaction: either all of it is there or none. Bad rows are failed at once, in
the results. The same name with the same input is a no-op; with another input, refused.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from typing import Any

import attrs
import psycopg
from procrastinate import App
from psycopg_pool import AsyncConnectionPool

from .. import _json
from .._errors import ValidationError
from ..bulk import Campaign as LedgerCampaign
from ..bulk import ForeignLedgerError, Invitation, InvitationResult, plan
from ._jobs import defer_shard

__all__ = ["SHARD_SIZE", "Submitted", "submit"]

SHARD_SIZE = 100


@attrs.frozen
class Submitted:
    name: str
    total: int
    invalid: int
    shards: int
    new: bool  # False: this exact campaign was already submitted; nothing was added


def _payload(invitation: Invitation) -> dict[str, Any]:
    return {
        k: v.isoformat() if isinstance(v, dt.date) else v
        for k, v in attrs.asdict(invitation).items()
    }


def _prepare(invitations: Iterable[Invitation]) -> tuple[dict[str, Any], dict[str, tuple]]:  # type: ignore[type-arg]
    """Valid rows by key (first row of a repeated key) and failures by key."""
    valid: dict[str, Any] = {}
    failed: dict[str, tuple] = {}  # type: ignore[type-arg]
    for invitation in invitations:
        try:
            item = plan(invitation)
        except ValidationError as exc:
            failed.setdefault(
                str(invitation.key),
                (str(invitation.practice_group_id), "validate", "ValidationError", str(exc)),
            )
            continue
        seen = valid.get(item.key)
        if seen is None and item.key not in failed:
            valid[item.key] = (item, invitation)
        elif seen is not None and seen[0].fingerprint != item.fingerprint:
            # One key, two different invitations: which patient was meant is unknowable.
            del valid[item.key]
            failed[item.key] = (
                item.practice_group_id,
                "validate",
                "KeyReused",
                "the key is used for two different invitations in the input",
            )
    return valid, failed


def _digest(valid: dict[str, Any], failed: dict[str, tuple]) -> str:  # type: ignore[type-arg]
    digest = hashlib.sha256()
    for key in sorted(valid):
        digest.update(f"{key}\0{valid[key][0].fingerprint}\0".encode("utf-8", "surrogatepass"))
    for key in sorted(failed):
        digest.update(f"{key}\0failed\0".encode("utf-8", "surrogatepass"))
    return digest.hexdigest()[:32]


def _shards(valid: dict[str, Any], size: int) -> list[tuple[str, list[str]]]:
    by_group: dict[str, list[str]] = {}
    for key, (item, _) in valid.items():
        by_group.setdefault(item.practice_group_id, []).append(key)
    return [
        (group, keys[i : i + size])
        for group, keys in by_group.items()
        for i in range(0, len(keys), size)
    ]


async def submit(
    pool: AsyncConnectionPool[Any],
    app: App,
    name: str,
    invitations: Iterable[Invitation],
    *,
    shard_size: int = SHARD_SIZE,
    rejected: Iterable[InvitationResult] = (),
) -> Submitted:
    valid, failed = _prepare(invitations)
    for bad in rejected:  # found by the caller's own check (read once invitations is used)
        if bad.key not in valid:
            failed.setdefault(
                bad.key,
                (bad.practice_group_id, "validate", bad.error_type or "ValidationError", bad.error),
            )
    digest = _digest(valid, failed)
    shards = _shards(valid, shard_size)
    total = len(valid) + len(failed)
    async with pool.connection() as conn, conn.transaction():
        await conn.execute(b"SELECT pg_advisory_xact_lock(hashtext(%s))", (f"campaign:{name}",))
        row = await (
            await conn.execute(b"SELECT digest FROM hero_fleet.campaigns WHERE name = %s", (name,))
        ).fetchone()
        if row is not None:
            if row[0] != digest:
                raise ForeignLedgerError(
                    f"campaign {name!r} was submitted with another input; choose a new name"
                )
            return Submitted(name, total, len(failed), len(shards), new=False)
        await _write(conn, name, digest, total, valid, failed, shards)
        for number in range(len(shards)):
            await defer_shard(app, name, number, connection=conn)
    return Submitted(name, total, len(failed), len(shards), new=True)


async def _write(
    conn: psycopg.AsyncConnection[Any],
    name: str,
    digest: str,
    total: int,
    valid: dict[str, Any],
    failed: dict[str, tuple],  # type: ignore[type-arg]
    shards: list[tuple[str, list[str]]],
) -> None:
    identity = LedgerCampaign.of(name, valid)
    await conn.execute(
        b"INSERT INTO hero_fleet.campaigns (name, digest, total) VALUES (%s, %s, %s)",
        (name, digest, total),
    )
    await conn.execute(
        b"INSERT INTO hero_fleet.ledgers VALUES (%s, %s, %s) ON CONFLICT (name) DO UPDATE"
        b" SET campaign_name = excluded.campaign_name,"
        b" campaign_fingerprint = excluded.campaign_fingerprint",
        (name, identity.name, identity.fingerprint),
    )
    async with conn.cursor() as cur:
        async with cur.copy(
            b"COPY hero_fleet.invitations (campaign, key, shard, practice_group_id, payload)"
            b" FROM STDIN"
        ) as copy:
            for number, (group, keys) in enumerate(shards):
                for key in keys:
                    payload = _json.dumps(_payload(valid[key][1])).decode()
                    await copy.write_row((name, key, number, group, payload))
        await cur.executemany(
            b"INSERT INTO hero_fleet.shards (campaign, shard, practice_group_id, size)"
            b" VALUES (%s, %s, %s, %s)",
            [(name, n, group, len(keys)) for n, (group, keys) in enumerate(shards)],
        )
        await cur.executemany(
            b"INSERT INTO hero_fleet.results (campaign, key, practice_group_id, step,"
            b" error_type, error, state, retryable) VALUES (%s, %s, %s, %s, %s, %s,"
            b" 'failed', false)",
            [(name, key, *fields) for key, fields in failed.items()],
        )
