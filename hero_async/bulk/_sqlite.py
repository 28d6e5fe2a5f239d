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
import contextlib
import socket
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

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
from ._sqlite_schema import (
    BEGIN_RUN,
    CLAIM,
    FIELDS,
    INSERT,
    INTERRUPT,
    LOCAL_RUNS,
    SELECT,
    SETTLE,
    LedgerMark,
    migrate,
    orphaned,
    process_alive,
    process_mark,
    read_mark,
    unavailable,
)

__all__ = ["SqliteLedger"]

_Op = tuple[str, tuple[object, ...], "asyncio.Future[int] | None"]


class SqliteLedger:
    """SQLite file claim store (see the module doc and :class:`~hero_async.bulk.Ledger`)."""

    def __init__(
        self,
        path: str | Path,
        *,
        clock: Callable[[], float] = time.time,
        busy_timeout: float = 10.0,
        host: str | None = None,
    ) -> None:
        self.path = Path(path)
        self._clock = clock
        self._host = host or socket.gethostname()  # runs of other hosts: by their lease only
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
            migrate(self._db)
            self._reader = self._db.cursor()  # reused: a read per invitation, no new cursor
        except sqlite3.Error as exc:
            raise unavailable(self.path, exc) from None

    @staticmethod
    def read_mark(path: str | Path) -> LedgerMark | None:
        """The ledger file's id, rows and work (rows + claims made, which only grows), read
        without creating or changing anything; None if there is no file at ``path``."""
        return read_mark(Path(path))

    # -- the protocol ------------------------------------------------------------------------

    async def begin(self, run: RunInfo, campaign: Campaign | None) -> None:
        self._raise_failure()
        recorded = await self.campaign()
        if campaign is not None and recorded is not None and recorded != campaign:
            raise foreign(recorded, campaign)
        self._owner = run.owner
        proc = process_mark(run.pid) if run.host == self._host else None
        lease = self._clock() + LEASE_SECONDS
        await self._write(BEGIN_RUN, (run.owner, run.host, run.pid, run.started, lease, proc))
        if campaign is not None and recorded is None:
            meta = "INSERT OR IGNORE INTO meta VALUES (?, ?)"
            await self._write(meta, ("campaign", f"{campaign.fingerprint} {campaign.name}"))
            if await self.campaign() != campaign:  # another process recorded another one
                recorded = await self.campaign()
                assert recorded is not None
                raise foreign(recorded, campaign)
        await self.sweep()

    async def get(self, key: str) -> LedgerEntry | None:
        rows = self._read(SELECT + " WHERE key = ?", (key,))
        entry = LedgerEntry(*rows[0]) if rows else None
        pending = self._pending.get(key)
        if pending is not None and entry is not None and pending.epoch == entry.epoch:
            return pending  # our own answer, committed on the next loop turn
        return entry

    async def claim(
        self, entry: LedgerEntry, *, expect_epoch: int, from_unknown: bool = False
    ) -> int | None:
        if self._owner is None:  # no run begun, or ended: nothing is claimed in no one's name
            return None
        epoch, now = expect_epoch + 1, time.time()
        if expect_epoch == 0:
            sql, fields = INSERT.args(entry)
            won = await self._write(sql, (*fields, epoch, self._owner, now))
        else:
            sql, fields = CLAIM.args(entry)
            # Flags bound as ints: sqlite3 binds a bool as slowly as a None (see Shaped).
            advance = 1 if entry.state == State.MESSAGE_CLAIMED else 0
            unknown = 1 if from_unknown else 0
            owner, key = self._owner, entry.key
            args = (*fields, epoch, owner, now, key, expect_epoch, owner, advance, unknown, advance)
            won = await self._write(sql, args)
        return epoch if won else None

    async def settle(self, entry: LedgerEntry, *, epoch: int) -> None:
        self._raise_failure()
        self._pending[entry.key] = entry.fenced(epoch, self._owner)
        not_link = 0 if entry.state == State.LINKED else 1  # linked: only a link claim's answer
        sql, fields = SETTLE.args(entry)
        args = (*fields, time.time(), entry.key, epoch, self._owner, not_link)
        self._queue(sql, args, None)  # durable before the next claim; not waited for

    async def renew(self) -> None:
        if self._owner is not None:
            lease = (self._clock() + LEASE_SECONDS, self._owner)
            await self._write("UPDATE runs SET lease_until = ? WHERE owner = ?", lease)

    async def sweep(self) -> int:
        dead, live = self._local_runs()
        if dead:
            marks = ", ".join("?" * len(dead))
            await self._write(f"UPDATE runs SET ended = 1 WHERE owner IN ({marks})", dead)  # noqa: S608
        return await self._write(orphaned(len(live)), (self._clock(), *live))

    def _local_runs(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """This machine's unended runs that are (dead, live), judged by their process, not
        their lease. Dead: the pid is gone, a zombie, or another process now (its start
        time or boot differs from the one recorded at begin): swept at once, so a SIGKILLed
        CLI run is resumed at once. Live: the very process that began the run: never swept,
        however long it is stopped (Ctrl-Z, suspend) or the wall clock jumps. Neither (no
        /proc, a run recorded without a mark): its lease decides."""
        dead: list[str] = []
        live: list[str] = []
        for owner, pid, proc in self._read(LOCAL_RUNS, (self._host,)):
            alive = process_alive(pid, proc)
            if alive is not None:
                (live if alive else dead).append(owner)
        return tuple(dead), tuple(live)

    async def entries(self) -> list[LedgerEntry]:
        await self._flush()
        return self.read_entries()

    def read_entries(self) -> list[LedgerEntry]:
        """Every committed row, ordered by key, without a running event loop."""
        return [LedgerEntry(*row) for row in self._read(SELECT + " ORDER BY key")]

    async def counts(self) -> dict[str, int]:
        await self._flush()
        counts = dict.fromkeys(State.ALL, 0)
        for state, n in self._read("SELECT state, count(*) FROM invitations GROUP BY 1"):
            counts[state] = n
        return counts

    async def campaign(self) -> Campaign | None:
        rows = self._read("SELECT value FROM meta WHERE name = 'campaign'")
        if not rows:
            return None
        fingerprint, _, name = rows[0][0].partition(" ")
        return Campaign(name, fingerprint)

    async def resolve(self, key: str, outcome: Resolution, who: str) -> LedgerEntry:
        current = await self.get(key)
        entry = resolved(current, key, outcome, who)
        assert current is not None
        args = (*entry[1:11], time.time(), key, current.epoch)
        won = await self._write(
            f"UPDATE invitations SET {FIELDS}, epoch = epoch + 1, updated_at = ? "  # noqa: S608
            "WHERE key = ? AND epoch = ? AND state = 'outcome_unknown'",
            args,
        )
        if not won:
            return await self.resolve(key, outcome, who)  # changed meanwhile: decide again
        return entry

    async def end(self) -> None:
        owner, self._owner = self._owner, None
        if owner is not None:
            await self._write(INTERRUPT + "owner = ?", (owner,))
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
        # Not shielded: each writer has its own future, and the commit is a loop callback, not
        # a task; a cancelled writer cancels only its future, which the commit then skips.
        return await done

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
        cursor = self._db.cursor()  # one for the batch: Connection.execute makes one per call
        try:
            cursor.execute("BEGIN IMMEDIATE")
            for sql, args, _ in ops:
                counts.append(cursor.execute(sql, args).rowcount)
            cursor.execute("COMMIT")
        # Disk full, read-only, locked, or a value SQLite cannot store (a lone surrogate in
        # an answer's text): nobody is told "done", and no writer is left waiting forever.
        except Exception as exc:
            if self._db.in_transaction:  # a failed rollback must not skip telling the writers
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
            self._failure = unavailable(self.path, exc)
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

    def _read(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        """Committed rows. A failed read is final like a failed commit: the store grants
        nothing after it (a renewer that cannot read must not leave the job claiming)."""
        self._raise_failure()
        try:
            return self._reader.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            self._failure = unavailable(self.path, exc)
            raise self._failure from None
