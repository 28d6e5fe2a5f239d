"""webhook_app / webhook_handler over real HTTP on 127.0.0.1: status codes and task ownership."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import test_utils, web

from hero_async._errors import ValidationError
from hero_async.webhooks import (
    WEBHOOK_RECEIVER,
    WebhookEvent,
    WebhookRouter,
    webhook_app,
    webhook_handler,
)

KEY = "whsec_app_key"
PATH = "/hero/webhooks"
PAYLOAD = {
    "object": "Appointment",
    "id": "156",
    "practice_group_id": "42",
    "event": "appointment.confirmed",
}
BODY = json.dumps(PAYLOAD).encode()

Client = test_utils.TestClient[web.Request, web.Application]
MakeClient = Callable[[web.Application], Awaitable[Client]]


def signed(body: bytes = BODY, *, key: str = KEY, timestamp: str | None = None) -> dict[str, str]:
    """Headers as Hero sends them: epoch-seconds timestamp, hex HMAC over "{ts}.{body}"."""
    ts = timestamp or str(int(time.time()))
    digest = hmac.new(key.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"X-Herohealth-Timestamp": ts, "X-Herohealth-Signature": digest}


@pytest.fixture
async def make_client() -> AsyncIterator[MakeClient]:
    clients: list[Client] = []

    async def make(app: web.Application) -> Client:
        client = test_utils.TestClient(test_utils.TestServer(app, host="127.0.0.1"))
        await client.start_server()
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


def recording_router() -> tuple[WebhookRouter, list[WebhookEvent]]:
    router = WebhookRouter()
    received: list[WebhookEvent] = []

    @router.on_any
    async def record(event: WebhookEvent) -> None:
        received.append(event)

    return router, received


async def test_signed_delivery_answered_and_dispatched(make_client: MakeClient) -> None:
    router, received = recording_router()
    app = webhook_app(KEY, router)
    client = await make_client(app)
    response = await client.post(PATH, data=BODY, headers=signed())
    assert response.status == 200
    await app[WEBHOOK_RECEIVER].drain()
    assert received == [WebhookEvent(**PAYLOAD)]


async def test_answers_before_the_handler_finishes(make_client: MakeClient) -> None:
    router = WebhookRouter()
    started, release = asyncio.Event(), asyncio.Event()

    @router.on("appointment.confirmed")
    async def slow(event: WebhookEvent) -> None:
        started.set()
        await release.wait()

    app = webhook_app(KEY, router)
    client = await make_client(app)
    response = await client.post(PATH, data=BODY, headers=signed())
    assert response.status == 200
    await started.wait()
    release.set()
    await app[WEBHOOK_RECEIVER].drain()


@pytest.mark.parametrize(
    "headers",
    [
        {},
        signed(key="whsec_wrong"),
        {**signed(), "X-Herohealth-Signature": "0" * 64},
        signed(timestamp=str(int(time.time()) - 3600)),
        signed(timestamp="not-a-time"),
    ],
    ids=["missing", "wrong-key", "wrong-signature", "stale", "bad-timestamp"],
)
async def test_unverified_delivery_is_401_and_never_dispatched(
    make_client: MakeClient, headers: dict[str, str]
) -> None:
    router, received = recording_router()
    app = webhook_app(KEY, router)
    client = await make_client(app)
    response = await client.post(PATH, data=BODY, headers=headers)
    assert response.status == 401
    assert KEY not in await response.text()
    await app[WEBHOOK_RECEIVER].drain()
    assert received == []


async def test_tampered_body_is_401(make_client: MakeClient) -> None:
    client = await make_client(webhook_app(KEY, WebhookRouter()))
    response = await client.post(PATH, data=BODY.replace(b"156", b"999"), headers=signed())
    assert response.status == 401


async def test_header_names_are_case_insensitive(make_client: MakeClient) -> None:
    client = await make_client(webhook_app(KEY, WebhookRouter()))
    headers = {name.lower(): value for name, value in signed().items()}
    assert (await client.post(PATH, data=BODY, headers=headers)).status == 200


@pytest.mark.parametrize("body", [b"not json", b"[]", json.dumps({**PAYLOAD, "id": 156}).encode()])
async def test_signed_but_malformed_body_is_400(make_client: MakeClient, body: bytes) -> None:
    client = await make_client(webhook_app(KEY, WebhookRouter()))
    response = await client.post(PATH, data=body, headers=signed(body))
    assert response.status == 400


async def test_oversized_body_is_413_with_or_without_content_length(
    make_client: MakeClient,
) -> None:
    client = await make_client(webhook_app(KEY, WebhookRouter(), max_body_bytes=1024))
    big = b" " * 1025 + BODY

    async def chunked() -> AsyncIterator[bytes]:
        for _ in range(4):
            yield b" " * 512

    assert (await client.post(PATH, data=big, headers=signed(big))).status == 413
    assert (await client.post(PATH, data=chunked(), headers=signed())).status == 413
    padded = b" " * (1024 - len(BODY)) + BODY
    assert (await client.post(PATH, data=padded, headers=signed(padded))).status == 200


async def test_other_methods_are_405(make_client: MakeClient) -> None:
    client = await make_client(webhook_app(KEY, WebhookRouter()))
    assert (await client.get(PATH)).status == 405


async def test_replayed_delivery_handled_once(make_client: MakeClient) -> None:
    router, received = recording_router()
    app = webhook_app(KEY, router)
    client = await make_client(app)
    headers = signed()
    for _ in range(3):
        assert (await client.post(PATH, data=BODY, headers=headers)).status == 200
    await app[WEBHOOK_RECEIVER].drain()
    assert len(received) == 1


async def test_failing_handler_logged_and_later_events_still_run(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    router, received = recording_router()

    @router.on("appointment.confirmed")
    async def broken(event: WebhookEvent) -> None:
        raise RuntimeError("boom")

    app = webhook_app(KEY, router)
    client = await make_client(app)
    cancelled = json.dumps({**PAYLOAD, "event": "appointment.cancelled"}).encode()
    with caplog.at_level(logging.ERROR, logger="hero_async.webhooks"):
        assert (await client.post(PATH, data=BODY, headers=signed())).status == 200
        assert (await client.post(PATH, data=cancelled, headers=signed(cancelled))).status == 200
        await app[WEBHOOK_RECEIVER].drain()
    assert [e.event for e in received] == ["appointment.confirmed", "appointment.cancelled"]
    assert any("boom" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)


async def test_unsigned_deliveries_only_when_explicitly_allowed(make_client: MakeClient) -> None:
    with pytest.raises(ValidationError, match="signing_key"):
        webhook_app(None, WebhookRouter())
    router, received = recording_router()
    app = webhook_app(None, router, require_signature=False)
    client = await make_client(app)
    assert (await client.post(PATH, data=BODY)).status == 200
    await app[WEBHOOK_RECEIVER].drain()
    assert len(received) == 1


async def test_busy_receiver_answers_503(make_client: MakeClient) -> None:
    router = WebhookRouter()
    release = asyncio.Event()

    @router.on_any
    async def blocked(event: WebhookEvent) -> None:
        await release.wait()

    app = webhook_app(KEY, router, max_in_flight=1)
    client = await make_client(app)
    other = json.dumps({**PAYLOAD, "id": "157"}).encode()
    assert (await client.post(PATH, data=BODY, headers=signed())).status == 200
    assert (await client.post(PATH, data=other, headers=signed(other))).status == 503
    release.set()
    await app[WEBHOOK_RECEIVER].drain()


async def test_app_cleanup_waits_for_running_handlers(make_client: MakeClient) -> None:
    router = WebhookRouter()
    started, release = asyncio.Event(), asyncio.Event()
    finished: list[str] = []

    @router.on_any
    async def slow(event: WebhookEvent) -> None:
        started.set()
        await release.wait()
        finished.append(event.id)

    client = await make_client(webhook_app(KEY, router))
    assert (await client.post(PATH, data=BODY, headers=signed())).status == 200
    await started.wait()
    asyncio.get_running_loop().call_soon(release.set)
    await client.close()
    assert finished == ["156"]


async def test_close_cancels_handlers_past_grace_and_refuses_new_deliveries(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    router = WebhookRouter()
    started = asyncio.Event()

    @router.on_any
    async def stuck(event: WebhookEvent) -> None:
        started.set()
        await asyncio.Event().wait()

    receiver = webhook_handler(KEY, router)
    app = web.Application()
    app.router.add_post("/in/my/app", receiver.handle)
    client = await make_client(app)
    assert (await client.post("/in/my/app", data=BODY, headers=signed())).status == 200
    await started.wait()
    with caplog.at_level(logging.WARNING, logger="hero_async.webhooks"):
        await receiver.close(grace=0)
    assert "cancelled 1 webhook handler" in caplog.text
    assert (await client.post("/in/my/app", data=BODY, headers=signed())).status == 503
    assert "whsec" not in repr(receiver)


async def test_crash_outside_handlers_is_logged_not_lost(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even a bug in dispatch itself is retrieved and logged, never left on a dead task."""

    async def crash(self: WebhookRouter, event: WebhookEvent) -> None:
        raise RuntimeError("router bug")

    monkeypatch.setattr(WebhookRouter, "dispatch", crash)
    app = webhook_app(KEY, WebhookRouter())
    client = await make_client(app)
    with caplog.at_level(logging.ERROR, logger="hero_async.webhooks"):
        assert (await client.post(PATH, data=BODY, headers=signed())).status == 200
        await app[WEBHOOK_RECEIVER].drain()
    assert "webhook dispatch crashed" in caplog.text
    assert "router bug" in caplog.text


