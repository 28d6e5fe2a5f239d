"""Resuming bulk runs from a SQLite ledger: reuse what was obtained, never resend the unknown."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import sqlite3
from pathlib import Path

import pytest
from bulk_support import (
    LINKS,
    MESSAGES,
    REGISTER,
    by_key,
    instant_sleep,
    invitation,
    key,
    links_created,
    messages_per_patient,
    sandbox,
    task_names,
)

from hero_async import HeroClient, InvitationResult, LedgerEntry, SqliteLedger
from hero_async.testing import SANDBOX_API_KEY, FakeHero, Fault


def _client(fake: FakeHero) -> HeroClient:
    # The fake must be started first (its url is read here).
    return HeroClient(SANDBOX_API_KEY, "1001", base_url=fake.url, sleep=instant_sleep)


async def _entries(path: Path) -> dict[str, LedgerEntry]:
    ledger = SqliteLedger(path)
    try:
        return {entry.key: entry for entry in await ledger.entries()}
    finally:
        await ledger.close()


async def _put(path: Path, *entries: LedgerEntry) -> None:
    """Rows as a dead run left them (owner unknown, epoch 1), written with a plain client."""
    await SqliteLedger(path).close()  # creates the schema
    with contextlib.closing(sqlite3.connect(path)) as raw, raw:
        names = ", ".join(LedgerEntry._fields)
        marks = ", ".join("?" * len(LedgerEntry._fields))
        rows = [entry._replace(epoch=entry.epoch or 1) for entry in entries]
        raw.executemany(f"INSERT INTO invitations ({names}) VALUES ({marks})", rows)  # noqa: S608


@pytest.mark.parametrize(
    "fault",
    [
        Fault(method="POST", path=MESSAGES, status=422, times=1),
        Fault(method="POST", path=MESSAGES, status=400, times=1),
    ],
    ids=["422", "400"],
)
async def test_rerun_after_provably_unsent_message_reuses_the_same_link(
    fault: Fault, tmp_path: Path
) -> None:
    """A key whose link was made but whose message Hero provably did not act on is retried by
    the next run with the SAME link: no second POST /v1/booking_links, and the message carries
    that link's id and short link."""
    ledger = tmp_path / "ledger.db"
    item = invitation(1, "1002")
    async with sandbox() as (fake, hero):
        fake.add_fault(fault)
        with await hero.send_invitations([item], ledger=ledger) as report:
            (first,) = report.results()
        assert first.state == "failed"
        assert first.step == "message"
        assert first.link_id is not None
        assert fake.messages == []
        assert (await _entries(ledger))[item.key].state == "failed"

        with await hero.send_invitations([item], ledger=ledger) as report:
            (second,) = report.results()
        assert second.state == "sent"
        assert second.link_id == first.link_id
        assert second.short_link == first.short_link
        assert fake.count(method="POST", path=LINKS) == 1
        assert fake.count(method="POST", path=REGISTER) == 1  # patient id reused too
        (message,) = fake.messages
        assert message.short_link_id == first.link_id
        assert first.short_link is not None
        assert first.short_link in message.message_string
        assert (await _entries(ledger))[item.key].state == "sent"


async def test_rerun_after_failed_link_creates_it_and_sends(tmp_path: Path) -> None:
    """A link POST refused with 400 (Hero did not act) is simply tried again on the re-run."""
    ledger = tmp_path / "ledger.db"
    item = invitation(1, "1002")
    async with sandbox() as (fake, hero):
        fake.add_fault(Fault(method="POST", path=LINKS, status=400, times=1))
        with await hero.send_invitations([item], ledger=ledger) as report:
            (first,) = report.results()
        assert (first.state, first.step, first.error_type) == ("failed", "link", "BadRequestError")
        with await hero.send_invitations([item], ledger=ledger) as report:
            (second,) = report.results()
        assert second.state == "sent"
        assert len(fake.booking_links) == 1
        assert len(fake.messages) == 1


@pytest.mark.parametrize("state", ["message_claimed", "link_claimed"])
async def test_claimed_but_unresolved_row_is_outcome_unknown_and_not_sent(
    state: str, tmp_path: Path
) -> None:
    """A claim with no result (the process died mid-request) is reported outcome_unknown
    ('Interrupted') and nothing is sent; the ledger now says outcome_unknown."""
    ledger = tmp_path / "ledger.db"
    item = invitation(1, "1002")
    link = {"link_id": "5001", "short_link": "https://hero.test/l/x"} if "message" in state else {}
    await _put(ledger, LedgerEntry(item.key, "1002", state, patient_id="100001", **link))
    async with sandbox() as (fake, hero):
        with await hero.send_invitations([item], ledger=ledger) as report:
            (result,) = report.results()
        assert result.state == "outcome_unknown"
        assert result.error_type == "Interrupted"
        assert result.step == ("message" if state == "message_claimed" else "link")
        assert report.outcome_unknown == 1
        assert fake.count(path=LINKS) == fake.count(path=MESSAGES) == 0
        assert fake.count(path=REGISTER) == 0
        assert fake.messages == []
    stored = (await _entries(ledger))[item.key]
    assert stored.state == "outcome_unknown"
    assert stored.error_type == "Interrupted"


