"""The request path: lifecycle, pool gate, rate gate, retry loop, error mapping, token minting.

``Core`` knows nothing above it: resources, views and the bulk layer call its two public
coroutines, :meth:`Core.request` and :meth:`Core.access_token`, with a ``CallOptions`` value
that says how this call differs from the client's defaults (timeouts, an extra rate gate).
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import attrs

from . import _constants as C
from . import _json
from ._auth import AccessToken, TokenCache, TokenStore
from ._errors import (
    APIError,
    AuthenticationError,
    ClientClosedError,
    HeroError,
    MalformedResponseError,
    OutcomeUnknownError,
    PermissionDeniedError,
    TransportError,
    error_from_response,
)
from ._ratelimit import LocalRateLimiter, RateLimiter
from ._retry import IDEMPOTENT_METHODS, Decision, RetryPolicy, decide, parse_retry_after
from ._slots import Slots
from ._transport import (
    RawResponse,
    Timeouts,
    Transport,
    decode_json,
    error_body,
    frozen_headers,
    request_id,
)

__all__ = ["CallOptions", "Core"]

_log = logging.getLogger("hero_async")
Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
Query = list[tuple[str, str]]


@attrs.frozen(slots=True)
class CallOptions:
    """How one view's calls differ from the client defaults: timeouts, an extra rate gate
    (a bulk job's own cap, passed before the client-wide one) and ``throttle_budget``: seconds
    for which 429s are retried without counting as attempts (bulk runs; Hero did not act)."""

    timeouts: Timeouts
    limiter: RateLimiter | None = None
    throttle_budget: float | None = None


class _State(enum.Enum):
    UNOPENED = "unopened"
    OPEN = "open"
    CLOSED = "closed"


class Core:
    """One API key's request path; owned by a HeroClient, shared by all its views."""

    def __init__(
        self,
        *,
        api_key: str,
        home_group: str,
        base_url: str,
        transport: Transport,
        owns_transport: bool,
        max_connections: int,
        retry: RetryPolicy,
        limiter: RateLimiter,
        timeouts: Timeouts,
        token_store: TokenStore | None,
        token_min_remaining: float,
        clock: Clock,
        sleep: Sleep,
        monotonic: Clock = time.monotonic,
    ) -> None:
        self._api_key = api_key
        self.home_group = home_group
        self.base_url = base_url
        self.transport = transport
        self._owns_transport = owns_transport
        self._slots = Slots(max_connections)
        self.retry = retry
        self.limiter = limiter
        # Our own limiter admits most requests without a coroutine (twice per invitation);
        # any other, a subclass too, is awaited as it is.
        self._admit = limiter.admit if type(limiter) is LocalRateLimiter else None
        self.default_timeouts = timeouts
        self._tokens = TokenCache(
            self.mint_token, store=token_store, min_remaining=token_min_remaining, clock=clock
        )
        self._clock, self._monotonic = clock, monotonic
        self.sleep = sleep  # injected: the bulk layer waits outages out on it too
        self._state = _State.UNOPENED
        self._headers: dict[str, Mapping[str, str]] = {}

    # -- lifecycle -------------------------------------------------------------------------
    def open(self) -> None:
        if self._state is not _State.UNOPENED:
            raise ClientClosedError(f"HeroClient is {self._state.value}; create a new one")
        self._state = _State.OPEN

    async def aclose(self) -> None:
        if self._state is _State.CLOSED:
            return
        self._state = _State.CLOSED
        await self._tokens.aclose()
        if self._owns_transport:
            await self.transport.aclose()

    @property
    def state(self) -> str:
        return self._state.value

    def ensure_open(self) -> None:
        if self._state is not _State.OPEN:
            hint = "use 'async with HeroClient(...)'" if self._state is _State.UNOPENED else ""
            raise ClientClosedError(f"HeroClient is {self._state.value}; {hint}".rstrip("; "))

    # -- tokens ----------------------------------------------------------------------------
    async def access_token(self, practice_group_id: str) -> AccessToken:
        self.ensure_open()
        return await self._tokens.get(practice_group_id)

    async def invalidate_token(self, practice_group_id: str) -> None:
        await self._tokens.invalidate(practice_group_id)

    async def mint_token(self, practice_group_id: str) -> AccessToken:
        """A fresh token from Hero, bypassing the cache."""
        issued_at = self._clock()
        # Minting a token changes nothing a patient sees, so it is safe to resend.
        try:
            body = await self.request(
                "POST", "/v1/access_token", practice_group_id, None, idempotent=True
            )
        except MalformedResponseError as exc:  # the raw body may be the token itself
            raise MalformedResponseError(
                "access token answer is not JSON", status=exc.status, body=""
            ).at("POST", "/v1/access_token", practice_group_id) from None
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise MalformedResponseError("no access_token in answer", status=200, body="").at(
                "POST", "/v1/access_token", practice_group_id
            )
        return AccessToken.from_jwt(token, practice_group_id, issued_at=issued_at)

    # -- the request path ------------------------------------------------------------------
    async def request(
        self,
        method: str,
        path: str,
        practice_group_id: str,
        options: CallOptions | None,
        *,
        json: Any = None,
        params: Query | None = None,
        idempotent: bool | None = None,
    ) -> Any:
        """Send with the retry rules of ``_retry``; return the decoded JSON body."""
        data = None if json is None else _json.dumps(json)
        headers = self._headers.get(practice_group_id) or self._headers_for(practice_group_id)
        safe = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        extra = None if options is None else options.limiter
        timeouts = self.default_timeouts if options is None else options.timeouts
        url = self.base_url + path
        delays = None  # the backoff generator, made on the first failure only
        budget = None if options is None else options.throttle_budget
        throttled_until = None  # with a budget: 429s until then are not counted as attempts
        attempt = -1
        slots, admit = self._slots, self._admit
        while True:
            attempt += 1
            started = time.perf_counter()
            try:
                # Take a pool slot first, then pass the rate gates: a request queued for a
                # connection must still see a 429 pause that began while it waited, or a storm
                # of queued requests all hit Hero the moment connections free up.
                waiter = slots.take()  # no coroutine unless all slots are taken
                if waiter is not None:
                    await slots.wait(waiter)
                try:
                    if extra is not None:
                        await extra.acquire()
                    if admit is None or not admit():
                        await self.limiter.acquire()
                    if self._state is not _State.OPEN:  # per attempt: close() may come mid-backoff
                        self.ensure_open()
                    raw = await self.transport.send(
                        method, url, headers=headers, data=data, params=params,
                        timeouts=timeouts,
                    )  # fmt: skip
                finally:
                    slots.give_back()
            except MalformedResponseError as exc:  # an oversized 2xx answer
                raise exc.at(method, path, practice_group_id) from None
            except TransportError as exc:
                exc.method, exc.path, exc.practice_group_id = method, path, practice_group_id
                failure: HeroError = exc
                decision = decide(idempotent=safe, reached_server=exc.reached_server)
                status = 0
            else:
                status = raw.status
                if 200 <= status < 300:
                    if _log.isEnabledFor(logging.DEBUG):  # the success path: no call if not
                        _trace(method, path, practice_group_id, status, started, attempt)
                    try:
                        return decode_json(raw)
                    except MalformedResponseError as exc:
                        raise exc.at(method, path, practice_group_id) from None
                failure = self._api_error(raw, method, path, practice_group_id)
                decision = decide(idempotent=safe, status=status)
            _trace(method, path, practice_group_id, status, started, attempt)
            await self._on_failure(failure, practice_group_id)
            if decision is Decision.UNKNOWN:
                raise OutcomeUnknownError(
                    method=method, path=path, practice_group_id=practice_group_id,
                    cause=str(failure),
                ) from failure  # fmt: skip
            if status == 429 and budget is not None:
                now = self._monotonic()
                throttled_until = throttled_until or now + budget
                if now < throttled_until:
                    attempt -= 1  # Hero did not act: a 429 within the budget is free
            if decision is Decision.RAISE or attempt >= self.retry.max_retries:
                raise failure
            if status != 429:  # a 429 already paused the whole client via the limiter
                if delays is None:
                    delays = self.retry.delays()
                await self.sleep(next(delays))

    def _headers_for(self, practice_group_id: str) -> Mapping[str, str]:
        headers = self._headers.get(practice_group_id)
        if headers is None:
            headers = frozen_headers(
                {
                    "x-api-key": self._api_key,
                    "x-practice-group-id": practice_group_id,
                    "content-type": "application/json",
                    "accept": "application/json",
                    "user-agent": C.USER_AGENT,
                }
            )
            if len(self._headers) < C.TOKEN_CACHE_PRUNE_AT:
                self._headers[practice_group_id] = headers
        return headers

    def _api_error(self, raw: RawResponse, method: str, path: str, group: str) -> APIError:
        retry_after = None
        if raw.status == 429:
            retry_after = parse_retry_after(
                raw.headers.get("Retry-After"), now=self._clock(), cap=self.retry.max_retry_after
            )
        return error_from_response(
            status=raw.status,
            method=method,
            path=path,
            practice_group_id=group,
            home_practice_group_id=self.home_group,
            body=error_body(raw.body),
            request_id=request_id(raw.headers),
            retry_after=retry_after,
        )

    async def _on_failure(self, failure: HeroError, practice_group_id: str) -> None:
        if isinstance(failure, APIError) and failure.status == 429:
            retry_after = getattr(failure, "retry_after", None)
            self.limiter.pause(
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
