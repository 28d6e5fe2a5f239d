"""The I/O seam: one coroutine that sends one HTTP request and reads one answer.

Everything above this module is pure decision-making; everything aiohttp-specific, including
which aiohttp exceptions mean "Hero never saw it", lives here.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any

import aiohttp
import attrs

from . import _constants as C
from . import _json
from ._errors import MalformedResponseError, TimeoutError, TransportError

__all__ = [
    "RawResponse",
    "decode_json",
    "error_body",
    "make_session",
    "request_id",
    "send",
]

# Failures that happen before a single byte of the request could have reached Hero.
_NOT_CONNECTED: tuple[type[BaseException], ...] = (aiohttp.ClientConnectorError,)
_CONNECT_TIMEOUT: tuple[type[BaseException], ...] = (
    (aiohttp.ConnectionTimeoutError,) if hasattr(aiohttp, "ConnectionTimeoutError") else ()
)


@attrs.frozen(slots=True)
class RawResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes


def make_session(
    *, max_connections: int, connect_timeout: float, timeout: float
) -> aiohttp.ClientSession:
    """The one pool of a HeroClient. Must be called inside the running event loop."""
    connector = aiohttp.TCPConnector(
        limit=max_connections,
        limit_per_host=max_connections,
        keepalive_timeout=C.KEEPALIVE_SECONDS,
        ttl_dns_cache=300,
        # ssl left at its default: certificates are always verified.
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=timeout, connect=connect_timeout),
        raise_for_status=False,
    )


async def send(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    headers: Mapping[str, str],
    data: bytes | None,
    params: list[tuple[str, str]] | None = None,
    client_timeout: aiohttp.ClientTimeout,
) -> RawResponse:
    """Send once. Raises TransportError/TimeoutError saying whether Hero may have seen it."""
    try:
        # Redirects are never followed: the API key travels in a header, and a redirected POST
        # would be a second send.
        async with session.request(
            method,
            url,
            headers=headers,
            data=data,
            params=params,
            timeout=client_timeout,
            allow_redirects=False,
        ) as response:
            length = response.content_length
            if length is not None and length <= C.MAX_RESPONSE_BYTES:
                body = await response.read()
            else:
                body = await _read_capped(response)
            return RawResponse(response.status, response.headers, body)
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
            f"connection to Hero failed mid-request ({type(exc).__name__})", reached_server=True
        ) from exc


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
