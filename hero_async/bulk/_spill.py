"""The rows of an in-memory claim store, with settled rows spilled to a temporary file.

A job with ``ledger=None`` must still refuse a key repeated anywhere in its input, so its
store remembers every key it saw; kept in a dict that costs about half a kilobyte a key
(50 MB for 100,000 invitations). Rows still in play (claims, a made link, an unknown outcome)
stay in memory, and so do the newest 8,192 settled rows (about 4 MB: a job of that many keys
never starts a database); older settled rows (sent, failed) go, a few hundred at a time, to
SQLite's private temporary database inside one never-committed transaction (no fsync; past
its 2 MB page cache it spills to a file that SQLite unlinks as soon as it makes it, so not
even a kill -9 leaves it behind), and memory stays flat however many keys pass through.

A batch is written as one ``marshal``-ed blob (a dict of key -> row) plus one small index row
per key (key -> batch), all of a batch's index rows in one statement over a JSON array of its
keys (``executemany`` costs about four times as much, its per-row binding and resets more than
the inserts themselves): a settled row costs one index insert, not a row of its own. Reading
one back (a key repeated in the input) loads its batch; that is rare, and the Bloom filter
below keeps new keys (nearly all reads) from asking the file at all.
"""

from __future__ import annotations

import itertools
import json
import marshal
import sqlite3
from collections.abc import Iterator

from ._claims import LedgerEntry, State

__all__ = ["Rows"]

_SETTLED = frozenset({State.SENT, State.FAILED})
_BATCH = 512
# Settled rows kept in memory before any is written: writing one costs about as much as the
# rest of the SDK's work on an invitation's two requests.
_KEEP = 8192
# A Bloom filter of the keys written to the file (two bits per key, from ``hash(key)``):
# most keys a job reads are new, and asking the file about each one cost a SELECT per
# invitation. 2**23 bits is 1 MiB, whatever the job's size: about 5 % false positives at a
# million keys (each costs the SELECT it replaces), none ever missed.
_BLOOM_BITS = 1 << 23
_MASK = _BLOOM_BITS - 1
# A later batch has the key's newer row: it replaces the index entry.
_INDEX_ALL = "INSERT OR REPLACE INTO keys SELECT value, ? FROM json_each(?)"
_INDEX = "INSERT OR REPLACE INTO keys VALUES (?, ?)"  # for an SQLite built without JSON
_keys = json.JSONEncoder(ensure_ascii=False, check_circular=False).encode
_SELECT_ONE = "SELECT b.rows FROM keys AS k JOIN batches AS b ON b.id = k.batch WHERE k.key = ?"


class Rows:
    """A mapping of key -> LedgerEntry: live rows in a dict, settled ones in batches on disk.
    Keys are plan() keys: printable text (SQLite's text cannot hold a lone surrogate)."""

    def __init__(self) -> None:
        self._live: dict[str, LedgerEntry] = {}
        self._settled: dict[str, LedgerEntry] = {}  # not yet written
        self._db: sqlite3.Connection | None = None
        self._written = bytearray()  # the Bloom filter, sized when the file is made

    def get(self, key: str) -> LedgerEntry | None:
        row = self._live.get(key) or self._settled.get(key)
        if row is None and self._db is not None:
            # The Bloom filter, inline: a new key (nearly every read) asks it twice per
            # invitation, and a method call would cost more than the check.
            h, bits = hash(key), self._written
            first, second = h & _MASK, (h >> 23) & _MASK
            if bits[first >> 3] >> (first & 7) & bits[second >> 3] >> (second & 7) & 1:
                found = self._db.execute(_SELECT_ONE, (key,)).fetchone()
                row = None if found is None else LedgerEntry._make(_load(found[0])[key])
        return row

    def __getitem__(self, key: str) -> LedgerEntry:
        row = self.get(key)
        if row is None:
            raise KeyError(key)
        return row

    def __setitem__(self, key: str, entry: LedgerEntry) -> None:
        if entry.state in _SETTLED:
            self._live.pop(key, None)
            self._settled[key] = entry
            if len(self._settled) >= _KEEP + _BATCH:
                self._write()
        else:  # a written copy may remain on disk: the live row shadows it
            self._settled.pop(key, None)
            self._live[key] = entry

    def live(self) -> list[LedgerEntry]:
        """The rows still in play (what a sweep looks at)."""
        return list(self._live.values())

    def values(self) -> Iterator[LedgerEntry]:
        yield from self._live.values()
        yield from self._settled.values()
        if self._db is not None:
            shadowed = self._live.keys() | self._settled.keys()
            batch, rows = None, {}
            for key, in_batch in self._db.execute("SELECT key, batch FROM keys ORDER BY batch"):
                if key in shadowed:
                    continue
                if in_batch != batch:  # one batch in memory at a time
                    batch, rows = in_batch, self._batch(in_batch)
                yield LedgerEntry._make(rows[key])

    def __iter__(self) -> Iterator[str]:
        return (row.key for row in self.values())

    def _write(self) -> None:
        if self._db is None:
            # "": SQLite's private temporary database, on disk past its page cache, deleted
            # by SQLite when the connection closes (or the process dies): no path to manage.
            self._db = sqlite3.connect("", isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=OFF")
            self._db.execute("CREATE TABLE batches (id INTEGER PRIMARY KEY, rows BLOB NOT NULL)")
            self._db.execute(
                "CREATE TABLE keys (key TEXT PRIMARY KEY, batch INTEGER NOT NULL) WITHOUT ROWID"
            )
            self._db.execute("BEGIN")
            self._written = bytearray(_BLOOM_BITS // 8)
        settled = self._settled  # the oldest go (a dict keeps the order keys first settled in)
        oldest = {key: settled.pop(key) for key in list(itertools.islice(settled, _BATCH))}
        bits = self._written
        for key in oldest:
            h = hash(key)
            first, second = h & _MASK, (h >> 23) & _MASK
            bits[first >> 3] |= 1 << (first & 7)
            bits[second >> 3] |= 1 << (second & 7)
        # marshal: C speed, and exact for str (lone surrogates too), int and None
        blob = marshal.dumps({key: tuple(entry) for key, entry in oldest.items()})
        batch = self._db.execute("INSERT INTO batches (rows) VALUES (?)", (blob,)).lastrowid
        try:
            self._db.execute(_INDEX_ALL, (batch, _keys(list(oldest))))
        except sqlite3.OperationalError:  # no json_each in this SQLite: one row at a time
            self._db.executemany(_INDEX, zip(oldest, itertools.repeat(batch)))

    def _batch(self, batch: int) -> dict[str, tuple[object, ...]]:
        assert self._db is not None
        found = self._db.execute("SELECT rows FROM batches WHERE id = ?", (batch,)).fetchone()
        return _load(found[0])

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
            self._written = bytearray()


def _load(blob: bytes) -> dict[str, tuple[object, ...]]:
    # Our own bytes: written by this process into its private, already unlinked temporary
    # database, read back by it alone, during the run.
    rows: dict[str, tuple[object, ...]] = marshal.loads(blob)  # noqa: S302
    return rows
