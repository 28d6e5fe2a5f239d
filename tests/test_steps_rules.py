"""The rules of one invitation's steps (bulk/_steps.py), each told by what Hero saw, the report
and the ledger file: what an unreadable answer means at each step, a link answer without its
short link, a claim lost to another run, a run stopped mid-POST, and what the rows record.

Hero is the sandbox FakeHero (its request log says what was sent). Where Hero's answer itself
must be odd (a create answer without ``short_link``, an unreadable 5xx), the job gets a view
of the fake that changes that one answer: ``bulk.send_invitations`` takes any ``ViewFor``.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from bulk_support import (
    LINKS,
    MESSAGES,
    OUTSIDE,
    REGISTER,
    TOKEN,
    invitation,
    key,
    nhs_number,
    sandbox,
)

from hero_async import (
    HeroClient,
    InvitationResult,
    LedgerEntry,
    MalformedResponseError,
    RateLimiter,
    SqliteLedger,
)
from hero_async import _constants as C
from hero_async import bulk as bulk_api
from hero_async.bulk import RunInfo, RunLedger, State
from hero_async.resources import Requester
from hero_async.testing import SANDBOX_IDENTITY_CHECK_NHS, FakeHero, Fault

GROUP = "1002"
LINK = f"{LINKS}/{{id}}"  # GET one booking link

Edit = Callable[[str, str, Any], Any]


class _View:
    """A practice group's view of the fake, with one thing changed: ``edit`` rewrites an
    answer, ``unreadable`` answers (method, path) with an unreadable body of that status
    (Hero never sees the request), ``hold`` parks a request for ever before it is sent."""

    def __init__(
        self,
        view: Requester,
        *,
        edit: Edit | None = None,
        unreadable: tuple[str, str, int] | None = None,
        hold: tuple[str, str] | None = None,
        held: asyncio.Event | None = None,
    ) -> None:
        self._view, self._edit, self._unreadable = view, edit, unreadable
        self._hold, self._held = hold, held

    @property
    def practice_group_id(self) -> str:
        return self._view.practice_group_id

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Any = None,
        idempotent: bool | None = None,
    ) -> Any:
        if self._hold == (method, path) and self._held is not None:
            self._held.set()
            await asyncio.Event().wait()
        if self._unreadable is not None and self._unreadable[:2] == (method, path):
            raise MalformedResponseError("answer is not JSON", status=self._unreadable[2], body="<")
        answer = await self._view.request(
            method, path, json=json, params=params, idempotent=idempotent
        )
        return answer if self._edit is None else self._edit(method, path, answer)

    async def access_token(self) -> Any:
        return await self._view.access_token()

    async def mint_access_token(self) -> Any:
        return await self._view.mint_access_token()


async def _run(
    hero: HeroClient, ledger: Any, *items: Any, retry_unknown: bool = False, **change: Any
) -> list[InvitationResult]:
    """One job over ``items`` through views of ``hero`` changed by ``change`` (see _View)."""

    def view_for(group: str, cap: RateLimiter | None) -> Requester:
        return _View(hero.practice_group(group), **change)

    report = await bulk_api.send_invitations(
        view_for, list(items), ledger=ledger, retry_unknown=retry_unknown
    )
    with report:
        return list(report.results())


async def _rows(path: Path) -> dict[str, LedgerEntry]:
    ledger = SqliteLedger(path)
    try:
        return {entry.key: entry for entry in await ledger.entries()}
    finally:
        await ledger.close()


def _sent_to_hero(fake: FakeHero) -> list[tuple[str, str]]:
    """Every request but token fetches, as (method, route), in order."""
    return [(r.method, r.route) for r in fake.requests if r.route != TOKEN]


def _strip_short_link(*routes: str) -> Edit:
    """Hero's create answer's shape is UNVERIFIED: an answer without ``short_link``."""

    def edit(method: str, path: str, answer: Any) -> Any:
        asked = (path == LINKS and LINKS in routes) or (method == "GET" and LINK in routes)
        if asked and path.startswith(LINKS):
            return {k: v for k, v in answer.items() if k != "short_link"}
        return answer

    return edit


# --- the usual path ---------------------------------------------------------------------


async def test_a_sent_invitation_costs_three_requests_and_leaves_a_clean_sent_row(
    tmp_path: Path,
) -> None:
    """Register, link, message: one request each (a link answer with its short link is not
    asked for again), the message carries that link, and the row says sent with every id."""
    path = tmp_path / "l.db"
    async with sandbox() as (fake, hero):
        (result,) = await _run(hero, path, invitation(1))
        assert _sent_to_hero(fake) == [("POST", REGISTER), ("POST", LINKS), ("POST", MESSAGES)]
        (message,) = fake.messages
    assert (result.state, result.step, result.error_type, result.error) == (
        "sent",
        None,
        None,
        None,
    )
    assert message.short_link_id == result.link_id
    assert result.short_link is not None
    assert result.short_link in message.message_string
    assert message.message_id == result.message_id
    row = (await _rows(path))[key(1)]
    assert (row.state, row.step, row.error_type, row.error) == ("sent", None, None, None)
    assert (row.patient_id, row.link_id, row.short_link, row.message_id) == (
        result.patient_id,
        result.link_id,
        result.short_link,
        result.message_id,
    )


async def test_a_failure_retried_by_the_next_run_ends_in_a_clean_sent_row(tmp_path: Path) -> None:
    """The failed row keeps the step and Hero's error; the re-run that sends it leaves no
    trace of that error in the row (a claim starts clean)."""
    path = tmp_path / "l.db"
    async with sandbox() as (fake, hero):
        fake.add_fault(Fault(method="POST", path=MESSAGES, status=400, times=1))
        (first,) = await _run(hero, path, invitation(1))
        failed = (await _rows(path))[key(1)]
        (second,) = await _run(hero, path, invitation(1))
    assert (first.state, first.step, first.error_type, first.retryable) == (
        "failed",
        "message",
        "BadRequestError",
        True,
    )
    assert first.error is not None
    assert f"400 BadRequestError on POST {MESSAGES}" in first.error
    assert (failed.state, failed.step, failed.error_type, failed.error) == (
        "failed",
        "message",
        "BadRequestError",
        first.error,
    )
    assert second.state == "sent"
    row = (await _rows(path))[key(1)]
    assert (row.state, row.step, row.error_type, row.error) == ("sent", None, None, None)


# --- unreadable answers -----------------------------------------------------------------


async def test_an_unreadable_registration_answer_fails_retryable_and_writes_nothing(
    tmp_path: Path,
) -> None:
    """Registering creates nothing a re-run could duplicate: an unreadable answer fails the
    invitation (retryable), sends no link, and the ledger gets no row; the re-run sends it."""
    path = tmp_path / "l.db"
    async with sandbox() as (fake, hero):
        fake.add_fault(Fault(method="POST", path=REGISTER, malformed_json=True, times=1))
        (first,) = await _run(hero, path, invitation(1))
        assert fake.count(path=LINKS) == 0
        assert key(1) not in await _rows(path)
        (second,) = await _run(hero, path, invitation(1))
    assert (first.state, first.step, first.error_type, first.retryable) == (
        "failed",
        "register",
        "MalformedResponseError",
        True,
    )
    assert first.error is not None
    assert "not JSON (status 200" in first.error
    assert second.state == "sent"


@pytest.mark.parametrize(("step", "path"), [("link", LINKS), ("message", MESSAGES)])
async def test_an_unreadable_answer_to_a_creating_post_is_unknown_and_never_resent(
    step: str, path: str, tmp_path: Path
) -> None:
    """Hero answered 200 to the link or message POST but the body is unreadable: Hero
    acted, so the invitation is outcome_unknown (not retryable), the row records why, and
    the next run sends nothing for it."""
    ledger = tmp_path / "l.db"
    async with sandbox() as (fake, hero):
        fake.add_fault(Fault(method="POST", path=path, malformed_json=True, times=1))
        (first,) = await _run(hero, ledger, invitation(1))
        before = fake.count()
        (second,) = await _run(hero, ledger, invitation(1))
        assert fake.count() == before
        assert fake.count(method="POST", path=path) == 1
        assert len(fake.messages) == (1 if step == "message" else 0)
    assert (first.state, first.step, first.error_type, first.retryable) == (
        "outcome_unknown",
        step,
        "MalformedResponseError",
        False,
    )
    assert first.error is not None
    assert "not JSON (status 200" in first.error
    row = (await _rows(ledger))[key(1)]
    assert (row.state, row.step, row.error_type, row.error) == (
        "outcome_unknown",
        step,
        "MalformedResponseError",
        first.error,
    )
    assert (second.state, second.step, second.error_type) == (
        "outcome_unknown",
        step,
        "MalformedResponseError",
    )


@pytest.mark.parametrize(
    "fault",
    [Fault(status=503), Fault(drop="after"), Fault(drop="before")],
    ids=["503", "drop-after", "drop-before"],
)
@pytest.mark.parametrize(("step", "path"), [("link", LINKS), ("message", MESSAGES)])
async def test_a_creating_post_without_an_answer_is_sent_once_and_unknown(
    fault: Fault, step: str, path: str, tmp_path: Path
) -> None:
    """A 503 or no answer at all to the link or message POST: it may have reached Hero, so
    it goes out once (never retried), the invitation is outcome_unknown, the row records
    the error, and neither this run nor the next sends it again."""
    ledger = tmp_path / "l.db"
    async with sandbox() as (fake, hero):
        fake.add_fault(Fault(method="POST", path=path, status=fault.status, drop=fault.drop))
        (first,) = await _run(hero, ledger, invitation(1))
        (second,) = await _run(hero, ledger, invitation(1))
        assert fake.count(method="POST", path=path) == 1
    assert (first.state, first.step, first.error_type, first.retryable) == (
        "outcome_unknown",
        step,
        "OutcomeUnknownError",
        False,
    )
    assert first.error is not None
    assert f"POST {path} for practice group {GROUP} may have reached Hero" in first.error
    row = (await _rows(ledger))[key(1)]
    assert (row.state, row.step, row.error_type, row.error) == (
        "outcome_unknown",
        step,
        "OutcomeUnknownError",
        first.error,
    )
    assert (second.state, second.step) == ("outcome_unknown", step)


@pytest.mark.parametrize(
    ("status", "state"),
    [
        (200, "outcome_unknown"),
        (299, "outcome_unknown"),
        (300, "failed"),
        (499, "failed"),
        (500, "outcome_unknown"),
        (503, "outcome_unknown"),
    ],
)
async def test_an_unreadable_link_answer_means_hero_acted_for_2xx_and_5xx_only(
    status: int, state: str, tmp_path: Path
) -> None:
    """An answer to the link POST that cannot be read: a 2xx or 5xx means Hero made (or may
    have made) the link, outcome_unknown; any other status means it did not, failed and
    tried again by the next run."""
    ledger = tmp_path / "l.db"
    async with sandbox() as (fake, hero):
        (first,) = await _run(hero, ledger, invitation(1), unreadable=("POST", LINKS, status))
        (second,) = await _run(hero, ledger, invitation(1))
        links = fake.count(method="POST", path=LINKS)
    assert (first.state, first.step, first.error_type) == (state, "link", "MalformedResponseError")
    assert first.retryable is (state == "failed")
    assert (await _rows(ledger))[key(1)].state in ("sent", "outcome_unknown")
    if state == "failed":
        assert (second.state, links) == ("sent", 1)
    else:
        assert (second.state, links) == ("outcome_unknown", 0)


async def test_an_answer_without_the_link_id_is_unknown(tmp_path: Path) -> None:
    """A 200 to the link POST that carries no id: Hero made a link we cannot name, so the
    invitation is outcome_unknown at the link step and no message is sent."""

    def no_id(method: str, path: str, answer: Any) -> Any:
        return {"short_link": "https://x"} if path == LINKS else answer

    async with sandbox() as (fake, hero):
        (result,) = await _run(hero, tmp_path / "l.db", invitation(1), edit=no_id)
        assert fake.count(method="POST", path=LINKS) == 1
        assert fake.messages == []
    assert (result.state, result.step, result.error_type) == (
        "outcome_unknown",
        "link",
        "MalformedResponseError",
    )


# --- a link answer without its short link ----------------------------------------------


async def test_a_link_answer_without_short_link_is_asked_for_again(tmp_path: Path) -> None:
    """The create answer lacks ``short_link``: the link is read back (GET) and the message
    carries the short link Hero gave there."""
    path = tmp_path / "l.db"
    async with sandbox() as (fake, hero):
        (result,) = await _run(hero, path, invitation(1), edit=_strip_short_link(LINKS))
        assert _sent_to_hero(fake) == [
            ("POST", REGISTER),
            ("POST", LINKS),
            ("GET", LINK),
            ("POST", MESSAGES),
        ]
        (message,) = fake.messages
    assert result.state == "sent"
    assert result.short_link is not None
    assert result.short_link in message.message_string
    assert message.short_link_id == result.link_id
    row = (await _rows(path))[key(1)]
    assert (row.state, row.link_id, row.short_link) == ("sent", result.link_id, result.short_link)


async def test_a_link_hero_never_gives_a_short_link_for_is_kept_for_the_next_run(
    tmp_path: Path,
) -> None:
    """Neither the create answer nor the read-back has a short link: failed (retryable) at
    the link step, nothing messaged, and the row keeps the link as made, so the next run
    reads it back again instead of making a second link."""
    path = tmp_path / "l.db"
    async with sandbox() as (fake, hero):
        strip = _strip_short_link(LINKS, LINK)
        (first,) = await _run(hero, path, invitation(1), edit=strip)
        assert fake.messages == []
        row = (await _rows(path))[key(1)]
        (second,) = await _run(hero, path, invitation(1))
        assert fake.count(method="POST", path=LINKS) == 1
        assert fake.count(method="GET", path=LINK) == 2
        (message,) = fake.messages
    assert (first.state, first.step, first.error_type, first.retryable) == (
        "failed",
        "link",
        "MissingShortLink",
        True,
    )
    assert first.error == "Hero returned the link without a short_link"
    assert first.link_id is not None
    assert (row.state, row.link_id, row.short_link) == ("linked", first.link_id, None)
    assert (second.state, second.link_id) == ("sent", first.link_id)
    assert message.short_link_id == first.link_id


@pytest.mark.parametrize(
    ("fault", "error_type"),
    [
        (Fault(method="GET", path=LINK, status=404), "NotFoundError"),
        (Fault(method="GET", path=LINK, malformed_json=True), "MalformedResponseError"),
    ],
    ids=["404", "unreadable"],
)
async def test_a_failed_read_back_of_the_link_fails_at_the_link_step_and_keeps_it(
    fault: Fault, error_type: str, tmp_path: Path
) -> None:
    """The read-back itself is refused (404) or unreadable (a GET creates nothing): failed
    at the link step, retryable; the row still holds the link for the next run."""
    path = tmp_path / "l.db"
    async with sandbox() as (fake, hero):
        fake.add_fault(fault)
        (result,) = await _run(hero, path, invitation(1), edit=_strip_short_link(LINKS))
        assert fake.messages == []
    assert (result.state, result.step, result.error_type, result.retryable) == (
        "failed",
        "link",
        error_type,
        True,
    )
    row = (await _rows(path))[key(1)]
    assert (row.state, row.link_id) == ("linked", result.link_id)


# --- a claim lost to another run --------------------------------------------------------


class _Raced(SqliteLedger):
    """Another run of the job gets to the key first: ``meddle`` runs just before this
    run's first claim, after this run read the row."""

    def __init__(self, path: Path, meddle: Callable[[], Awaitable[None]]) -> None:
        super().__init__(path)
        self._meddle: Callable[[], Awaitable[None]] | None = meddle

    async def claim(
        self, entry: LedgerEntry, *, expect_epoch: int, from_unknown: bool = False
    ) -> int | None:
        meddle, self._meddle = self._meddle, None
        if meddle is not None:
            await meddle()
        return await super().claim(entry, expect_epoch=expect_epoch, from_unknown=from_unknown)


