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
from hero_async.bulk._breaker import TROUBLE, Admission, CircuitBreaker
from hero_async.testing import Fault

G = "1002"


def _breaker(
    min_calls: int = 4, window: int = 10, rate: float = 0.5, cooldown: float = 10.0
) -> tuple[CircuitBreaker, ManualClock]:
    clock = ManualClock()
    breaker = CircuitBreaker(
        window=window, min_calls=min_calls, failure_rate=rate, cooldown=cooldown, clock=clock
    )
    return breaker, clock


def _record(breaker: CircuitBreaker, outcomes: str, group: str = G) -> None:
    """``outcomes``: T for trouble, o for fine, - for neutral, one invitation each."""
    for outcome in outcomes:
        assert breaker.allow(group)
        breaker.record(group, trouble={"T": True, "o": False, "-": None}[outcome])


def _trip(breaker: CircuitBreaker, times: int, group: str = G) -> None:
    _record(breaker, "T" * times, group)


# --- unit ---------------------------------------------------------------------------------


def test_defaults_come_from_constants() -> None:
    """A default breaker needs BREAKER_MIN_CALLS outcomes, opens at BREAKER_FAILURE_RATE of
    them, for BREAKER_COOLDOWN_SECONDS."""
    clock = ManualClock()
    breaker = CircuitBreaker(clock=clock)
    _trip(breaker, C.BREAKER_MIN_CALLS - 1)
    assert not breaker.is_open(G)  # every one failed, but too few to judge
    _trip(breaker, 1)
    assert breaker.is_open(G)
    clock.advance(C.BREAKER_COOLDOWN_SECONDS - 0.001)
    assert not breaker.allow(G)
    clock.advance(0.001)
    assert breaker.allow(G)


def test_default_breaker_keeps_a_group_with_some_flaky_requests_open() -> None:
    """The issue's case: 10 % drops and 5 % 503s on a group's POSTs. With 15 % of invitations
    in trouble (clustered, as concurrent failures are) the group keeps flowing."""
    breaker = CircuitBreaker(clock=ManualClock())
    burst = "TTTTTTTT" + "o" * 45  # 8 troubles in a row, 15 % of the window
    _record(breaker, burst * 20)
    assert not breaker.is_open(G)


def test_opens_once_the_failure_rate_over_the_window_is_reached() -> None:
    breaker, _ = _breaker(min_calls=4, window=10, rate=0.5)
    _record(breaker, "oTooooTToT")  # never half of those so far; 4 of the last 10
    assert not breaker.is_open(G)
    _record(breaker, "T")  # the window slides: 5 troubles of the last 10
    assert breaker.is_open(G)
    assert not breaker.allow(G)


def test_consecutive_troubles_below_the_minimum_do_not_open() -> None:
    """Three in a row among the first calls is not a rate yet."""
    breaker, _ = _breaker(min_calls=4)
    _trip(breaker, 3)
    assert not breaker.is_open(G)
    _trip(breaker, 1)
    assert breaker.is_open(G)


def test_old_outcomes_slide_out_of_the_window() -> None:
    breaker, _ = _breaker(min_calls=4, window=4, rate=0.75)
    _record(breaker, "TTo")  # 2 troubles of 3: below the minimum
    _record(breaker, "oo")  # window now T o o o... the first T slid out
    _record(breaker, "TT")  # o o T T: 2 of 4 < 0.75
    assert not breaker.is_open(G)
    _record(breaker, "T")  # o T T T: 3 of 4
    assert breaker.is_open(G)


def test_neutral_results_neither_count_nor_dilute() -> None:
    """trouble=None (a 404, a validation error) is not an outcome of Hero's health."""
    breaker, _ = _breaker(min_calls=4)
    _record(breaker, "TT----TT")
    assert breaker.is_open(G)


def test_cooldown_then_exactly_one_probe() -> None:
    """While cooling down nothing passes; after it, exactly one probe passes at a time."""
    breaker, clock = _breaker(cooldown=10.0)
    _trip(breaker, 4)
    assert breaker.retry_at(G) == clock() + 10.0
    clock.advance(9.999)
    assert not breaker.allow(G)
    clock.advance(0.001)
    assert breaker.allow(G) is Admission.PROBE
    assert not breaker.allow(G)
    assert breaker.is_open(G)


