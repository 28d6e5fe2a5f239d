"""The per-user index of CSV -> ledger, so a vanished or emptied ledger is noticed.

A ledger is what keeps a patient from being texted twice. If it is deleted, emptied or left
behind when a CSV is copied elsewhere, a re-run would send every invitation again, and the
ledger itself cannot say so (it is gone). So the CLI remembers, per user, which ledger each
CSV (by path, and by the fingerprint of its keys: a copied or renamed file is recognised)
ran with and how many rows it held; a run that finds that ledger missing or empty stops,
naming it, unless ``--new-campaign`` says this really is a new campaign.

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

from ..bulk import Campaign, SqliteLedger
from ._output import UsageError

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS campaigns (csv TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, "
    "ledger TEXT NOT NULL, rows INTEGER NOT NULL, updated TEXT NOT NULL)"
)


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


class CampaignIndex:
    def __init__(self, folder: Path | None = None) -> None:
        self.path = (folder or state_dir()) / "campaigns.db"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, timeout=10)
            self._db.execute(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise UsageError(
                f"cannot open the campaign index {self.path} ({exc}); set XDG_STATE_HOME "
                "to a writable folder"
            ) from None

    def find(self, csv: Path, fingerprint: str) -> Entry | None:
        """This CSV's entry, else the newest one of a file with the same keys."""
        row = self._db.execute(
            "SELECT csv, fingerprint, ledger, rows, updated FROM campaigns "
            "WHERE csv = ? OR fingerprint = ? ORDER BY csv = ? DESC, updated DESC LIMIT 1",
            (str(csv), fingerprint, str(csv)),
        ).fetchone()
        return Entry(*row) if row else None

    def record(self, csv: Path, fingerprint: str, ledger: Path, rows: int) -> None:
        stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        self._db.execute(
            "INSERT OR REPLACE INTO campaigns VALUES (?, ?, ?, ?, ?)",
            (str(csv), fingerprint, str(ledger), rows, stamp),
        )

    def close(self) -> None:
        self._db.close()


def is_file(path: Path) -> bool:
    return path.is_file()


async def ledger_rows(path: Path) -> int | None:
    """Rows in the ledger at ``path``; None if there is no file (it is never created here)."""
    if not is_file(path):
        return None
    store = SqliteLedger(path)
    try:
        return sum((await store.counts()).values())
    finally:
        await store.close()


async def check_ledger(
    index: CampaignIndex, csv: Path, fingerprint: str, ledger: Path, *, new_campaign: bool
) -> None:
    """Stop, naming the ledger, if this CSV ran before and its ledger is now missing or empty."""
    entry = index.find(csv, fingerprint)
    if entry is None or entry.rows == 0 or new_campaign:
        return
    rows = await ledger_rows(ledger)
    if rows:
        return
    what = "is missing" if rows is None else "is empty"
    if entry.ledger == str(ledger):
        problem = f"its ledger {ledger} {what}"
    else:
        problem = f"it used the ledger {entry.ledger}, and this run's ledger {ledger} {what}"
    same = "" if entry.csv == str(csv) else f" (as {entry.csv}, with the same keys)"
    raise UsageError(
        f"{csv} was run before{same} on {entry.updated}, but {problem}. Running now would "
        f"send every invitation again. Restore the ledger (or pass --ledger {entry.ledger}), "
        "or pass --new-campaign if this really is a new campaign."
    )
