"""SqliteLedger: the claim store in one SQLite file, safe for several processes at once.

Claims are conditional writes inside ``BEGIN IMMEDIATE`` (one writer at a time across
processes), so exactly one process wins a key. ``journal_mode=TRUNCATE`` with
``synchronous=FULL``: a committed claim lives in the ``.db`` file itself, so it survives
SIGKILL, power loss, and the ``.db`` being copied without its side files (in WAL mode all of
them were lost). Each commit costs an fsync, so writes made in one event-loop turn share one
transaction (group commit); a claim still returns only once committed.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from ._claims import (
    LEASE_SECONDS,
    Campaign,
    LedgerEntry,
    LedgerUnavailableError,
    Resolution,
    RunInfo,
    State,
)
from ._runledger import foreign, resolved

__all__ = ["SqliteLedger"]

_COLUMNS = LedgerEntry._fields
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS invitations (key TEXT PRIMARY KEY, practice_group_id TEXT "
    "NOT NULL, state TEXT NOT NULL, patient_id TEXT, link_id TEXT, short_link TEXT, message_id "
    "TEXT, step TEXT, error_type TEXT, error TEXT, fingerprint TEXT, updated_at REAL)",
    "CREATE TABLE IF NOT EXISTS runs (owner TEXT PRIMARY KEY, host TEXT, pid INTEGER, "
    "started REAL, lease_until REAL, ended INTEGER NOT NULL DEFAULT 0)",
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT)",
)
_ADDED = {"epoch": "INTEGER NOT NULL DEFAULT 0", "owner": "TEXT"}  # absent in older ledgers
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM invitations"  # noqa: S608 - fixed names
_FIELDS = ", ".join(f"{name} = ?" for name in _COLUMNS[1:11])
_CLAIMS = "('link_claimed', 'message_claimed')"
_INSERT = (
    f"INSERT INTO invitations ({', '.join(_COLUMNS)}, updated_at) "  # noqa: S608
    f"VALUES ({', '.join('?' * (len(_COLUMNS) + 1))}) ON CONFLICT(key) DO NOTHING"
)
_CLAIM = (
    f"UPDATE invitations SET {_FIELDS}, epoch = ?, owner = ?, updated_at = ? "  # noqa: S608
    "WHERE key = ? AND epoch = ? AND state <> 'sent' "
    f"AND (state NOT IN {_CLAIMS} OR (owner = ? AND state = 'link_claimed' AND ?)) "
    "AND (state <> 'outcome_unknown' OR ?) AND (link_id IS NULL OR ?)"
)
_SETTLE = (
    f"UPDATE invitations SET {_FIELDS}, updated_at = ? WHERE key = ? AND epoch = ? "  # noqa: S608
    f"AND ((state IN {_CLAIMS} AND owner = ?) OR state = 'outcome_unknown') "
    "AND (step = 'link' OR ?)"
)
_INTERRUPT = (
    "UPDATE invitations SET state = 'outcome_unknown', error_type = 'Interrupted', "  # noqa: S608
    "error = 'run stopped after the request may have been sent', step = coalesce(step, "
    "CASE state WHEN 'link_claimed' THEN 'link' ELSE 'message' END) "
    f"WHERE state IN {_CLAIMS} AND "
)
_ORPHANED = _INTERRUPT + (  # noqa: S608 - fixed names
    "(owner IS NULL OR owner NOT IN (SELECT owner FROM runs WHERE ended = 0 AND lease_until >= ?))"
)
_Op = tuple[str, tuple[object, ...], "asyncio.Future[int] | None"]


class SqliteLedger:
    """SQLite file claim store (see the module doc and :class:`~hero_async.bulk.Ledger`)."""

    def __init__(
        self,
        path: str | Path,
        *,
        clock: Callable[[], float] = time.time,
        busy_timeout: float = 10.0,
    ) -> None:
        self.path = Path(path)
        self._clock = clock
        self._owner: str | None = None
        self._ops: list[_Op] = []
        self._scheduled = False
        self._failure: LedgerUnavailableError | None = None
        self._pending: dict[str, LedgerEntry] = {}  # settles not yet committed
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            self._db.execute("PRAGMA journal_mode=TRUNCATE")
            self._db.execute("PRAGMA synchronous=FULL")
            self._migrate()
        except sqlite3.Error as exc:
            raise _unavailable(self.path, exc) from None

    def _migrate(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            for statement in _SCHEMA:
                self._db.execute(statement)
            have = {row[1] for row in self._db.execute("PRAGMA table_info(invitations)")}
            for name, kind in _ADDED.items():
                if name not in have:
                    self._db.execute(f"ALTER TABLE invitations ADD COLUMN {name} {kind}")
            self._db.execute("COMMIT")
        finally:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")

    # -- the protocol ------------------------------------------------------------------------

    async def begin(self, run: RunInfo, campaign: Campaign | None) -> None:
        self._raise_failure()
        recorded = await self.campaign()
        if campaign is not None and recorded is not None and recorded != campaign:
            raise foreign(recorded, campaign)
        self._owner = run.owner
        row = (run.owner, run.host, run.pid, run.started, self._clock() + LEASE_SECONDS)
        await self._write("INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, 0)", row)
        if campaign is not None and recorded is None:
            meta = "INSERT OR IGNORE INTO meta VALUES (?, ?)"
            await self._write(meta, ("campaign", f"{campaign.fingerprint} {campaign.name}"))
            if await self.campaign() != campaign:  # another process recorded another one
                recorded = await self.campaign()
                assert recorded is not None
                raise foreign(recorded, campaign)
        await self.sweep()

    async def get(self, key: str) -> LedgerEntry | None:
        row = self._db.execute(_SELECT + " WHERE key = ?", (key,)).fetchone()
        entry = None if row is None else LedgerEntry(*row)
        pending = self._pending.get(key)
        if pending is not None and entry is not None and pending.epoch == entry.epoch:
            return pending  # our own answer, committed on the next loop turn
        return entry

    async def claim(
        self, entry: LedgerEntry, *, expect_epoch: int, from_unknown: bool = False
    ) -> int | None:
        epoch, now = expect_epoch + 1, time.time()
        if expect_epoch == 0:
            row = (*entry[:11], epoch, self._owner, now)
            won = await self._write(_INSERT, row)
        else:
            args = (*entry[1:11], epoch, self._owner, now, entry.key, expect_epoch)
            advance = entry.state == State.MESSAGE_CLAIMED
            won = await self._write(_CLAIM, (*args, self._owner, advance, from_unknown, advance))
        return epoch if won else None

    async def settle(self, entry: LedgerEntry, *, epoch: int) -> None:
        self._raise_failure()
        self._pending[entry.key] = entry._replace(epoch=epoch, owner=self._owner)
        only_link = entry.state == State.LINKED  # linked: only a link claim's answer
        args = (*entry[1:11], time.time(), entry.key, epoch, self._owner, not only_link)
        self._queue(_SETTLE, args, None)  # durable before the next claim; not waited for

    async def renew(self) -> None:
        if self._owner is not None:
            lease = (self._clock() + LEASE_SECONDS, self._owner)
            await self._write("UPDATE runs SET lease_until = ? WHERE owner = ?", lease)

    async def sweep(self) -> int:
        dead = self._dead_local_runs()
        if dead:
            marks = ", ".join("?" * len(dead))
            await self._write(f"UPDATE runs SET ended = 1 WHERE owner IN ({marks})", dead)  # noqa: S608
        return await self._write(_ORPHANED, (self._clock(),))

    def _dead_local_runs(self) -> tuple[str, ...]:
        """Runs of this machine whose process is gone: their claims need not wait for the
        lease (a SIGKILLed CLI run can be resumed at once)."""
        rows = self._db.execute(
            "SELECT owner, pid FROM runs WHERE ended = 0 AND host = ?", (socket.gethostname(),)
        ).fetchall()
        return tuple(owner for owner, pid in rows if not _alive(pid))

    async def entries(self) -> list[LedgerEntry]:
        await self._flush()
        return self.read_entries()

    def read_entries(self) -> list[LedgerEntry]:
        """Every committed row, ordered by key, without a running event loop."""
        return [LedgerEntry(*row) for row in self._db.execute(_SELECT + " ORDER BY key")]

    async def counts(self) -> dict[str, int]:
        await self._flush()
        counts = dict.fromkeys(State.ALL, 0)
        for state, n in self._db.execute("SELECT state, count(*) FROM invitations GROUP BY 1"):
            counts[state] = n
        return counts

    async def campaign(self) -> Campaign | None:
        row = self._db.execute("SELECT value FROM meta WHERE name = 'campaign'").fetchone()
        if row is None:
            return None
        fingerprint, _, name = row[0].partition(" ")
        return Campaign(name, fingerprint)

    async def resolve(self, key: str, outcome: Resolution, who: str) -> LedgerEntry:
        current = await self.get(key)
        entry = resolved(current, key, outcome, who)
        assert current is not None
        args = (*entry[1:11], time.time(), key, current.epoch)
        won = await self._write(
            f"UPDATE invitations SET {_FIELDS}, epoch = epoch + 1, updated_at = ? "  # noqa: S608
            "WHERE key = ? AND epoch = ? AND state = 'outcome_unknown'",
            args,
        )
        if not won:
            return await self.resolve(key, outcome, who)  # changed meanwhile: decide again
        return entry

    async def end(self) -> None:
        owner, self._owner = self._owner, None
        if owner is not None:
            await self._write(_INTERRUPT + "owner = ?", (owner,))
            await self._write("UPDATE runs SET ended = 1 WHERE owner = ?", (owner,))
        await self._flush()

    async def close(self) -> None:
        try:
            await self.end()
        finally:
            self._db.close()

    def __repr__(self) -> str:
        return f"SqliteLedger({str(self.path)!r})"

    # -- group commit ------------------------------------------------------------------------

    async def _write(self, sql: str, args: tuple[object, ...]) -> int:
        """Queue one statement; return its row count once its transaction is committed."""
        self._raise_failure()
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._queue(sql, args, done)
        # Shielded: one cancelled writer must not cancel the commit its batch-mates wait for.
        return await asyncio.shield(done)

    async def _flush(self) -> None:
        if self._ops:
            await self._write("SELECT 1", ())
        self._raise_failure()

    def _queue(self, sql: str, args: tuple[object, ...], done: asyncio.Future[int] | None) -> None:
        self._ops.append((sql, args, done))
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._commit)

    def _commit(self) -> None:
        ops, self._ops, self._scheduled = self._ops, [], False
        pending, self._pending = self._pending, {}
        if not ops:
            return
        counts: list[int] = []
        try:
            self._db.execute("BEGIN IMMEDIATE")
            for sql, args, _ in ops:
                counts.append(self._db.execute(sql, args).rowcount)
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:  # disk full, read-only, locked: nobody is told "done"
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            self._failure = _unavailable(self.path, exc)
            for _, _, done in ops:
                if done is not None and not done.done():
                    done.set_exception(self._failure)
            return
        del pending
        for (_, _, done), count in zip(ops, counts, strict=True):
            if done is not None and not done.done():
                done.set_result(count)

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. another user's process: alive
        return True
    return True


def _unavailable(path: Path, exc: sqlite3.Error) -> LedgerUnavailableError:
    return LedgerUnavailableError(
        f"the ledger {path} cannot record progress ({exc}); the job stops before sending "
        "anything further: free disk space, fix the file's permissions or stop the other "
        "program holding it, then run the same command again"
    )
