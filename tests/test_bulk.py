"""send_invitations against the sandbox FakeHero: accounting, no double sends, pre-flight,
validation, duplicates, concurrency and rate limits, bounded memory."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from bulk_support import (
    LINKS,
    MESSAGES,
    NETWORK,
    OUTSIDE,
    REGISTER,
    TOKEN,
    CountingLimiter,
    by_key,
    fake_process,
    invitation,
    key,
    links_created,
    messages_per_patient,
    nhs_number,
    sandbox,
    task_names,
)

import hero_async.bulk._pipeline as bulk
from hero_async import (
    ClientClosedError,
    HeroClient,
    Invitation,
    InvitationResult,
    LocalRateLimiter,
)
from hero_async.bulk import _spill
from hero_async.testing import (
    SANDBOX_API_KEY,
    SANDBOX_IDENTITY_CHECK_NHS,
    SANDBOX_NETWORK,
    SANDBOX_NOT_FOUND_NHS,
    FakeHero,
    Fault,
)

GROUPS = (*NETWORK, OUTSIDE)  # four network groups and one outside the network


# --- the main scenario ------------------------------------------------------------


def _add_chaos(fake: FakeHero) -> None:
    """429s (Retry-After 0), 503s and drops after processing on both creating POSTs, plus a
    group whose sends are throttled so hard that some exhaust their retries."""
    for path in (MESSAGES, LINKS):
        fake.add_fault(
            Fault(method="POST", path=path, status=429, retry_after=0, probability=0.1, times=None)
        )
        fake.add_fault(Fault(method="POST", path=path, status=503, probability=0.02, times=None))
        fake.add_fault(Fault(method="POST", path=path, drop="after", probability=0.02, times=None))
    fake.add_fault(
        Fault(
            method="POST",
            path=MESSAGES,
            practice_group_id="1005",
            status=429,
            retry_after=0,
            probability=0.5,
            times=None,
        )
    )


def _patient_keys(results: dict[str, InvitationResult]) -> dict[tuple[str, str | None], str]:
    """(practice group, patient id) -> key, checking no two keys share a patient."""
    traced = {k: r for k, r in results.items() if r.patient_id is not None}
    patient_key = {(r.practice_group_id, r.patient_id): k for k, r in traced.items()}
    assert len(patient_key) == len(traced)
    return patient_key


def _check_hero_matches_report(
    fake: FakeHero, results: dict[str, InvitationResult], *, at_most_once: bool = True
) -> None:
    """Every message Hero sent belongs to a sent, skipped or unknown key and carries its link,
    and (unless ``at_most_once`` is off) no patient got two messages or two links."""
    patient_key = _patient_keys(results)
    if at_most_once:
        assert max(messages_per_patient(fake).values(), default=0) <= 1
        assert max(links_created(fake).values(), default=0) <= 1
    for message in fake.messages:
        owner = results[patient_key[(message.practice_group_id, message.patient_id)]]
        assert owner.state in ("sent", "skipped", "outcome_unknown")
        assert message.short_link_id == owner.link_id
        assert owner.short_link is not None
        assert message.message_string == f"Please book your flu jab: {owner.short_link}"
    sent_ids = {m.message_id for m in fake.messages}
    for result in results.values():
        if result.state == "sent":
            assert result.message_id in sent_ids


async def test_two_thousand_invitations_with_faults_every_key_once_never_twice(
    tmp_path: Path,
) -> None:
    """2,000 invitations over 4 network groups + 1 outside, under 429s, 503s and drops after
    processing: every key is reported once, no patient gets two messages or two links, the
    outside group costs one request, drops are outcome_unknown; re-runs on the same ledger resume,
    then send nothing new, and retry_unknown resends only the unknown keys."""
    invitations = [invitation(i, GROUPS[i % len(GROUPS)]) for i in range(2000)]
    keys = {item.key for item in invitations}
    ledger = tmp_path / "flu.db"
    async with sandbox() as (fake, hero):
        _add_chaos(fake)
        with await hero.send_invitations(invitations, ledger=ledger) as report:
            first = by_key(report)
            assert report.total == sum(report.counts.values()) == 2000
        assert set(first) == keys
        _check_hero_matches_report(fake, first)

        # The group outside the network: one request in all, every invitation failed.
        outside = [r for r in first.values() if r.practice_group_id == OUTSIDE]
        assert len(outside) == 400
        assert {(r.state, r.step, r.error_type) for r in outside} == {
            ("failed", "preflight", "CrossOrganisationDeniedError")
        }
        assert fake.count(practice_group_id=OUTSIDE) == 1

        # A drop after processing is outcome_unknown: Hero acted, and it was never resent.
        dropped = [r for r in fake.requests if r.fault == "drop_after"]
        assert dropped
        patient_key = _patient_keys(first)
        for request in dropped:
            owner = first[patient_key[(request.practice_group_id, request.body["patient_id"])]]
            assert owner.state == "outcome_unknown"
            assert owner.step == ("message" if request.route == MESSAGES else "link")
        unknown = {k for k, r in first.items() if r.state == "outcome_unknown"}
        sent = {k for k, r in first.items() if r.state == "sent"}
        retry = {k for k, r in first.items() if r.state == "failed" and r.retryable}
        assert unknown
        assert sent
        assert retry  # 1005's throttled sends that ran out of retries
        # retryable = "a re-run tries it again": every failure here, even the pre-flight
        # denials (the re-run asks once more, below), but no outcome_unknown.
        assert retry == {k for k, r in first.items() if r.state == "failed"}
        assert not any(first[k].retryable for k in unknown)
        per_patient = messages_per_patient(fake)
        delivered_unknown = {
            k for k in unknown if per_patient[(first[k].practice_group_id, first[k].patient_id)]
        }
        assert delivered_unknown  # Hero sent these, the client never heard: not resent
        assert {first[k].step for k in delivered_unknown} == {"message"}
        assert len(fake.messages) == len(sent) + len(delivered_unknown)

        # Re-run, faults gone: sent keys skipped, unknown stay unknown, retryable ones now sent,
        # reusing the link the first run already made.
        fake.clear_faults()
        messages_before, links_before = len(fake.messages), len(links_created(fake))
        with await hero.send_invitations(invitations, ledger=ledger) as report:
            second = by_key(report)
        assert set(second) == keys
        assert {k for k, r in second.items() if r.state == "skipped"} == sent
        assert {k for k, r in second.items() if r.state == "outcome_unknown"} == unknown
        newly_sent = {k for k, r in second.items() if r.state == "sent"}
        failed_before = {
            k for k, r in first.items() if r.state == "failed" and r.practice_group_id != OUTSIDE
        }
        assert newly_sent == failed_before
        assert len(fake.messages) - messages_before == len(newly_sent)
        reused = [k for k in newly_sent if first[k].link_id is not None]
        assert reused or not failed_before  # 1005's 429s may all be retried away in-run
        for k in reused:
            assert second[k].link_id == first[k].link_id
        assert len(links_created(fake)) - links_before == len(newly_sent) - len(reused)
        _check_hero_matches_report(fake, second)
        assert fake.count(practice_group_id=OUTSIDE) == 2  # one pre-flight per run

        # Third run: nothing left to do, nothing sent.
        requests_before, messages_before = fake.count(), len(fake.messages)
        with await hero.send_invitations(invitations, ledger=ledger) as report:
            third = by_key(report)
        assert len(fake.messages) == messages_before
        assert fake.count() - requests_before == 1  # only the outside group's pre-flight
        assert {k for k, r in third.items() if r.state == "skipped"} == sent | newly_sent
        assert {k for k, r in third.items() if r.state == "outcome_unknown"} == unknown
        assert report.failed == 400

        # retry_unknown=True resends exactly the unknown keys, once each.
        messages_before = len(fake.messages)
        with await hero.send_invitations(invitations, ledger=ledger, retry_unknown=True) as rep:
            fourth = by_key(rep)
        assert {k for k, r in fourth.items() if r.state == "sent"} == unknown
        assert len(fake.messages) - messages_before == len(unknown)
        resent = collections.Counter(
            (m.practice_group_id, m.patient_id) for m in fake.messages[messages_before:]
        )
        assert set(resent) == {(first[k].practice_group_id, first[k].patient_id) for k in unknown}
        for k in unknown:
            if first[k].step == "message":  # the link was made: it is reused
                assert fourth[k].link_id == first[k].link_id
        _check_hero_matches_report(fake, fourth, at_most_once=False)


# --- validation and duplicates ------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "changes"),
    [
        ("nhs_number", {"nhs_number": "9434765918"}),  # wrong check digit
        ("patient_id", {"nhs_number": None}),  # neither patient_id nor nhs_number
        ("patient_id", {"patient_id": "p-1"}),
        ("message_template", {"message_template": "Please call us to book"}),
        ("recipient_contact_detail", {"recipient_contact_detail": "0800 123"}),
        ("dob", {"dob": "2099-01-01"}),
        ("appointment_type_id", {"appointment_type_id": "flu"}),
        ("location_id", {"location_id": ""}),
        ("message_type", {"message_type": "fax"}),
        ("maximum_use_count", {"maximum_use_count": 0}),
        ("to_date", {"from_date": "2026-10-02", "to_date": "2026-10-01"}),
        ("key", {"key": "line\nbreak"}),
        ("practice_group_id", {"practice_group_id": "10 03\n"}),
    ],
)
async def test_invalid_invitation_fails_naming_the_field_and_sends_nothing(
    field: str, changes: dict[str, object]
) -> None:
    """An invalid invitation is reported failed at 'validate' with the field named, costs no
    request, and the valid invitations around it are sent."""
    bad = invitation(99, "1003", **changes)
    good = [invitation(i, "1002") for i in range(3)]
    async with sandbox() as (fake, hero):
        with await hero.send_invitations([good[0], bad, *good[1:]]) as report:
            results = list(report.results())
        assert report.sent == 3
        assert report.failed == 1
        (failed,) = [r for r in results if r.state == "failed"]
        assert failed.key == bad.key
        assert failed.step == "validate"
        assert failed.error_type == "ValidationError"
        assert failed.error is not None
        assert failed.error.startswith(f"{field}:")
        assert not failed.retryable
        assert fake.count(practice_group_id="1003") == 0
        assert fake.count(path=REGISTER) == 3
        assert len(fake.messages) == 3
        if bad.nhs_number is not None:
            assert bad.nhs_number not in repr(results)  # errors never echo patient data


async def test_pds_outcomes_fail_at_register_without_a_link() -> None:
    """A patient who must verify their identity, or whom PDS cannot find, fails at 'register'
    and gets neither a booking link nor a message."""
    invitations = [
        invitation(0, nhs_number=SANDBOX_IDENTITY_CHECK_NHS),
        invitation(1, nhs_number=SANDBOX_NOT_FOUND_NHS),
        invitation(2),
    ]
    async with sandbox() as (fake, hero):
        with await hero.send_invitations(invitations) as report:
            results = by_key(report)
        assert results[key(0)].state == "failed"
        assert results[key(0)].step == "register"
        assert results[key(0)].error_type == "IdentityCheckRequired"
        assert results[key(1)].state == "failed"
        assert results[key(1)].step == "register"
        assert results[key(1)].error_type == "NotFoundError"
        assert results[key(2)].state == "sent"
        assert fake.count(path=LINKS) == 1
        assert len(fake.messages) == 1


async def test_duplicate_key_in_one_input_is_skipped_and_sent_once() -> None:
    """The same key twice in one input: the second is skipped as DuplicateKey, one message."""
    first = invitation(1, "1002")
    again = invitation(1, "1002", message_template="Second copy: {link}")
    async with sandbox() as (fake, hero):
        with await hero.send_invitations([first, again, invitation(2, "1002")]) as report:
            results = list(report.results())
        assert report.total == 3
        assert report.sent == 2
        assert report.skipped == 1
        (skipped,) = [r for r in results if r.state == "skipped"]
        assert skipped.key == key(1)
        assert skipped.error_type == "DuplicateKey"
        assert len(fake.messages) == 2
        assert max(messages_per_patient(fake).values()) == 1


@pytest.mark.parametrize("ledger", ["none", "none-on-disk", "sqlite"])
async def test_duplicate_key_after_the_first_finished_is_not_sent_again(
    ledger: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key repeated later in the input, after its first copy was already sent, is not sent
    again, with or without a ledger (README: without a ledger "duplicates are caught only
    within one run"); "none-on-disk": the in-run ledger has written the first copy's row to
    its spill (as past 8,192 keys), and the repeat is refused from there."""
    loaded: list[object] = []
    if ledger == "none-on-disk":  # every settled row written at once, each read recorded
        load = _spill._load
        monkeypatch.setattr(_spill, "_KEEP", 0)
        monkeypatch.setattr(_spill, "_BATCH", 1)
        monkeypatch.setattr(_spill, "_load", lambda blob: loaded.append(blob) or load(blob))
    done = asyncio.Event()

    def progress(result: InvitationResult) -> None:
        if result.key == key(0):
            done.set()

    async def source() -> AsyncIterator[Invitation]:
        for i in range(bulk.SHARD_SIZE):  # a full shard, so key 0 is dispatched at once
            yield invitation(i, "1002")
        await done.wait()  # key 0 has finished
        yield invitation(0, "1002")

    async with sandbox() as (fake, hero):
        store = tmp_path / "ledger.db" if ledger == "sqlite" else None
        with await hero.send_invitations(source(), ledger=store, on_progress=progress) as report:
            results = [r for r in report.results() if r.key == key(0)]
        assert [r.state for r in results] == ["sent", "skipped"]
        assert report.total == bulk.SHARD_SIZE + 1
        assert max(messages_per_patient(fake).values()) == 1
        assert len(fake.messages) == bulk.SHARD_SIZE
    assert len(loaded) == (ledger == "none-on-disk")  # the repeat was found on disk


