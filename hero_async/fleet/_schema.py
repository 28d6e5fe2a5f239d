"""The fleet's tables, created and migrated by the SDK itself.

``migrate(conn)`` runs every missing step in one transaction under a transaction-level
advisory lock, so any number of workers starting at once apply each step exactly once and
the others wait, then see it done. Steps are append-only: a released step is never edited,
a change is a new step. procrastinate's own ``apply_schema_async()`` is not idempotent (it
``CREATE TYPE``s unconditionally), so its schema is applied here too, inside the same lock
and only when its jobs table is missing.
"""

from __future__ import annotations

from typing import Any

import psycopg
from procrastinate.schema import SchemaManager

__all__ = ["SCHEMA", "migrate"]

SCHEMA = "hero_fleet"
_LOCK = 0x4845524F  # "HERO": the advisory lock id every migrating process waits on

_STEPS: tuple[str, ...] = (
    # 1: ledger, runs, rate budget, tokens, campaigns
    """
    CREATE TABLE hero_fleet.ledgers (
        name text PRIMARY KEY, campaign_name text, campaign_fingerprint text);
    CREATE TABLE hero_fleet.runs (
        owner text PRIMARY KEY, ledger text NOT NULL, host text NOT NULL, pid int NOT NULL,
        started timestamptz NOT NULL, lease_until timestamptz NOT NULL,
        ended boolean NOT NULL DEFAULT false);
    CREATE TABLE hero_fleet.entries (
        ledger text NOT NULL, key text NOT NULL, practice_group_id text NOT NULL,
        state text NOT NULL, patient_id text, link_id text, short_link text, message_id text,
        step text, error_type text, error text, fingerprint text, epoch bigint NOT NULL,
        owner text, updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        PRIMARY KEY (ledger, key));
    CREATE INDEX entries_claims ON hero_fleet.entries (ledger, owner)
        WHERE state IN ('link_claimed', 'message_claimed');
    CREATE TABLE hero_fleet.rate_limits (
        key_id text PRIMARY KEY, interval_s double precision NOT NULL DEFAULT 0,
        tat timestamptz NOT NULL DEFAULT '-infinity',
        paused_until timestamptz NOT NULL DEFAULT '-infinity');
    CREATE TABLE hero_fleet.tokens (
        key_id text NOT NULL, practice_group_id text NOT NULL, token text,
        expires_at timestamptz, fetcher text, fetching_until timestamptz,
        PRIMARY KEY (key_id, practice_group_id));
    """,
    # 2: campaigns, their invitations (the input, which workers on other machines need),
    # shards and per-key results
    """
    CREATE TABLE hero_fleet.campaigns (
        name text PRIMARY KEY, digest text NOT NULL, total int NOT NULL,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp());
    CREATE TABLE hero_fleet.invitations (
        campaign text NOT NULL, key text NOT NULL, shard int NOT NULL,
        practice_group_id text NOT NULL, payload jsonb NOT NULL, PRIMARY KEY (campaign, key));
    CREATE INDEX invitations_shard ON hero_fleet.invitations (campaign, shard);
    CREATE TABLE hero_fleet.shards (
        campaign text NOT NULL, shard int NOT NULL, practice_group_id text NOT NULL,
        size int NOT NULL, done boolean NOT NULL DEFAULT false,
        attempts int NOT NULL DEFAULT 0, PRIMARY KEY (campaign, shard));
    CREATE TABLE hero_fleet.results (
        campaign text NOT NULL, key text NOT NULL, practice_group_id text NOT NULL,
        state text NOT NULL, step text, patient_id text, link_id text, short_link text,
        message_id text, error_type text, error text, retryable boolean NOT NULL,
        PRIMARY KEY (campaign, key));
    """,
)


async def migrate(conn: psycopg.AsyncConnection[Any]) -> int:
    """Bring the database up to date; returns the schema version now in place."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {SCHEMA}.migrations ("
            "version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        cur = await conn.execute(f"SELECT coalesce(max(version), 0) FROM {SCHEMA}.migrations")
        row = await cur.fetchone()
        done = int(row[0]) if row else 0
        for version, step in enumerate(_STEPS[done:], start=done + 1):
            await conn.execute(step.encode())
            await conn.execute(f"INSERT INTO {SCHEMA}.migrations VALUES (%s)", (version,))
        cur = await conn.execute("SELECT to_regclass('procrastinate_jobs')")
        row = await cur.fetchone()
        if row is None or row[0] is None:
            await conn.execute(SchemaManager.get_schema().encode())
    return len(_STEPS)
