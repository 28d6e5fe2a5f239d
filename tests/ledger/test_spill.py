"""The in-memory store's rows spill settled keys to a temporary file, so a job with
``ledger=None`` keeps flat memory however many keys it sees, yet still finds every key."""

from __future__ import annotations

import ast
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from hero_async.bulk import LedgerEntry, State
from hero_async.bulk._spill import _BATCH, _KEEP, Rows


def _row(i: int, state: str = State.SENT, **fields: object) -> LedgerEntry:
    return LedgerEntry(f"k{i:05d}", "1002", state, patient_id="7")._replace(
        **{"epoch": 2, **fields}
    )


def test_a_job_of_up_to_8192_keys_never_starts_a_database() -> None:
    rows = Rows()
    try:
        for i in range(_KEEP + _BATCH - 1):
            rows[f"k{i:05d}"] = _row(i, message_id=f"m{i}")
        rows["live"] = _row(0, State.LINK_CLAIMED)._replace(key="live")
        assert rows._db is None
        rows["k99999"] = _row(99999, message_id="m")
        assert rows._db is not None  # the oldest batch, written
        assert len(rows._settled) == _KEEP
        assert rows.get("k00000") == _row(0, message_id="m0")  # read back from disk
    finally:
        rows.close()


def test_settled_rows_leave_memory_and_are_all_still_found() -> None:
    total = _KEEP + 4 * _BATCH + 100
    rows = Rows()
    try:
        for i in range(total):
            rows[f"k{i:05d}"] = _row(i, message_id=f"m{i}", error="ünïcode \udcff")
        assert len(rows._live) + len(rows._settled) < _KEEP + _BATCH  # the rest is on disk
        assert rows.get("k01234") == _row(1234, message_id="m1234", error="ünïcode \udcff")
        assert rows.get("missing") is None
        assert sorted(rows) == [f"k{i:05d}" for i in range(total)]
        assert sum(1 for _ in rows.values()) == total
    finally:
        rows.close()


def test_a_row_back_in_play_shadows_its_written_copy() -> None:
    rows = Rows()
    try:
        for i in range(_KEEP + _BATCH):
            rows[f"k{i:05d}"] = _row(i, State.FAILED)
        assert rows._db is not None  # k00001 is on disk
        rows["k00001"] = _row(1, State.LINK_CLAIMED)  # a re-run claims a failed key again
        assert rows["k00001"].state == State.LINK_CLAIMED
        assert [r.state for r in rows.values() if r.key == "k00001"] == [State.LINK_CLAIMED]
        assert rows.live() == [_row(1, State.LINK_CLAIMED)]
        rows["k00001"] = _row(1, State.SENT)
        assert [r.state for r in rows.values() if r.key == "k00001"] == [State.SENT]
    finally:
        rows.close()


_CHILD = """
import os, signal, sys
from hero_async.bulk import LedgerEntry, State
from hero_async.bulk._spill import _BATCH, _KEEP, Rows
rows = Rows()
for i in range(60000):  # past 8,192 kept, and past SQLite's 2 MB page cache: a file
    rows[f"k{i:06d}"] = LedgerEntry(f"k{i:06d}", "1002", State.SENT, "7", "9" * 12, "x" * 40, "m")
assert rows.get("k000007").message_id == "m"
held = []
for fd in os.listdir("/proc/self/fd"):
    try:
        held.append(os.readlink(f"/proc/self/fd/{fd}"))
    except FileNotFoundError:  # the listing's own descriptor, closed already
        pass
print([path for path in held if path.startswith(sys.argv[1])], flush=True)
if sys.argv[2] == "kill":
    os.kill(os.getpid(), signal.SIGKILL)
rows.close()
"""


@pytest.mark.parametrize("end", ["close", "kill"])
def test_the_spill_file_is_never_left_behind(tmp_path: Path, end: str) -> None:
    """SQLite's private temporary database: its file is unlinked as soon as it is made, so
    neither close() nor a kill -9 mid-run leaves rows (keys, Hero ids) on disk."""
    env = {**os.environ, "SQLITE_TMPDIR": str(tmp_path), "TMPDIR": str(tmp_path)}
    child = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", _CHILD, str(tmp_path), end],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert child.returncode == (-signal.SIGKILL if end == "kill" else 0), child.stderr
    held = ast.literal_eval(child.stdout.strip())
    assert held, "the rows never reached a file: raise the row count"
    assert all(path.endswith(" (deleted)") for path in held)  # open, but already unlinked
    assert list(tmp_path.iterdir()) == []
