"""HeroClient and PracticeGroupView: the resources, bound to one practice group.

A view is a practice group id, a ``CallOptions`` value and the ``Core`` it sends through;
``HeroClient`` is the view of the key's own group that also owns the Core (the pool, the token
cache, the rate gate) and its lifecycle: unopened → open (``async with``) → closed.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterable, Awaitable, Callable, Coroutine, Iterable
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from . import _constants as C
from . import _validate
from ._auth import AccessToken, TokenStore
from ._config import from_env, resolve_base_url
from ._core import CallOptions, Core, Query
from ._errors import ValidationError
from ._ratelimit import LocalRateLimiter, RateLimiter
from ._retry import RetryPolicy
from ._transport import AiohttpTransport, ClientSession, Timeouts, Transport
from .bulk import (
    DEFAULT_CONCURRENCY,
    DEFAULT_FAN_OUT_CONCURRENCY,
    BulkReport,
    Campaign,
    Invitation,
    InvitationResult,
    Ledger,
    Outcome,
)
from .bulk import fan_out as _fan_out
from .bulk import send_invitations as _send_invitations
from .resources import Resources

__all__ = ["HeroClient", "PracticeGroupView"]

T = TypeVar("T")


class PracticeGroupView(Resources):
    """Acts for one practice group through its client's pool, token cache and rate gate.

    Get one with ``hero.practice_group(id)`` (a cross-organisational call when ``id`` is not
    the key's own group) or ``view.with_options(timeout=...)``. Views are cheap.
    """

    def __init__(self, core: Core, practice_group_id: str, options: CallOptions | None) -> None:
        self._core = core
        self._group = practice_group_id
        self._options = options

    @property
    def practice_group_id(self) -> str:
        """The practice group this view acts for (sent as ``x-practice-group-id``)."""
        return self._group

    def practice_group(self, practice_group_id: str) -> PracticeGroupView:
        """A view acting for another practice group, sharing this client's pool and cache."""
        return PracticeGroupView(self._core, _validate.practice_group_id(practice_group_id), None)

    def with_options(
        self,
        *,
        timeout: float | None = None,
        connect_timeout: float | None = None,
        rate_limiter: RateLimiter | None = None,
    ) -> PracticeGroupView:
        """The same group with per-call timeouts (seconds) and/or an extra rate gate that
        every request of this view passes before the client-wide one (e.g. a job's cap)."""
        base = self._options.timeouts if self._options else self._core.default_timeouts
        total = base.total if timeout is None else _positive(timeout, "timeout")
        connect = base.connect if connect_timeout is None else connect_timeout
        timeouts = Timeouts(total, _positive(connect, "connect_timeout"))
        limiter = rate_limiter or (self._options.limiter if self._options else None)
        return PracticeGroupView(self._core, self._group, CallOptions(timeouts, limiter))

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Query | None = None,
        idempotent: bool | None = None,
    ) -> Coroutine[Any, Any, Any]:
        """Low level: send ``method path`` for this group with the client's retry rules and
        return the decoded JSON (``None`` for an empty body). ``idempotent=True`` lets a POST
        be resent after an ambiguous failure; only say so when a second send is harmless."""
        # Not ``async def``: it hands back Core's coroutine, awaited the same way, with one
        # coroutine layer fewer on every request (twice per bulk invitation).
        return self._core.request(
            method, path, self._group, self._options, json=json, params=params,
            idempotent=idempotent,
        )  # fmt: skip

    async def access_token(self) -> AccessToken:
        """A Hero Elements token for this group, from the single-flight cache
        (``POST /v1/access_token`` only when none with enough lifetime is cached)."""
        return await self._core.access_token(self._group)

    async def mint_access_token(self) -> AccessToken:
        """A fresh Hero Elements token, bypassing the cache (``POST /v1/access_token``)."""
        self._core.ensure_open()
        return await self._core.mint_token(self._group)

    async def invalidate_access_token(self) -> None:
        """Drop this group's cached token (e.g. an Element reported it was rejected)."""
        await self._core.invalidate_token(self._group)

    async def fan_out(
        self,
        practice_group_ids: Iterable[str],
        call: Callable[[PracticeGroupView], Awaitable[T]],
        *,
        concurrency: int = DEFAULT_FAN_OUT_CONCURRENCY,
    ) -> dict[str, Outcome[T]]:
        """Run ``call(view)`` for each practice group concurrently; see ``Outcome``."""
        return await _fan_out(
            self.practice_group, practice_group_ids, call, concurrency=concurrency
        )

    async def send_invitations(
        self,
        invitations: Iterable[Invitation] | AsyncIterable[Invitation],
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        rate_limit: float | None = None,
        ledger: Ledger | str | Path | None = None,
        on_progress: Callable[[InvitationResult], object] | None = None,
        retry_unknown: bool = False,
        campaign: Campaign | None = None,
        max_outage: float = C.DEFAULT_MAX_OUTAGE_SECONDS,
    ) -> BulkReport:
        """Register → link → message for every invitation; every key ends in the report.

        Pass ``ledger`` (a SQLite path or a Ledger) for real jobs: it makes re-runs resume
        and guarantees a patient is never messaged twice for one key, even with several
        processes running the same job on it. ``campaign`` (``Campaign.of(name, keys)``)
        makes the ledger refuse another job's input. ``max_outage``: seconds a practice
        group's outage (its circuit breaker open) is waited out, the other groups going on,
        before the rest of that group fails (retryable) as ``CircuitOpen``.
        """
        self._core.ensure_open()
        return await _send_invitations(
            self._bulk_view,
            invitations,
            concurrency=concurrency,
            rate_limit=rate_limit,
            ledger=ledger,
            on_progress=on_progress,
            retry_unknown=retry_unknown,
            campaign=campaign,
            max_outage=max_outage,
            sleep=self._core.sleep,  # the injected sleep: tests never wait out an outage
        )

    def _bulk_view(self, practice_group_id: str, cap: RateLimiter | None) -> PracticeGroupView:
        # The group id was validated by the bulk layer's plan(); the cap is the job's own.
        # A 429 never fails an invitation: it is retried for a time budget, not a count.
        timeouts = self._core.default_timeouts
        options = CallOptions(timeouts, cap, throttle_budget=C.BULK_THROTTLE_BUDGET_SECONDS)
        return PracticeGroupView(self._core, practice_group_id, options)

    def __repr__(self) -> str:
        return f"PracticeGroupView(practice_group_id={self._group!r})"