_THEIRS = LedgerEntry(
    key(1),
    GROUP,
    State.LINK_CLAIMED,
    patient_id="p-theirs",
    link_id="l-theirs",
    short_link="https://hero.test/l/theirs",
    step="link",
)
_ENDED = {
    "sent": _THEIRS._replace(state=State.SENT, message_id="m-theirs", step=None),
    "failed": _THEIRS._replace(
        state=State.FAILED, step="message", error_type="BadRequestError", error="theirs: 400"
    ),
    "outcome_unknown": _THEIRS._replace(
        state=State.UNKNOWN, step="message", error_type="OutcomeUnknownError", error="theirs"
    ),
}


@pytest.mark.parametrize("theirs", ["claimed", "sent", "failed", "outcome_unknown"])
async def test_a_claim_lost_to_another_run_sends_nothing_and_reports_that_runs_outcome(
    theirs: str, tmp_path: Path
) -> None:
    """Another run claims the key between this run's read and its claim: this run's claim
    loses, it sends nothing, and reports what the other run made of the key -- still sending
    it (skipped, ClaimedElsewhere), sent (skipped, its ids), failed (failed, retryable, its
    error) or outcome_unknown (not retryable)."""
    path = tmp_path / "l.db"
    other = SqliteLedger(path)

    async def meddle() -> None:
        await other.begin(RunInfo.here(), None)
        epoch = await other.claim(_THEIRS, expect_epoch=0)
        assert epoch == 1
        if theirs != "claimed":
            await other.settle(_ENDED[theirs], epoch=epoch)
            await other.end()  # its answer is durable

    try:
        async with sandbox() as (fake, hero):
            (result,) = await _run(hero, _Raced(path, meddle), invitation(1))
            assert fake.count(path=LINKS) == fake.count(path=MESSAGES) == 0
    finally:
        await other.close()
    if theirs == "claimed":  # what this run knew: its own registration, no link
        assert (result.state, result.error_type, result.link_id) == (
            "skipped",
            "ClaimedElsewhere",
            None,
        )
        assert result.error == "another run is sending this key now"
        assert result.patient_id not in (None, "p-theirs")
        return
    ended = _ENDED[theirs]
    expected = {"sent": "skipped", "failed": "failed", "outcome_unknown": "outcome_unknown"}
    assert result.state == expected[theirs]
    assert (result.link_id, result.message_id) == (ended.link_id, ended.message_id)
    assert result.retryable is (theirs == "failed")
    if theirs != "sent":
        assert (result.step, result.error_type, result.error) == (
            ended.step,
            ended.error_type,
            ended.error,
        )


