"""Fault injection and the optional per-key rate limit.

A ``Fault`` matches requests by method, path (route template such as
``/v1/booking_links/{id}`` or a literal path) and practice group; ``None`` matches anything.
It fires at most ``times`` times (``None`` = forever), each time with ``probability`` drawn
from the fake's seeded RNG, and does one thing:

* ``status``: answer that status without processing (429 carries ``Retry-After`` when
  ``retry_after`` is set);
* ``drop="before"``: close the connection without processing;
* ``drop="after"``: process the request (its effects are recorded), then close the
  connection so the client never sees the answer: the duplicate-SMS case;
* ``malformed_json``: process the request, answer 200 with a truncated JSON body;
* only ``latency``: answer normally. ``latency`` (seconds) also delays every other kind.

Note: aiohttp's client transparently retries an idempotent request (GET, PUT, DELETE...)
once when a reused keep-alive connection is closed under it, so a ``times=1`` drop on such a
request may be invisible to an aiohttp client. POST/PATCH are never retried that way.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Callable
from typing import Literal


@dataclasses.dataclass(frozen=True, slots=True)
class Fault:
    method: str | None = None
    path: str | None = None
    practice_group_id: str | None = None
    status: int | None = None
    retry_after: float | None = None
    latency: float = 0.0
    drop: Literal["before", "after"] | None = None
    malformed_json: bool = False
    times: int | None = 1
    probability: float = 1.0

    def __post_init__(self) -> None:
        kinds = sum((self.status is not None, self.drop is not None, self.malformed_json))
        if kinds > 1:
            raise ValueError("a Fault does one of: status, drop, malformed_json")
        if kinds == 0 and self.latency <= 0:
            raise ValueError("this Fault does nothing: set status, drop, malformed_json or latency")
        if self.drop not in (None, "before", "after"):
            raise ValueError("drop must be 'before', 'after' or None")
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError("probability must be within [0, 1]")
        if self.times is not None and self.times < 1:
            raise ValueError("times must be >= 1 or None (forever)")

    @property
    def kind(self) -> str:
        if self.status is not None:
            return "status"
        if self.drop is not None:
            return f"drop_{self.drop}"
        return "malformed_json" if self.malformed_json else "latency"


class FaultHandle:
    """What ``add_fault`` returns: how often the fault fired, and a way to remove it."""

    __slots__ = ("_book", "fault", "hits")

    def __init__(self, fault: Fault, book: FaultBook) -> None:
        self.fault = fault
        self.hits = 0
        self._book = book

    @property
    def remaining(self) -> int | None:
        return None if self.fault.times is None else self.fault.times - self.hits

    @property
    def active(self) -> bool:
        return self in self._book.handles and self.remaining != 0

    def remove(self) -> None:
        if self in self._book.handles:
            self._book.handles.remove(self)


class FaultBook:
    """The faults in force, matched in the order they were added."""

    def __init__(self, rng: random.Random) -> None:
        self.handles: list[FaultHandle] = []
        self._rng = rng

    def add(self, fault: Fault) -> FaultHandle:
        handle = FaultHandle(fault, self)
        self.handles.append(handle)
        return handle

    def take(self, method: str, path: str, route: str, group: str | None) -> Fault | None:
        """The first fault that matches and fires; spends one of its ``times``."""
        for handle in self.handles:  # usually empty: the hot path pays one truthiness test
            fault = handle.fault
            if (
                (fault.method is None or fault.method == method)
                and (fault.path is None or fault.path in (route, path))
                and (fault.practice_group_id is None or fault.practice_group_id == group)
                and handle.remaining != 0
                and (fault.probability >= 1.0 or self._rng.random() < fault.probability)
            ):
                handle.hits += 1
                return fault
        return None


class RateLimiter:
    """Token bucket per API key: ``per_second`` sustained, bursts of the same size.

    Runs on the fake's clock, so a frozen test clock never refills the bucket.
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self.per_second: float | None = None
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill)

    def configure(self, per_second: float | None) -> None:
        if per_second is not None and per_second <= 0:
            raise ValueError("per_second must be positive (or None to switch off)")
        self.per_second = per_second
        self._buckets.clear()

    def retry_after(self, key: str) -> int | None:
        """None when the request may proceed, else whole seconds until a token is free."""
        rate = self.per_second
        if rate is None:
            return None
        now = self._clock()
        tokens, last = self._buckets.get(key, (max(rate, 1.0), now))
        tokens = min(max(rate, 1.0), tokens + (now - last) * rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            return None
        self._buckets[key] = (tokens, now)
        return max(1, math.ceil((1.0 - tokens) / rate))
