"""The durable ledger's group commit: a writer cancelled while its batch is pending neither
cancels nor breaks the commit the other writers of that batch wait for."""

from __future__ import annotations

import asyncio
from pathlib import Path

from hero_async.bulk import LedgerEntry, RunInfo, SqliteLedger, State


def _claim(key: str) -> LedgerEntry:
    return LedgerEntry(key, "1002", State.LINK_CLAIMED, patient_id="7", step="link", epoch=1)


async def test_a_cancelled_claim_leaves_its_batch_mates_committed(tmp_path: Path) -> None:
    store = SqliteLedger(tmp_path / "ledger.db")
    await store.begin(RunInfo.here(), None)
    try:
        claims = {
            key: asyncio.create_task(store.claim(_claim(key), expect_epoch=0))
            for key in ("a", "b", "c")
        }
        await asyncio.sleep(0)  # every claim is queued in the same batch, not yet committed
        claims["b"].cancel()
        assert await claims["a"] == 1
        assert await claims["c"] == 1
        assert claims["b"].cancelled()
        other = SqliteLedger(tmp_path / "ledger.db")  # what another process reads
        try:
            held = {e.key: e.state for e in other.read_entries()}
        finally:
            await other.close()
        assert held["a"] == held["c"] == State.LINK_CLAIMED
        assert await store.claim(_claim("d"), expect_epoch=0) == 1  # the store goes on
    finally:
        await store.close()
