"""The fake is at least as strict as Hero on the request shapes issue 12 found it accepting.

Each rule here has an SDK-side twin in tests/contract/test_sdk_requests.py (the SDK never
sends what the fake refuses).
"""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from fakehero_support import HOME, KEY, NHS, Caller

from hero_async.testing import FakeHero

BODY_REQUIRED = [
    ("PATCH", "/v1/me"),
    ("POST", "/v1/booking_links"),
    ("PATCH", "/v1/booking_links/{link}"),
    ("POST", "/v1/webhooks"),
    ("PATCH", "/v1/webhooks/{hook}"),
    ("POST", "/v1/messages/send"),
    ("POST", "/v1/batch_message"),
]
OBJECT_EXPECTED = {"code": "invalid_type", "expected": "object", "path": []}


async def _ids(hero: Caller) -> dict[str, str]:
    link = await hero.ok(
        "POST", "/v1/booking_links", {"appointment_type_id": "10", "location_id": "20"}
    )
    hook = await hero.ok(
        "POST", "/v1/webhooks", {"event_type": "appointment.confirmed", "url": "https://x.example"}
    )
    return {"link": link["id"], "hook": hook["id"]}


@pytest.mark.parametrize(("method", "template"), BODY_REQUIRED)
@pytest.mark.parametrize("body", ["absent", None])
async def test_a_required_body_that_is_missing_or_null_is_refused(
    hero: Caller, method: str, template: str, body: Any
) -> None:
    path = template.format(**await _ids(hero))
    reply = await (hero(method, path) if body == "absent" else hero(method, path, None))
    assert reply.status == 400, reply.text
    assert reply.body["message"] == [OBJECT_EXPECTED]


@pytest.mark.parametrize(
    ("method", "template", "body", "field"),
    [
        ("PATCH", "/v1/booking_links/{link}", {"expiry_date": None}, "expiry_date"),
        ("PATCH", "/v1/booking_links/{link}", {"maximum_use_count": None}, "maximum_use_count"),
        ("POST", "/v1/booking_links", {"practitioner_id": None}, "practitioner_id"),
        ("POST", "/v1/webhooks", {"description": None}, "description"),
        ("POST", "/v1/webhooks", {"signing_key": None}, "signing_key"),
        ("PATCH", "/v1/webhooks/{hook}", {"url": None}, "url"),
        ("PATCH", "/v1/me", {"name": None}, "name"),
        ("POST", "/v1/messages/send", {"send_at": None}, "send_at"),
    ],
)
async def test_null_in_a_non_nullable_optional_field_is_refused(
    hero: Caller, method: str, template: str, body: dict[str, Any], field: str
) -> None:
    base: dict[str, Any] = {}
    if template == "/v1/booking_links":
        base = {"appointment_type_id": "10", "location_id": "20"}
    elif template == "/v1/webhooks":
        base = {"event_type": "appointment.confirmed", "url": "https://x.example"}
    elif template == "/v1/messages/send":
        base = {"patient_id": "501", "message_type": "sms", "message_string": "hi"}
    path = template.format(**await _ids(hero))
    reply = await hero(method, path, {**base, **body})
    assert reply.status == 400, reply.text
    assert {"code": "invalid_type", "expected": _expected(field), "path": [field]} in reply.body[
        "message"
    ]


def _expected(field: str) -> str:
    return "number" if field == "maximum_use_count" else "string"


async def test_null_patient_id_on_book_is_refused(hero: Caller) -> None:
    reservation = await hero.ok(
        "POST",
        "/v1/appointments",
        {
            "appointment_type_id": "10",
            "location_id": "20",
            "practitioner_id": "30",
            "duration": 10,
            "start_time": "2025-06-16T09:00:00Z",
            "patient_id": "501",
        },
    )
    reply = await hero("PATCH", f"/v1/appointments/{reservation['id']}/book", {"patient_id": None})
    assert reply.status == 400
    assert reply.body["message"][0]["path"] == ["patient_id"]


async def test_nullable_fields_still_take_null(hero: Caller) -> None:
    """start_time and recipients[].dob are documented 'or null': null stays accepted."""
    reply = await hero(
        "POST",
        "/v1/batch_message",
        {
            "name": "n",
            "channel": "SMS",
            "content": "c",
            "recipients": [{"nhs_number": NHS, "dob": None}],
        },
    )
    assert reply.status == 200, reply.text


