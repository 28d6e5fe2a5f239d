"""The per-practice-group circuit breaker: unit rules on an injected clock, then in bulk runs."""

from __future__ import annotations

import collections
import functools
from pathlib import Path

import pytest
from bulk_support import (
    LINKS,
    MESSAGES,
    REGISTER,
    ManualClock,
    by_key,
    invitation,
    key,
    sandbox,
)

import hero_async.bulk._pipeline as bulk
from hero_async import InvitationResult
from hero_async import _constants as C
from hero_async.bulk._breaker import TROUBLE, CircuitBreaker
from hero_async.testing import Fault

G = "1002"


def _breaker(threshold: int = 3, cooldown: float = 10.0) -> tuple[CircuitBreaker, ManualClock]:
    clock = ManualClock()
    return CircuitBreaker(threshold=threshold, cooldown=cooldown, clock=clock), clock


def _trip(breaker: CircuitBreaker, times: int, group: str = G) -> None:
    for _ in range(times):
        assert breaker.allow(group)
        breaker.record(group, trouble=True)


# --- unit ---------------------------------------------------------------------------------


def test_defaults_come_from_constants() -> None:
    """A default breaker opens after BREAKER_THRESHOLD troubles, for BREAKER_COOLDOWN_SECONDS."""
    clock = ManualClock()
    breaker = CircuitBreaker(clock=clock)
    _trip(breaker, C.BREAKER_THRESHOLD - 1)
    assert not breaker.is_open(G)
    _trip(breaker, 1)
    assert breaker.is_open(G)
    clock.advance(C.BREAKER_COOLDOWN_SECONDS - 0.001)
    assert not breaker.allow(G)
    clock.advance(0.001)
    assert breaker.allow(G)


def test_opens_after_threshold_consecutive_troubles() -> None:
    """Closed below the threshold; the threshold-th consecutive trouble opens it."""
    breaker, _ = _breaker(threshold=3)
    _trip(breaker, 2)
    assert not breaker.is_open(G)
    assert breaker.allow(G)
    breaker.record(G, trouble=True)
    assert breaker.is_open(G)
    assert not breaker.allow(G)


def test_success_resets_the_count() -> None:
    """A success in between means the troubles were not consecutive."""
    breaker, _ = _breaker(threshold=3)
    _trip(breaker, 2)
    breaker.record(G, trouble=False)
    _trip(breaker, 2)
    assert not breaker.is_open(G)
    assert breaker.allow(G)


def test_neutral_results_neither_count_nor_reset() -> None:
    """trouble=None (a 404, a validation error) leaves the count as it was."""
    breaker, _ = _breaker(threshold=3)
    _trip(breaker, 2)
    breaker.record(G, trouble=None)
    assert not breaker.is_open(G)
    _trip(breaker, 1)
    assert breaker.is_open(G)


def test_cooldown_then_exactly_one_probe() -> None:
    """While cooling down nothing passes; after it, exactly one probe passes at a time."""
    breaker, clock = _breaker(threshold=2, cooldown=10.0)
    _trip(breaker, 2)
    clock.advance(9.999)
    assert not breaker.allow(G)
    clock.advance(0.001)
    assert breaker.allow(G)  # the probe
    assert not breaker.allow(G)
    assert not breaker.allow(G)
    assert breaker.is_open(G)


def test_successful_probe_closes() -> None:
    """A probe that succeeds closes the breaker: everything passes again."""
    breaker, clock = _breaker(threshold=2, cooldown=10.0)
    _trip(breaker, 2)
    clock.advance(10)
    assert breaker.allow(G)
    breaker.record(G, trouble=False)
    assert not breaker.is_open(G)
    assert all(breaker.allow(G) for _ in range(5))
    _trip(breaker, 1)
    assert not breaker.is_open(G)  # the count started again from zero


