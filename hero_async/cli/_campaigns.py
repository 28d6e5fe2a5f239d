"""The per-user index of CSV -> ledger, so a vanished, emptied, stale or swapped ledger is
noticed.

A ledger is what keeps a patient from being texted twice. If it is deleted, emptied, left
behind when a CSV is copied elsewhere, or replaced by an older copy (a backup restored,
``--ledger`` pointed at a copy), a re-run would send again everything the ledger no longer
knows was sent, and the ledger itself cannot say so. So the CLI remembers, per user, which
ledger each CSV (by path, and by the fingerprint of its keys: a copied or renamed file is
recognised) ran with: its path, its ledger id (random, made once per ledger file, so a copy
has the same one and any other ledger another) and its *work* (rows + claims made, which
only grows as the ledger is used), recorded at the first send, every ``CHECKPOINT`` results
and at the end of each run. A run whose ledger is missing, empty, another ledger, or holds
less work than recorded stops, naming it, unless ``--new-campaign`` says this really is a
new campaign.

The index is a small SQLite file in ``$XDG_STATE_HOME/hero-async/`` (default
``~/.local/state/hero-async/``): SQLite makes two CLI runs at once safe without locks of ours.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path

import attrs

from ..bulk import Campaign, LedgerError, SqliteLedger
from ._output import UsageError

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS campaigns (csv TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, "
    "ledger TEXT NOT NULL, rows INTEGER NOT NULL, updated TEXT NOT NULL)"
)
_ADDED = ("ledger_id TEXT", "work INTEGER")  # absent in older indexes
_RECORD = (  # the same ledger's work never goes down (two runs at once record in any order)
    "INSERT INTO campaigns VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(csv) DO UPDATE SET "
    "work = CASE WHEN ledger_id = excluded.ledger_id THEN max(work, excluded.work) "
    "ELSE excluded.work END, fingerprint = excluded.fingerprint, ledger = excluded.ledger, "
    "rows = excluded.rows, updated = excluded.updated, ledger_id = excluded.ledger_id"
)
CHECKPOINT = 500  # results between two records of a run's work


def campaign_for(csv: Path, keys: Iterable[str]) -> Campaign:
    """A CSV's campaign: named after the file, fingerprinted by its set of keys."""
    return Campaign.of(csv.stem, keys)


def state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "hero-async"


@attrs.frozen
class Entry:
    csv: str
    fingerprint: str
    ledger: str
    rows: int
    updated: str
    ledger_id: str | None  # None: recorded before ledgers had ids
    work: int | None


class CampaignIndex:
    def __init__(self, folder: Path | None = None) -> None:
        self.path = (folder or state_dir()) / "campaigns.db"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, timeout=10)
            self._db.execute(_SCHEMA)
            have = {row[1] for row in self._db.execute("PRAGMA table_info(campaigns)")}
            for column in _ADDED:
                if column.split()[0] not in have:
                    self._db.execute(f"ALTER TABLE campaigns ADD COLUMN {column}")
        except (OSError, sqlite3.Error) as exc:
            raise UsageError(
                f"cannot open the campaign index {self.path} ({exc}); set XDG_STATE_HOME "
                "to a writable folder"
            ) from None

    def find(self, csv: Path, fingerprint: str) -> Entry | None:
        """This CSV's entry, else the newest one of a file with the same keys."""
        row = self._db.execute(
            "SELECT csv, fingerprint, ledger, rows, updated, ledger_id, work FROM campaigns "
            "WHERE csv = ? OR fingerprint = ? ORDER BY csv = ? DESC, updated DESC LIMIT 1",
            (str(csv), fingerprint, str(csv)),
        ).fetchone()
        return Entry(*row) if row else None

    def record(self, csv: Path, fingerprint: str, ledger: Path) -> None:
        """Record ``ledger``'s mark for ``csv``, if it holds anything. An unreadable ledger
        must not hide a run's own error (this runs after every run), so it is skipped."""
        try:
            mark = SqliteLedger.read_mark(ledger)
        except LedgerError:
            return
        if mark is None or mark.rows == 0:
            return
        stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        row = (str(csv), fingerprint, str(ledger), mark.rows, stamp, mark.ledger_id, mark.work)
        self._db.execute(_RECORD, row)

    def close(self) -> None:
        self._db.close()


def is_file(path: Path) -> bool:
    return path.is_file()


async def check_ledger(
    index: CampaignIndex, csv: Path, fingerprint: str, ledger: Path, *, new_campaign: bool
) -> None:
    """Stop, naming the ledger, if this CSV ran before and its ledger is now missing, empty,
    another ledger, or an older copy of the one it ran with."""
    entry = index.find(csv, fingerprint)
    if entry is None or entry.rows == 0 or new_campaign:
        return
    mark = SqliteLedger.read_mark(ledger)
    same = "" if entry.csv == str(csv) else f" (as {entry.csv}, with the same keys)"
    ran = f"{csv} was run before{same} on {entry.updated}"
    its = f"its ledger {ledger}" if entry.ledger == str(ledger) else f"the ledger {ledger}"
    if mark is None or mark.rows == 0:
        what = "is missing" if mark is None else "is empty"
        if entry.ledger == str(ledger):
            problem = f"its ledger {ledger} {what}"
        else:
            problem = f"it used the ledger {entry.ledger}, and this run's ledger {ledger} {what}"
        raise UsageError(
            f"{ran}, but {problem}. Running now would send every invitation again. Restore "
            f"the ledger (or pass --ledger {entry.ledger}), or pass --new-campaign if this "
            "really is a new campaign."
        )
    elsewhere = "" if entry.ledger == str(ledger) else f" at {entry.ledger}"
    if entry.ledger_id is not None and mark.ledger_id != entry.ledger_id:
        problem = (
            f"{its} is not the ledger it ran with (ledger id {mark.ledger_id or 'none'}; "
            f"it ran with {entry.ledger_id}{elsewhere})"
        )
    elif entry.work is not None and mark.work < entry.work:
        problem = (
            f"{its} is an older copy of the ledger it ran with{elsewhere}: it records "
            f"{mark.work} rows and claims, that ledger held {entry.work} when last seen"
        )
    else:
        return
    raise UsageError(
        f"{ran}, but {problem}. Running now would send again every invitation sent since "
        f"(that ledger does not know). Use the ledger it ran with (--ledger {entry.ledger}); "
        "if that is lost, check in Hero what was sent, then pass --new-campaign to run on "
        "this one anyway."
    )
