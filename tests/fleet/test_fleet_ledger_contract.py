"""The shared claim-store contract (tests/ledger/contract.py) on PostgresLedger."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "ledger"))
from contract import *  # noqa: F403 - the contract's tests, collected here
from contract import Clock

from hero_async.fleet import PostgresLedger


@pytest.fixture
def open_store(database_url: str) -> object:
    async def open_(clock: Clock) -> PostgresLedger:  # another process on the same ledger
        return await PostgresLedger.open(database_url, "contract", clock=clock)

    return open_
