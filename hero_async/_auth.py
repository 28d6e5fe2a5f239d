"""Hero Elements access tokens and the per-practice-group token cache.

``POST /v1/access_token`` returns a JWT that lives 30 minutes. A web app that renders Elements
for many practices asks for tokens constantly, so the cache must:

- make exactly one token request per practice group however many coroutines ask at once
  (single flight), while different groups never wait on each other;
- hand out a token only while it still has ``min_remaining`` seconds to live by every clock:
  the wall clock against the JWT's ``exp``, and a monotonic deadline taken when this process
  first saw the token, so a wall-clock step back (NTP, a resumed VM) cannot stretch its life;
- wake every waiter with the same error when a fetch fails, and keep nothing from the failure;
- survive a cancelled caller: the shared fetch is shielded, so the others still get it.

Where tokens are kept is the :class:`TokenStore` protocol (in process by default), so a fleet
of workers can share one store (e.g. Redis) without changing the client.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import json
import math
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

import attrs

from . import _constants as C
from ._errors import ClientClosedError

__all__ = ["AccessToken", "InMemoryTokenStore", "TokenCache", "TokenStore"]

Clock = Callable[[], float]
_MAX_EPOCH = 253402300800  # 10000-01-01T00:00:00Z  # epoch seconds; tokens expire at absolute times


@attrs.frozen(repr=False)
class AccessToken:
    """A Hero Elements JWT. ``str(token)`` and ``repr`` never show it; use ``.token``."""

    token: str
    expires_at: dt.datetime
    practice_group_id: str

    def seconds_left(self, now: float) -> float:
        return self.expires_at.timestamp() - now

    def __repr__(self) -> str:
        return (
            f"AccessToken(practice_group_id={self.practice_group_id!r}, "
            f"expires_at={self.expires_at.isoformat()!r}, token='***')"
        )

    __str__ = __repr__

    @classmethod
    def from_jwt(cls, token: str, practice_group_id: str, *, issued_at: float) -> AccessToken:
        """Read ``exp`` from the JWT when present; otherwise assume the documented 30 minutes."""
        exp = _jwt_exp(token)
        if exp is None:
            exp = issued_at + C.TOKEN_LIFETIME_SECONDS
        return cls(token, dt.datetime.fromtimestamp(exp, dt.UTC), practice_group_id)


def _jwt_exp(token: str) -> float | None:
    # We cannot verify Hero's signature (no key) and do not need to: we only read the expiry
    # Hero put there, to decide when to ask again. Anything unreadable falls back to 30 min.
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return None
    exp = payload.get("exp") if isinstance(payload, dict) else None
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        return None
    # Only plausible epoch seconds (finite, before year 10000); anything else → 30 minutes.
    if not (math.isfinite(exp) and 0 < exp < _MAX_EPOCH):
        return None
    return float(exp)


class TokenStore(Protocol):
    """Where tokens are kept. Implement this to share tokens across processes."""

    async def get(self, practice_group_id: str) -> AccessToken | None: ...

    async def set(self, token: AccessToken) -> None: ...

    async def delete(self, practice_group_id: str) -> None: ...


class InMemoryTokenStore:
    """The default store: a dict, pruned of expired entries so it stays bounded."""

    def __init__(self, *, clock: Clock = time.time, prune_at: int = C.TOKEN_CACHE_PRUNE_AT):
        self._tokens: dict[str, AccessToken] = {}
        self._clock = clock
        self._prune_at = prune_at

    async def get(self, practice_group_id: str) -> AccessToken | None:
        return self._tokens.get(practice_group_id)

    async def set(self, token: AccessToken) -> None:
        self._tokens[token.practice_group_id] = token
        if len(self._tokens) > self._prune_at:
            self._prune()

    async def delete(self, practice_group_id: str) -> None:
        self._tokens.pop(practice_group_id, None)

    def __len__(self) -> int:
        return len(self._tokens)

    def _prune(self) -> None:
        now = self._clock()
        for group, token in list(self._tokens.items()):
            if token.seconds_left(now) <= 0:
                del self._tokens[group]
        # Still full of live tokens: drop the oldest entries; they are refetched on demand.
        excess = len(self._tokens) - self._prune_at
        for group in list(self._tokens)[: max(excess, 0)]:
            del self._tokens[group]


Fetch = Callable[[str], Awaitable[AccessToken]]


class TokenCache:
    """Single-flight, per-practice-group token cache.

    Each group has its own lock and at most one fetch in flight; the fetch runs as a task that
    every caller awaits through ``asyncio.shield``, so one failure reaches all waiters and one
    cancelled caller cannot cancel the fetch the others are waiting for.
    """

    def __init__(
        self,
        fetch: Fetch,
        *,
        store: TokenStore | None = None,
        min_remaining: float = C.TOKEN_MIN_REMAINING_SECONDS,
        clock: Clock = time.time,
        monotonic: Clock = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._store: TokenStore = store or InMemoryTokenStore(clock=clock)
        self._min_remaining = min_remaining
        self._clock = clock
        self._monotonic = monotonic
        # group -> (token, monotonic deadline): the life this process measured for the token.
        self._deadlines: dict[str, tuple[str, float]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._flights: dict[str, asyncio.Task[AccessToken]] = {}

    async def get(self, practice_group_id: str) -> AccessToken:
        token = await self._store.get(practice_group_id)
        if token is not None and self._fresh(token):
            return token
        flight = self._flights.get(practice_group_id)
        if flight is None:
            flight = asyncio.get_running_loop().create_task(self._refresh(practice_group_id))
            self._flights[practice_group_id] = flight
            flight.add_done_callback(lambda task: self._landed(practice_group_id, task))
        try:
            return await asyncio.shield(flight)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if flight.cancelled() and task is not None and not task.cancelling():
                # The fetch was cancelled by aclose(), not this caller: say so plainly.
                raise ClientClosedError("HeroClient closed while fetching a token") from None
            raise

    async def invalidate(self, practice_group_id: str) -> None:
        """Forget the group's token (after a 401/403: the key may have been rotated)."""
        await self._store.delete(practice_group_id)

    def _fresh(self, token: AccessToken) -> bool:
        return self._seconds_left(token) >= self._min_remaining

    def _seconds_left(self, token: AccessToken) -> float:
        # No token outlives Hero's documented 30 minutes, whatever exp and our clock say.
        by_wall = min(token.seconds_left(self._clock()), C.TOKEN_LIFETIME_SECONDS)
        now = self._monotonic()
        seen = self._deadlines.get(token.practice_group_id)
        if seen is None or seen[0] != token.token:
            self._remember(token.practice_group_id, token.token, now + by_wall)
            return by_wall
        return min(by_wall, seen[1] - now)

    def _remember(self, practice_group_id: str, token: str, deadline: float) -> None:
        self._deadlines[practice_group_id] = (token, deadline)
        if len(self._deadlines) > C.TOKEN_CACHE_PRUNE_AT:  # bounded, like the default store
            oldest = next(iter(self._deadlines))
            del self._deadlines[oldest]

    async def _refresh(self, practice_group_id: str) -> AccessToken:
        lock = self._locks.setdefault(practice_group_id, asyncio.Lock())
        async with lock:
            # A shared store may already hold a token another process fetched meanwhile.
            token = await self._store.get(practice_group_id)
            if token is not None and self._fresh(token):
                return token
            token = await self._fetch(practice_group_id)
            self._seconds_left(token)  # starts its monotonic deadline now, on arrival
            await self._store.set(token)
            return token

    def _landed(self, practice_group_id: str, task: asyncio.Task[AccessToken]) -> None:
        if self._flights.get(practice_group_id) is task:
            del self._flights[practice_group_id]
        lock = self._locks.get(practice_group_id)
        if lock is not None and not lock.locked():
            del self._locks[practice_group_id]  # nothing stays behind for idle groups
        if not task.cancelled():
            task.exception()  # retrieved here so a fetch nobody awaits any more is not "lost"

    async def aclose(self) -> None:
        """Cancel fetches still in flight (the client is closing)."""
        flights = list(self._flights.values())
        for flight in flights:
            flight.cancel()
        await asyncio.gather(*flights, return_exceptions=True)
