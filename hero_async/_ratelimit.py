"""The client-wide gate every request passes: a rate cap, a learned rate, the shared 429 pause.

Hero publishes no rate limits, so a 429 is the only signal. When one request sees it, the
whole client (one API key) holds new requests back for the Retry-After period instead of every
coroutine discovering the limit on its own and multiplying the load.

With ``adaptive=True`` (the client's default) the limiter also *learns* the key's limit from
those 429s and then holds just under it, so a job that was not told the limit does not keep
hitting it. Nothing is gated before the first 429. The scheme is the one the AWS SDKs' "adaptive"
retry mode uses, in our own terms: on a 429 the rate drops to a fraction of what was being
sent (the last rate known to be too high is remembered); afterwards it climbs back along a cubic
curve (TCP CUBIC) that is steep at first, flat near the remembered rate (where the limit
probably is) and only then probes above it. A given ``rate`` stays a hard cap on top.

:class:`RateLimiter` is a protocol so that a fleet of workers sharing one key can plug in a
shared implementation (e.g. Redis) later without changing the client.
"""

from __future__ import annotations

import asyncio
import collections
import math
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from . import _constants as C
from ._errors import ValidationError

__all__ = ["LocalRateLimiter", "RateLimiter"]

Sleep = Callable[[float], Awaitable[None]]


class RateLimiter(Protocol):
    async def acquire(self) -> None:
        """Wait until one more request may start."""

    def pause(self, seconds: float) -> None:
        """Hold every new request back for ``seconds`` (Hero answered 429)."""


class LocalRateLimiter:
    """In-process limiter: evenly spaced starts at ``rate`` per second (and, when ``adaptive``,
    at most the learned rate), plus the 429 pause. Every time is ``clock`` (monotonic).

    Spacing (rather than a bursty bucket) is deliberate: it is the gentlest load we can put on
    a partner key whose real limit we do not know.
    """

    def __init__(
        self,
        rate: float | None = None,
        *,
        adaptive: bool = False,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if rate is not None and not (math.isfinite(rate) and rate > 0):  # nan, inf
            raise ValidationError(
                "rate_limit", "must be a finite number of requests per second above 0, or None"
            )
        self._cap = rate
        self._clock = clock
        self._sleep = sleep
        self._learned = _Learned() if adaptive else None
        self._next_start = 0.0  # earliest time the next request may start
        self._paused_until = 0.0

    @property
    def paused_until(self) -> float:
        return self._paused_until

    @property
    def rate(self) -> float | None:
        """Requests per second allowed now: the learned rate under the cap, the cap alone,
        or None (nothing learned, no cap: requests are not spaced)."""
        learned = None if self._learned is None else self._learned.rate(self._clock())
        if learned is None or self._cap is None:
            return self._cap if learned is None else learned
        return min(learned, self._cap)

    def pause(self, seconds: float) -> None:
        now = self._clock()
        if self._learned is not None:
            self._learned.throttled(now, resume=now + seconds)
        self._paused_until = max(self._paused_until, now + seconds)

    def admit(self) -> bool:
        """The hot path, without a coroutine: True when a request may start at once (its
        start counted); False when it must ``await acquire()``. Core asks this first."""
        if self._cap is None:
            now = self._clock()
            if now >= self._paused_until:
                # No cap, and Hero is not pushing back. Adaptive but nothing learned yet:
                # only the start is counted (the sending rate a first 429 is cut from).
                learned = self._learned
                if learned is None:
                    return True
                if not learned.ceiling:
                    learned.started(now)
                    return True
        return False

    async def acquire(self) -> None:
        if self.admit():
            return
        now = self._clock()
        while True:
            while now < self._paused_until:
                await self._sleep(self._paused_until - now)
                now = self._clock()
            rate = self.rate
            start = now if rate is None else max(now, self._next_start)
            if rate is not None:
                self._next_start = start + 1.0 / rate
                if start > now:
                    await self._sleep(start - now)
            if self._paused_until <= start:
                break
            now = self._clock()  # a 429 came while this one waited for its slot: hold it too
        if self._learned is not None:
            self._learned.started(start)


class _Learned:
    """The learned rate: starts counted over a sliding window, cut on a 429, regrown along a
    cubic curve."""

    def __init__(self) -> None:
        self._starts: collections.deque[float] = collections.deque()
        self._ceiling = 0.0  # the last rate known to be too high (CUBIC's W_max)
        self._floor = 0.0  # the rate right after that cut
        self._cut_at = 0.0
        self._episode_ends = 0.0  # 429s until then are one episode: one cut
        self._episode_429s = 0

    @property
    def ceiling(self) -> float:
        return self._ceiling

    def started(self, now: float) -> None:
        starts = self._starts
        starts.append(now)
        if len(starts) > 64 and starts[0] <= now - C.ADAPTIVE_WINDOW_SECONDS:
            starts.popleft()  # bounded before any 429 too: never a start per request kept

    def throttled(self, now: float, *, resume: float) -> None:
        """A 429. The requests in flight when Hero started refusing come back as 429s too;
        they are one episode, which cuts the rate once (deeper if there are many of them)."""
        if now < self._episode_ends:
            self._episode_429s += 1
            self._episode_ends = max(self._episode_ends, resume)
            if self._episode_429s == C.ADAPTIVE_DEEP_CUT_429S:  # far above the limit
                self._floor = self._ceiling * C.ADAPTIVE_DEEP_CUT
            return
        sent = self._sending(now)
        if self._ceiling:  # cut from what we allowed, if we were sending faster
            sent = min(sent, self._allowed(now))
        # The plateau sits a little under the rate that drew the 429 (CUBIC's "fast
        # convergence"): otherwise a cut-and-regrow cycle would settle just above the limit.
        self._ceiling = max(sent * C.ADAPTIVE_PLATEAU, C.ADAPTIVE_MIN_RATE)
        self._floor = self._ceiling * C.ADAPTIVE_CUT
        self._cut_at, self._episode_429s = now, 1
        self._episode_ends = max(resume, now + C.ADAPTIVE_EPISODE_SECONDS)
        self._starts.clear()  # what we send after the pause is measured afresh

    def rate(self, now: float) -> float | None:
        return self._allowed(now) if self._ceiling else None

    def _allowed(self, now: float) -> float:
        """CUBIC: back to the ceiling after K seconds, flat around it, then probing above;
        never more than twice what we actually send (demand may be lower than the limit)."""
        ceiling = self._ceiling
        k = math.cbrt((1 - self._floor / ceiling) / C.ADAPTIVE_CUBIC_SCALE)
        grown = ceiling * (1 + C.ADAPTIVE_CUBIC_SCALE * (now - self._cut_at - k) ** 3)
        return max(self._floor, min(grown, 2 * self._sending(now)))

    def _sending(self, now: float) -> float:
        starts = self._starts
        while starts and starts[0] <= now - C.ADAPTIVE_WINDOW_SECONDS:
            starts.popleft()
        # Always a full window, even just after a start or a pause: a short one would turn
        # a handful of requests into a huge "rate" (one request in 1 ms is not 1,000/s).
        return len(starts) / C.ADAPTIVE_WINDOW_SECONDS
