"""Malformed answers from "Hero" (or whatever sits in front of it): HTML error pages, truncated
JSON, wrong types, huge bodies, redirects. Each must end as a typed HeroError, never hang, never
leave a connection acquired, and never be followed or resent where that could act twice.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from reliability_support import API_KEY, HOME, acquired_connections

from hero_async import (
    APIError,
    HeroClient,
    MalformedResponseError,
    OutcomeUnknownError,
    ServerError,
)
from hero_async import _constants as C

HTML_PAGE = (
    "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>"
    + "<p>upstream connect error or disconnect/reset before headers</p>" * 200
    + "</body></html>"
)


class Server:
    """A loopback server whose every route is a test-provided handler; counts what it saw."""

    def __init__(self) -> None:
        self.app = web.Application()
        self.hits: list[tuple[str, str]] = []
        self.streamed = 0  # bytes written by streaming handlers
        self.runner: web.AppRunner | None = None
        self.url = ""

    def route(self, method: str, path: str, handler: Callable[..., Awaitable[Any]]) -> None:
        async def counted(request: web.Request) -> web.StreamResponse:
            self.hits.append((request.method, request.path))
            return await handler(request)

        self.app.router.add_route(method, path, counted)

    async def start(self) -> None:
        self.runner = web.AppRunner(self.app, shutdown_timeout=0.5)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}"

    async def close(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    found = Server()
    yield found
    await found.close()


async def instant(_: float) -> None:
    await asyncio.sleep(0)


async def client_for(server: Server, **options: Any) -> HeroClient:
    await server.start()
    return HeroClient(API_KEY, HOME, base_url=server.url, sleep=instant, **options)


def text(body: str, status: int = 200, content_type: str = "text/html") -> Any:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=status, text=body, content_type=content_type)

    return handler


def raw(body: bytes, status: int = 200) -> Any:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=status, body=body, content_type="application/json")

    return handler


# -- HTML error pages ---------------------------------------------------------------------------


async def test_an_html_502_page_on_a_get_is_retried_then_raised_as_server_error(
    server: Server,
) -> None:
    server.route("GET", "/v1/me", text(HTML_PAGE, status=502))
    async with await client_for(server, max_retries=2) as hero:
        with pytest.raises(ServerError) as caught:
            await hero.practice_group_info.me()
        assert acquired_connections(hero) == 0
    error = caught.value
    assert error.status == 502
    assert isinstance(error.body, str)
    assert len(error.body) <= 500  # a whole proxy page is not kept in the error
    assert len(str(error)) < 1000
    assert len(server.hits) == 3


async def test_an_html_502_page_on_a_post_is_outcome_unknown_and_not_resent(
    server: Server,
) -> None:
    server.route("POST", "/v1/messages/send", text(HTML_PAGE, status=502))
    async with await client_for(server) as hero:
        with pytest.raises(OutcomeUnknownError):
            await hero.messages.send(patient_id="5", message_type="sms", message_string="hi")
        assert acquired_connections(hero) == 0
    assert len(server.hits) == 1


async def test_an_html_page_with_status_200_is_a_malformed_response(server: Server) -> None:
    server.route("GET", "/v1/me", text("<html><body>Welcome to nginx!</body></html>"))
    async with await client_for(server) as hero:
        with pytest.raises(MalformedResponseError) as caught:
            await hero.practice_group_info.me()
        assert acquired_connections(hero) == 0
    assert caught.value.status == 200


# -- truncated JSON and wrong types -------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b'{"id": "1001", "name": "Riverside',
        b'{"id": "10',
        b"{",
        b"\xff\xfe\x00garbage",
        b"null",
        b"[]",
        b'"a string"',
        b"12",
    ],
)
async def test_truncated_or_non_object_json_is_a_malformed_response(
    server: Server, body: bytes
) -> None:
    server.route("GET", "/v1/booking_links/5", raw(body))
    async with await client_for(server) as hero:
        with pytest.raises(MalformedResponseError):
            await hero.booking_links.get("5")
        assert acquired_connections(hero) == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"id": "5", "active": "yes"}, "active"),
        ({"id": "5", "maximum_uses": "many"}, "maximum_uses"),
        ({"id": "5", "expiry_date": 20261231}, "expiry_date"),
        ({"id": "5", "meta": "none"}, "meta"),
    ],
)
async def test_a_wrong_type_in_an_optional_field_is_read_as_its_default(
    server: Server, body: dict[str, Any], field: str
) -> None:
    """Issue 12: a 2xx never fails over a field the caller may not need; ``raw`` keeps it."""
    server.route("GET", "/v1/booking_links/5", raw(_dumps(body)))
    async with await client_for(server) as hero:
        link = await hero.booking_links.get("5")
    assert link.id == "5"
    assert link.raw[field] == body[field]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"id": {"nested": 1}}, "id"),
        ({"short_link": "https://x"}, "id"),
    ],
)
async def test_wrong_types_are_a_malformed_response_naming_the_field(
    server: Server, body: dict[str, Any], field: str
) -> None:
    server.route("GET", "/v1/booking_links/5", raw(_dumps(body)))
    async with await client_for(server) as hero:
        with pytest.raises(MalformedResponseError) as caught:
            await hero.booking_links.get("5")
    assert field in str(caught.value)


@pytest.mark.parametrize(
    "body",
    [{"data": "nope", "count": 1}, {"data": [{"id": []}], "count": 1}, {"id": "7"}, "x"],
)
async def test_a_list_answer_of_the_wrong_shape_is_a_malformed_response(
    server: Server, body: Any
) -> None:
    server.route("GET", "/v1/locations", raw(_dumps(body)))
    async with await client_for(server) as hero:
        with pytest.raises(MalformedResponseError):
            await hero.locations.list()


async def test_a_list_answer_without_data_is_an_empty_page(server: Server) -> None:
    """The description does not require ``data``: ``{"count": 1}`` is read as no items (a
    GET, so nothing was done that an error would hide)."""
    server.route("GET", "/v1/locations", raw(_dumps({"count": 1})))
    async with await client_for(server) as hero:
        page = await hero.locations.list()
    assert list(page.data) == []


def _dumps(value: Any) -> bytes:
    return json.dumps(value).encode()


# -- huge bodies --------------------------------------------------------------------------------


def endless(server: Server, *, declared: int | None) -> Any:
    """Streams JSON-looking bytes until the client hangs up (or 64 MiB), counting them."""

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        if declared is not None:
            response.content_length = declared
        await response.prepare(request)
        chunk = b'{"pad": "' + b"x" * 65_536
        try:
            while server.streamed < 64 * 1024 * 1024:
                await response.write(chunk)
                server.streamed += len(chunk)
        except (ConnectionError, RuntimeError):
            pass  # the client closed the connection: what we want
        return response

    return handler


@pytest.mark.parametrize("declared", [None, 1 << 40], ids=["chunked", "content-length-1TiB"])
async def test_a_huge_body_is_refused_once_the_cap_is_read(
    server: Server, monkeypatch: pytest.MonkeyPatch, declared: int | None
) -> None:
    """Only about the cap is read into memory, then the connection is dropped."""
    cap = 256 * 1024
    monkeypatch.setattr(C, "MAX_RESPONSE_BYTES", cap)
    server.route("GET", "/v1/me", endless(server, declared=declared))
    async with await client_for(server) as hero:
        async with asyncio.timeout(20):
            with pytest.raises(MalformedResponseError) as caught:
                await hero.practice_group_info.me()
        assert acquired_connections(hero) == 0
    assert "larger than" in str(caught.value)
    # What the server managed to push is the cap plus socket buffers, not the 64 MiB it had.
    assert server.streamed < cap + 16 * 1024 * 1024


async def test_the_default_cap_refuses_a_body_larger_than_8_mib(server: Server) -> None:
    server.route("GET", "/v1/me", endless(server, declared=None))
    async with await client_for(server) as hero:
        async with asyncio.timeout(30):
            with pytest.raises(MalformedResponseError):
                await hero.practice_group_info.me()
        assert acquired_connections(hero) == 0
    assert server.streamed < C.MAX_RESPONSE_BYTES + 24 * 1024 * 1024


async def test_a_huge_error_page_is_cut_and_its_status_still_decides(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An oversized 500 page is read only up to the cap, and stays a ServerError."""
    monkeypatch.setattr(C, "MAX_RESPONSE_BYTES", 64 * 1024)
    server.route("GET", "/v1/me", text("<p>oops</p>" * 100_000, status=500))
    async with await client_for(server, max_retries=1) as hero:
        with pytest.raises(ServerError):
            await hero.practice_group_info.me()
        assert acquired_connections(hero) == 0