class _Refusing(RunLedger):
    """A store that refuses every claim and holds no row for it (e.g. cleared by hand)."""

    async def claim(
        self, entry: LedgerEntry, *, expect_epoch: int, from_unknown: bool = False
    ) -> int | None:
        return None


async def test_a_claim_refused_for_a_key_without_a_row_is_skipped_as_claimed_elsewhere() -> None:
    async with sandbox() as (fake, hero):
        (result,) = await _run(hero, _Refusing(), invitation(1))
        assert fake.count(path=LINKS) == 0
    assert (result.state, result.error_type) == ("skipped", "ClaimedElsewhere")


# --- a run stopped mid-POST -------------------------------------------------------------


@pytest.mark.parametrize(("step", "path"), [("link", LINKS), ("message", MESSAGES)])
async def test_a_run_stopped_while_a_post_is_in_flight_leaves_it_unknown_at_its_step(
    step: str, path: str, tmp_path: Path
) -> None:
    """The claim, committed before the POST, names its step; cancelled while the link or
    message POST may be on its way, the row is outcome_unknown ("Interrupted") at that
    step, and a re-run does not send it again."""
    ledger = tmp_path / "l.db"
    held = asyncio.Event()
    async with sandbox() as (fake, hero):
        job = asyncio.create_task(_run(hero, ledger, invitation(1), hold=("POST", path), held=held))
        await held.wait()
        claimed = (await _rows(ledger))[key(1)]  # committed before the POST went
        job.cancel()
        with pytest.raises(asyncio.CancelledError):
            await job
        row = (await _rows(ledger))[key(1)]
        (again,) = await _run(hero, ledger, invitation(1))
        assert fake.count(method="POST", path=path) == 0
    assert (claimed.state, claimed.step) == (f"{step}_claimed", step)
    assert (row.state, row.step, row.error_type) == ("outcome_unknown", step, "Interrupted")
    assert (again.state, again.step) == ("outcome_unknown", step)


