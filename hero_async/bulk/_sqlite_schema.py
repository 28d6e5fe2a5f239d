"""SqliteLedger's file: tables, migrations, fixed statements, its identity mark, and how a
run recorded in it is known to be alive.

Every ledger file gets a random ``ledger_id`` the first time it is opened (kept in ``meta``,
never changed), so a copy of a ledger is told apart from another ledger; and its *work*
(rows + claims made: every claim and resolution bumps a row's epoch, and rows are never
deleted) only grows as the ledger is used, so an older copy of a ledger has less of it. The
CLI's campaign index records both (``read_mark``) to refuse a stale or substituted ledger.

A run records its process's *mark* (boot id + start time from /proc): a pid of this machine
that is alive with the same mark is that very run, however long it has been stopped, while a
pid gone, a zombie, or alive with another mark (reused) is a dead run.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import uuid
from collections.abc import Callable
from operator import itemgetter
from pathlib import Path
from typing import Any, NamedTuple

from ._claims import LedgerEntry, LedgerUnavailableError

COLUMNS = LedgerEntry._fields
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS invitations (key TEXT PRIMARY KEY, practice_group_id TEXT "
    "NOT NULL, state TEXT NOT NULL, patient_id TEXT, link_id TEXT, short_link TEXT, message_id "
    "TEXT, step TEXT, error_type TEXT, error TEXT, fingerprint TEXT, updated_at REAL)",
    "CREATE TABLE IF NOT EXISTS runs (owner TEXT PRIMARY KEY, host TEXT, pid INTEGER, "
    "started REAL, lease_until REAL, ended INTEGER NOT NULL DEFAULT 0)",
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT)",
)
_ADDED = {  # columns absent in older ledgers
    "invitations": {"epoch": "INTEGER NOT NULL DEFAULT 0", "owner": "TEXT"},
    "runs": {"proc": "TEXT"},  # the owner's process mark (boot id + start time), if known
}
SELECT = f"SELECT {', '.join(COLUMNS)} FROM invitations"  # noqa: S608 - fixed names
_CLAIMS = "('link_claimed', 'message_claimed')"


def _set(nulls: tuple[str, ...]) -> str:
    return ", ".join(f"{name} = {'NULL' if name in nulls else '?'}" for name in COLUMNS[1:11])


def _insert(nulls: tuple[str, ...]) -> str:
    names = [name for name in (*COLUMNS, "updated_at") if name not in nulls]
    return (
        f"INSERT INTO invitations ({', '.join(names)}) "  # noqa: S608 - fixed names
        f"VALUES ({', '.join('?' * len(names))}) ON CONFLICT(key) DO NOTHING"
    )


def _claim(nulls: tuple[str, ...]) -> str:
    return (
        f"UPDATE invitations SET {_set(nulls)}, epoch = ?, owner = ?, updated_at = ? "  # noqa: S608
        "WHERE key = ? AND epoch = ? AND state <> 'sent' "
        f"AND (state NOT IN {_CLAIMS} OR (owner = ? AND state = 'link_claimed' AND ?)) "
        "AND (state <> 'outcome_unknown' OR ?) AND (link_id IS NULL OR ?)"
    )


def _settle(nulls: tuple[str, ...]) -> str:
    return (
        f"UPDATE invitations SET {_set(nulls)}, updated_at = ? WHERE key = ? AND epoch = ? "  # noqa: S608
        f"AND ((state IN {_CLAIMS} AND owner = ?) OR state = 'outcome_unknown') "
        "AND (step = 'link' OR ?)"
    )


class Shaped(NamedTuple):
    """A per-invitation statement in two shapes. ``quiet`` writes the columns that are NULL
    in the usual row as NULL instead of binding them: sqlite3 binds a None several times
    slower than a string (it looks for an adapter, and builds and drops an AttributeError),
    and these run two or three times per invitation. ``full`` binds every column."""

    quiet: str
    full: str
    nulls: Callable[[LedgerEntry], Any]  # the quiet shape's NULL columns of a row
    none: tuple[None, ...]
    bound: Callable[[LedgerEntry], Any]  # the quiet shape's bound columns of a row
    first: int  # the first column the statement binds (0: the key, for an insert)

    def args(self, entry: LedgerEntry) -> tuple[str, tuple[Any, ...]]:
        """The statement for ``entry`` and the row's columns it binds, in order."""
        if self.nulls(entry) == self.none:
            return self.quiet, self.bound(entry)
        return self.full, entry[self.first : 11]


def _shaped(make: Callable[[tuple[str, ...]], str], first: int, *nulls: str) -> Shaped:
    # itemgetter of one index gives the value, not a 1-tuple: each shape here takes several.
    at = [COLUMNS.index(name) for name in nulls]
    kept = [i for i in range(first, 11) if i not in at]
    none = (None,) * len(at)
    return Shaped(make(nulls), make(()), itemgetter(*at), none, itemgetter(*kept), first)


def shapes() -> tuple[Shaped, Shaped, Shaped]:
    """The insert, claim and settle statements. Quiet rows: a new key's link claim (no link,
    message or error yet); any claim (no message yet, an earlier attempt's error cleared);
    a sent row (no error)."""
    return (
        _shaped(_insert, 0, "link_id", "short_link", "message_id", "error_type", "error"),
        _shaped(_claim, 1, "message_id", "error_type", "error"),
        _shaped(_settle, 1, "error_type", "error"),
    )


