"""A delivery is answered 200 only if it is dispatched where close() and drain() see it, and
never past ``max_in_flight``: both are checked again once the body is read (a body can take a
while to arrive, and close() or other deliveries can come meanwhile).

Real server on 127.0.0.1 and a real client. The client streams each body in two parts and
holds the second until the test lets it go; the receiver's body read is wrapped only to say
when it has started. Events order everything: no sleeps.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator

import pytest
from aiohttp import test_utils, web

from hero_async.webhooks import (
    WEBHOOK_RECEIVER,
    WebhookEvent,
    WebhookRouter,
    _receiver,
    webhook_app,
)

KEY = "whsec_capacity_key"
PATH = "/hero/webhooks"

Client = test_utils.TestClient[web.Request, web.Application]


def delivery(n: int) -> tuple[bytes, dict[str, str]]:
    payload = {"object": "appointment", "id": str(n), "practice_group_id": "42"}
    body = json.dumps({**payload, "event": "appointment.confirmed"}).encode()
    ts = str(int(time.time()))
    digest = hmac.new(KEY.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return body, {"X-Herohealth-Timestamp": ts, "X-Herohealth-Signature": digest}


class Reads:
    """Wraps the receiver's body read: ``started(n)`` is set once ``n`` reads have begun."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        self._waiting: dict[int, asyncio.Event] = {}
        real = _receiver._read_capped

        async def read(request: web.Request, limit: int) -> bytes | None:
            self.count += 1
            for n, event in self._waiting.items():
                if self.count >= n:
                    event.set()
            return await real(request, limit)

        monkeypatch.setattr(_receiver, "_read_capped", read)

    async def started(self, n: int) -> None:
        event = self._waiting.setdefault(n, asyncio.Event())
        if self.count >= n:
            event.set()
        await event.wait()


async def slow_body(body: bytes, rest: asyncio.Event) -> AsyncIterator[bytes]:
    yield body[:10]
    await rest.wait()  # the rest of the body arrives when the test says so
    yield body[10:]


async def post(client: Client, n: int, rest: asyncio.Event) -> int:
    body, headers = delivery(n)
    async with client.post(PATH, data=slow_body(body, rest), headers=headers) as response:
        return response.status


@pytest.fixture
async def served() -> AsyncIterator[list[Client]]:
    clients: list[Client] = []
    yield clients
    for client in clients:
        await client.close()


async def start(app: web.Application, clients: list[Client]) -> Client:
    client = test_utils.TestClient(test_utils.TestServer(app, host="127.0.0.1"))
    await client.start_server()
    clients.append(client)
    return client


async def test_a_delivery_whose_body_arrives_during_close_is_refused_not_lost(
    monkeypatch: pytest.MonkeyPatch, served: list[Client]
) -> None:
    """close() comes while a delivery's body is still arriving (it passed the first check):
    it must be answered 503 (Hero redelivers), not 200 after close() has taken its snapshot
    of the handlers to wait for -- that handler would run unwaited, or not at all."""
    reads = Reads(monkeypatch)
    router = WebhookRouter()
    handled: list[WebhookEvent] = []

    @router.on_any
    async def record(event: WebhookEvent) -> None:
        handled.append(event)

    app = webhook_app(KEY, router)
    client = await start(app, served)
    rest = asyncio.Event()
    answer = asyncio.ensure_future(post(client, 1, rest))
    await reads.started(1)  # the delivery got past the first check and is reading its body
    await app[WEBHOOK_RECEIVER].close()  # nothing running: returns at once, closing for good
    rest.set()
    assert await answer == 503
    await app[WEBHOOK_RECEIVER].drain()
    assert handled == []
    assert "in_flight=0" in repr(app[WEBHOOK_RECEIVER])


async def test_deliveries_read_together_never_overshoot_max_in_flight(
    monkeypatch: pytest.MonkeyPatch, served: list[Client]
) -> None:
    """Three deliveries are all past the first check (reading their bodies) while the backlog
    is empty; with ``max_in_flight=1`` and a handler that holds its slot, exactly one is
    accepted and the others get 503 -- never three handlers for one slot."""
    reads = Reads(monkeypatch)
    router = WebhookRouter()
    release = asyncio.Event()
    running: list[str] = []
    peak = 0

    @router.on_any
    async def hold(event: WebhookEvent) -> None:
        nonlocal peak
        running.append(event.id)
        peak = max(peak, len(running))
        await release.wait()
        running.remove(event.id)

    app = webhook_app(KEY, router, max_in_flight=1)
    receiver = app[WEBHOOK_RECEIVER]
    client = await start(app, served)
    rests = [asyncio.Event() for _ in range(3)]
    answers = [asyncio.ensure_future(post(client, n, rests[n])) for n in range(3)]
    await reads.started(3)  # all three passed the first check with the backlog empty
    statuses = []
    for n in range(3):  # bodies complete one at a time, in order
        rests[n].set()
        statuses.append(await answers[n])
    assert statuses == [200, 503, 503]
    assert repr(receiver).startswith("<WebhookReceiver in_flight=1 ")
    release.set()
    await receiver.drain()
    assert peak == 1
    assert running == []
    # The slot is free again: the next delivery is accepted.
    rest = asyncio.Event()
    rest.set()
    assert await post(client, 9, rest) == 200
    await receiver.drain()