# --- what the ledger row says before anything is sent -----------------------------------


async def _put(path: Path, entry: LedgerEntry) -> None:
    """A row as an older version of the SDK left it (no fingerprint), written directly."""
    await SqliteLedger(path).close()  # creates the schema
    with contextlib.closing(sqlite3.connect(path)) as raw, raw:
        names = ", ".join(LedgerEntry._fields)
        marks = ", ".join("?" * len(LedgerEntry._fields))
        raw.execute(f"INSERT INTO invitations ({names}) VALUES ({marks})", entry)  # noqa: S608


async def test_a_key_another_live_run_holds_is_skipped_without_a_request(tmp_path: Path) -> None:
    """The row is claimed by another run that is still alive: this run skips the key
    (ClaimedElsewhere) and sends nothing for it, not even the registration."""
    path = tmp_path / "l.db"
    other = SqliteLedger(path)
    await other.begin(RunInfo.here(), None)
    assert await other.claim(_THEIRS, expect_epoch=0) == 1
    try:
        async with sandbox() as (fake, hero):
            with await hero.send_invitations([invitation(1)], ledger=path) as report:
                (result,) = report.results()
            assert fake.count(path=REGISTER) == fake.count(path=LINKS) == 0
    finally:
        await other.close()
    assert (result.state, result.error_type, result.error) == (
        "skipped",
        "ClaimedElsewhere",
        "another run is sending this key now",
    )