class HeroClient(PracticeGroupView):
    """Async client for the Hero Health Public API. Use as ``async with HeroClient() as hero``.

    Resources on the client act for the API key's own practice group;
    ``hero.practice_group(id)`` returns a view acting for another group (a cross-organisational
    call), sharing this client's pool, token cache and rate gate. ``transport`` replaces the
    aiohttp pool (tests, proxies); ``session`` lends the client an aiohttp session it will not
    close. ``clock`` is wall time (token expiry, Retry-After dates); every wait uses
    ``monotonic``, so a wall-clock step never stalls or rushes a request. Without
    ``rate_limit`` the client learns the key's limit from Hero's 429s and holds just under it
    (see ``rate``); with it, ``rate_limit`` is a hard cap.
    """

    def __init__(
        self,
        api_key: str | None = None,
        practice_group_id: str | None = None,
        *,
        environment: str | None = None,
        base_url: str | None = None,
        timeout: float = C.DEFAULT_TIMEOUT,
        connect_timeout: float = C.DEFAULT_CONNECT_TIMEOUT,
        max_connections: int = C.DEFAULT_MAX_CONNECTIONS,
        max_retries: int = C.DEFAULT_MAX_RETRIES,
        rate_limit: float | None = None,
        session: ClientSession | None = None,
        transport: Transport | None = None,
        token_store: TokenStore | None = None,
        rate_limiter: RateLimiter | None = None,
        token_min_remaining: float = C.TOKEN_MIN_REMAINING_SECONDS,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        key = _validate.header_value(from_env(api_key, "api_key", C.ENV_API_KEY), "api_key")
        home = from_env(practice_group_id, "practice_group_id", C.ENV_PRACTICE_GROUP_ID)
        base = resolve_base_url(environment, base_url)
        if max_connections < 1:
            raise ValidationError("max_connections", "must be at least 1")
        if max_retries < 0:
            raise ValidationError("max_retries", "must be 0 or more")
        if session is not None and transport is not None:
            raise ValidationError("session", "pass session= or transport=, not both")
        core = Core(
            api_key=key,
            home_group=_validate.practice_group_id(home),
            base_url=base,
            transport=transport
            or AiohttpTransport(
                max_connections=max_connections,
                session=session,
                https=base.startswith("https://"),
            ),
            owns_transport=transport is None,
            max_connections=max_connections,
            retry=RetryPolicy(max_retries=max_retries),
            limiter=rate_limiter
            or LocalRateLimiter(rate_limit, adaptive=True, clock=monotonic, sleep=sleep),
            timeouts=Timeouts(
                _positive(timeout, "timeout"), _positive(connect_timeout, "connect_timeout")
            ),
            token_store=token_store,
            token_min_remaining=token_min_remaining,
            clock=clock,
            sleep=sleep,
            monotonic=monotonic,
        )
        super().__init__(core, core.home_group, None)

    async def __aenter__(self) -> HeroClient:
        self._core.open()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the pool (unless it was passed in). Safe to call twice."""
        await self._core.aclose()

    @property
    def closed(self) -> bool:
        """True once the client was closed; a closed client cannot be reopened."""
        return self._core.state == "closed"

    @property
    def rate(self) -> float | None:
        """Requests per second the client allows itself now: the rate learned from Hero's
        429s (held just under the key's limit), under ``rate_limit`` if one was given; None
        while nothing limits it (no 429 seen, no cap) or with a custom ``rate_limiter``."""
        limiter = self._core.limiter
        return limiter.rate if isinstance(limiter, LocalRateLimiter) else None

    @property
    def home_practice_group_id(self) -> str:
        """The API key's own practice group."""
        return self._core.home_group

    def __repr__(self) -> str:
        return (
            f"HeroClient(practice_group_id={self._group!r}, base_url={self._core.base_url!r}, "
            f"state={self._core.state!r})"
        )


def _positive(value: float, field: str) -> float:
    if not (math.isfinite(value) and value > 0):  # nan compares false; inf never times out
        raise ValidationError(field, "must be a finite number of seconds above 0")
    return value
