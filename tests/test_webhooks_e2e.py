"""The whole loop on 127.0.0.1: FakeHero signs and delivers, webhook_app verifies and routes.

Hero is driven with plain aiohttp calls (subscribe, reserve, book, reschedule, cancel), so the
only SDK code under test on the receiving side is hero_async.webhooks; the last test runs the
example service with a real HeroClient against the fake.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import test_utils, web

from hero_async import HeroClient
from hero_async.testing import SANDBOX_API_KEY, SANDBOX_PRACTICE_GROUP_ID, FakeHero
from hero_async.webhooks import WEBHOOK_RECEIVER, WebhookEvent, WebhookRouter, webhook_app

SIGNING_KEY = "whsec_e2e"
GROUP = SANDBOX_PRACTICE_GROUP_ID
EXAMPLE = Path(__file__).parent.parent / "examples" / "webhook_service.py"
APPOINTMENT_EVENTS = ("appointment.confirmed", "appointment.rescheduled", "appointment.cancelled")


@pytest.fixture
async def fake() -> AsyncIterator[FakeHero]:
    async with FakeHero(seed_sandbox=True) as hero:
        yield hero


@pytest.fixture
async def hero_api(fake: FakeHero) -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp session speaking to the fake with the sandbox key and home group."""
    headers = {"x-api-key": SANDBOX_API_KEY, "x-practice-group-id": GROUP}
    async with aiohttp.ClientSession(fake.url, headers=headers) as session:
        yield session


async def call(session: aiohttp.ClientSession, method: str, path: str, **json: Any) -> Any:
    async with session.request(method, path, json=json or None) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def serve(app: web.Application) -> test_utils.TestServer:
    server = test_utils.TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server


async def subscribe(session: aiohttp.ClientSession, url: str, key: str, *events: str) -> None:
    for event in events:
        await call(session, "POST", "/v1/webhooks", event_type=event, url=url, signing_key=key)


async def book_appointment(session: aiohttp.ClientSession) -> str:
    """Reserve the first flu-jab slot for Jane Doe and book it: Hero fires confirmed."""
    slots = (await call(session, "GET", "/v1/slots"))["data"]
    slot = next(s for s in slots if s["appointment_type_id"] == "10" and s["location_id"] == "20")
    patients = (await call(session, "GET", "/v3/patients?last_name=Doe"))["data"]
    reservation = await call(
        session,
        "POST",
        "/v1/appointments",
        appointment_type_id="10",
        location_id="20",
        practitioner_id=slot["practitioner_id"],
        duration=10,
        start_time=slot["start_time"],
        patient_id=patients[0]["id"],
    )
    await call(session, "PATCH", f"/v1/appointments/{reservation['id']}/book")
    return str(reservation["id"])


async def later_slot(session: aiohttp.ClientSession, booked_start: str) -> str:
    slots = (await call(session, "GET", "/v1/slots"))["data"]
    return next(
        str(s["start_time"])
        for s in slots
        if s["appointment_type_id"] == "10"
        and s["location_id"] == "20"
        and s["start_time"] != booked_start
    )


async def test_appointment_lifecycle_is_delivered_verified_and_routed(
    fake: FakeHero, hero_api: aiohttp.ClientSession
) -> None:
    router = WebhookRouter()
    received: list[WebhookEvent] = []

    @router.on_any
    async def record(event: WebhookEvent) -> None:
        received.append(event)

    app = webhook_app(SIGNING_KEY, router)
    server = await serve(app)
    try:
        url = str(server.make_url("/hero/webhooks"))
        await subscribe(hero_api, url, SIGNING_KEY, *APPOINTMENT_EVENTS)
        appointment_id = await book_appointment(hero_api)
        booked = await call(hero_api, "GET", f"/v1/appointments/{appointment_id}")
        path = f"/v1/appointments/{appointment_id}"
        start = await later_slot(hero_api, booked["start_time"])
        await call(hero_api, "PATCH", f"{path}/reschedule", start_time=start)
        await call(hero_api, "PATCH", f"{path}/cancel", suppress_cancellation_policy=True)
        await fake.wait_deliveries()
        await app[WEBHOOK_RECEIVER].drain()
    finally:
        await server.close()
    assert [d.status for d in fake.deliveries] == [200, 200, 200]
    assert received == [
        WebhookEvent(object="Appointment", id=appointment_id, practice_group_id=GROUP, event=e)
        for e in APPOINTMENT_EVENTS
    ]


async def test_delivery_signed_with_another_key_is_refused(
    fake: FakeHero, hero_api: aiohttp.ClientSession
) -> None:
    router = WebhookRouter()
    received: list[WebhookEvent] = []

    @router.on("appointment.confirmed")
    async def record(event: WebhookEvent) -> None:
        received.append(event)

    app = webhook_app(SIGNING_KEY, router)
    server = await serve(app)
    try:
        url = str(server.make_url("/hero/webhooks"))
        await subscribe(hero_api, url, "whsec_not_ours", "appointment.confirmed")
        await book_appointment(hero_api)
        await fake.wait_deliveries()
        await app[WEBHOOK_RECEIVER].drain()
    finally:
        await server.close()
    assert [d.status for d in fake.deliveries] == [401]
    assert received == []


async def test_example_service_fetches_the_confirmed_appointment_from_hero(
    fake: FakeHero,
    hero_api: aiohttp.ClientSession,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    spec = importlib.util.spec_from_file_location("webhook_service_e2e", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    service = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(service)
    client = functools.partial(HeroClient, SANDBOX_API_KEY, GROUP, base_url=fake.url)
    monkeypatch.setattr(service, "HeroClient", client)
    app = service.build_app(SIGNING_KEY)
    async with test_utils.TestServer(app, host="127.0.0.1") as server:
        await subscribe(
            hero_api, str(server.make_url("/hero/webhooks")), SIGNING_KEY, "appointment.confirmed"
        )
        with caplog.at_level(logging.INFO, logger="webhook_service"):
            appointment_id = await book_appointment(hero_api)
            await fake.wait_deliveries()
            await app[WEBHOOK_RECEIVER].drain()
    assert f"appointment {appointment_id} confirmed, starts at 20" in caplog.text
    assert fake.count("GET", f"/v1/appointments/{appointment_id}") == 1