async def test_key_reused_says_what_the_ledger_has_the_key_for(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    async with sandbox() as (fake, hero):
        with await hero.send_invitations([invitation(1)], ledger=path) as report:
            assert report.sent == 1
        other_group = invitation(1, "1003")
        other_patient = invitation(2, key=key(1))
        with await hero.send_invitations([other_group], ledger=path) as report:
            (by_group,) = report.results()
        with await hero.send_invitations([other_patient], ledger=path) as report:
            (by_patient,) = report.results()
        assert len(fake.messages) == 1
    assert (by_group.key, by_group.practice_group_id) == (key(1), "1003")
    assert (by_patient.key, by_patient.practice_group_id) == (key(1), GROUP)
    for result in (by_group, by_patient):
        assert (result.state, result.step, result.error_type) == ("failed", "ledger", "KeyReused")
    assert by_group.error == f"the ledger has this key for practice group {GROUP}"
    assert by_patient.error == (
        "the ledger has this key for a different patient: give each invitation its own key"
    )


async def test_a_retried_key_records_the_input_it_was_sent_with(tmp_path: Path) -> None:
    """The message step failed; the re-run sends it with an edited template and records
    that input: a third run with the same edit says nothing changed, and the key still
    belongs to its patient (another patient under it is KeyReused)."""
    path = tmp_path / "l.db"
    edited = invitation(1, message_template="New words: {link}")
    async with sandbox() as (fake, hero):
        fake.add_fault(Fault(method="POST", path=MESSAGES, status=400, times=1))
        with await hero.send_invitations([invitation(1)], ledger=path) as report:
            assert report.failed == 1
        with await hero.send_invitations([edited], ledger=path) as report:
            assert report.sent == 1
        with await hero.send_invitations([edited], ledger=path) as report:
            (again,) = report.results()
        with await hero.send_invitations([invitation(2, key=key(1))], ledger=path) as report:
            (reused,) = report.results()
        (message,) = fake.messages
    assert message.message_string.startswith("New words: ")
    assert (again.state, again.error_type) == ("skipped", None)
    assert (reused.state, reused.error_type) == ("failed", "KeyReused")


async def test_an_older_row_without_a_fingerprint_is_sent_to_the_invitations_patient(
    tmp_path: Path,
) -> None:
    """A row written before fingerprints, holding another patient id and no link: trusted
    as this key's progress, but the link and message go to the patient the invitation
    names."""
    path = tmp_path / "l.db"
    await _put(
        path,
        LedgerEntry(
            key(1), GROUP, State.FAILED, patient_id="p-old", step="link", error_type="X", epoch=1
        ),
    )
    async with sandbox() as (fake, hero):
        patient = fake.add_patient(GROUP, nhs_number=nhs_number(5), mobile="07700900123")
        item = invitation(1, patient_id=patient, nhs_number=None, dob=None)
        with await hero.send_invitations([item], ledger=path) as report:
            (result,) = report.results()
        (message,) = fake.messages
        (link,) = [r for r in fake.requests if r.method == "POST" and r.route == LINKS]
    assert (result.state, result.patient_id) == ("sent", patient)
    assert link.body["patient_id"] == message.patient_id == patient
    assert fake.count(path=REGISTER) == 0


# --- why an invitation failed before any request ----------------------------------------


async def test_preflight_and_circuit_failures_say_why() -> None:
    """A group outside the network fails with the token fetch's 403; a group whose breaker
    opened fails, once max_outage has passed, as CircuitOpen saying so."""
    n = C.BREAKER_MIN_CALLS
    flaky = [invitation(i, GROUP) for i in range(n + 2)]
    async with sandbox() as (fake, hero):
        fake.add_fault(Fault(method="POST", path=MESSAGES, status=503, times=None))
        outside = invitation(99, OUTSIDE)
        run = hero.send_invitations([outside, *flaky], concurrency=1, max_outage=0)
        with await run as report:
            results = list(report.results())
    denied = next(r for r in results if r.practice_group_id == OUTSIDE)
    assert (denied.state, denied.step, denied.error_type) == (
        "failed",
        "preflight",
        "CrossOrganisationDeniedError",
    )
    assert denied.error is not None
    assert denied.error.startswith(f"403 CrossOrganisationDeniedError on POST {TOKEN}")
    circuit = [r for r in results if r.error_type == "CircuitOpen"]
    assert len(circuit) == 2
    for result in circuit:
        assert (result.state, result.step, result.retryable) == ("failed", "circuit", True)
        assert result.error == (
            "this practice group kept failing for longer than max_outage; not sent"
        )


async def test_a_patient_who_must_verify_their_identity_is_told_so(tmp_path: Path) -> None:
    async with sandbox() as (fake, hero):
        item = invitation(1, nhs_number=SANDBOX_IDENTITY_CHECK_NHS)
        with await hero.send_invitations([item], ledger=tmp_path / "l.db") as report:
            (result,) = report.results()
        assert fake.count(path=LINKS) == 0
    assert (result.state, result.step, result.error_type, result.retryable) == (
        "failed",
        "register",
        "IdentityCheckRequired",
        True,
    )
    assert result.error == "the patient must verify their identity with Hero first"