FIELDS = _set(())
INSERT, CLAIM, SETTLE = shapes()
INTERRUPT = (
    "UPDATE invitations SET state = 'outcome_unknown', error_type = 'Interrupted', "  # noqa: S608
    "error = 'run stopped after the request may have been sent', step = coalesce(step, "
    "CASE state WHEN 'link_claimed' THEN 'link' ELSE 'message' END) "
    f"WHERE state IN {_CLAIMS} AND "
)
_ORPHANED = INTERRUPT + (  # noqa: S608 - fixed names
    "(owner IS NULL OR owner NOT IN (SELECT owner FROM runs WHERE ended = 0 "
    "AND (lease_until >= ? OR owner IN ({live}))))"
)
BEGIN_RUN = (
    "INSERT OR REPLACE INTO runs (owner, host, pid, started, lease_until, ended, proc) "
    "VALUES (?, ?, ?, ?, ?, 0, ?)"
)
LOCAL_RUNS = "SELECT owner, pid, proc FROM runs WHERE ended = 0 AND host = ?"


def orphaned(live: int) -> str:
    """Claims whose owner is unknown, ended, or past its lease -- except those of the
    ``live`` owners passed after the time (this machine's runs whose process is alive)."""
    return _ORPHANED.replace("{live}", ", ".join("?" * live) or "NULL")


def migrate(db: sqlite3.Connection) -> None:
    """Create or bring up to date the tables, and give the ledger its id (once, ever)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        for statement in _SCHEMA:
            db.execute(statement)
        for table, added in _ADDED.items():
            have = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
            for name, kind in added.items():
                if name not in have:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
        db.execute("INSERT OR IGNORE INTO meta VALUES ('ledger_id', ?)", (uuid.uuid4().hex,))
        db.execute("COMMIT")
    finally:
        if db.in_transaction:
            db.execute("ROLLBACK")


class LedgerMark(NamedTuple):
    """What a ledger file is and how far it got (see the module doc)."""

    ledger_id: str | None  # None: a file no SqliteLedger has opened (empty, or older)
    rows: int
    work: int  # rows + claims made: only grows


def read_mark(path: Path) -> LedgerMark | None:
    """The mark of the ledger at ``path`` (nothing is created, migrated or written); None if
    there is no file there."""
    if not path.is_file():
        return None
    # Not mode=ro: a read-only connection cannot roll back the hot journal a writer killed
    # mid-commit leaves, and the resume that crash calls for would stop here. mode=rw still
    # never creates a file, and the roll-back only restores what was committed. The
    # default 5 s busy wait outlasts any writer's commit.
    uri = path.resolve().as_uri() + "?mode=rw"
    try:
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
            tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master")}
            if "invitations" not in tables:
                return LedgerMark(None, 0, 0)
            row = None
            if "meta" in tables:
                row = db.execute("SELECT value FROM meta WHERE name = 'ledger_id'").fetchone()
            columns = {column[1] for column in db.execute("PRAGMA table_info(invitations)")}
            claims = "coalesce(sum(epoch), 0)" if "epoch" in columns else "0"
            rows, made = db.execute(f"SELECT count(*), {claims} FROM invitations").fetchone()  # noqa: S608
    except sqlite3.Error as exc:
        raise unavailable(path, exc) from None
    return LedgerMark(None if row is None else str(row[0]), rows, rows + made)


def process_alive(pid: int, recorded: str | None) -> bool | None:
    """Whether the process that began a run of this machine (``pid``, its mark ``recorded``
    at begin) is alive: True, False, or None when that cannot be told."""
    here = _here()
    if recorded is None or here is None or not recorded.startswith(f"{here}:"):
        # Another boot or pid namespace: a container or a cloned machine sharing this
        # hostname, whose pids mean nothing here. Its lease decides, never our /proc.
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. another user's process: alive, but whose?
        pass
    seen = _process(pid)
    if recorded is None or seen is None:
        return None
    running, mark = seen
    return running and mark == recorded


def process_mark(pid: int) -> str | None:
    """What ``runs.proc`` records for a live ``pid`` (None where /proc cannot tell)."""
    seen = _process(pid)
    return seen[1] if seen is not None and seen[0] else None


def _process(pid: int) -> tuple[bool, str] | None:
    """Whether ``pid`` runs (is not a zombie), and its mark: boot id, pid namespace, pid and
    start time (clock ticks since boot, from /proc), the same for one process all its life
    and different for a later process given the same pid. None where /proc cannot tell."""
    here = _here()
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()  # the name may hold spaces and ')'
        state, start = fields[0], fields[19]
    except (OSError, ValueError, IndexError):
        return None
    if here is None:
        return None
    return state not in ("Z", "X"), f"{here}:{pid}:{start}"


def _here() -> str | None:
    """This boot and pid namespace: where a pid names the same process as for us."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return None
    return f"{boot}:{namespace}"


def unavailable(path: Path, exc: Exception) -> LedgerUnavailableError:
    return LedgerUnavailableError(
        f"the ledger {path} cannot record progress ({exc}); the job stops before sending "
        "anything further: free disk space, fix the file's permissions or stop the other "
        "program holding it, then run the same command again"
    )