async def test_retry_unknown_resends_a_claimed_message_with_its_link(tmp_path: Path) -> None:
    """retry_unknown=True sends an interrupted message claim once, with the link it claimed."""
    ledger = tmp_path / "ledger.db"
    item = invitation(1, "1002")
    async with sandbox() as (fake, hero):
        view = hero.practice_group("1002")
        registered = await view.patients.register_pds(nhs_number=item.nhs_number, dob=item.dob)
        patient_id = registered.patient_id  # type: ignore[union-attr]
        link = await view.booking_links.create(
            appointment_type_id="10", location_id="20", patient_id=patient_id
        )
        await _put(
            ledger,
            LedgerEntry(
                item.key,
                "1002",
                "message_claimed",
                patient_id=patient_id,
                link_id=link.id,
                short_link=link.short_link,
            ),
        )
        with await hero.send_invitations([item], ledger=ledger) as report:
            assert report.outcome_unknown == 1
        assert fake.messages == []
        with await hero.send_invitations([item], ledger=ledger, retry_unknown=True) as report:
            (result,) = report.results()
        assert result.state == "sent"
        assert result.link_id == link.id
        (message,) = fake.messages
        assert message.short_link_id == link.id
        assert fake.count(method="POST", path=LINKS) == 1  # only the one made above
        with await hero.send_invitations([item], ledger=ledger, retry_unknown=True) as report:
            assert report.skipped == 1
        assert len(fake.messages) == 1


async def test_retry_unknown_after_unknown_link_makes_a_new_link(tmp_path: Path) -> None:
    """A link POST dropped after processing is outcome_unknown; retry_unknown=True accepts a
    possible second link and then sends one message."""
    ledger = tmp_path / "ledger.db"
    item = invitation(1, "1002")
    async with sandbox() as (fake, hero):
        fake.add_fault(Fault(method="POST", path=LINKS, drop="after", times=1))
        with await hero.send_invitations([item], ledger=ledger) as report:
            (first,) = report.results()
        assert (first.state, first.step) == ("outcome_unknown", "link")
        assert len(fake.booking_links) == 1  # Hero made it; we never heard
        with await hero.send_invitations([item], ledger=ledger) as report:
            assert report.outcome_unknown == 1
        assert len(fake.booking_links) == 1
        with await hero.send_invitations([item], ledger=ledger, retry_unknown=True) as report:
            (second,) = report.results()
        assert second.state == "sent"
        assert len(fake.booking_links) == 2
        assert len(fake.messages) == 1


async def test_key_reused_for_another_group_fails_and_keeps_the_ledger(tmp_path: Path) -> None:
    """A key the ledger knows for another practice group fails as KeyReused, sends nothing and
    leaves the ledger row alone."""
    ledger = tmp_path / "ledger.db"
    async with sandbox() as (fake, hero):
        with await hero.send_invitations([invitation(1, "1002")], ledger=ledger) as report:
            assert report.sent == 1
        with await hero.send_invitations([invitation(1, "1003")], ledger=ledger) as report:
            (result,) = report.results()
        assert (result.state, result.step, result.error_type) == ("failed", "ledger", "KeyReused")
        assert fake.count(practice_group_id="1003", path=MESSAGES) == 0
        assert len(fake.messages) == 1
    stored = (await _entries(ledger))[key(1)]
    assert (stored.practice_group_id, stored.state) == ("1002", "sent")


@pytest.mark.parametrize("first_outcome", ["sent", "failed"])
async def test_key_reused_for_another_patient_fails_and_never_messages_the_first(
    tmp_path: Path, first_outcome: str
) -> None:
    """A key the ledger knows for a different patient (e.g. a CSV edited between runs) fails
    as KeyReused: the stored patient, link and message are never reused for someone else."""
    ledger = tmp_path / "ledger.db"
    async with sandbox() as (fake, hero):
        if first_outcome == "failed":  # the message step refused: link kept for a re-run
            fake.add_fault(Fault(method="POST", path=MESSAGES, status=400, times=1))
        first = invitation(1, "1002")
        with await hero.send_invitations([first], ledger=ledger) as report:
            (result,) = report.results()
            assert result.state == first_outcome
        other_patient = invitation(2, "1002", key=first.key)
        with await hero.send_invitations([other_patient], ledger=ledger) as report:
            (result,) = report.results()
        assert (result.state, result.error_type) == ("failed", "KeyReused")
        assert len(fake.messages) == (1 if first_outcome == "sent" else 0)