async def test_inputs_may_be_a_generator_or_an_async_iterable() -> None:
    """A plain generator and an async generator are both consumed to the end."""

    def plain() -> Iterator[Invitation]:
        for i in range(5):
            yield invitation(i, "1002")

    async def stream() -> AsyncIterator[Invitation]:
        for i in range(5, 10):
            yield invitation(i, "1003")

    async with sandbox() as (fake, hero):
        with await hero.send_invitations(plain()) as first:
            assert first.sent == 5
        with await hero.send_invitations(stream()) as second:
            assert second.sent == 5
        assert len(fake.messages) == 10


async def test_something_other_than_an_invitation_is_a_type_error() -> None:
    """A non-Invitation item is a programming error: TypeError propagates, nothing is sent."""
    async with sandbox() as (fake, hero):
        with pytest.raises(TypeError, match="expected Invitation"):
            await hero.send_invitations([{"key": "k"}])  # type: ignore[list-item]
        assert fake.count() == 0


async def test_concurrency_below_one_is_refused() -> None:
    """concurrency=0 raises ValueError before any request."""
    async with sandbox() as (fake, hero):
        with pytest.raises(ValueError, match="concurrency"):
            await hero.send_invitations([invitation(0)], concurrency=0)
        assert fake.count() == 0


@pytest.mark.parametrize("value", ["false", 0, None])
async def test_retry_unknown_must_be_a_bool(value: object) -> None:
    """retry_unknown="false" is truthy: it would re-send keys whose outcome is unknown. Only
    True or False is taken, before any request and before the ledger is opened."""
    async with sandbox() as (fake, hero):
        with pytest.raises(TypeError, match="retry_unknown must be True or False"):
            await hero.send_invitations([invitation(0)], retry_unknown=value)  # type: ignore[arg-type]
        assert fake.count() == 0