def test_successful_probe_closes_with_a_clean_window() -> None:
    breaker, clock = _breaker(cooldown=10.0)
    _trip(breaker, 4)
    clock.advance(10)
    assert breaker.allow(G) is Admission.PROBE
    breaker.record(G, trouble=False, probe=True)
    assert not breaker.is_open(G)
    assert breaker.retry_at(G) is None
    assert breaker.open_since(G) is None
    assert all(breaker.allow(G) is Admission.PASS for _ in range(5))
    _trip(breaker, 3)
    assert not breaker.is_open(G)  # the old troubles are forgotten


def test_failed_probe_reopens_for_another_cooldown_and_the_outage_goes_on() -> None:
    breaker, clock = _breaker(cooldown=10.0)
    _trip(breaker, 4)
    began = clock()
    clock.advance(10)
    assert breaker.allow(G) is Admission.PROBE
    breaker.record(G, trouble=True, probe=True)
    assert not breaker.allow(G)
    assert breaker.retry_at(G) == clock() + 10.0
    assert breaker.open_since(G) == began  # one outage, for a job's max_outage
    clock.advance(9.9)
    assert not breaker.allow(G)
    clock.advance(0.1)
    assert breaker.allow(G)


def test_results_of_invitations_in_flight_when_it_opened_change_nothing() -> None:
    """Twenty invitations were in flight when it opened: their troubles do not extend the
    cool-down, and their successes neither close it nor free the probe slot."""
    breaker, clock = _breaker(cooldown=10.0)
    _trip(breaker, 4)
    until = breaker.retry_at(G)
    clock.advance(5)
    breaker.record(G, trouble=True)
    breaker.record(G, trouble=False)
    assert breaker.retry_at(G) == until
    assert breaker.is_open(G)
    clock.advance(5)
    assert breaker.allow(G) is Admission.PROBE
    breaker.record(G, trouble=False)  # someone else's late success, not the probe's
    breaker.record(G, trouble=None)
    assert not breaker.allow(G)  # still one probe at a time


def test_neutral_probe_lets_another_probe_through() -> None:
    """A probe that says nothing of Hero's health frees the probe slot without closing."""
    breaker, clock = _breaker(cooldown=10.0)
    _trip(breaker, 4)
    clock.advance(10)
    assert breaker.allow(G)
    breaker.record(G, trouble=None, probe=True)
    assert breaker.is_open(G)
    assert breaker.allow(G)
    assert not breaker.allow(G)


