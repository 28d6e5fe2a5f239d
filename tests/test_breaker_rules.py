"""The circuit breaker's edges, decision by decision, on an injected clock: the settings it
accepts at their limits, what it says when refusing them, and ``hold`` at the very end of a
cool-down."""

from __future__ import annotations

import pytest
from bulk_support import ManualClock

from hero_async import _constants as C
from hero_async.bulk._breaker import Admission, CircuitBreaker

G = "1002"


def _record(breaker: CircuitBreaker, outcomes: str) -> None:
    """``outcomes``: T for trouble, o for fine, one invitation each."""
    for outcome in outcomes:
        assert breaker.allow(G)
        breaker.record(G, trouble=outcome == "T")


def test_a_single_call_window_is_allowed_and_judges_every_call() -> None:
    """min_calls=1 and window=1 are the smallest settings: one trouble opens it."""
    clock = ManualClock()
    breaker = CircuitBreaker(window=1, min_calls=1, failure_rate=1.0, cooldown=5.0, clock=clock)
    _record(breaker, "o")
    assert not breaker.is_open(G)
    _record(breaker, "T")
    assert breaker.is_open(G)
    assert breaker.retry_at(G) == clock() + 5.0


def test_min_calls_of_one_in_a_wider_window() -> None:
    breaker = CircuitBreaker(window=10, min_calls=1, failure_rate=0.5, clock=ManualClock())
    _record(breaker, "T")
    assert breaker.is_open(G)


def test_a_failure_rate_of_one_opens_only_when_every_call_was_trouble() -> None:
    breaker = CircuitBreaker(window=4, min_calls=4, failure_rate=1.0, clock=ManualClock())
    _record(breaker, "TTToTTT")  # the o is still in the last 4
    assert not breaker.is_open(G)
    _record(breaker, "T")  # the last 4 all trouble
    assert breaker.is_open(G)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_calls": 0}, "min_calls must be between 1 and window"),
        ({"min_calls": 5, "window": 4}, "min_calls must be between 1 and window"),
        ({"failure_rate": 0.0}, r"failure_rate must be in \(0, 1\]"),
        ({"failure_rate": 1.01}, r"failure_rate must be in \(0, 1\]"),
    ],
)
def test_refused_settings_say_exactly_what_is_allowed(
    kwargs: dict[str, float], message: str
) -> None:
    with pytest.raises(ValueError, match=f"^{message}$"):
        CircuitBreaker(**kwargs)  # type: ignore[arg-type]


def test_hold_at_the_very_end_of_the_cooldown_waits_for_the_probe() -> None:
    """Exactly when the cool-down ends a probe is due: a refused invitation looks again after
    the short probe wait, not at once and not after another cool-down."""
    clock = ManualClock()
    breaker = CircuitBreaker(window=4, min_calls=4, cooldown=10.0, clock=clock)
    _record(breaker, "TTTT")
    clock.advance(10.0)
    assert breaker.hold(G, max_outage=60) == C.BREAKER_PROBE_WAIT_SECONDS
    assert breaker.allow(G) is Admission.PROBE


def test_hold_waits_at_most_the_cooldown_while_a_probe_decides() -> None:
    """A cool-down shorter than the probe wait: look again after the cool-down."""
    clock = ManualClock()
    breaker = CircuitBreaker(window=4, min_calls=4, cooldown=0.25, clock=clock)
    _record(breaker, "TTTT")
    clock.advance(0.25)
    assert breaker.allow(G) is Admission.PROBE
    assert breaker.hold(G, max_outage=60) == 0.25
