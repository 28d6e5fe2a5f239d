"""The claim-store contract: tests every ``Ledger`` implementation must pass.

Use it from a test module in this folder::

    from contract import *  # noqa: F403 - the contract's tests, collected here

    @pytest.fixture
    def open_store(tmp_path):
        async def open_(clock):  # a NEW store object on the SAME ledger each call
            return MyStore(..., clock=clock)
        return open_

Each call of ``open_store(clock)`` stands for another process on one ledger. ``clock`` gives
epoch seconds; the store must use it for leases (a database-clock store adds the offset
``clock() - time.time()`` to its clock in tests). Stores are closed by the tests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from hero_async.bulk import (
    LEASE_SECONDS,
    Campaign,
    ForeignLedgerError,
    Ledger,
    LedgerEntry,
    LedgerError,
    RunInfo,
    State,
)

__all__ = [
    "Clock",
    "OpenStore",
    "test_a_claimed_row_is_never_claimed_by_another_run",
    "test_a_late_answer_upgrades_its_own_swept_claim_but_cannot_advance_it",
    "test_a_link_is_claimed_only_while_the_row_has_none",
    "test_a_stale_read_cannot_claim",
    "test_campaign_adopted_then_a_different_one_refused",
    "test_claim_then_settle_is_durable_for_another_store",
    "test_concurrent_claims_exactly_one_wins",
    "test_counts_and_entries",
    "test_end_turns_held_claims_unknown_and_is_idempotent",
    "test_expired_lease_is_swept_and_a_renewed_one_is_not",
    "test_link_answer_and_message_claim_are_one_owned_write",
    "test_no_claim_without_a_live_run",
    "test_resolve_sent_and_not_sent",
    "test_settle_is_fenced_by_epoch",
    "test_unknown_is_claimed_only_with_from_unknown",
]


class Clock:
    """Epoch seconds that move only when a test says so."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


OpenStore = Callable[[Clock], Awaitable[Ledger]]


def _run(n: int = 0) -> RunInfo:
    return RunInfo(f"owner-{n}", "host-a", 10_000 + n, 1_800_000_000.0)


def _link(key: str = "k1", **fields: object) -> LedgerEntry:
    entry = LedgerEntry(key, "1002", State.LINK_CLAIMED, patient_id="p1", step="link")
    return entry._replace(**fields)


async def _begun(open_store: OpenStore, clock: Clock, n: int) -> Ledger:
    store = await open_store(clock)
    await store.begin(_run(n), None)
    return store


async def test_concurrent_claims_exactly_one_wins(open_store: OpenStore) -> None:
    clock = Clock()
    stores = [await _begun(open_store, clock, n) for n in range(4)]
    try:
        won = await asyncio.gather(*(s.claim(_link(), expect_epoch=0) for s in stores))
        assert sorted(won, key=str) == [1, None, None, None]
        owner = next(n for n, epoch in enumerate(won) if epoch == 1)
        row = await stores[0].get("k1")
        assert row is not None
        assert (row.state, row.epoch, row.owner) == (State.LINK_CLAIMED, 1, f"owner-{owner}")
    finally:
        for store in stores:
            await store.close()


async def test_claim_then_settle_is_durable_for_another_store(open_store: OpenStore) -> None:
    clock = Clock()
    a = await _begun(open_store, clock, 0)
    epoch = await a.claim(_link(), expect_epoch=0)
    assert epoch == 1
    b = await open_store(clock)
    try:
        seen = await b.get("k1")  # durable when claim() returned
        assert seen is not None
        assert seen.state == State.LINK_CLAIMED
        linked = _link(state=State.LINKED, link_id="L1", short_link="https://s/1", step=None)
        await a.settle(linked, epoch=1)
        await a.end()
        row = await b.get("k1")
        assert row == linked._replace(epoch=1, owner="owner-0")
    finally:
        await a.close()
        await b.close()


async def test_a_claimed_row_is_never_claimed_by_another_run(open_store: OpenStore) -> None:
    clock = Clock()
    a, b = await _begun(open_store, clock, 0), await _begun(open_store, clock, 1)
    try:
        assert await a.claim(_link(), expect_epoch=0) == 1
        # b read the claim (epoch 1) and tries to take it over: refused, with or without
        # from_unknown, for either step.
        assert await b.claim(_link(), expect_epoch=1) is None
        assert await b.claim(_link(), expect_epoch=1, from_unknown=True) is None
        message = _link(state=State.MESSAGE_CLAIMED, link_id="L1", short_link="s")
        assert await b.claim(message, expect_epoch=1) is None
        assert await b.sweep() == 0  # a's lease is live
        row = await b.get("k1")
        assert row is not None
        assert (row.state, row.owner) == (State.LINK_CLAIMED, "owner-0")
    finally:
        await a.close()
        await b.close()