def test_failed_probe_reopens_for_another_cooldown() -> None:
    """A probe in trouble opens the breaker again for a full cooldown from now."""
    breaker, clock = _breaker(threshold=2, cooldown=10.0)
    _trip(breaker, 2)
    clock.advance(10)
    assert breaker.allow(G)
    breaker.record(G, trouble=True)
    assert not breaker.allow(G)
    clock.advance(9.9)
    assert not breaker.allow(G)
    clock.advance(0.1)
    assert breaker.allow(G)


def test_neutral_probe_lets_another_probe_through() -> None:
    """A probe that says nothing of Hero's health frees the probe slot without closing."""
    breaker, clock = _breaker(threshold=2, cooldown=10.0)
    _trip(breaker, 2)
    clock.advance(10)
    assert breaker.allow(G)
    breaker.record(G, trouble=None, probe=True)
    assert breaker.is_open(G)
    assert breaker.allow(G)
    assert not breaker.allow(G)


def test_neutral_result_of_another_invitation_keeps_the_probe_slot() -> None:
    """While the probe is in flight, a neutral result from an invitation that started before
    the breaker opened does not free the slot: still one probe at a time."""
    breaker, clock = _breaker(threshold=2, cooldown=10.0)
    _trip(breaker, 2)
    clock.advance(10)
    assert breaker.allow(G)  # the probe
    breaker.record(G, trouble=None)  # someone else's 404, not the probe's
    assert not breaker.allow(G)


def test_groups_are_independent() -> None:
    """One group's troubles never pause another group."""
    breaker, _ = _breaker(threshold=2)
    _trip(breaker, 2, group="1003")
    assert breaker.is_open("1003")
    assert not breaker.is_open(G)
    assert breaker.allow(G)


def test_trouble_means_the_groups_side_is_struggling() -> None:
    """5xx, transport failures, timeouts and unknown outcomes are troubles; 4xx and 429 not."""
    assert {"ServerError", "TransportError", "TimeoutError", "OutcomeUnknownError"} == TROUBLE
    assert "RateLimitError" not in TROUBLE
    assert "BadRequestError" not in TROUBLE


# --- in bulk runs -------------------------------------------------------------------------


def _use_breaker(monkeypatch: pytest.MonkeyPatch, clock: ManualClock) -> None:
    """Bulk jobs build CircuitBreaker() with defaults bound at import: inject the clock."""
    monkeypatch.setattr(bulk, "CircuitBreaker", functools.partial(CircuitBreaker, clock=clock))


async def test_group_failing_every_post_is_paused_others_all_sent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A group answering 503 to every POST: after BREAKER_THRESHOLD troubles its remaining
    invitations fail as CircuitOpen (retryable, no request); the other groups are all sent."""
    clock = ManualClock()
    _use_breaker(monkeypatch, clock)
    concurrency = 4
    invitations = [invitation(i, ("1002", "1003", "1004")[i % 3]) for i in range(300)]
    async with sandbox() as (fake, hero):
        fake.add_fault(Fault(method="POST", practice_group_id="1003", status=503, times=None))
        with await hero.send_invitations(invitations, concurrency=concurrency) as report:
            results = by_key(report)
        of_1003 = [r for r in results.values() if r.practice_group_id == "1003"]
        kinds = collections.Counter(r.error_type for r in of_1003)
        assert set(kinds) == {"ServerError", "CircuitOpen"}
        assert C.BREAKER_THRESHOLD <= kinds["ServerError"] < C.BREAKER_THRESHOLD + concurrency
        for result in of_1003:
            assert result.state == "failed"
            assert result.retryable
            if result.error_type == "CircuitOpen":
                assert result.step == "circuit"
        # Token: 1 + 3 retries; each tried register_pds: 1 + 3 retries; nothing after pausing.
        attempts = 1 + C.DEFAULT_MAX_RETRIES
        assert fake.count(practice_group_id="1003") == attempts * (1 + kinds["ServerError"])
        others = [r for r in results.values() if r.practice_group_id != "1003"]
        assert {r.state for r in others} == {"sent"}
        assert len(fake.messages) == 200


async def test_unknown_outcomes_open_the_breaker(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sends that end outcome_unknown (503 on the message POST) count as troubles."""
    _use_breaker(monkeypatch, ManualClock())
    invitations = [invitation(i, "1002") for i in range(20)]
    async with sandbox() as (fake, hero):
        fake.add_fault(Fault(method="POST", path=MESSAGES, status=503, times=None))
        with await hero.send_invitations(invitations, concurrency=1) as report:
            results = [r for r in report.results()]
        assert [r.state for r in results[: C.BREAKER_THRESHOLD]] == ["outcome_unknown"] * 5
        assert {r.error_type for r in results[C.BREAKER_THRESHOLD :]} == {"CircuitOpen"}
        assert fake.count(path=MESSAGES) == C.BREAKER_THRESHOLD
        assert fake.count(path=LINKS) == C.BREAKER_THRESHOLD


