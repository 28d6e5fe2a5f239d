"""The I/O seam: a Transport sends one HTTP request and reads one answer.

Everything above this module is pure decision-making; everything aiohttp-specific, including
which aiohttp exceptions mean "Hero never saw it", lives here (and in ``_aiobody``, the request
bodies handed to aiohttp). This is the only module that imports aiohttp's client. Tests (and
unusual deployments) pass their own ``Transport`` to ``HeroClient(transport=...)``: it must
raise ``TransportError(reached_server=...)`` when no usable answer came, and return a
``RawResponse`` otherwise, whatever its status.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any, NamedTuple, Protocol

import aiohttp
import attrs
from multidict import CIMultiDict, CIMultiDictProxy

from . import _constants as C
from . import _json
from ._aiobody import body_maker
from ._errors import MalformedResponseError, TimeoutError, TransportError, ValidationError

__all__ = [
    "AiohttpTransport",
    "ClientSession",
    "RawResponse",
    "Timeouts",
    "Transport",
    "decode_json",
    "error_body",
    "frozen_headers",
    "request_id",
]

ClientSession = aiohttp.ClientSession  # for the type of HeroClient(session=...)

# Failures that happen before a single byte of the request could have reached Hero.
_NOT_CONNECTED: tuple[type[BaseException], ...] = (aiohttp.ClientConnectorError,)
_CONNECT_TIMEOUT: tuple[type[BaseException], ...] = (
    (aiohttp.ConnectionTimeoutError,) if hasattr(aiohttp, "ConnectionTimeoutError") else ()
)


class RawResponse(NamedTuple):
    """One answer, whatever its status: what a ``Transport`` returns. A NamedTuple: two are
    made per bulk invitation, and a frozen attrs class takes three times as long to build."""

    status: int
    headers: Mapping[str, str]
    body: bytes


@attrs.frozen(slots=True)
class Timeouts:
    """Seconds for one attempt: ``total`` for the whole exchange, ``connect`` to connect."""

    total: float
    connect: float


class Transport(Protocol):
    async def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        data: bytes | None,
        params: list[tuple[str, str]] | None,
        timeouts: Timeouts,
    ) -> RawResponse:
        """Send once; raise ``TransportError`` saying whether Hero may have seen it."""

    async def aclose(self) -> None:
        """Release connections (the transport's owner is closing)."""


class AiohttpTransport:
    """The default Transport: one aiohttp pool, created lazily inside the running loop."""

    def __init__(
        self,
        *,
        max_connections: int = C.DEFAULT_MAX_CONNECTIONS,
        session: aiohttp.ClientSession | None = None,
        https: bool = True,
    ) -> None:
        if session is not None and https:
            _check_tls(session)
        self._max_connections = max_connections
        self._session = session
        self._owns_session = session is None
        self._timeouts: dict[Timeouts, aiohttp.ClientTimeout] = {}
        self._last_key: Timeouts | None = None  # the Timeouts of the last request, and its
        self._last_timeout = aiohttp.ClientTimeout()  # aiohttp value
        self._body = body_maker()  # every body is JSON (Core sets the content-type header)

    async def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        data: bytes | None,
        params: list[tuple[str, str]] | None,
        timeouts: Timeouts,
    ) -> RawResponse:
        session = self._session or self._open()
        # By identity first: hashing the attrs value is a Python call, and a view passes the
        # same Timeouts object on every request.
        timeout = self._last_timeout if timeouts is self._last_key else self._timeout(timeouts)
        # One coroutine per request: the request and the read are inlined here rather than
        # behind a helper (each await layer costs on the bulk path, twice per invitation).
        try:
            # Redirects are never followed: the API key travels in a header, and a redirected
            # POST would be a second send.
            # Awaited, not ``async with``: release() in ``finally`` is what its exit does
            # (an unread or broken connection is closed, never pooled), without 3 coroutines.
            response = await session.request(
                method,
                url,
                headers=headers,
                data=None if data is None else self._body(data),
                params=params,
                timeout=timeout,
                allow_redirects=False,
            )
            try:
                length = response.content_length
                if length is not None and length <= C.MAX_RESPONSE_BYTES:
                    body = await response.read()
                else:
                    body = await _read_capped(response)
                return RawResponse(response.status, response.headers, body)
            finally:
                response.release()
        except _CONNECT_TIMEOUT as exc:
            raise TimeoutError("timed out connecting to Hero", reached_server=False) from exc
        except _NOT_CONNECTED as exc:
            raise TransportError(
                f"could not connect to Hero ({type(exc).__name__})", reached_server=False
            ) from exc
        except (builtins.TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise TimeoutError("timed out waiting for Hero's answer", reached_server=True) from exc
        except aiohttp.ClientError as exc:
            raise TransportError(
                f"connection to Hero failed mid-request ({type(exc).__name__})",
                reached_server=True,
            ) from exc

    def _timeout(self, timeouts: Timeouts) -> aiohttp.ClientTimeout:
        timeout = self._timeouts.get(timeouts)
        if timeout is None:
            timeout = aiohttp.ClientTimeout(total=timeouts.total, connect=timeouts.connect)
            if len(self._timeouts) < 64:
                self._timeouts[timeouts] = timeout
        self._last_key, self._last_timeout = timeouts, timeout
        return timeout

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self._max_connections,
            limit_per_host=self._max_connections,
            keepalive_timeout=C.KEEPALIVE_SECONDS,
            ttl_dns_cache=300,
            # ssl left at its default: certificates are always verified.
        )
        self._session = aiohttp.ClientSession(connector=connector, raise_for_status=False)
        return self._session

    async def aclose(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()

    @property
    def session(self) -> aiohttp.ClientSession | None:
        """The pool, once the first request opened it (or the caller's own session)."""
        return self._session


def _check_tls(session: aiohttp.ClientSession) -> None:
    """Refuse a caller's session whose connector skips certificate checks: the API key would
    go to whoever answers. (Loopback URLs, i.e. the fake server, are plain http anyway.)"""
    if getattr(session.connector, "_ssl", True) is False:
        raise ValidationError(
            "session", "its connector has TLS verification switched off (ssl=False); refused"
        )


_ERROR_BODY_KEPT = 64 * 1024


async def _read_capped(response: aiohttp.ClientResponse) -> bytes:
    length = response.content_length
    if length is not None and length <= C.MAX_RESPONSE_BYTES:
        return await response.read()
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_any():
        size += len(chunk)
        if size > C.MAX_RESPONSE_BYTES:
            response.close()
            if response.status >= 300:
                # An oversized error page still is an error status: keep its start, and let
                # the status decide (a 5xx to a POST must stay "outcome unknown").
                return b"".join(chunks)[:_ERROR_BODY_KEPT]
            raise MalformedResponseError(
                f"response larger than {C.MAX_RESPONSE_BYTES} bytes refused",
                status=response.status,
                body="",
            )
        chunks.append(chunk)
    return b"".join(chunks)


def frozen_headers(headers: Mapping[str, str]) -> Mapping[str, str]:
    """A practice group's request headers, made once, as aiohttp keeps them (read-only): given
    a dict, aiohttp copies it into a multidict on every request."""
    return CIMultiDictProxy(CIMultiDict(headers))


def decode_json(raw: RawResponse) -> Any:
    if not raw.body:
        return None
    try:
        return _json.loads(raw.body)
    except _json.DecodeError:
        raise MalformedResponseError(
            "answer is not JSON", status=raw.status, body=raw.body.decode("utf-8", "replace")
        ) from None


def error_body(body: bytes) -> Any:
    try:
        return _json.loads(body) if body else None
    except _json.DecodeError:
        return body.decode("utf-8", "replace")[:500]  # e.g. a proxy's HTML error page


def request_id(headers: Mapping[str, str]) -> str | None:
    for name in C.REQUEST_ID_HEADERS:
        value = headers.get(name)
        if value:
            return value
    return None