async def test_a_stale_read_cannot_claim(open_store: OpenStore) -> None:
    """b read "failed, epoch 1, no link"; meanwhile a re-claimed and failed at the message
    step with a link: b's claim (expect_epoch=1) must lose, or it would make a second link."""
    clock = Clock()
    a, b = await _begun(open_store, clock, 0), await _begun(open_store, clock, 1)
    try:
        assert await a.claim(_link(), expect_epoch=0) == 1
        await a.settle(_link(state=State.FAILED, error_type="ServerError"), epoch=1)
        stale = await b.get("k1")
        assert stale is not None
        assert stale.epoch == 1
        assert await a.claim(_link(), expect_epoch=1) == 2
        message = _link(state=State.MESSAGE_CLAIMED, link_id="L1", short_link="s")
        assert await a.claim(message, expect_epoch=2) == 3
        await a.settle(message._replace(state=State.FAILED, step="message"), epoch=3)
        assert await b.claim(_link(), expect_epoch=stale.epoch) is None
        row = await b.get("k1")
        assert row is not None
        assert (row.state, row.link_id, row.epoch) == (State.FAILED, "L1", 3)
    finally:
        await a.close()
        await b.close()


async def test_a_link_is_claimed_only_while_the_row_has_none(open_store: OpenStore) -> None:
    """A link claim at the row's own epoch still loses while the run holds the link claim, or
    once the row has a link: either would POST a second booking link for the patient."""
    clock = Clock()
    a = await _begun(open_store, clock, 0)
    try:
        assert await a.claim(_link(), expect_epoch=0) == 1
        assert await a.claim(_link(), expect_epoch=1) is None  # held by this very run
        await a.settle(_link(state=State.LINKED, link_id="L1"), epoch=1)  # no short link
        assert await a.claim(_link(), expect_epoch=1) is None
        row = await a.get("k1")
        assert row is not None
        assert (row.state, row.link_id, row.epoch) == (State.LINKED, "L1", 1)
        message = _link(state=State.MESSAGE_CLAIMED, link_id="L1", short_link="s", step="message")
        assert await a.claim(message, expect_epoch=1) == 2  # the message claim goes on
    finally:
        await a.close()


async def test_link_answer_and_message_claim_are_one_owned_write(
    open_store: OpenStore,
) -> None:
    clock = Clock()
    a = await _begun(open_store, clock, 0)
    try:
        assert await a.claim(_link(), expect_epoch=0) == 1
        message = _link(state=State.MESSAGE_CLAIMED, link_id="L1", short_link="s", step="message")
        assert await a.claim(message, expect_epoch=1) == 2
        assert await a.claim(message, expect_epoch=1) is None  # the old epoch is spent
        sent = message._replace(state=State.SENT, message_id="M1", step=None)
        await a.settle(sent, epoch=2)
        await a.end()
        assert await a.get("k1") == sent._replace(epoch=2, owner="owner-0")
        # A final row is never claimed again.
        assert await a.claim(_link(), expect_epoch=2, from_unknown=True) is None
    finally:
        await a.close()


async def test_no_claim_without_a_live_run(open_store: OpenStore) -> None:
    # A claim owned by no run would look orphaned at once, and another run's sweep would
    # take it over while its POST may still be in flight: a patient texted twice.
    clock = Clock()
    idle, a = await open_store(clock), await _begun(open_store, clock, 0)
    try:
        assert await idle.claim(_link(), expect_epoch=0) is None
        assert await a.get("k1") is None
        await a.end()
        assert await a.claim(_link("k2"), expect_epoch=0) is None
        assert await idle.get("k2") is None
    finally:
        await idle.close()
        await a.close()


async def test_settle_is_fenced_by_epoch(open_store: OpenStore) -> None:
    clock = Clock()
    a, b = await _begun(open_store, clock, 0), await _begun(open_store, clock, 1)
    try:
        assert await a.claim(_link(), expect_epoch=0) == 1
        await b.settle(_link(state=State.FAILED), epoch=1)  # not b's claim: ignored
        await a.settle(_link(state=State.SENT, message_id="X"), epoch=7)  # wrong epoch
        await a.end()
        await b.end()
        row = await b.get("k1")
        assert row is not None
        assert row.message_id is None
        assert row.state == State.UNKNOWN  # a ended with its claim unanswered
    finally:
        await a.close()
        await b.close()


async def test_end_turns_held_claims_unknown_and_is_idempotent(open_store: OpenStore) -> None:
    clock = Clock()
    a = await _begun(open_store, clock, 0)
    try:
        assert await a.claim(_link(), expect_epoch=0) == 1
        await a.end()
        await a.end()
        row = await a.get("k1")
        assert row is not None
        assert (row.state, row.step, row.error_type, row.epoch) == (
            State.UNKNOWN,
            "link",
            "Interrupted",
            1,
        )
    finally:
        await a.close()


async def test_expired_lease_is_swept_and_a_renewed_one_is_not(open_store: OpenStore) -> None:
    clock = Clock()
    a, b = await _begun(open_store, clock, 0), await _begun(open_store, clock, 1)
    try:
        assert await a.claim(_link("k1"), expect_epoch=0) == 1
        clock.now += LEASE_SECONDS * 0.8
        await a.renew()
        clock.now += LEASE_SECONDS * 0.8  # 1.6 leases since begin, 0.8 since renew
        assert await b.sweep() == 0
        clock.now += LEASE_SECONDS * 0.4
        assert await b.sweep() == 1
        row = await b.get("k1")
        assert row is not None
        assert (row.state, row.error_type, row.epoch) == (State.UNKNOWN, "Interrupted", 1)
        assert await b.sweep() == 0
    finally:
        await a.close()
        await b.close()