async def test_rate_limits_do_not_open_the_breaker(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sends failing on 429 after every retry are not troubles: nothing is paused."""
    _use_breaker(monkeypatch, ManualClock())
    invitations = [invitation(i, "1002") for i in range(8)]
    async with sandbox() as (fake, hero):
        fake.add_fault(Fault(method="POST", path=MESSAGES, status=429, retry_after=0, times=4 * 6))
        with await hero.send_invitations(invitations, concurrency=1) as report:
            kinds = collections.Counter(r.error_type for r in report.results())
        assert kinds == {"RateLimitError": 6, None: 2}


async def test_half_open_probe_success_closes_and_the_rest_are_sent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Within one run: five troubles open it, an invitation is paused, the cooldown passes,
    one probe succeeds and the breaker closes for every later invitation."""
    clock = ManualClock()
    _use_breaker(monkeypatch, clock)
    attempts = 4  # one try and three retries of the idempotent register_pds
    states: list[str | None] = []

    def progress(result: InvitationResult) -> None:
        states.append(result.error_type or result.state)
        if result.error_type == "CircuitOpen":
            clock.advance(C.BREAKER_COOLDOWN_SECONDS)

    invitations = [invitation(i, "1002") for i in range(10)]
    async with sandbox() as (fake, hero):
        fake.add_fault(
            Fault(
                method="POST",
                path=REGISTER,
                status=503,
                times=attempts * C.BREAKER_THRESHOLD,
            )
        )
        with await hero.send_invitations(
            invitations, concurrency=1, on_progress=progress
        ) as report:
            assert report.sent == 4
        assert states == ["ServerError"] * 5 + ["CircuitOpen"] + ["sent"] * 4
        assert len(fake.messages) == 4


async def test_paused_group_still_skips_keys_already_sent(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The breaker sits after the ledger read: while a group is paused, keys the ledger says
    were sent are reported skipped (not failed), and unknown ones stay outcome_unknown."""
    _use_breaker(monkeypatch, ManualClock())
    ledger = tmp_path / "ledger.db"
    done = [invitation(i, "1002") for i in range(10)]
    async with sandbox() as (fake, hero):
        fake.add_fault(Fault(method="POST", path=MESSAGES, drop="after", times=1))
        with await hero.send_invitations(done, ledger=ledger, concurrency=1) as report:
            assert (report.sent, report.outcome_unknown) == (9, 1)
        fake.add_fault(Fault(method="POST", practice_group_id="1002", status=503, times=None))
        fresh = [invitation(i, "1002") for i in range(10, 20)]
        with await hero.send_invitations([*fresh, *done], ledger=ledger, concurrency=1) as report:
            results = by_key(report)
        assert {results[item.key].state for item in done} == {"skipped", "outcome_unknown"}
        assert results[key(0)].state == "outcome_unknown"
        assert collections.Counter(results[item.key].error_type for item in fresh) == {
            "ServerError": C.BREAKER_THRESHOLD,
            "CircuitOpen": 10 - C.BREAKER_THRESHOLD,
        }
        assert len(fake.messages) == 10