# --- pre-flight: groups outside the network -----------------------------------------------


async def test_group_outside_network_fails_all_its_invitations_after_one_request() -> None:
    """Every invitation for a group outside the network fails with CrossOrganisationDeniedError,
    retryable (Hero provably did nothing, so a re-run tries again: once the group has joined
    the network it goes through), and the group costs one request in all."""
    invitations = [invitation(i, OUTSIDE) for i in range(250)]
    async with sandbox() as (fake, hero):
        with await hero.send_invitations(invitations, concurrency=20) as report:
            results = list(report.results())
        assert report.failed == 250
        assert {(r.step, r.error_type, r.retryable) for r in results} == {
            ("preflight", "CrossOrganisationDeniedError", True)
        }
        assert fake.count() == 1
        assert fake.count(method="POST", path=TOKEN, practice_group_id=OUTSIDE, status=403) == 1


@pytest.mark.parametrize("concurrency", [5, 8, 10])
async def test_each_group_outside_network_costs_exactly_one_request(concurrency: int) -> None:
    """With many groups outside the network, each still costs exactly one request: the
    pre-flight verdict must reach invitations that start just after the token fetch failed."""
    outside = [str(3000 + n) for n in range(20)]
    groups = (*NETWORK, *outside)
    invitations = [invitation(i, groups[i % len(groups)]) for i in range(20 * len(groups))]
    async with sandbox() as (fake, hero):
        for group in outside:
            fake.add_practice_group(group)
        with await hero.send_invitations(invitations, concurrency=concurrency) as report:
            assert report.sent == 20 * len(NETWORK)
            assert report.failed == 20 * len(outside)
        costs = {group: fake.count(practice_group_id=group) for group in outside}
        assert costs == dict.fromkeys(outside, 1)


