"""``read_mark`` on the files a crash or a race leaves behind.

The CLI reads a ledger's mark before every re-run (issue 11: refuse a stale or swapped
ledger), so a mark that cannot be read blocks the very resume a crash calls for.
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from contract import Clock, _link, _run

from hero_async.bulk import LedgerUnavailableError, SqliteLedger

# A writer killed mid-transaction: cache_size=1 makes SQLite write changed pages into the
# .db before COMMIT, the old pages saved in the journal, which the kill leaves "hot".
_KILLED_WRITER = """
import os, sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA cache_size=1")
db.execute("BEGIN IMMEDIATE")
db.executemany(
    "INSERT INTO invitations (key, practice_group_id, state) VALUES (?, '1002', 'sent')",
    [(f"crashed-{n}", ) for n in range(3000)],
)
os._exit(9)
"""


async def _ledger_with_two_rows(path: Path) -> tuple[str, int, int]:
    store = SqliteLedger(path, clock=Clock())
    await store.begin(_run(0), None)
    assert await store.claim(_link("k1"), expect_epoch=0) == 1
    assert await store.claim(_link("k2"), expect_epoch=0) == 1
    await store.end()
    await store.close()
    mark = SqliteLedger.read_mark(path)
    assert mark is not None
    return mark


def test_mark_of_a_ledger_whose_writer_died_mid_commit(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    before = asyncio.run(_ledger_with_two_rows(path))
    subprocess.run([sys.executable, "-c", _KILLED_WRITER, str(path)], check=False)  # noqa: S603
    journal = path.with_name("l.db-journal")
    assert journal.stat().st_size > 0  # the hot journal a kill -9 mid-commit leaves

    # The committed state, not an error that would stop the resume.
    assert SqliteLedger.read_mark(path) == before
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM invitations").fetchone() == (2,)


def test_read_mark_creates_nothing_when_the_file_goes_while_it_looks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "gone.db"
    monkeypatch.setattr(Path, "is_file", lambda self: True)  # it was there a moment ago
    with pytest.raises(LedgerUnavailableError, match=r"gone\.db"):
        SqliteLedger.read_mark(path)
    assert not path.exists()  # no empty ledger left where the real one was
