"""The claim-store state machine (tests/ledger/test_claim_machine.py) on PostgresLedger: any
interleaving of reads, claims, answers, sweeps, lease expiry and crashes by several runs never
lets one key reach two POSTs of a step -- the same rules as SqliteLedger and RunLedger.

Each example is a fresh ledger (its own name) in one real database; the database clock is
replaced by the machine's, as for the other stores."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import rule, run_state_machine_as_test

sys.path.insert(0, str(Path(__file__).parent.parent / "ledger"))
from test_claim_machine import KEYS, RUNS, ClaimMachine

from hero_async.bulk import LedgerEntry, RunInfo, State
from hero_async.fleet import PostgresLedger, open_pool


class PostgresClaimMachine(ClaimMachine):
    url = ""  # set by the test below: a real database

    def __init__(self) -> None:
        super().__init__()
        self.pool = self._do(open_pool(self.url, max_size=2))
        self.name = uuid.uuid4().hex

    def _store(self, run: int) -> Any:
        if run not in self.stores:
            self.generation += 1
            store = PostgresLedger(self.pool, self.name, clock=lambda: self.now)
            self._do(store.begin(RunInfo(f"r{run}-{self.generation}", "h", 1, 0.0), None))
            self.stores[run] = store
        return self.stores[run]

    @rule(
        run=st.sampled_from(RUNS),
        key=st.sampled_from(KEYS),
        state=st.sampled_from(sorted(State.CLAIMS)),
    )
    def read_and_claim(self, run: int, key: str, state: str) -> None:
        """A fresh read, then a claim: the common way, so that the examples (each one costs
        database round trips) reach re-claims of rows already claimed, linked or failed."""
        self.read(run, key)
        self.claim_from_read(run, key, state)

    def teardown(self) -> None:
        self._do(self.pool.close())
        super().teardown()


def test_claim_machine_on_postgres(database_url: str) -> None:
    PostgresClaimMachine.url = database_url
    run_state_machine_as_test(
        PostgresClaimMachine,
        settings=settings(
            max_examples=60, stateful_step_count=20, deadline=None, derandomize=True, database=None
        ),
    )


async def test_the_three_rules_the_machine_found(database_url: str) -> None:
    """Named cases: no re-claim of one's own message claim, no link claim over a made link
    (linked, or failed after the link), and "linked" answers only a link claim."""
    pool = await open_pool(database_url, max_size=2)
    try:
        name = uuid.uuid4().hex
        a, b = PostgresLedger(pool, name), PostgresLedger(pool, name)
        await a.begin(RunInfo("run-a", "h", 1, 0.0), None)
        await b.begin(RunInfo("run-b", "h", 2, 0.0), None)
        link = LedgerEntry("k1", "1002", State.LINK_CLAIMED, step="link")
        epoch = await a.claim(link, expect_epoch=0)
        assert epoch is not None
        await a.settle(link._replace(state=State.LINKED, link_id="L"), epoch=epoch)
        for store in (a, b):  # nobody, not even the owner, makes a second link
            assert await store.claim(link, expect_epoch=epoch) is None
        message = LedgerEntry("k2", "1002", State.MESSAGE_CLAIMED, step="message", link_id="L")
        epoch = await a.claim(message, expect_epoch=0)
        assert epoch is not None
        assert await a.claim(message, expect_epoch=epoch) is None  # owner: no second message
        await a.settle(message._replace(state=State.LINKED), epoch=epoch)  # ignored
        row = await a.get("k2")
        assert row is not None
        assert row.state == State.MESSAGE_CLAIMED
        await a.settle(message._replace(state=State.FAILED), epoch=epoch)
        assert await b.claim(link._replace(key="k2"), expect_epoch=epoch) is None
        assert await b.claim(message, expect_epoch=epoch) == epoch + 1  # the message: yes
        # the owner's link -> message advance is still the one way on from a claim
        epoch = await a.claim(link._replace(key="k3"), expect_epoch=0)
        assert epoch is not None
        advance = message._replace(key="k3")
        assert await a.claim(advance, expect_epoch=epoch) == epoch + 1
    finally:
        await pool.close()