async def test_hung_handlers_free_their_slots_so_the_backlog_drains(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    """The issue's case in small: every slot held by a handler that never returns. They are
    cancelled at the router's handler_timeout, so genuine deliveries get 200 again -- and while
    the slots were full, a delivery was answered 503 (Hero redelivers), never 200-then-dropped."""
    router = WebhookRouter(handler_timeout=3600)  # first: hung for as long as we look
    release_audit = asyncio.Event()
    handled: list[str] = []

    @router.on_any
    async def hangs_on_the_first_three(event: WebhookEvent) -> None:
        if int(event.id) < 159:
            await asyncio.Event().wait()
        handled.append(event.id)
        release_audit.set()

    app = webhook_app(KEY, router, max_in_flight=3)
    receiver = app[WEBHOOK_RECEIVER]
    client = await make_client(app)

    def body(n: int) -> bytes:
        return json.dumps({**PAYLOAD, "id": str(n)}).encode()

    for n in (156, 157, 158):
        assert (await client.post(PATH, data=body(n), headers=signed(body(n)))).status == 200
    refused = await client.post(PATH, data=body(159), headers=signed(body(159)))
    assert refused.status == 503  # full: not accepted, so not lost
    router.handler_timeout = 0.01  # the hung runs are still there; new runs get the limit
    hung = set(receiver._tasks)
    for task in hung:
        task.cancel()  # stand-in for the 3600 s passing: the same cancellation path
    await receiver.drain()
    assert not receiver._tasks
    with caplog.at_level(logging.ERROR, logger="hero_async.webhooks"):
        for n in (160, 161, 162):  # hung again, but now cut off at the limit
            b = json.dumps({**PAYLOAD, "id": str(n - 4)}).encode()  # ids 156-158 hang
            assert (await client.post(PATH, data=b, headers=signed(b))).status == 200
        await receiver.drain()
    assert caplog.text.count("still running after 0.01 s: cancelled") == 3
    redelivered = await client.post(PATH, data=body(159), headers=signed(body(159)))
    assert redelivered.status == 200  # Hero's redelivery of the refused one gets through
    await release_audit.wait()
    await receiver.drain()
    assert handled == ["159"]