async def test_group_leaving_network_mid_run_fails_fast() -> None:
    """When a group leaves the network mid-run, its remaining invitations fail fast with
    CrossOrganisationDeniedError: at most one 403 per invitation already in flight."""
    concurrency = 10
    invitations = [invitation(i, ("1002", "1003")[i % 2]) for i in range(600)]
    sent_1003 = 0

    def progress(result: InvitationResult) -> None:
        nonlocal sent_1003
        if result.practice_group_id == "1003" and result.state == "sent":
            sent_1003 += 1
            if sent_1003 == 40:
                fake.remove_from_network(SANDBOX_NETWORK, "1003")

    async with sandbox() as (fake, hero):
        with await hero.send_invitations(
            invitations, concurrency=concurrency, on_progress=progress
        ) as report:
            results = by_key(report)
        of_1003 = [r for r in results.values() if r.practice_group_id == "1003"]
        states = collections.Counter((r.state, r.error_type) for r in of_1003)
        assert states[("sent", None)] >= 40
        assert states[("failed", "CrossOrganisationDeniedError")] >= 200
        assert states[("sent", None)] + states[("failed", "CrossOrganisationDeniedError")] == 300
        assert fake.count(practice_group_id="1003", status=403) <= concurrency
        assert all(r.state == "sent" for r in results.values() if r.practice_group_id == "1002")


