"""When a failed request may be sent again, as a rule list plus one predicate.

Hero has no idempotency key (REFERENCE.md §6), so a resent POST can text a patient twice.

| failure                                   | GET / PUT / DELETE | POST / PATCH          |
|-------------------------------------------|--------------------|-----------------------|
| connection never established              | retry              | retry                 |
| 429 Too Many Requests                     | retry after pause  | retry after pause     |
| timeout or reset after the request left   | retry              | OutcomeUnknownError   |
| 5xx                                       | retry              | OutcomeUnknownError   |
| any other 4xx                             | raise              | raise                 |

PATCH counts as unsafe: ``PATCH /v1/batch_message/{id}/send`` starts a mass send.
Delays come from the ``backoff`` library's exponential generator with full jitter.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import enum
from collections.abc import Iterator

import attrs
import backoff

from . import _constants as C

__all__ = ["Decision", "RetryPolicy", "decide", "parse_retry_after"]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


class Decision(enum.Enum):
    RETRY = "retry"
    RAISE = "raise"
    UNKNOWN = "outcome unknown"  # may have reached Hero: raise OutcomeUnknownError


def decide(*, idempotent: bool, status: int | None = None, reached_server: bool = True) -> Decision:
    """The rule table above. ``status`` is None when no HTTP answer came back."""
    if status is None:
        if not reached_server or idempotent:
            return Decision.RETRY
        return Decision.UNKNOWN
    if status == 429:
        return Decision.RETRY
    if status >= 500:
        return Decision.RETRY if idempotent else Decision.UNKNOWN
    return Decision.RAISE


@attrs.frozen
class RetryPolicy:
    max_retries: int = C.DEFAULT_MAX_RETRIES
    base: float = C.BACKOFF_BASE_SECONDS
    max_delay: float = C.BACKOFF_MAX_SECONDS
    max_retry_after: float = C.MAX_RETRY_AFTER_SECONDS

    def delays(self) -> Iterator[float]:
        """Jittered exponential delays: at most base, 2*base, 4*base ... capped at max_delay."""
        wait = backoff.expo(base=2, factor=self.base, max_value=self.max_delay)
        next(wait)  # backoff's generators are primed with a send(None)
        for value in wait:
            yield backoff.full_jitter(value)


def parse_retry_after(value: str | None, *, now: float, cap: float) -> float | None:
    """Retry-After as seconds (delta-seconds or an HTTP date), capped; None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        seconds = when.timestamp() - now
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), cap)
