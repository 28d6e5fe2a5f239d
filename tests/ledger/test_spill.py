"""The in-memory store's rows spill settled keys to a temporary file, so a job with
``ledger=None`` keeps flat memory however many keys it sees, yet still finds every key."""

from __future__ import annotations

import os
from pathlib import Path

from hero_async.bulk import LedgerEntry, RunInfo, RunLedger, State
from hero_async.bulk._spill import Rows


def _row(i: int, state: str = State.SENT, **fields: object) -> LedgerEntry:
    return LedgerEntry(f"k{i:05d}", "1002", state, patient_id="7")._replace(
        **{"epoch": 2, **fields}
    )


def test_settled_rows_leave_memory_and_are_all_still_found() -> None:
    rows = Rows()
    try:
        for i in range(2000):
            rows[f"k{i:05d}"] = _row(i, message_id=f"m{i}", error="ünïcode \udcff")
        assert len(rows._live) + len(rows._settled) < 600  # bounded: the rest is on disk
        assert rows.get("k01234") == _row(1234, message_id="m1234", error="ünïcode \udcff")
        assert rows.get("missing") is None
        assert sorted(rows) == [f"k{i:05d}" for i in range(2000)]
        assert sum(1 for _ in rows.values()) == 2000
    finally:
        rows.close()


def test_a_row_back_in_play_shadows_its_written_copy() -> None:
    rows = Rows()
    try:
        for i in range(600):
            rows[f"k{i:05d}"] = _row(i, State.FAILED)
        rows["k00001"] = _row(1, State.LINK_CLAIMED)  # a re-run claims a failed key again
        assert rows["k00001"].state == State.LINK_CLAIMED
        assert [r.state for r in rows.values() if r.key == "k00001"] == [State.LINK_CLAIMED]
        assert rows.live() == [_row(1, State.LINK_CLAIMED)]
        rows["k00001"] = _row(1, State.SENT)
        assert [r.state for r in rows.values() if r.key == "k00001"] == [State.SENT]
    finally:
        rows.close()


async def test_the_store_removes_its_file_when_closed(tmp_path: Path) -> None:
    store = RunLedger()
    await store.begin(RunInfo.here(), None)
    for i in range(600):
        claim = _row(i, State.LINK_CLAIMED, epoch=0, step="link")
        assert await store.claim(claim, expect_epoch=0) == 1
        await store.settle(_row(i, State.SENT), epoch=1)
    assert (await store.counts())[State.SENT] == 600
    folder = store._world.rows._folder
    assert folder is not None
    assert os.path.isdir(folder.name)  # noqa: ASYNC240 - a test's one look at a folder
    await store.close()
    assert not os.path.isdir(folder.name)  # noqa: ASYNC240
