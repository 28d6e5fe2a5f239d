"""The circuit breaker per practice group: after repeated 5xx / timeouts from one group, stop
hammering it for a cool-down and wait its outage out (probing after each cool-down) while
the other groups go on; only past max_outage report its rest as failed-retryable."""

from __future__ import annotations

import asyncio
import functools
import random
from collections import Counter
from pathlib import Path

import pytest
from reliability_support import (
    API_KEY,
    CHAOS_TIMEOUT,
    GROUPS,
    HELD,
    HOME,
    InvitationSet,
    acquired_connections,
    check_invariants,
    keys_touched_by_faults,
    ledger_entries,
    nhs_numbers,
    template,
)

from hero_async import HeroClient, Invitation, InvitationResult, _constants
from hero_async.bulk import _pipeline as _bulk
from hero_async.bulk._breaker import CircuitBreaker
from hero_async.testing import FakeHero, Fault

SICK = "1003"
CONCURRENCY = 20


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        """Every wait of the job (backoff, parked invitations) moves this clock instead; to
        the sleep's deadline, so many tasks sleeping at once do not add their waits up."""
        start = self.now
        await asyncio.sleep(0)
        self.now = max(self.now, start + seconds)


# -- the state machine ------------------------------------------------------------------------


def test_breaker_opens_on_the_failure_rate_for_one_group_only() -> None:
    clock = Clock()
    breaker = CircuitBreaker(window=10, min_calls=4, failure_rate=0.5, cooldown=30, clock=clock)
    for trouble in (True, False, True, None, None):  # 404s say nothing of health
        assert breaker.allow("A")
        breaker.record("A", trouble=trouble)
    assert not breaker.is_open("A")  # 2 of 3 in trouble, but 3 calls are too few to judge
    breaker.record("A", trouble=True)
    assert breaker.is_open("A")
    assert not breaker.allow("A")
    assert breaker.allow("B")  # other groups are untouched


def test_scattered_troubles_among_many_successes_never_open() -> None:
    breaker = CircuitBreaker(clock=Clock())
    for n in range(1000):
        breaker.record("A", trouble=n % 5 == 0)  # 20 % of invitations in trouble
    assert not breaker.is_open("A")


def test_after_the_cooldown_one_probe_at_a_time_decides() -> None:
    clock = Clock()
    breaker = CircuitBreaker(window=4, min_calls=2, failure_rate=1.0, cooldown=30, clock=clock)
    breaker.record("A", trouble=True)
    breaker.record("A", trouble=True)
    clock.now += 29.9
    assert not breaker.allow("A")
    clock.now += 0.2
    assert breaker.allow("A")  # the probe
    assert not breaker.allow("A")  # nobody else while it runs
    breaker.record("A", trouble=True, probe=True)  # probe failed: open for a full cool-down
    assert not breaker.allow("A")
    clock.now += 30.1
    assert breaker.allow("A")
    breaker.record("A", trouble=False, probe=True)  # probe succeeded: closed
    assert not breaker.is_open("A")
    assert all(breaker.allow("A") for _ in range(5))


# -- in a bulk job ----------------------------------------------------------------------------


def sick_heavy_rows(sick: int, healthy: int) -> InvitationSet:
    """``sick`` rows for group 1003 and ``healthy`` rows for each other group, interleaved."""
    numbers = nhs_numbers(700_000_000)
    rows: list[Invitation] = []
    nhs_by_key: dict[str, str] = {}
    others = [g for g in GROUPS if g != SICK]
    plan = [SICK] * sick + [g for g in others for _ in range(healthy)]
    random.Random(f"breaker:{sick}:{healthy}").shuffle(plan)
    for n, group in enumerate(plan):
        key = f"breaker/{n:05d}"
        number = next(numbers)
        nhs_by_key[key] = number
        rows.append(
            Invitation(
                key=key,
                practice_group_id=group,
                nhs_number=number,
                dob="1975-05-05",
                appointment_type_id="10",
                location_id="20",
                message_template=template(key),
            )
        )
    return InvitationSet(rows, nhs_by_key, Counter(valid=len(rows)))


async def instant(_: float) -> None:
    await asyncio.sleep(0)


@pytest.mark.parametrize("trouble", ["503", "timeout"])
async def test_a_failing_group_is_paused_its_rest_reported_retryable_and_others_go_on(
    network: FakeHero, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, trouble: str
) -> None:
    clock = Clock()
    monkeypatch.setattr(_bulk, "CircuitBreaker", functools.partial(CircuitBreaker, clock=clock))
    max_outage = 2.5 * _constants.BREAKER_COOLDOWN_SECONDS  # about two probes, then give up
    if trouble == "503":  # every request of the sick group answers 503 (register is retried)
        network.add_fault(Fault(status=503, practice_group_id=SICK, times=None))
    else:  # the sick group's link creation never answers (held for an hour)
        network.add_fault(
            Fault(method="POST", path="/v1/booking_links", practice_group_id=SICK,
                  latency=HELD, times=None)
        )  # fmt: skip
    rows = sick_heavy_rows(sick=300, healthy=20)
    ledger = tmp_path / "breaker.db"
    # The timeout is far from every healthy answer (a loaded CPU once pushed one of them past
    # a 0.2 s limit); only the held answers reach it, however slow the machine.
    async with HeroClient(
        API_KEY,
        HOME,
        base_url=network.url,
        sleep=clock.sleep,
        monotonic=clock,
        timeout=CHAOS_TIMEOUT,
    ) as hero:
        with await hero.send_invitations(
            rows.invitations, concurrency=CONCURRENCY, ledger=ledger, max_outage=max_outage
        ) as report:
            results = list(report.results())
        assert acquired_connections(hero) == 0

    by_group: dict[str, list[str]] = {}
    for result in results:
        by_group.setdefault(result.practice_group_id, []).append(result.state)
    for group in GROUPS:
        if group != SICK:
            assert set(by_group[group]) == {"sent"}, group
    sick = [r for r in results if r.practice_group_id == SICK]
    paused = [r for r in sick if r.error_type == "CircuitOpen"]
    assert len(paused) >= 250  # most of the group was never tried
    assert all(r.state == "failed" and r.retryable and r.step == "circuit" for r in paused)
    assert clock.now - 1000.0 >= max_outage  # waited out first, failed only after
    assert {r.state for r in sick} <= {"failed", "outcome_unknown"}

    # Not hammered: at most what was in flight when it opened, with each one's retries.
    attempts = _constants.DEFAULT_MAX_RETRIES + 1
    bound = (CONCURRENCY + _constants.BREAKER_MIN_CALLS + 1) * attempts * 2
    sick_requests = network.practice_group_counts().get(SICK, 0)
    assert sick_requests <= bound, f"{sick_requests} requests to a failing group"

    # The group recovers; the same job again sends what was paused, and nothing twice.
    network.clear_faults()
    async with HeroClient(API_KEY, HOME, base_url=network.url, sleep=instant) as hero:
        with await hero.send_invitations(rows.invitations, ledger=ledger) as again:
            final = list(again.results())
    resent = {r.key: r.state for r in final}
    assert all(resent[r.key] == "sent" for r in paused)
    check_invariants(rows, final, ledger_entries(ledger), network)