# --- concurrency and rate limits ----------------------------------------------------------


async def test_requests_in_flight_never_exceed_concurrency() -> None:
    """With every request held 2 ms by the fake, no more than ``concurrency`` are in flight."""
    invitations = [invitation(i, GROUPS[i % 4]) for i in range(120)]
    async with sandbox() as (fake, hero):
        fake.add_fault(Fault(latency=0.002, times=None))
        with await hero.send_invitations(invitations, concurrency=7) as report:
            assert report.sent == 120
        assert 2 <= fake.max_concurrent_requests <= 7


async def test_every_request_passes_the_clients_rate_gate() -> None:
    """A custom RateLimiter given to HeroClient sees one acquire() per request, retries and
    429 pauses included (Retry-After 0)."""
    limiter = CountingLimiter()
    invitations = [invitation(i, GROUPS[i % 4]) for i in range(40)]
    async with sandbox(rate_limiter=limiter) as (fake, hero):
        fake.add_fault(Fault(method="POST", path=MESSAGES, status=429, retry_after=0, times=5))
        with await hero.send_invitations(invitations, concurrency=5) as report:
            assert report.sent == 40
        assert limiter.acquired == fake.count()
        assert limiter.pauses == [0.0] * 5


class _VirtualTime:
    """A clock and a sleep for LocalRateLimiter: sleeping moves virtual time to the wake-up
    moment (never back), so spacing is checked without waiting."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.starts: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now = max(self.now, self.now + seconds)
        await asyncio.sleep(0)

    def limiter(self, rate: float | None) -> LocalRateLimiter:
        time = self

        class Recording(LocalRateLimiter):
            async def acquire(self) -> None:
                await super().acquire()
                time.starts.append(time.now)

        return Recording(rate, clock=self.clock, sleep=self.sleep)


async def test_bulk_rate_limit_spaces_every_step(monkeypatch: pytest.MonkeyPatch) -> None:
    """send_invitations(rate_limit=R) starts register, link and message steps at least 1/R
    apart (virtual time), one start per request."""
    virtual = _VirtualTime()
    monkeypatch.setattr(bulk, "LocalRateLimiter", virtual.limiter)
    rate = 20.0
    invitations = [invitation(i, GROUPS[i % 4]) for i in range(30)]
    async with sandbox() as (fake, hero):
        with await hero.send_invitations(invitations, concurrency=6, rate_limit=rate) as report:
            assert report.sent == 30
        steps = fake.count(path=REGISTER) + fake.count(path=LINKS) + fake.count(path=MESSAGES)
    starts = sorted(virtual.starts)
    assert len(starts) == steps == 90
    for n, start in enumerate(starts):
        assert start >= starts[0] + n / rate - 1e-9
    assert starts[-1] - starts[0] == pytest.approx((steps - 1) / rate)


async def test_bulk_rate_limit_also_gates_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """rate_limit is "requests per second" (CLI --rate-limit): a retried request is a request
    too, so every request of the steps passes the bulk rate gate."""
    virtual = _VirtualTime()
    monkeypatch.setattr(bulk, "LocalRateLimiter", virtual.limiter)
    invitations = [invitation(i, "1002") for i in range(10)]
    async with sandbox() as (fake, hero):
        fake.add_fault(Fault(method="POST", path=REGISTER, status=503, times=6))
        with await hero.send_invitations(invitations, concurrency=2, rate_limit=10.0) as report:
            assert report.sent == 10
        requests = fake.count() - fake.count(path=TOKEN)
    assert requests == 36  # 30 steps + 6 retried register_pds calls
    assert len(virtual.starts) == requests


# --- bounded memory -----------------------------------------------------------------------


async def test_long_generator_run_keeps_tasks_and_read_ahead_bounded() -> None:
    """20,000 invitations from a generator (200,000 would take minutes against one fake
    process: the client does ~1,500 invitations/s), concurrency 50: live tasks stay bounded
    (invitation tasks <= concurrency; aiohttp adds one writer task per request in flight) and
    the generator is read lazily, never more than a few shards ahead of finished results."""
    total, concurrency = 20_000, 50
    read = finished = ahead = peak_tasks = peak_invites = 0

    async with fake_process() as server:

        def source() -> Iterator[Invitation]:
            nonlocal read
            for i in range(total):
                read += 1
                yield Invitation(
                    key=f"mem-{i}",
                    practice_group_id="1002",
                    appointment_type_id="10",
                    location_id="20",
                    patient_id=server.patient_id,
                )

        def progress(result: InvitationResult) -> None:
            nonlocal finished, ahead, peak_tasks, peak_invites
            finished += 1
            ahead = max(ahead, read - finished)
            if finished % 50 == 0:
                tasks = asyncio.all_tasks()
                peak_tasks = max(peak_tasks, len(tasks))
                invites = sum(1 for t in tasks if t.get_coro().__qualname__ == "Job._worker")
                peak_invites = max(peak_invites, invites)

        async with HeroClient(SANDBOX_API_KEY, "1001", base_url=server.url) as hero:
            with await hero.send_invitations(
                source(), concurrency=concurrency, on_progress=progress
            ) as report:
                assert report.sent == total
    assert server.final == {"requests": 2 * total + 1, "messages": total}
    assert 0 < peak_invites <= concurrency
    assert peak_tasks <= 2 * concurrency + 5  # workers + aiohttp's writers + the producer
    # queued (2 x concurrency) + running + group buffers (flushed at 4 shards' worth)
    assert ahead <= 3 * concurrency + 4 * bulk.SHARD_SIZE


async def test_two_hundred_thousand_invitation_generator_keeps_live_tasks_bounded() -> None:
    """200,000 invitations from a generator through the whole pipeline (validation, shards,
    queue, workers, ledger, report): live tasks never exceed the worker pool plus a constant,
    the generator is read lazily, and every key is reported. The group is outside the network,
    so after its one pre-flight request the invitations finish fast and the test stays quick;
    the request-making path is covered at 20,000 above."""
    total, concurrency = 200_000, 50
    read = finished = ahead = peak_tasks = 0

    def source() -> Iterator[Invitation]:
        nonlocal read
        for i in range(total):
            read += 1
            yield invitation(i, OUTSIDE)

    def progress(result: InvitationResult) -> None:
        nonlocal finished, ahead, peak_tasks
        finished += 1
        ahead = max(ahead, read - finished)
        if finished % 1000 == 0:
            peak_tasks = max(peak_tasks, len(asyncio.all_tasks()))

    async with sandbox() as (fake, hero):
        with await hero.send_invitations(
            source(), concurrency=concurrency, on_progress=progress
        ) as report:
            assert report.total == report.failed == total
        assert fake.count(practice_group_id=OUTSIDE) == 1
    assert peak_tasks <= concurrency + 10  # workers + producer + the fake's own handlers
    assert ahead <= 3 * concurrency + 4 * bulk.SHARD_SIZE


# --- lifecycle ----------------------------------------------------------------------------


async def test_unopened_client_refuses_to_run() -> None:
    """send_invitations on a client outside ``async with`` raises ClientClosedError at once."""
    async with FakeHero(seed_sandbox=True) as fake:
        hero = HeroClient(SANDBOX_API_KEY, "1001", base_url=fake.url)
        with pytest.raises(ClientClosedError):
            await hero.send_invitations([invitation(0)])
        assert fake.count() == 0


def test_invitation_repr_hides_patient_data() -> None:
    """repr(Invitation) never shows the NHS number, dob or contact detail."""
    item = invitation(3, recipient_contact_detail="07700900461", dob="1957-03-14")
    text = repr(item)
    assert item.key in text
    for secret in (nhs_number(3), "07700900461", "1957-03-14"):
        assert secret not in text


class _StuckTokenStore:
    """A TokenStore whose lookups never return: holds a group's pre-flight open."""

    def __init__(self) -> None:
        self.asked = asyncio.Event()

    async def get(self, practice_group_id: str) -> None:
        self.asked.set()
        await asyncio.Event().wait()

    async def set(self, token: object) -> None:
        return None

    async def delete(self, practice_group_id: str) -> None:
        return None


async def test_cancelling_a_run_leaves_none_of_its_tasks_behind() -> None:
    """Cancelling send_invitations while a group's pre-flight is in progress cancels every
    task the job started (invitations, runners and the group's check alike)."""
    store = _StuckTokenStore()
    async with sandbox(token_store=store) as (fake, hero):
        run = asyncio.create_task(hero.send_invitations([invitation(i) for i in range(5)]))
        await store.asked.wait()
        run.cancel()
        with pytest.raises(asyncio.CancelledError):
            await run
        left = [name for name in task_names() if name.startswith("Job.")]
        for task in asyncio.all_tasks():  # leave nothing stuck for the loop's teardown
            if task is not asyncio.current_task() and "Job." in repr(task.get_coro()):
                task.cancel()
        assert left == []
        assert fake.messages == []