async def test_a_huge_5xx_page_to_a_post_is_outcome_unknown(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 503 with an oversized body to POST /v1/messages/send may have been acted on:
    OutcomeUnknownError (never a MalformedResponseError a bulk job would call "failed")."""
    monkeypatch.setattr(C, "MAX_RESPONSE_BYTES", 64 * 1024)
    server.route("POST", "/v1/messages/send", text("<p>busy</p>" * 100_000, status=503))
    async with await client_for(server) as hero:
        with pytest.raises(OutcomeUnknownError):
            await hero.messages.send(patient_id="5", message_type="sms", message_string="hi")
        assert acquired_connections(hero) == 0


# -- redirects ----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_an_unexpected_redirect_is_never_followed(
    server: Server, status: int, method: str
) -> None:
    """The API key travels in a header and a redirected POST would be a second send: a
    redirect is an error, and the target never hears from us."""
    elsewhere = Server()
    elsewhere.route("*", "/{tail:.*}", text("{}", content_type="application/json"))
    await elsewhere.start()

    async def redirect(request: web.Request) -> web.Response:
        return web.Response(status=status, headers={"Location": elsewhere.url + "/steal"})

    server.route(
        method, "/v1/booking_links/5" if method == "GET" else "/v1/booking_links", redirect
    )
    try:
        async with await client_for(server) as hero:
            with pytest.raises(APIError) as caught:
                if method == "GET":
                    await hero.booking_links.get("5")
                else:
                    await hero.booking_links.create(appointment_type_id="10", location_id="20")
            assert acquired_connections(hero) == 0
    finally:
        await elsewhere.close()
    assert caught.value.status == status
    assert elsewhere.hits == []
    assert len(server.hits) == 1