async def test_a_late_answer_upgrades_its_own_swept_claim_but_cannot_advance_it(
    open_store: OpenStore,
) -> None:
    clock = Clock()
    a, b = await _begun(open_store, clock, 0), await _begun(open_store, clock, 1)
    try:
        assert await a.claim(_link("k1"), expect_epoch=0) == 1
        assert await a.claim(_link("k2"), expect_epoch=0) == 1
        clock.now += LEASE_SECONDS * 2  # a was paused: its lease ran out
        assert await b.sweep() == 2
        # k1: a's late link answer, and its message claim, must not go through.
        message = _link("k1", state=State.MESSAGE_CLAIMED, link_id="L1", short_link="s")
        assert await a.claim(message, expect_epoch=1) is None
        # k2: a's late "sent" is the truth: it upgrades its own unknown.
        sent = _link("k2", state=State.SENT, link_id="L2", message_id="M2")
        await a.settle(sent, epoch=1)
        await a.end()
        row = await b.get("k2")
        assert row is not None
        assert (row.state, row.message_id) == (State.SENT, "M2")
        # After someone else claims from unknown, a's answer for that key is ignored.
        assert await b.claim(_link("k1"), expect_epoch=1, from_unknown=True) == 2
        await a.settle(_link("k1", state=State.LINKED, link_id="ZOMBIE"), epoch=1)
        row = await b.get("k1")
        assert row is not None
        assert (row.state, row.owner, row.link_id) == (State.LINK_CLAIMED, "owner-1", None)
    finally:
        await a.close()
        await b.close()


async def test_unknown_is_claimed_only_with_from_unknown(open_store: OpenStore) -> None:
    clock = Clock()
    a = await _begun(open_store, clock, 0)
    try:
        assert await a.claim(_link(), expect_epoch=0) == 1
        await a.settle(_link(state=State.UNKNOWN, error_type="OutcomeUnknownError"), epoch=1)
        assert await a.claim(_link(), expect_epoch=1) is None
        assert await a.claim(_link(), expect_epoch=1, from_unknown=True) == 2
    finally:
        await a.close()


async def test_campaign_adopted_then_a_different_one_refused(open_store: OpenStore) -> None:
    clock = Clock()
    flu = Campaign.of("flu-2026", ["k1", "k2"])
    assert flu == Campaign.of("flu-2026", ["k2", "k1", "k2"])  # order and repeats: same
    a = await open_store(clock)
    try:
        assert await a.campaign() is None
        await a.begin(_run(0), flu)
        assert await a.campaign() == flu
        assert await a.claim(_link(), expect_epoch=0) == 1
        await a.end()
        for other in (Campaign.of("covid-2026", ["k1", "k2"]), Campaign.of("flu-2026", ["k3"])):
            with pytest.raises(ForeignLedgerError, match="flu-2026"):
                await a.begin(_run(1), other)
        await a.begin(_run(2), None)  # a caller that does not say: allowed
        await a.end()
        await a.begin(_run(3), flu)
        await a.end()
        assert await a.campaign() == flu
    finally:
        await a.close()


async def test_resolve_sent_and_not_sent(open_store: OpenStore) -> None:
    clock = Clock()
    a = await _begun(open_store, clock, 0)
    try:
        for key in ("k1", "k2", "k3"):
            assert await a.claim(_link(key), expect_epoch=0) == 1
        message = _link("k2", state=State.MESSAGE_CLAIMED, link_id="L2", short_link="s")
        assert await a.claim(message, expect_epoch=1) == 2
        await a.settle(_link("k3", state=State.LINKED, link_id="L3"), epoch=1)
        await a.end()
        done = await a.resolve("k1", "not-sent", "alice")
        assert (done.state, done.epoch, done.link_id) == (State.FAILED, 2, None)
        assert "alice" in (done.error or "")
        sent = await a.resolve("k2", "sent", "bob")
        assert (sent.state, sent.epoch, sent.link_id) == (State.SENT, 3, "L2")
        assert await a.get("k2") == sent
        for key in ("k2", "k3", "missing"):  # not outcome_unknown: refused
            with pytest.raises(LedgerError):
                await a.resolve(key, "sent", "carol")
    finally:
        await a.close()


async def test_counts_and_entries(open_store: OpenStore) -> None:
    clock = Clock()
    a = await _begun(open_store, clock, 0)
    try:
        assert await a.counts() == dict.fromkeys(State.ALL, 0)
        for key in ("c", "a", "b"):
            assert await a.claim(_link(key), expect_epoch=0) == 1
        await a.settle(_link("a", state=State.SENT, message_id="M"), epoch=1)
        await a.end()
        assert [e.key for e in await a.entries()] == ["a", "b", "c"]
        counts = await a.counts()
        assert (counts[State.SENT], counts[State.UNKNOWN], sum(counts.values())) == (1, 2, 3)
    finally:
        await a.close()
