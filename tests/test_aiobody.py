"""The request bodies handed to aiohttp (``hero_async/_aiobody.py``): exactly the bytes and
length ``data=bytes`` would send, and plain bytes again if aiohttp builds its payloads some
other way than the copy assumes."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import payload, web

from hero_async._aiobody import body_maker
from hero_async._transport import AiohttpTransport, Timeouts


async def test_a_body_is_a_bytes_payload_of_exactly_those_bytes() -> None:
    body: Any = body_maker()(b'{"a":"b"}')
    assert type(body) is payload.BytesPayload
    assert body.size == 9
    assert await body.as_bytes() == b'{"a":"b"}'
    assert body.content_type == "application/json"


def test_bodies_share_nothing_a_request_could_change() -> None:
    make = body_maker()
    one: Any = make(b"[1]")
    two: Any = make(b'{"x":22}')
    with pytest.raises(TypeError):  # the one header set all bodies share is read-only
        one.headers["Content-Type"] = "text/plain"
    assert (one.size, one.decode()) == (3, "[1]")
    assert (two.size, two.decode()) == (8, '{"x":22}')


class _Digested(payload.BytesPayload):
    def __init__(self, value: bytes, *args: Any, **kwargs: Any) -> None:
        super().__init__(value, *args, **kwargs)
        self._digest = hash(value)  # state of its own per body: a copy would carry another's


class _Listed(payload.BytesPayload):
    def __init__(self, value: bytes, *args: Any, **kwargs: Any) -> None:
        super().__init__(value, *args, **kwargs)
        self._parts: list[bytes] = []  # equal for every body, but a copy would share the list


class _Slotted:
    __slots__ = ("_size", "_value")

    def __init__(self, value: bytes, **kwargs: Any) -> None:
        self._value, self._size = value, len(value)


class _Sized(payload.BytesPayload):
    def __init__(self, value: bytes, *args: Any, **kwargs: Any) -> None:
        super().__init__(value, *args, **kwargs)
        self._size = 2 * len(value)  # not the length the copy would set


@pytest.mark.parametrize("built_otherwise", [_Digested, _Listed, _Slotted, _Sized])
def test_payloads_aiohttp_builds_another_way_are_left_to_aiohttp(
    monkeypatch: pytest.MonkeyPatch, built_otherwise: type
) -> None:
    monkeypatch.setattr(payload, "BytesPayload", built_otherwise)
    data = b'{"a":1}'
    assert body_maker()(data) is data


async def test_every_send_puts_the_exact_bytes_and_their_length_on_the_wire() -> None:
    seen: list[tuple[str, str, bytes]] = []

    async def record(request: web.Request) -> web.Response:
        headers = request.headers
        seen.append((headers["Content-Length"], headers["Content-Type"], await request.read()))
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/v1/messages/send", record)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    transport = AiohttpTransport(https=False)
    data = '{"message_string":"Book at Dr Sé\'s: https://hero.sh/b/x"}'.encode()
    try:
        for _ in range(2):  # the same bytes again, as a retry sends them: a body of its own
            raw = await transport.send(
                "POST",
                f"http://127.0.0.1:{port}/v1/messages/send",
                headers={"content-type": "application/json"},
                data=data,
                params=None,
                timeouts=Timeouts(total=10, connect=5),
            )
            assert raw.status == 200
    finally:
        await transport.aclose()
        await runner.cleanup()
    assert seen == [(str(len(data)), "application/json", data)] * 2
