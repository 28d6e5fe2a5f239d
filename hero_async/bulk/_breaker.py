"""A circuit breaker per practice group for bulk jobs, on the failure *rate* of recent calls.

Closed: requests flow, and the last ``window`` invitation outcomes of the group are kept. Once
at least ``min_calls`` are known and ``failure_rate`` of them were trouble (5xx, timeouts,
unknown outcomes), it opens: the group's invitations are held back, with no request, for
``cooldown`` seconds. Then it is half-open: one invitation goes through as a probe; success
closes it (with a clean window), trouble opens it for another cool-down.

A rate over a window (resilience4j's sliding-window breaker; Envoy's outlier detection asks for a
minimum request volume the same way) rather than N consecutive troubles: with 50 invitations in
flight, a few unlucky ones in a row say little, and a group with 10 % flaky requests is still a
group where 90 % of invitations get through -- it must keep flowing.

Every time is ``clock`` (monotonic): a wall-clock step neither reopens nor stalls a group.
"""

from __future__ import annotations

import collections
import enum
import time
from collections.abc import Callable

from .. import _constants as C

__all__ = ["TROUBLE", "Admission", "CircuitBreaker"]

# Error types (InvitationResult.error_type) that say "this practice group's side is struggling".
TROUBLE = frozenset({"ServerError", "TransportError", "TimeoutError", "OutcomeUnknownError"})


class Admission(enum.Enum):
    REFUSED = "refused"
    PASS = "pass"  # noqa: S105 - an enum value, not a password
    PROBE = "probe"  # the one invitation let through after the cool-down

    def __bool__(self) -> bool:
        return self is not Admission.REFUSED


class CircuitBreaker:
    def __init__(
        self,
        *,
        window: int = C.BREAKER_WINDOW,
        min_calls: int = C.BREAKER_MIN_CALLS,
        failure_rate: float = C.BREAKER_FAILURE_RATE,
        cooldown: float = C.BREAKER_COOLDOWN_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 1 <= min_calls <= window:
            raise ValueError("min_calls must be between 1 and window")
        if not 0 < failure_rate <= 1:
            raise ValueError("failure_rate must be in (0, 1]")
        self._window, self._min_calls, self._rate = window, min_calls, failure_rate
        self._cooldown, self._clock = cooldown, clock
        self._recent: dict[str, collections.deque[bool]] = {}
        self._open_until: dict[str, float] = {}
        self._open_since: dict[str, float] = {}  # kept across re-opens until it closes
        self._probing: set[str] = set()

    def allow(self, group: str) -> Admission:
        """May an invitation for ``group`` be sent now? (Falsy when refused.)"""
        until = self._open_until.get(group)
        if until is None:
            return Admission.PASS
        if self._clock() < until or group in self._probing:
            return Admission.REFUSED
        self._probing.add(group)  # half-open: exactly one probe at a time
        return Admission.PROBE

    def record(self, group: str, *, trouble: bool | None, probe: bool = False) -> None:
        """After an invitation: trouble=True/False, or None when it says nothing of Hero's
        health (a validation error, a 404). While open, only the probe's result counts: the
        invitations that were in flight when it opened say nothing new."""
        if group in self._open_until:
            if probe:
                self._probing.discard(group)
                if trouble is False:
                    self._close(group)
                elif trouble:
                    self._open(group)
            return
        if trouble is None:
            return
        recent = self._recent.get(group)
        if recent is None:
            recent = self._recent[group] = collections.deque(maxlen=self._window)
        recent.append(trouble)
        if len(recent) >= self._min_calls and sum(recent) >= self._rate * len(recent):
            self._open(group)

    def is_open(self, group: str) -> bool:
        return group in self._open_until

    def retry_at(self, group: str) -> float | None:
        """When (on ``clock``) a probe may go for an open group; None when it is closed."""
        return self._open_until.get(group)

    def open_since(self, group: str) -> float | None:
        """When the group's current outage began (it may have re-opened since); None if closed.
        A job compares this with its ``max_outage`` to decide when to stop waiting."""
        return self._open_since.get(group)

    def hold(self, group: str, *, max_outage: float) -> float | None:
        """For an invitation ``allow`` refused: seconds to set it aside before asking again
        (its group's outage is being waited out), or None once the outage has lasted
        ``max_outage`` seconds -- then the job reports it failed (retryable) CircuitOpen."""
        since, until = self._open_since.get(group), self._open_until.get(group)
        if since is None or until is None:
            return 0.0  # closed meanwhile: ask again now
        now = self._clock()
        if now - since >= max_outage:
            return None
        if group in self._probing or now >= until:  # a probe is deciding: look again soon
            return min(self._cooldown, C.BREAKER_PROBE_WAIT_SECONDS)
        return until - now

    def _open(self, group: str) -> None:
        now = self._clock()
        self._open_until[group] = now + self._cooldown
        self._open_since.setdefault(group, now)

    def _close(self, group: str) -> None:
        self._open_until.pop(group, None)
        self._open_since.pop(group, None)
        self._recent.pop(group, None)  # a clean window: old troubles must not re-open it
