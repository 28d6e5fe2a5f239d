"""PostgresLedger: the claim-store protocol (``hero_async.bulk.Ledger``) on PostgreSQL.

A claim is one conditional statement: ``INSERT … ON CONFLICT DO NOTHING`` for a new key, else
``UPDATE … WHERE epoch = $expected AND state …  RETURNING epoch`` (the statements, and the
claim rules they share with SqliteLedger and RunLedger, are in ``_ledger_sql``). Row locking
makes exactly one of any number of concurrent claimers win, on any number of machines.
``settle`` is fenced by the claim's epoch and owner, so a zombie worker's late answer can only
upgrade its own swept claim. Leases are measured by the database clock
(``clock_timestamp()``), never by a worker's: a worker whose lease ran out has its claims
turned ``outcome_unknown``, never back into something that could POST again. Every call is
awaited until committed (autocommit).

Many ledgers share the tables; ``name`` (a campaign's name, for the fleet) tells them apart.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any, Self

import psycopg
from psycopg_pool import AsyncConnectionPool

from ..bulk import (
    LEASE_SECONDS,
    Campaign,
    ForeignLedgerError,
    LedgerEntry,
    LedgerError,
    Resolution,
    RunInfo,
    State,
)
from . import _ledger_sql as sql
from ._db import open_pool, unavailable

__all__ = ["PostgresLedger"]

Clock = Callable[[], float]


class PostgresLedger:
    """A claim store in PostgreSQL. ``clock`` (epoch seconds) replaces the database clock
    for tests only; production leases always use the server's clock. ``before_claim`` is
    awaited before every claim: the fleet passes the rate limiter's ``prepay`` so that a
    claim is taken only once its request may go out."""

    def __init__(
        self,
        pool: AsyncConnectionPool[Any],
        name: str,
        *,
        lease_seconds: float = LEASE_SECONDS,
        clock: Clock | None = None,
        owns_pool: bool = False,
        before_claim: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._pool = pool
        self._name = name
        self._lease = dt.timedelta(seconds=lease_seconds)
        self._clock = clock
        self._owns_pool = owns_pool
        self._run: RunInfo | None = None
        self._before_claim = before_claim  # e.g. PostgresRateLimiter.prepay

    @classmethod
    async def open(
        cls,
        url: str,
        name: str,
        *,
        lease_seconds: float = LEASE_SECONDS,
        clock: Clock | None = None,
    ) -> Self:
        """A ledger with its own small pool (closed by ``close``); migrates the schema."""
        pool = await open_pool(url, max_size=4)
        return cls(pool, name, lease_seconds=lease_seconds, clock=clock, owns_pool=True)

    def _args(self, **extra: object) -> dict[str, object]:
        now = None if self._clock is None else dt.datetime.fromtimestamp(self._clock(), dt.UTC)
        me = self._run.owner if self._run is not None else None
        return {"ledger": self._name, "now": now, "me": me, **extra}

    async def _one(self, query: str, args: dict[str, object]) -> tuple[Any, ...] | None:
        with unavailable():
            async with self._pool.connection() as conn:
                cur = await conn.execute(query.encode(), args)
                return await cur.fetchone() if cur.description else None

    async def begin(self, run: RunInfo, campaign: Campaign | None) -> None:
        with unavailable():
            async with self._pool.connection() as conn, conn.transaction():
                await _check_campaign(conn, self._name, campaign)
                started = dt.datetime.fromtimestamp(run.started, dt.UTC)
                await conn.execute(
                    sql.BEGIN_RUN.encode(),
                    {
                        **self._args(),
                        "owner": run.owner,
                        "host": run.host,
                        "pid": run.pid,
                        "started": started,
                        "lease": self._lease,
                    },
                )
        self._run = run
        await self.sweep()

    async def get(self, key: str) -> LedgerEntry | None:
        row = await self._one(sql.GET, self._args(key=key))
        return None if row is None else LedgerEntry(*row)

    async def claim(
        self, entry: LedgerEntry, *, expect_epoch: int, from_unknown: bool = False
    ) -> int | None:
        if self._run is None:  # no live run: nothing may be claimed in its name
            return None
        if self._before_claim is not None:
            await self._before_claim()
        advance = entry.state == State.MESSAGE_CLAIMED  # the owner's link -> message step
        args = self._args(
            **_values(entry), expect=expect_epoch, from_unknown=from_unknown, advance=advance
        )
        row = await self._one(sql.INSERT if expect_epoch == 0 else sql.CLAIM, args)
        return None if row is None else int(row[0])

    async def settle(self, entry: LedgerEntry, *, epoch: int) -> None:
        if self._run is not None:
            any_step = entry.state != State.LINKED  # linked only answers a link claim
            await self._one(
                sql.SETTLE, self._args(**_values(entry), epoch=epoch, any_step=any_step)
            )

    async def renew(self) -> None:
        if self._run is not None:
            await self._one(sql.RENEW, self._args(lease=self._lease))

    async def sweep(self) -> int:
        with unavailable():
            async with self._pool.connection() as conn:
                cur = await conn.execute(sql.SWEEP.encode(), self._args())
                return int(cur.rowcount)

    async def entries(self) -> list[LedgerEntry]:
        return await self._rows(sql.ENTRIES)

    async def unknown(self) -> list[LedgerEntry]:
        """The keys a person must settle with ``resolve`` (Hero may have acted), by key."""
        return await self._rows(sql.UNKNOWN)

    async def _rows(self, query: str) -> list[LedgerEntry]:
        with unavailable():
            async with self._pool.connection() as conn:
                cur = await conn.execute(query.encode(), self._args())
                return [LedgerEntry(*row) async for row in cur]

    async def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(State.ALL, 0)
        with unavailable():
            async with self._pool.connection() as conn:
                async for state, n in await conn.execute(sql.COUNTS.encode(), self._args()):
                    counts[state] = int(n)
        return counts

    async def campaign(self) -> Campaign | None:
        row = await self._one(sql.CAMPAIGN, self._args())
        return None if row is None else Campaign(row[0], row[1])

    async def resolve(self, key: str, outcome: Resolution, who: str) -> LedgerEntry:
        sent = outcome == "sent"
        note = f"resolved {'sent' if sent else 'not sent'} by {who}"
        args = self._args(
            key=key, note=note, clear=not sent, state=State.SENT if sent else State.FAILED
        )
        row = await self._one(sql.RESOLVE, args)
        if row is None:
            raise LedgerError("resolve: no outcome_unknown entry for that key")
        return LedgerEntry(*row)

    async def end(self) -> None:
        if self._run is None:
            return
        await self._one(sql.END_RUN, self._args())
        await self.sweep()  # the ended run's claims, and any other dead owner's
        self._run = None

    async def close(self) -> None:
        try:
            await self.end()
        finally:
            if self._owns_pool:
                await self._pool.close()

    def __repr__(self) -> str:
        return f"PostgresLedger(name={self._name!r})"


def _values(entry: LedgerEntry) -> dict[str, object]:
    """The row's fields a caller may write: epoch and owner are the store's to set."""
    values = entry._asdict()
    del values["epoch"], values["owner"]
    return values


async def _check_campaign(
    conn: psycopg.AsyncConnection[Any], name: str, campaign: Campaign | None
) -> None:
    await conn.execute(
        b"INSERT INTO hero_fleet.ledgers (name) VALUES (%s) ON CONFLICT DO NOTHING", (name,)
    )
    cur = await conn.execute(
        b"SELECT campaign_name, campaign_fingerprint FROM hero_fleet.ledgers"
        b" WHERE name = %s FOR UPDATE",
        (name,),
    )
    row = await cur.fetchone()
    recorded = None if row is None or row[0] is None else Campaign(row[0], row[1])
    if campaign is None:
        return
    if recorded is None:
        await conn.execute(
            b"UPDATE hero_fleet.ledgers SET campaign_name = %s, campaign_fingerprint = %s"
            b" WHERE name = %s",
            (campaign.name, campaign.fingerprint, name),
        )
    elif recorded != campaign:
        raise ForeignLedgerError(
            f"this ledger belongs to campaign {recorded.name!r}, not {campaign.name!r}"
            " (or the input's keys differ); nothing was sent"
        )