@pytest.mark.parametrize("content_type", ["text/plain", "multipart/form-data; boundary=x"])
@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/v1/messages/send"), ("PATCH", "/v1/me"), ("PATCH", "/v1/appointments/1/cancel")],
)
async def test_json_with_another_content_type_is_refused(
    fake: FakeHero, content_type: str, method: str, path: str
) -> None:
    body = b'{"patient_id": "501", "message_type": "sms", "message_string": "hi", "name": "x"}'
    headers = {"x-api-key": KEY, "x-practice-group-id": HOME, "Content-Type": content_type}
    async with (
        aiohttp.ClientSession(fake.url) as session,
        session.request(method, path, data=body, headers=headers) as response,
    ):
        assert response.status == 400
        assert (await response.json())["message"] == [
            {"code": "invalid_type", "expected": "application/json", "path": []}
        ]
    assert fake.message_count == 0


async def test_json_with_a_charset_parameter_is_accepted(fake: FakeHero) -> None:
    headers = {
        "x-api-key": KEY,
        "x-practice-group-id": HOME,
        "Content-Type": "application/json; charset=utf-8",
    }
    async with (
        aiohttp.ClientSession(fake.url) as session,
        session.patch("/v1/me", data=b'{"name": "Renamed"}', headers=headers) as response,
    ):
        assert response.status == 200


async def test_batch_list_filter_takes_only_its_documented_enum(hero: Caller) -> None:
    reply = await hero("GET", "/v1/batch_message", params={"status": "PENDING"})
    assert reply.status == 400
    assert reply.body["message"][0]["path"] == ["status"]
    assert (await hero("GET", "/v1/batch_message", params={"status": "CREATED"})).status == 200


async def test_batch_recipient_dob_is_a_date_time_as_described(hero: Caller) -> None:
    def batch(dob: str) -> dict[str, Any]:
        return {
            "name": "n",
            "channel": "SMS",
            "content": "c",
            "recipients": [{"nhs_number": NHS, "dob": dob}],
        }

    date_only = await hero("POST", "/v1/batch_message", batch("1980-01-31"))
    assert date_only.status == 400
    assert date_only.body["message"][0]["path"] == ["recipients", 0, "dob"]
    ok = await hero.ok("POST", "/v1/batch_message", batch("1980-01-31T00:00:00.000Z"))
    assert "subject" not in ok  # optional, not nullable: an SMS batch leaves it out


async def test_unset_link_expiry_and_cap_are_left_out_not_null(hero: Caller) -> None:
    link = await hero.ok(
        "POST", "/v1/booking_links", {"appointment_type_id": "10", "location_id": "20"}
    )
    assert "expiry_date" not in link
    assert "maximum_uses" not in link
    assert link["unlimited_use"] is True
    capped = await hero.ok(
        "POST",
        "/v1/booking_links",
        {
            "appointment_type_id": "10",
            "location_id": "20",
            "expiry_date": "2025-07-01",
            "maximum_use_count": 2,
        },
    )
    assert capped["maximum_uses"] == 2
    assert capped["expiry_date"].startswith("2025-07-01")


async def test_sent_messages_are_listed(hero: Caller) -> None:
    assert (await hero.ok("GET", "/v1/messages")) == {"data": [], "count": 0}
    sent = await hero.ok(
        "POST", "/v1/messages/send", {"patient_id": "501", "message_type": "sms",
                                      "message_string": "hi"}
    )  # fmt: skip
    page = await hero.ok("GET", "/v1/messages", params={"page_size": "10"})
    assert page["count"] == 1
    assert page["data"][0]["message_id"] == sent["message_id"]
    assert page["data"][0]["patient_id"] == "501"
    other = await hero.ok("GET", "/v1/messages", group="1002")
    assert other["count"] == 0  # another group's messages stay private


async def test_register_refuses_a_data_source_outside_the_patient_enum(hero: Caller) -> None:
    """Found by the conformance run: an echoed free-text data_source broke GET /v1/patients."""
    body = {"dob": "1980-01-31", "first_name": "A", "last_name": "B", "mobile": "07700900123"}
    reply = await hero("POST", "/v1/patients/register", {**body, "data_source": "excel"})
    assert reply.status == 400
    assert reply.body["message"][0]["path"] == ["data_source"]
    ok = await hero.ok("POST", "/v1/patients/register", {**body, "data_source": "emis"})
    patient = await hero.ok("GET", f"/v1/patients/{ok['patient_id']}")
    assert patient["data_source"] == "emis"
