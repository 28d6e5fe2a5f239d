"""The claim-store contract (tests/ledger/contract.py) on SqliteLedger and RunLedger."""

from __future__ import annotations

from pathlib import Path

import pytest
from contract import *  # noqa: F403 - the contract's tests, collected here
from contract import Clock

from hero_async.bulk import Ledger, RunLedger, SqliteLedger
from hero_async.bulk._runledger import World


@pytest.fixture(params=["sqlite", "memory"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> object:
    world = World()

    async def open_(clock: Clock) -> Ledger:
        if request.param == "sqlite":
            return SqliteLedger(tmp_path / "ledger.db", clock=clock)
        return RunLedger(world, clock=clock)

    return open_
