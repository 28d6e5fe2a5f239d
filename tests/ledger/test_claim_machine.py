"""Hypothesis state machine of the claim store: any interleaving of reads, claims, answers,
sweeps, lease expiry and crashes by several runs never lets one key reach two POSTs of a
step (without the caller's from_unknown, which accepts a possible duplicate)."""

from __future__ import annotations

import asyncio
import collections

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from hero_async.bulk import LEASE_SECONDS, LedgerEntry, RunInfo, RunLedger, State
from hero_async.bulk._runledger import World

KEYS = ("k1", "k2")
RUNS = range(3)
STEP = {State.LINK_CLAIMED: "link", State.MESSAGE_CLAIMED: "message"}


class ClaimMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.now = 1_000.0
        self.world = World()
        self.stores: dict[int, RunLedger] = {}
        self.reads: dict[tuple[int, str], LedgerEntry | None] = {}
        self.held: dict[tuple[int, str], tuple[LedgerEntry, int]] = {}
        self.posts: collections.Counter[tuple[str, str]] = collections.Counter()
        self.generation = 0

    def _do(self, coro):  # type: ignore[no-untyped-def]
        return self.loop.run_until_complete(coro)

    def _store(self, run: int) -> RunLedger:
        if run not in self.stores:
            self.generation += 1
            store = RunLedger(self.world, clock=lambda: self.now)
            self._do(store.begin(RunInfo(f"r{run}-{self.generation}", "h", 1, 0.0), None))
            self.stores[run] = store
        return self.stores[run]

    @rule(run=st.sampled_from(RUNS), key=st.sampled_from(KEYS))
    def read(self, run: int, key: str) -> None:
        self.reads[(run, key)] = self._do(self._store(run).get(key))

    @rule(
        run=st.sampled_from(RUNS),
        key=st.sampled_from(KEYS),
        state=st.sampled_from(sorted(State.CLAIMS)),
    )
    def claim_from_read(self, run: int, key: str, state: str) -> None:
        """A run claims from what it last read (possibly stale), then its POST goes out."""
        if (run, key) not in self.reads:
            return
        read = self.reads[(run, key)]
        if read is not None and read.state == State.SENT:
            return
        epoch = read.epoch if read is not None else 0
        entry = LedgerEntry(key, "1002", state, step=STEP[state])
        won = self._do(self._store(run).claim(entry, expect_epoch=epoch))
        if won is not None:
            self.posts[(key, STEP[state])] += 1
            self.held[(run, key)] = (entry, won)

    @rule(run=st.sampled_from(RUNS), key=st.sampled_from(KEYS))
    def advance_to_message(self, run: int, key: str) -> None:
        held = self.held.get((run, key))
        if held is None or held[0].state != State.LINK_CLAIMED or run not in self.stores:
            return
        entry = held[0]._replace(state=State.MESSAGE_CLAIMED, step="message", link_id="L")
        won = self._do(self.stores[run].claim(entry, expect_epoch=held[1]))
        if won is not None:
            self.posts[(key, "message")] += 1
            self.held[(run, key)] = (entry, won)

    @rule(
        run=st.sampled_from(RUNS),
        key=st.sampled_from(KEYS),
        outcome=st.sampled_from([State.SENT, State.FAILED, State.UNKNOWN, State.LINKED]),
    )
    def answer(self, run: int, key: str, outcome: str) -> None:
        held = self.held.pop((run, key), None)
        if held is None or run not in self.stores:
            return
        entry, epoch = held
        if outcome == State.LINKED and entry.state == State.MESSAGE_CLAIMED:
            outcome = State.SENT  # a message claim is answered sent, failed or unknown
        if outcome == State.FAILED:  # Hero provably did not act: that POST did not count
            self.posts[(key, entry.step or "")] -= 1
        link = "L" if outcome in (State.SENT, State.LINKED) else entry.link_id
        answer = entry._replace(state=outcome, link_id=link)
        self._do(self.stores[run].settle(answer, epoch=epoch))

    @rule(run=st.sampled_from(RUNS))
    def crash(self, run: int) -> None:
        """The run dies silently (SIGKILL): its store is gone, its lease runs on."""
        self.stores.pop(run, None)

    @rule(run=st.sampled_from(RUNS))
    def end(self, run: int) -> None:
        store = self.stores.pop(run, None)
        if store is not None:
            self._do(store.end())

    @rule(seconds=st.sampled_from([1.0, LEASE_SECONDS + 1]))
    def time_passes(self, seconds: float) -> None:
        self.now += seconds

    @rule(run=st.sampled_from(RUNS))
    def renew_and_sweep(self, run: int) -> None:
        if run in self.stores:
            self._do(self.stores[run].renew())
            self._do(self.stores[run].sweep())

    @invariant()
    def never_two_posts_for_one_step(self) -> None:
        over = {k: n for k, n in self.posts.items() if n > 1}
        assert not over, over

    def teardown(self) -> None:
        self.loop.close()


ClaimMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
test_claim_machine = ClaimMachine.TestCase