async def test_many_unknown_keys_do_not_stop_a_rerun_skipping_sent_ones(tmp_path: Path) -> None:
    """Keys read back as outcome_unknown make no request, so they are no sign of trouble: a
    re-run with many of them still reports every sent key skipped, not CircuitOpen."""
    ledger = tmp_path / "ledger.db"
    unknown = [
        LedgerEntry(key(i), "1002", "outcome_unknown", step="message", error_type="X")
        for i in range(12)
    ]
    sent = [LedgerEntry(key(i), "1002", "sent", message_id=str(i)) for i in range(12, 24)]
    await _put(ledger, *unknown, *sent)
    invitations = [invitation(i, "1002") for i in range(30)]
    async with sandbox() as (fake, hero):
        with await hero.send_invitations(invitations, ledger=ledger, concurrency=1) as report:
            results = by_key(report)
        states = collections.Counter(r.state for r in results.values())
        assert states == {"outcome_unknown": 12, "skipped": 12, "sent": 6}
        assert len(fake.messages) == 6


async def test_cancelled_run_resumes_to_every_key_sent_once_or_unknown(tmp_path: Path) -> None:
    """A run cancelled mid-flight (after 100 sends, the moment a claim is committed), then
    resumed by a fresh client and fake process on the same ledger: every key ends sent once, or
    outcome_unknown exactly when the ledger held a claim at the cancel; no patient gets two
    messages; counts add up."""
    ledger = tmp_path / "ledger.db"
    invitations = [invitation(i, ("1002", "1003")[i % 2]) for i in range(300)]
    reported: list[InvitationResult] = []
    enough = asyncio.Event()

    def progress(result: InvitationResult) -> None:
        reported.append(result)
        if sum(r.state == "sent" for r in reported) >= 100:
            enough.set()

    claimed_now = asyncio.Event()

    class Watched(SqliteLedger):
        """Says when, after 100 sends, a claim is committed (its request is then in flight)."""

        async def claim(
            self, entry: LedgerEntry, *, expect_epoch: int, from_unknown: bool = False
        ) -> int | None:
            epoch = await super().claim(entry, expect_epoch=expect_epoch, from_unknown=from_unknown)
            if enough.is_set():
                claimed_now.set()
            return epoch

    watched = Watched(ledger)
    fake = FakeHero(seed_sandbox=True)
    async with fake, _client(fake) as hero:
        run = asyncio.create_task(
            hero.send_invitations(invitations, ledger=watched, concurrency=10, on_progress=progress)
        )
        await claimed_now.wait()
        run.cancel()
        with pytest.raises(asyncio.CancelledError):
            await run
        assert [name for name in task_names() if name.startswith("Job.")] == []
    await watched.close()
    # The fake has drained what reached it. Look at the ledger as the crash left it.
    at_cancel = await _entries(ledger)
    # The cancelled run ended its claims as outcome_unknown ("Interrupted") on the way out.
    claimed = {k for k, e in at_cancel.items() if e.error_type == "Interrupted"}
    assert all(at_cancel[k].state == "outcome_unknown" for k in claimed)
    sent_before = {k for k, e in at_cancel.items() if e.state == "sent"}
    assert claimed
    assert sent_before == {r.key for r in reported if r.state == "sent"}
    assert len(reported) < 300

    # The same world on a new port, and a new client: a restarted process.
    async with fake, _client(fake) as hero:
        with await hero.send_invitations(invitations, ledger=ledger) as report:
            results = by_key(report)
            assert report.total == sum(report.counts.values()) == 300
    assert set(results) == {item.key for item in invitations}
    assert {k for k, r in results.items() if r.state == "skipped"} == sent_before
    assert {k for k, r in results.items() if r.state == "outcome_unknown"} == claimed
    newly_sent = {k for k, r in results.items() if r.state == "sent"}
    assert newly_sent == set(results) - sent_before - claimed
    per_patient = messages_per_patient(fake)
    assert max(per_patient.values()) == 1
    assert max(links_created(fake).values()) == 1
    final = await _entries(ledger)
    for k in sent_before | newly_sent:
        assert final[k].state == "sent"
        assert per_patient[(final[k].practice_group_id, final[k].patient_id)] == 1
    assert len(fake.messages) <= len(sent_before) + len(newly_sent) + len(claimed)
