"""HeroClient: owns the connection pool, the token cache, the rate gate and the request path.

Lifecycle is explicit state: unopened → open (``async with``) → closed. The aiohttp session is
created inside the running loop on entry and closed on exit unless the caller passed their own.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import aiohttp

from . import _constants as C
from . import _json, _validate
from ._auth import AccessToken, TokenCache, TokenStore
from ._bulk import DEFAULT_CONCURRENCY, send_invitations
from ._config import check_tls, from_env, resolve_base_url
from ._errors import (
    APIError,
    AuthenticationError,
    ClientClosedError,
    HeroError,
    MalformedResponseError,
    OutcomeUnknownError,
    PermissionDeniedError,
    TransportError,
    ValidationError,
    error_from_response,
)
from ._invitation import Invitation
from ._ledger import Ledger
from ._network import DEFAULT_FAN_OUT_CONCURRENCY, Outcome, fan_out
from ._ratelimit import LocalRateLimiter, RateLimiter
from ._report import BulkReport, InvitationResult
from ._retry import IDEMPOTENT_METHODS, Decision, RetryPolicy, decide, parse_retry_after
from ._scope import PracticeGroupView, Scope
from ._transport import RawResponse, decode_json, error_body, make_session, request_id, send

__all__ = ["HeroClient"]

_log = logging.getLogger("hero_async")
T = TypeVar("T")


class _State(enum.Enum):
    UNOPENED = "unopened"
    OPEN = "open"
    CLOSED = "closed"


class HeroClient(Scope):
    """Async client for the Hero Health Public API. Use as ``async with HeroClient() as hero``.

    Resources on the client act for the API key's own practice group;
    ``hero.practice_group(id)`` returns a view acting for another group (a cross-organisational
    call), sharing this client's pool, token cache and rate gate.
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
        session: aiohttp.ClientSession | None = None,
        token_store: TokenStore | None = None,
        rate_limiter: RateLimiter | None = None,
        token_min_remaining: float = C.TOKEN_MIN_REMAINING_SECONDS,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        key = from_env(api_key, "api_key", C.ENV_API_KEY)
        self._api_key = _validate.header_value(key, "api_key")
        home = from_env(practice_group_id, "practice_group_id", C.ENV_PRACTICE_GROUP_ID)
        self._home_group = _validate.practice_group_id(home)
        self._base_url = resolve_base_url(environment, base_url)
        self._timeout, self._connect_timeout = timeout, connect_timeout
        self._default_timeout = aiohttp.ClientTimeout(total=timeout, connect=connect_timeout)
        if max_connections < 1:
            raise ValidationError("max_connections", "must be at least 1")
        self._max_connections = max_connections
        self._slots = asyncio.Semaphore(max_connections)
        if max_retries < 0:
            raise ValidationError("max_retries", "must be 0 or more")
        self._retry = RetryPolicy(max_retries=max_retries)
        self._clock, self._sleep = clock, sleep
        self._limiter: RateLimiter = rate_limiter or LocalRateLimiter(
            rate_limit, clock=clock, sleep=sleep
        )
        self._tokens = TokenCache(
            self._fetch_token, store=token_store, min_remaining=token_min_remaining, clock=clock
        )
        if session is not None:
            check_tls(session, self._base_url)
        self._session = session
        self._owns_session = session is None
        self._state = _State.UNOPENED
        self._headers_cache: dict[str, Mapping[str, str]] = {}
        super().__init__(self, self._home_group, None)

    # -- lifecycle -------------------------------------------------------------------------
    async def __aenter__(self) -> HeroClient:
        if self._state is not _State.UNOPENED:
            raise ClientClosedError(f"HeroClient is {self._state.value}; create a new one")
        if self._session is None:
            self._session = make_session(
                max_connections=self._max_connections,
                connect_timeout=self._connect_timeout,
                timeout=self._timeout,
            )
        self._state = _State.OPEN
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the pool (unless it was passed in). Safe to call twice."""
        if self._state is _State.CLOSED:
            return
        self._state = _State.CLOSED
        await self._tokens.aclose()
        if self._owns_session and self._session is not None:
            await self._session.close()

    @property
    def closed(self) -> bool:
        return self._state is _State.CLOSED

    def __repr__(self) -> str:
        return (
            f"HeroClient(practice_group_id={self._home_group!r}, base_url={self._base_url!r}, "
            f"state={self._state.value!r})"
        )

    # -- scoping ---------------------------------------------------------------------------
    def practice_group(self, practice_group_id: str) -> PracticeGroupView:
        """A cheap view acting for another practice group (a cross-organisational call)."""
        return PracticeGroupView(self, _validate.practice_group_id(practice_group_id), None)

    async def fan_out(
        self,
        practice_group_ids: Iterable[str],
        call: Callable[[PracticeGroupView], Awaitable[T]],
        *,
        concurrency: int = DEFAULT_FAN_OUT_CONCURRENCY,
    ) -> dict[str, Outcome[T]]:
        """Run ``call(view)`` for each practice group concurrently; see ``Outcome``."""
        return await fan_out(self, practice_group_ids, call, concurrency=concurrency)

    async def send_invitations(
        self,
        invitations: Iterable[Invitation] | AsyncIterable[Invitation],
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        rate_limit: float | None = None,
        ledger: Ledger | str | Path | None = None,
        on_progress: Callable[[InvitationResult], object] | None = None,
        retry_unknown: bool = False,
    ) -> BulkReport:
        """Register → link → message for every invitation; every key ends in the report.

        Pass ``ledger`` (a SQLite path or a Ledger) for real jobs: it makes re-runs resume
        and guarantees a patient is never messaged twice for one key.
        """
        self._open_session()
        return await send_invitations(
            self,
            invitations,
            concurrency=concurrency,
            rate_limit=rate_limit,
            ledger=ledger,
            on_progress=on_progress,
            retry_unknown=retry_unknown,
        )

    @property
    def home_practice_group_id(self) -> str:
        return self._home_group

    def _headers_for(self, practice_group_id: str) -> Mapping[str, str]:
        headers = self._headers_cache.get(practice_group_id)
        if headers is None:
            headers = {
                "x-api-key": self._api_key,
                "x-practice-group-id": practice_group_id,
                "content-type": "application/json",
                "accept": "application/json",
                "user-agent": C.USER_AGENT,
            }
            if len(self._headers_cache) < C.TOKEN_CACHE_PRUNE_AT:
                self._headers_cache[practice_group_id] = headers
        return headers

    # -- tokens ----------------------------------------------------------------------------
    async def _fetch_token(self, practice_group_id: str) -> AccessToken:
        issued_at = self._clock()
        # Minting a token changes nothing a patient sees, so it is safe to resend.
        try:
            body = await self._send(
                "POST", "/v1/access_token", practice_group_id, idempotent=True, json=None
            )
        except MalformedResponseError as exc:  # the raw body may be the token itself
            raise MalformedResponseError(
                "access token answer is not JSON", status=exc.status, body=""
            ) from None
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise MalformedResponseError("no access_token in answer", status=200, body="")
        return AccessToken.from_jwt(token, practice_group_id, issued_at=issued_at)

    # -- the request path ------------------------------------------------------------------
    async def _send(
        self,
        method: str,
        path: str,
        practice_group_id: str,
        *,
        json: Any = None,
        params: list[tuple[str, str]] | None = None,
        call_timeout: aiohttp.ClientTimeout | None = None,
        idempotent: bool | None = None,
        extra_limiter: RateLimiter | None = None,
    ) -> Any:
        """Send with the retry rules of ``_retry``; return the decoded JSON body."""
        data = None if json is None else _json.dumps(json)
        headers = self._headers_for(practice_group_id)
        safe = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        delays = None  # the backoff generator, made on the first failure only
        debug = _log.isEnabledFor(logging.DEBUG)
        url = self._base_url + path
        for attempt in range(self._retry.max_retries + 1):
            started = time.perf_counter() if debug else 0.0
            try:
                raw = await self._attempt(
                    method, url, headers, data, params, call_timeout, extra_limiter
                )
            except TransportError as exc:
                exc.method, exc.path, exc.practice_group_id = method, path, practice_group_id
                failure: HeroError = exc
                decision = decide(idempotent=safe, reached_server=exc.reached_server)
                status = 0
            else:
                status = raw.status
                if 200 <= status < 300:
                    if debug:
                        _trace(method, path, practice_group_id, status, started, attempt)
                    return decode_json(raw)
                failure = self._api_error(raw, method, path, practice_group_id)
                decision = decide(idempotent=safe, status=status)
            _trace(method, path, practice_group_id, status, started, attempt)
            await self._on_failure(failure, practice_group_id)
            if decision is Decision.UNKNOWN:
                raise OutcomeUnknownError(
                    method=method,
                    path=path,
                    practice_group_id=practice_group_id,
                    cause=str(failure),
                ) from failure
            if decision is Decision.RAISE or attempt == self._retry.max_retries:
                raise failure
            if status != 429:  # a 429 already paused the whole client via the limiter
                if delays is None:
                    delays = self._retry.delays()
                await self._sleep(next(delays))
        raise AssertionError("unreachable")  # pragma: no cover

    async def _attempt(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        data: bytes | None,
        params: list[tuple[str, str]] | None,
        call_timeout: aiohttp.ClientTimeout | None,
        extra_limiter: RateLimiter | None,
    ) -> RawResponse:
        # Take a pool slot first, then pass the rate gate: a request queued for a connection
        # must still see a 429 pause that began while it waited, or a storm of queued requests
        # all hit Hero the moment connections free up.
        async with self._slots:
            if extra_limiter is not None:
                await extra_limiter.acquire()
            await self._limiter.acquire()
            session = self._open_session()  # checked per attempt: close() may come mid-backoff
            return await send(
                session,
                method,
                url,
                headers=headers,
                data=data,
                params=params,
                client_timeout=call_timeout or self._default_timeout,
            )

    def _open_session(self) -> aiohttp.ClientSession:
        if self._state is not _State.OPEN or self._session is None:
            hint = "use 'async with HeroClient(...)'" if self._state is _State.UNOPENED else ""
            raise ClientClosedError(f"HeroClient is {self._state.value}; {hint}".rstrip("; "))
        return self._session

    def _api_error(
        self, raw: RawResponse, method: str, path: str, practice_group_id: str
    ) -> APIError:
        retry_after = None
        if raw.status == 429:
            retry_after = parse_retry_after(
                raw.headers.get("Retry-After"),
                now=self._clock(),
                cap=self._retry.max_retry_after,
            )
        return error_from_response(
            status=raw.status,
            method=method,
            path=path,
            practice_group_id=practice_group_id,
            home_practice_group_id=self._home_group,
            body=error_body(raw.body),
            request_id=request_id(raw.headers),
            retry_after=retry_after,
        )

    async def _on_failure(self, failure: HeroError, practice_group_id: str) -> None:
        if isinstance(failure, APIError) and failure.status == 429:
            retry_after = getattr(failure, "retry_after", None)
            self._limiter.pause(
                C.DEFAULT_RETRY_AFTER_SECONDS if retry_after is None else retry_after
            )
        elif isinstance(failure, AuthenticationError | PermissionDeniedError):
            # The practice may have rotated or revoked the key: drop what we cached for it.
            await self._tokens.invalidate(practice_group_id)


def _trace(method: str, path: str, group: str, status: int, started: float, attempt: int) -> None:
    if _log.isEnabledFor(logging.DEBUG):
        _log.debug(
            "%s %s practice_group=%s -> %s in %.1f ms (attempt %d)",
            method,
            path,
            group,
            status or "no answer",
            (time.perf_counter() - started) * 1000,
            attempt + 1,
        )