def test_groups_are_independent() -> None:
    """One group's troubles never pause another group."""
    breaker, _ = _breaker()
    _trip(breaker, 4, group="1003")
    assert breaker.is_open("1003")
    assert not breaker.is_open(G)
    assert breaker.allow(G)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"min_calls": 0}, "min_calls"), ({"min_calls": 11, "window": 10}, "min_calls"),
     ({"failure_rate": 0.0}, "failure_rate"), ({"failure_rate": 1.5}, "failure_rate")],
)  # fmt: skip
def test_nonsense_settings_are_refused(kwargs: dict[str, float], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        CircuitBreaker(**kwargs)  # type: ignore[arg-type]


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
    """A group answering 503 to every POST: after BREAKER_MIN_CALLS troubles (all of them
    trouble) its remaining invitations are held back with no request -- and, with
    max_outage=0 (no waiting), fail as CircuitOpen (retryable); the other groups are all sent."""
    clock = ManualClock()
    _use_breaker(monkeypatch, clock)
    concurrency = 4
    invitations = [invitation(i, ("1002", "1003", "1004")[i % 3]) for i in range(300)]
    async with sandbox() as (fake, hero):
        fake.add_fault(Fault(method="POST", practice_group_id="1003", status=503, times=None))
        run = hero.send_invitations(invitations, concurrency=concurrency, max_outage=0)
        with await run as report:
            results = by_key(report)
        of_1003 = [r for r in results.values() if r.practice_group_id == "1003"]
        kinds = collections.Counter(r.error_type for r in of_1003)
        assert set(kinds) == {"ServerError", "CircuitOpen"}
        assert C.BREAKER_MIN_CALLS <= kinds["ServerError"] < C.BREAKER_MIN_CALLS + concurrency
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
    n = C.BREAKER_MIN_CALLS
    invitations = [invitation(i, "1002") for i in range(n + 10)]
    async with sandbox() as (fake, hero):
        fake.add_fault(Fault(method="POST", path=MESSAGES, status=503, times=None))
        with await hero.send_invitations(invitations, concurrency=1, max_outage=0) as report:
            results = [r for r in report.results()]
        assert [r.state for r in results[:n]] == ["outcome_unknown"] * n
        assert {r.error_type for r in results[n:]} == {"CircuitOpen"}
        assert fake.count(path=MESSAGES) == n
        assert fake.count(path=LINKS) == n


async def test_rate_limits_neither_open_the_breaker_nor_fail_invitations(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """429s are not troubles, and a bulk run never turns one into a failed invitation: more
    429s in a row than a plain call would retry, and every invitation is still sent."""
    _use_breaker(monkeypatch, ManualClock())
    n = C.BREAKER_MIN_CALLS + 5
    in_a_row = (C.DEFAULT_MAX_RETRIES + 2) * n
    invitations = [invitation(i, "1002") for i in range(n)]
    async with sandbox(monotonic=ManualClock()) as (fake, hero):
        fake.add_fault(
            Fault(method="POST", path=MESSAGES, status=429, retry_after=0, times=in_a_row)
        )
        with await hero.send_invitations(invitations, concurrency=1) as report:
            kinds = collections.Counter(r.error_type or r.state for r in report.results())
        assert kinds == {"sent": n}
        assert fake.count(path=MESSAGES) == in_a_row + n
        assert len(fake.messages) == n


async def test_half_open_probe_success_closes_and_the_rest_are_sent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Within one run: BREAKER_MIN_CALLS troubles open it, the next invitation is parked (no
    request) for the cooldown, one probe succeeds and the breaker closes for every later one."""
    clock = ManualClock()
    _use_breaker(monkeypatch, clock)
    attempts = 4  # one try and three retries of the idempotent register_pds
    states: list[str | None] = []
    n = C.BREAKER_MIN_CALLS
    invitations = [invitation(i, "1002") for i in range(n + 5)]
    async with sandbox(sleep=clock.sleep) as (fake, hero):
        fake.add_fault(Fault(method="POST", path=REGISTER, status=503, times=attempts * n))
        progress = lambda r: states.append(r.error_type or r.state)  # noqa: E731
        with await hero.send_invitations(
            invitations, concurrency=1, on_progress=progress
        ) as report:
            assert report.sent == 5
        assert states == ["ServerError"] * n + ["sent"] * 5
        assert fake.count(path=REGISTER) == attempts * n + 5  # parked: no request at all
        assert len(fake.messages) == 5


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
        fresh = [invitation(i, "1002") for i in range(10, 20 + C.BREAKER_MIN_CALLS)]
        run = hero.send_invitations([*fresh, *done], ledger=ledger, concurrency=1, max_outage=0)
        with await run as report:
            results = by_key(report)
        assert {results[item.key].state for item in done} == {"skipped", "outcome_unknown"}
        assert results[key(0)].state == "outcome_unknown"
        assert collections.Counter(results[item.key].error_type for item in fresh) == {
            "ServerError": C.BREAKER_MIN_CALLS,
            "CircuitOpen": 10,
        }
        assert len(fake.messages) == 10


def test_hold_says_how_long_to_set_a_refused_invitation_aside() -> None:
    """What a job needs to wait an outage out: until the cool-down ends, then briefly while
    the probe decides, and None once the outage has lasted max_outage (fail CircuitOpen)."""
    breaker, clock = _breaker(cooldown=10.0)
    assert breaker.hold(G, max_outage=60) == 0.0  # closed: nothing to wait for
    _trip(breaker, 4)
    clock.advance(4)
    assert breaker.hold(G, max_outage=60) == pytest.approx(6.0)
    clock.advance(6)
    assert breaker.allow(G) is Admission.PROBE
    assert breaker.hold(G, max_outage=60) == C.BREAKER_PROBE_WAIT_SECONDS
    breaker.record(G, trouble=True, probe=True)  # still down: another cool-down
    assert breaker.hold(G, max_outage=60) == pytest.approx(10.0)
    clock.advance(50)
    assert breaker.hold(G, max_outage=60) is None  # 60 s of outage: stop waiting
    assert breaker.hold(G, max_outage=61) == C.BREAKER_PROBE_WAIT_SECONDS


def test_hold_after_the_probe_closed_the_breaker_is_zero() -> None:
    breaker, clock = _breaker(cooldown=10.0)
    _trip(breaker, 4)
    clock.advance(10)
    assert breaker.allow(G) is Admission.PROBE
    breaker.record(G, trouble=False, probe=True)
    assert breaker.hold(G, max_outage=60) == 0.0
    assert breaker.allow(G) is Admission.PASS


async def test_failing_group_is_waited_out_and_fails_circuit_open_only_after_max_outage(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A group answering 503 to every POST: its invitations wait (probing after each
    cooldown) while the other groups are all sent; only once the outage has lasted
    max_outage does the rest of it fail, retryable, as CircuitOpen. Every key once."""
    clock = ManualClock()
    _use_breaker(monkeypatch, clock)
    max_outage = 3.5 * C.BREAKER_COOLDOWN_SECONDS
    opened: list[float] = []
    circuit_open_at: list[float] = []

    def progress(result: InvitationResult) -> None:
        if result.error_type == "ServerError" and not circuit_open_at:
            opened.append(clock.now)  # the last one before any CircuitOpen opened it
        if result.error_type == "CircuitOpen":
            circuit_open_at.append(clock.now)

    invitations = [invitation(i, ("1002", "1003", "1004")[i % 3]) for i in range(300)]
    async with sandbox(sleep=clock.sleep) as (fake, hero):
        fake.add_fault(Fault(method="POST", practice_group_id="1003", status=503, times=None))
        run = hero.send_invitations(
            invitations, concurrency=4, max_outage=max_outage, on_progress=progress
        )
        with await run as report:
            results = by_key(report)
        assert len(results) == 300
        of_1003 = [r for r in results.values() if r.practice_group_id == "1003"]
        kinds = collections.Counter(r.error_type for r in of_1003)
        assert set(kinds) == {"ServerError", "CircuitOpen"}
        assert kinds["ServerError"] >= C.BREAKER_MIN_CALLS + 3  # probes after each cooldown
        assert kinds["ServerError"] < 50  # the rest waited: no request for them
        assert all(r.state == "failed" and r.retryable for r in of_1003)
        assert circuit_open_at
        assert min(circuit_open_at) - opened[C.BREAKER_MIN_CALLS - 1] >= max_outage
        others = [r for r in results.values() if r.practice_group_id != "1003"]
        assert {r.state for r in others} == {"sent"}
        assert len(fake.messages) == 200


async def test_group_recovering_during_the_outage_gets_every_parked_invitation_sent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The group fails long enough to open its breaker (and fail a probe or two), then
    recovers well within max_outage: every parked invitation is sent, none CircuitOpen,
    and every key is in the report exactly once."""
    clock = ManualClock()
    _use_breaker(monkeypatch, clock)
    attempts = 1 + C.DEFAULT_MAX_RETRIES
    troubles = C.BREAKER_MIN_CALLS + 2  # opens, then two failed probes
    invitations = [invitation(i, ("1002", "1003")[i % 2]) for i in range(400)]
    async with sandbox(sleep=clock.sleep) as (fake, hero):
        fake.add_fault(
            Fault(
                method="POST",
                path=REGISTER,
                practice_group_id="1003",
                status=503,
                times=attempts * troubles,
            )
        )
        with await hero.send_invitations(invitations, concurrency=4) as report:
            results = by_key(report)
        kinds = collections.Counter(r.error_type or r.state for r in results.values())
        assert "CircuitOpen" not in kinds
        assert kinds["ServerError"] <= troubles
        assert kinds["sent"] == 400 - kinds["ServerError"]
        assert len(results) == 400
        assert len(fake.messages) == kinds["sent"]