async def test_the_group_is_probed_again_after_the_cooldown(
    network: FakeHero, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A group that recovers while its invitations are parked is probed after the cool-down,
    closes, and every parked invitation is sent in the same run: no CircuitOpen at all. The
    breaker's clock is injected and the job's waits move it: no real timer decides."""
    clock = Clock()
    monkeypatch.setattr(_bulk, "CircuitBreaker", functools.partial(CircuitBreaker, clock=clock))
    outage = network.add_fault(Fault(status=500, practice_group_id=SICK, times=None))
    rows = sick_heavy_rows(sick=200, healthy=0)
    failed: list[str] = []

    def recover(result: InvitationResult) -> None:
        if result.error_type == "ServerError":
            failed.append(result.key)
        if len(failed) >= _constants.BREAKER_MIN_CALLS and outage.active:
            outage.remove()  # the practice's system comes back while the group is paused

    ledger = tmp_path / "probe.db"
    async with HeroClient(
        API_KEY, HOME, base_url=network.url, sleep=clock.sleep, monotonic=clock
    ) as hero:
        with await hero.send_invitations(
            rows.invitations, concurrency=CONCURRENCY, ledger=ledger, on_progress=recover
        ) as report:
            results = list(report.results())
    states = Counter(r.error_type or r.state for r in results)
    assert "CircuitOpen" not in states
    assert states["sent"] == 200 - len(failed)
    assert len(failed) < _constants.BREAKER_MIN_CALLS + CONCURRENCY  # only those in flight
    assert clock.now - 1000.0 >= _constants.BREAKER_COOLDOWN_SECONDS  # it did wait
    check_invariants(rows, results, ledger_entries(ledger), network)


async def test_mixed_faults_over_a_thousand_keys_every_untouched_key_is_sent(
    network: FakeHero, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """1,000 keys over ten groups: one group down for a while (its breaker opens, its
    invitations wait), scattered dropped links and messages and 429s elsewhere. With the
    default max_outage nothing ends CircuitOpen, and every key no fault touched is sent: the
    fake's request log names the key of every faulted request, and the set of keys that no
    fault touched yet did not end ``sent`` is empty."""
    clock = Clock()
    monkeypatch.setattr(_bulk, "CircuitBreaker", functools.partial(CircuitBreaker, clock=clock))
    attempts = _constants.DEFAULT_MAX_RETRIES + 1
    down = network.add_fault(
        Fault(method="POST", status=503, practice_group_id=SICK, times=attempts * 20)
    )
    drops = network.add_fault(
        Fault(method="POST", path="/v1/messages/send", drop="after", probability=0.01, times=8)
    )
    lost_links = network.add_fault(
        Fault(method="POST", path="/v1/booking_links", drop="before", probability=0.01, times=8)
    )
    network.add_fault(Fault(method="POST", status=429, retry_after=0, probability=0.05, times=60))
    rows = sick_heavy_rows(sick=100, healthy=100)
    ledger = tmp_path / "mixed.db"
    async with HeroClient(
        API_KEY, HOME, base_url=network.url, sleep=clock.sleep, monotonic=clock
    ) as hero:
        with await hero.send_invitations(
            rows.invitations, concurrency=CONCURRENCY, ledger=ledger
        ) as report:
            results = list(report.results())
    assert len(results) == len({r.key for r in results}) == 1000
    states = Counter(r.error_type or r.state for r in results)
    assert "CircuitOpen" not in states
    assert down.hits > 0  # every kind of fault really fired
    assert drops.hits > 0
    assert lost_links.hits > 0
    touched, unattributed = keys_touched_by_faults(rows, network)
    # Only requests that carry no invitation (the group's token) may name no key: a key
    # whose invitation failed because of one of those counts as untouched, as it should.
    assert {route for _, route, _ in unattributed} <= {"/v1/access_token"}, unattributed
    assert len(touched) <= down.hits + drops.hits + lost_links.hits
    untouched_not_sent = {r.key: r.error_type or r.state for r in results if r.state != "sent"}
    untouched_not_sent = {k: v for k, v in untouched_not_sent.items() if k not in touched}
    assert untouched_not_sent == {}
    check_invariants(rows, results, ledger_entries(ledger), network)
