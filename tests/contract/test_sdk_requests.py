"""The SDK against the real fake: it never sends what the fake refuses (issue 12), the six
operations it lacked work end to end, and every request it makes is JSON with a body where
Hero needs one. The twin tests (the fake refuses X) are in tests/testing/test_fake_contract.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest

from hero_async import HeroClient, ValidationError
from hero_async.testing import (
    SANDBOX_API_KEY,
    SANDBOX_PATIENT_NHS,
    SANDBOX_PRACTICE_GROUP_ID,
    FakeHero,
)
from hero_async.testing._rules import BODY_REQUIRED


@pytest.fixture
async def fake() -> AsyncIterator[FakeHero]:
    async with FakeHero(seed_sandbox=True) as running:
        yield running


@pytest.fixture
async def hero(fake: FakeHero) -> AsyncIterator[HeroClient]:
    async with HeroClient(SANDBOX_API_KEY, SANDBOX_PRACTICE_GROUP_ID, base_url=fake.url) as client:
        yield client


async def _patient(hero: HeroClient) -> str:
    found = await hero.patients.search(nhs_number=SANDBOX_PATIENT_NHS)
    assert found.data[0].id is not None
    return found.data[0].id


async def test_every_sdk_request_is_json_and_has_a_body_where_hero_needs_one(
    fake: FakeHero, hero: HeroClient
) -> None:
    """Drive every writing method; the fake's log shows a body on each BODY_REQUIRED route
    and no 400 anywhere (the fake refuses missing bodies, nulls and other Content-Types)."""
    patient_id = await _patient(hero)
    await hero.practice_group_info.update(name="Riverside Surgery (renamed)")
    link = await hero.booking_links.create(appointment_type_id="10", location_id="20")
    await hero.booking_links.update(link.id, maximum_use_count=3)
    hook = await hero.webhooks.create(event_type="appointment.confirmed", url="https://x.example")
    await hero.webhooks.update(hook.id, description="renamed")
    await hero.messages.send(patient_id=patient_id, message_type="sms", message_string="hi")
    await hero.batch_messages.create(
        name="n", channel="SMS", content="c", recipients=[{"patient_id": patient_id}]
    )
    slot = (await hero.slots.list(appointment_type_id="10", location_id="20")).data[0]
    assert slot.start_time is not None
    reservation = await hero.appointments.reserve(
        appointment_type_id="10",
        location_id="20",
        practitioner_id="30",
        duration=10,
        start_time=slot.start_time,
        patient_id=patient_id,
    )
    await hero.appointments.book(reservation.id)
    assert await hero.appointments.cancel(reservation.id) is not None
    writes = [r for r in fake.requests if r.method != "GET"]
    assert len(writes) == 10
    assert all(r.status == 200 for r in writes), [(r.route, r.status) for r in writes]
    for request in writes:
        if (request.method, request.route) in BODY_REQUIRED:
            assert isinstance(request.body, dict), request.route


async def test_batch_recipients_send_dob_as_date_time_null_dob_and_patient_ids(
    fake: FakeHero, hero: HeroClient
) -> None:
    patient_id = await _patient(hero)
    batch = await hero.batch_messages.create(
        name="Flu",
        channel="SMS",
        content="Book now",
        recipients=[
            {"nhs_number": SANDBOX_PATIENT_NHS, "dob": dt.date(1980, 1, 31)},
            {"nhs_number": "9434765870", "dob": None},
            {"patient_id": patient_id},
        ],
    )
    assert batch.status == "CREATED"
    assert batch.subject is None  # left out by the fake for SMS: read as None
    (sent,) = [r for r in fake.requests if r.route == "/v1/batch_message"]
    assert sent.body["recipients"] == [
        {"nhs_number": SANDBOX_PATIENT_NHS, "dob": "1980-01-31T00:00:00.000Z"},
        {"nhs_number": "9434765870", "dob": None},
        {"patient_id": patient_id},
    ]


async def test_a_recipient_without_dob_or_with_both_shapes_is_refused_before_sending(
    fake: FakeHero, hero: HeroClient
) -> None:
    bad: list[dict[str, object]] = [
        {"nhs_number": SANDBOX_PATIENT_NHS},
        {"nhs_number": SANDBOX_PATIENT_NHS, "dob": None, "patient_id": "1"},
    ]
    for recipient in bad:
        with pytest.raises(ValidationError):
            await hero.batch_messages.create(
                name="n",
                channel="SMS",
                content="c",
                recipients=[recipient],  # type: ignore[list-item]
            )
    assert fake.count("POST", "/v1/batch_message") == 0


async def test_batch_list_status_filter_is_checked_before_sending(
    fake: FakeHero, hero: HeroClient
) -> None:
    with pytest.raises(ValidationError, match="status"):
        await hero.batch_messages.list(status="PENDING")  # type: ignore[arg-type]
    assert fake.count("GET", "/v1/batch_message") == 0
    assert (await hero.batch_messages.list(status="CREATED")).data == ()


async def test_the_six_missing_operations(fake: FakeHero, hero: HeroClient) -> None:
    group = await hero.practice_group_info.update(name="Renamed", address={"town": "Leeds"})
    assert group.name == "Renamed"
    assert group.raw["address"]["town"] == "Leeds"
    patient_id = await _patient(hero)
    found = await hero.patients.lookup(field="nhs_number", search=SANDBOX_PATIENT_NHS)
    assert [p.id for p in found.data] == [patient_id]
    assert (await hero.patients.attachments(patient_id)).data == ()
    hook = await hero.webhooks.create(event_type="appointment.cancelled", url="https://x.example")
    assert (await hero.webhooks.get(hook.id)).url == "https://x.example"
    updated = await hero.webhooks.update(hook.id, url="https://y.example")
    assert updated.url == "https://y.example"
    sent = await hero.messages.send(patient_id=patient_id, message_type="sms", message_string="hi")
    listed = await hero.messages.list()
    assert [m.message_id for m in listed.data] == [sent.message_id]
    assert [m.message_id async for m in hero.messages.iterate(page_size=1)] == [sent.message_id]


async def test_nothing_to_update_is_refused_before_sending(
    fake: FakeHero, hero: HeroClient
) -> None:
    with pytest.raises(ValidationError):
        await hero.practice_group_info.update()
    with pytest.raises(ValidationError):
        await hero.webhooks.update("w1")
    assert fake.count("PATCH") == 0
