"""Webhooks (§12): CRUD, and signed deliveries of appointment events to a local receiver."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from fakehero_support import Caller, ManualClock

from hero_async.testing import Delivery, FakeHero

RESERVE = {
    "appointment_type_id": "10",
    "location_id": "20",
    "practitioner_id": "30",
    "duration": 10,
    "start_time": "2025-06-16T09:00:00Z",
    "patient_id": "501",
}


class Receiver:
    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, str], bytes]] = []
        self.server: TestServer | None = None

    def url(self, name: str) -> str:
        assert self.server is not None
        return str(self.server.make_url(f"/{name}"))

    async def handle(self, request: web.Request) -> web.Response:
        self.seen.append((request.match_info["name"], dict(request.headers), await request.read()))
        return web.Response(status=500 if request.match_info["name"] == "broken" else 200)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/{name}", receiver.handle)
    server = TestServer(app, host="127.0.0.1")
    async with server:
        receiver.server = server
        yield receiver


async def _subscribe(hero: Caller, event: str, url: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = await hero.ok(
        "POST", "/v1/webhooks", {"event_type": event, "url": url, **extra}
    )
    return body


async def test_webhook_crud(hero: Caller) -> None:
    """Create echoes the signing key; list filters by event_type; delete then 404."""
    hook = await _subscribe(
        hero,
        "appointment.confirmed",
        "http://127.0.0.1:9/a",
        signing_key="s3cret",
        headers={"X-Tenant": "t1"},
        description="not echoed",
    )
    assert set(hook) == {
        "id",
        "event_type",
        "url",
        "signing_key",
        "headers",
        "created_at",
        "updated_at",
    }
    await _subscribe(hero, "appointment.cancelled", "http://127.0.0.1:9/b")
    listed = await hero.ok("GET", "/v1/webhooks", params={"event_type": "appointment.confirmed"})
    assert [h["id"] for h in listed["data"]] == [hook["id"]]
    assert (await hero.ok("GET", "/v1/webhooks", group="1002"))["count"] == 0
    assert await hero.ok("DELETE", f"/v1/webhooks/{hook['id']}") == hook
    assert (await hero("GET", f"/v1/webhooks/{hook['id']}")).status == 404
    bad = await hero(
        "POST", "/v1/webhooks", {"event_type": "appointment.confirmed", "url": "not a url"}
    )
    assert bad.body["message"][0]["path"] == ["url"]


async def test_booking_delivers_a_signed_thin_payload(
    clock: ManualClock, fake: FakeHero, hero: Caller, receiver: Receiver
) -> None:
    """Signature = hex HMAC-SHA256(signing_key, f"{timestamp}." + raw body), verified here."""
    hook = await _subscribe(
        hero,
        "appointment.confirmed",
        receiver.url("signed"),
        signing_key="whsec-1",
        headers={"X-Tenant": "t1"},
    )
    held = await hero.ok("POST", "/v1/appointments", RESERVE)
    await hero.ok("PATCH", f"/v1/appointments/{held['id']}/book")
    await fake.wait_deliveries()
    [(_, headers, raw)] = receiver.seen
    assert json.loads(raw) == {
        "object": "Appointment",
        "id": held["id"],
        "practice_group_id": "1001",
        "event": "appointment.confirmed",
    }
    timestamp = headers["X-Herohealth-Timestamp"]
    assert timestamp == str(int(clock.now))
    expected = hmac.new(b"whsec-1", timestamp.encode() + b"." + raw, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Herohealth-Signature"], expected)
    assert headers["X-Tenant"] == "t1"
    assert fake.deliveries == [
        Delivery(receiver.url("signed"), "appointment.confirmed", hook["id"], status=200)
    ]


async def test_cancel_and_reschedule_events_reach_only_their_subscribers(
    fake: FakeHero, hero: Caller, receiver: Receiver
) -> None:
    """One subscription per event; no key, no signature headers; failures are recorded."""
    await _subscribe(hero, "appointment.rescheduled", receiver.url("moved"))
    await _subscribe(hero, "appointment.cancelled", receiver.url("broken"))
    await _subscribe(
        hero,
        "appointment.cancelled",
        receiver.url("x"),
    )
    await hero.ok(
        "POST",
        "/v1/webhooks",
        {"event_type": "appointment.cancelled", "url": receiver.url("other-group")},
        group="1002",
    )
    held = await hero.ok("POST", "/v1/appointments", RESERVE)
    path = f"/v1/appointments/{held['id']}"
    await hero.ok("PATCH", f"{path}/book")
    await hero.ok("PATCH", f"{path}/reschedule", {"start_time": "2025-06-16T09:30:00Z"})
    await hero.ok("PATCH", f"{path}/cancel")
    await fake.wait_deliveries()
    names = sorted(name for name, _, _ in receiver.seen)
    assert names == ["broken", "moved", "x"]
    assert all("X-Herohealth-Signature" not in headers for _, headers, _ in receiver.seen)
    assert sorted((d.event, d.status) for d in fake.deliveries) == [
        ("appointment.cancelled", 200),
        ("appointment.cancelled", 500),
        ("appointment.rescheduled", 200),
    ]


async def test_non_loopback_urls_are_never_contacted(fake: FakeHero, hero: Caller) -> None:
    """Hero would accept the subscription; the fake records the delivery as refused."""
    await _subscribe(hero, "appointment.confirmed", "https://receiver.example.com/hook")
    held = await hero.ok("POST", "/v1/appointments", RESERVE)
    await hero.ok("PATCH", f"/v1/appointments/{held['id']}/book")
    await fake.wait_deliveries()
    [delivery] = fake.deliveries
    assert delivery.status is None
    assert delivery.error is not None
    assert "loopback" in delivery.error


async def test_unreachable_receiver_is_recorded_as_an_error(fake: FakeHero, hero: Caller) -> None:
    await _subscribe(hero, "appointment.confirmed", "http://127.0.0.1:1/closed")
    held = await hero.ok("POST", "/v1/appointments", RESERVE)
    await hero.ok("PATCH", f"/v1/appointments/{held['id']}/book")
    await fake.wait_deliveries()
    [delivery] = fake.deliveries
    assert delivery.status is None
    assert delivery.error
