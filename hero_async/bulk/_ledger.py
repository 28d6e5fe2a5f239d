"""The ledger: a durable record of each invitation's progress, so nothing is lost or sent twice.

Per key it holds the state and the ids Hero gave back. The pipeline writes a *claim* (and the
write is committed) before each request that could text a patient or create a link, and the
result after it. After a crash, a claim without a result means "Hero may have acted": the key
is reported outcome-unknown and never resent unless the caller says ``retry_unknown=True``.

What it stores, and nothing more: the invitation key, practice group id, state, Hero's
patient / link / message ids, the short link, the last error's type and text, and a short
fingerprint of what the key was used for (too short to identify a patient). No NHS
numbers, dates of birth, phone numbers, e-mail addresses or message bodies.

:class:`Ledger` is a protocol; :class:`SqliteLedger` is the embedded default. A shared store
(e.g. PostgreSQL for several worker machines) only needs ``get``, ``put`` and ``close``.
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Protocol

__all__ = ["Ledger", "SqliteLedger"]


from ._claims import LedgerEntry, State


class Ledger(Protocol):
    async def get(self, key: str) -> LedgerEntry | None:
        """The entry for ``key``, or None if the key was never seen."""

    async def put(self, entry: LedgerEntry) -> None:
        """Store ``entry``; it must be durable when this returns."""

    async def close(self) -> None: ...


# Column order = LedgerEntry field order (rows are unpacked straight into LedgerEntry).
_SCHEMA = """
CREATE TABLE IF NOT EXISTS invitations (
    key TEXT PRIMARY KEY, practice_group_id TEXT NOT NULL, state TEXT NOT NULL,
    patient_id TEXT, link_id TEXT, short_link TEXT, message_id TEXT, step TEXT,
    error_type TEXT, error TEXT, fingerprint TEXT, updated_at REAL
)"""
_UPSERT = "INSERT OR REPLACE INTO invitations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
_SELECT = "SELECT * FROM invitations WHERE key = ?"
_SELECT_ALL = "SELECT * FROM invitations ORDER BY key"


class SqliteLedger:
    """SQLite file ledger. ``put`` returns only once its write is committed.

    WAL with synchronous=NORMAL: a committed write survives the process being killed at any
    moment (SIGKILL, Ctrl-C); only a power cut can lose the last few. Group commit: writes
    made by concurrent workers in the same event-loop turn share one transaction, committed
    on the next turn, before any of their requests can go out; a commit costs far more than
    a row, so this is what keeps a durable ledger affordable at high concurrency.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(_SCHEMA)
        self._batch: list[tuple[object, ...]] = []
        self._committed: asyncio.Future[None] | None = None

    async def get(self, key: str) -> LedgerEntry | None:
        row = self._db.execute(_SELECT, (key,)).fetchone()
        return None if row is None else LedgerEntry(*row[:-1])  # minus updated_at

    async def put(self, entry: LedgerEntry) -> None:
        self._batch.append((*entry[:11], time.time()))
        if self._committed is None:
            loop = asyncio.get_running_loop()
            self._committed = loop.create_future()
            loop.call_soon(self._commit)
        # Shielded: one cancelled writer must not cancel the commit its batch-mates wait for.
        await asyncio.shield(self._committed)

    def _commit(self) -> None:
        batch, done = self._batch, self._committed
        self._batch, self._committed = [], None
        if not batch:
            return
        try:
            self._db.execute("BEGIN")
            self._db.executemany(_UPSERT, batch)
            self._db.execute("COMMIT")
        except Exception as exc:  # e.g. disk full: every writer of the batch gets the error
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            if done is None:
                raise
            done.set_exception(exc)
            return
        if done is not None:
            done.set_result(None)

    async def close(self) -> None:
        self._commit()  # a write whose writer was cancelled meanwhile is still committed
        self._db.close()

    def entries(self) -> list[LedgerEntry]:
        """Every entry (for audits and tests; loads the whole table)."""
        rows = self._db.execute(_SELECT_ALL)
        return [LedgerEntry(*row[:-1]) for row in rows]

    def __repr__(self) -> str:
        return f"SqliteLedger({str(self.path)!r})"


class RunLedger:
    """The ledger used when the caller gives none: it remembers, for this run only, how each
    key ended, so a key repeated in the input is never sent twice. Claims are not kept (nothing
    outlives the run anyway), which makes it one write per key. It lives in a temporary SQLite
    file inside one never-committed transaction: microseconds a write, and SQLite's page cache
    spills to disk, so memory stays flat however many keys pass through."""

    _FINAL = frozenset({State.SENT, State.FAILED, State.UNKNOWN})
    _BATCH = 512

    def __init__(self) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="hero-run-ledger-")
        path = Path(self._folder.name) / "run.db"
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute(_SCHEMA)
        self._db.execute("BEGIN")
        self._unwritten: dict[str, LedgerEntry] = {}

    async def get(self, key: str) -> LedgerEntry | None:
        entry = self._unwritten.get(key)
        if entry is not None:
            return entry
        row = self._db.execute(_SELECT, (key,)).fetchone()
        return None if row is None else LedgerEntry(*row[:-1])

    async def put(self, entry: LedgerEntry) -> None:
        if entry.state in self._FINAL:
            # Written in batches: one executemany per few hundred keys is far cheaper than a
            # statement per key, and the batch is bounded, so memory stays flat.
            self._unwritten[entry.key] = entry
            if len(self._unwritten) >= self._BATCH:
                self._flush()

    def _flush(self) -> None:
        self._db.executemany(_UPSERT, [(*entry[:11], 0.0) for entry in self._unwritten.values()])
        self._unwritten.clear()

    async def close(self) -> None:
        self._db.close()
        self._folder.cleanup()


class NullLedger:
    """Remembers nothing: opt in explicitly to skip even in-run de-duplication (benchmarks)."""

    async def get(self, key: str) -> LedgerEntry | None:
        return None

    async def put(self, entry: LedgerEntry) -> None:
        return None

    async def close(self) -> None:
        return None
