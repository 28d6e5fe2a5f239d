"""A circuit breaker per practice group for bulk jobs.

Closed: requests flow. After ``threshold`` consecutive troubles (5xx, timeouts, unknown
outcomes) it opens: invitations for that group fail fast as retryable, with no request, for
``cooldown`` seconds. Then it is half-open: one invitation goes through as a probe; success
closes it, trouble opens it again.
"""

from __future__ import annotations

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
        threshold: int = C.BREAKER_THRESHOLD,
        cooldown: float = C.BREAKER_COOLDOWN_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._threshold, self._cooldown, self._clock = threshold, cooldown, clock
        self._troubles: dict[str, int] = {}
        self._open_until: dict[str, float] = {}
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
        health (a validation error, a 404). A neutral result ends the half-open state only if
        it was the probe's own; other invitations still in flight must not free the slot."""
        if trouble is None:
            if probe:
                self._probing.discard(group)
            return
        self._probing.discard(group)
        if not trouble:
            self._troubles.pop(group, None)
            self._open_until.pop(group, None)
            return
        count = self._troubles[group] = self._troubles.get(group, 0) + 1
        if count >= self._threshold:
            self._open_until[group] = self._clock() + self._cooldown

    def is_open(self, group: str) -> bool:
        return group in self._open_until
