"""The client-wide gate every request passes: an optional rate cap and the shared 429 pause.

Hero publishes no rate limits, so a 429 is the only signal. When one request sees it, the
whole client (one API key) holds new requests back for the Retry-After period instead of every
coroutine discovering the limit on its own and multiplying the load.

:class:`RateLimiter` is a protocol so that a fleet of workers sharing one key can plug in a
shared implementation (e.g. Redis) later without changing the client.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

__all__ = ["LocalRateLimiter", "RateLimiter"]

Sleep = Callable[[float], Awaitable[None]]


class RateLimiter(Protocol):
    async def acquire(self) -> None:
        """Wait until one more request may start."""

    def pause(self, seconds: float) -> None:
        """Hold every new request back for ``seconds`` (Hero answered 429)."""


class LocalRateLimiter:
    """In-process limiter: evenly spaced starts at ``rate`` per second, plus the 429 pause.

    Spacing (rather than a bursty bucket) is deliberate: it is the gentlest load we can put on
    a partner key whose real limit we do not know.
    """

    def __init__(
        self,
        rate: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if rate is not None and rate <= 0:
            raise ValueError("rate must be positive requests per second, or None")
        self._interval = 1.0 / rate if rate else 0.0
        self._clock = clock
        self._sleep = sleep
        self._next_start = 0.0  # earliest time the next request may start
        self._paused_until = 0.0

    @property
    def paused_until(self) -> float:
        return self._paused_until

    def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    async def acquire(self) -> None:
        now = self._clock()
        if now >= self._paused_until and not self._interval:
            return  # the hot path when no cap is set and Hero is not pushing back
        while now < self._paused_until:
            await self._sleep(self._paused_until - now)
            now = self._clock()
        if self._interval:
            start = max(now, self._next_start)
            self._next_start = start + self._interval
            if start > now:
                await self._sleep(start - now)
