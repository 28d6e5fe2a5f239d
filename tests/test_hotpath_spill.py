"""Settled rows spilled to disk are found again by key, whatever the key (the in-memory index
that spares a read for new keys must never hide a written one), and a key repeated after its
row spilled is still refused a second send."""

from __future__ import annotations

import pytest

from hero_async.bulk import LedgerEntry, RunInfo, RunLedger, State, _spill
from hero_async.bulk._spill import _BATCH, _KEEP, Rows

# Printable keys (what plan() lets through) that JSON escapes or that look like JSON: each
# batch's keys reach the index as one JSON array.
_ODD_KEYS = ['q"uote', "back\\slash", "ünï/é", "emoji-\U0001f600", "null", "[1, 2]", "x" * 200]


def _sent(key: str) -> LedgerEntry:
    return LedgerEntry(key, "1002", State.SENT, patient_id="7", message_id=f"m-{key}", epoch=2)


def test_every_spilled_key_is_found_and_no_other() -> None:
    # Keys as plan() lets them through: printable text (no lone surrogates, which SQLite's
    # text cannot hold), up to 200 characters.
    keys = ["", "ünï", "x" * 200] + [f"flu-2026/{i}" for i in range(_KEEP + 5000)]
    rows = Rows()
    try:
        for key in keys:
            rows[key] = _sent(key)
        assert rows._db is not None  # most of them are on disk by now
        assert [rows.get(key) for key in keys] == [_sent(key) for key in keys]
        assert [rows.get(f"flu-2027/{i}") for i in range(5000)] == [None] * 5000
        assert rows._written.count(0) > 0  # the Bloom filter is not saturated
    finally:
        rows.close()


@pytest.mark.parametrize("index", ["json", "row by row"])
def test_keys_written_to_disk_are_found_exactly(
    monkeypatch: pytest.MonkeyPatch, index: str
) -> None:
    if index == "row by row":  # an SQLite built without json_each
        monkeypatch.setattr(
            _spill, "_INDEX_ALL", "INSERT INTO keys SELECT * FROM no_json_each(?, ?)"
        )
    keys = _ODD_KEYS + [f"k{i}" for i in range(_KEEP + _BATCH)]
    rows = Rows()
    try:
        for key in keys:
            rows[key] = _sent(key)
        assert not rows._settled.keys() & set(_ODD_KEYS)  # all of them on disk
        assert [rows.get(key) for key in keys] == [_sent(key) for key in keys]
        assert [rows.get(key.upper() + "?") for key in _ODD_KEYS] == [None] * len(_ODD_KEYS)
    finally:
        rows.close()


async def test_a_key_seen_again_after_its_row_spilled_is_not_claimed_again() -> None:
    store = RunLedger()
    await store.begin(RunInfo.here(), None)
    try:
        for i in range(_KEEP + 2 * _BATCH):
            claim = LedgerEntry(f"k{i}", "1002", State.LINK_CLAIMED, patient_id="7", step="link")
            assert await store.claim(claim, expect_epoch=0) == 1
            await store.settle(_sent(f"k{i}"), epoch=1)
        first = await store.get("k3")
        assert first is not None
        assert first.state == State.SENT
        again = LedgerEntry("k3", "1002", State.LINK_CLAIMED, patient_id="7", step="link")
        assert await store.claim(again, expect_epoch=0) is None
        assert await store.claim(again, expect_epoch=first.epoch) is None
    finally:
        await store.close()
