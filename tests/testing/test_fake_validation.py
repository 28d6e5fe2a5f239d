"""Hero-style validation: the exact 400 body, types, patterns, enums, dates, NHS numbers."""

from __future__ import annotations

import pytest
from fakehero_support import Caller
from hypothesis import given
from hypothesis import strategies as st

from hero_async.testing._validation import nhs_number_ok

SEND = "/v1/messages/send"


async def test_400_body_has_exactly_hero_shape(hero: Caller) -> None:
    """{error, statusCode, message:[{code, expected, path}]}, one item per failing field."""
    reply = await hero("POST", SEND, {"patient_id": "abc", "message_type": "fax"})
    assert reply.status == 400
    assert reply.body == {
        "error": True,
        "statusCode": 400,
        "message": [
            {"code": "invalid_string", "expected": r"^\d+$", "path": ["patient_id"]},
            {
                "code": "invalid_enum_value",
                "expected": "'hero' | 'sms' | 'email' | 'nhs_app'",
                "path": ["message_type"],
            },
            {"code": "invalid_type", "expected": "string", "path": ["message_string"]},
        ],
    }


@pytest.mark.parametrize(
    ("body", "path", "code"),
    [
        ({"patient_id": 501}, ["patient_id"], "invalid_type"),
        ({"message_string": ""}, ["message_string"], "too_small"),
        ({"write_to_record": "yes"}, ["write_to_record"], "invalid_type"),
        ({"fallback_message_type": "nhs_app"}, ["fallback_message_type"], "invalid_enum_value"),
        ({"send_at": "2025-02-30T10:00:00Z"}, ["send_at"], "invalid_date"),
        ({"assignee_id": "7"}, ["assignee_id"], "invalid_type"),
        ({"encrypted": 1}, ["encrypted"], "invalid_type"),
    ],
)
async def test_send_message_field_rules(
    hero: Caller, body: dict[str, object], path: list[str], code: str
) -> None:
    """Each documented rule of §8.1 fails with its own path and code."""
    base = {"patient_id": "501", "message_type": "sms", "message_string": "hi"}
    reply = await hero("POST", SEND, {**base, **body})
    assert reply.status == 400
    [item] = reply.body["message"]
    assert (item["path"], item["code"]) == (path, code)


async def test_unknown_body_fields_are_accepted(hero: Caller) -> None:
    """Hero's rule for unknown keys is undocumented; refusing them would break on new fields."""
    body = {"patient_id": "501", "message_type": "sms", "message_string": "hi", "extra": 1}
    assert (await hero("POST", SEND, body)).status == 200


@pytest.mark.parametrize("raw", [b"[1, 2]", b'"text"', b"{not json"])
async def test_body_that_is_not_a_json_object_answers_400(hero: Caller, raw: bytes) -> None:
    """Wrong JSON type or unparseable JSON: 400 at the root path."""
    reply = await hero("POST", SEND, data=raw)
    assert reply.status == 400
    assert reply.body["message"][0]["path"] == []


@pytest.mark.parametrize(
    "nhs_number",
    ["9434765918", "943476591", "94347659190", "943476591X", "1234567890"],
)
async def test_register_pds_refuses_invalid_nhs_numbers(hero: Caller, nhs_number: str) -> None:
    """Wrong check digit (incl. check 10), wrong length and non-digits are all 400."""
    reply = await hero(
        "POST", "/v1/patients/register_pds", {"nhs_number": nhs_number, "dob": "1980-01-31"}
    )
    assert reply.status == 400
    assert reply.body["message"][0]["path"] == ["nhs_number"]


async def test_nhs_number_may_contain_spaces(hero: Caller) -> None:
    """The reference's own example format is '943 476 5919'."""
    body = {"nhs_number": "943 476 5919", "dob": "1980-01-31"}
    assert (await hero.ok("POST", "/v1/patients/register_pds", body)) == {"patient_id": "501"}


@pytest.mark.parametrize("dob", ["1980-02-30", "31/01/1980", "1980-1-31", "19800131", ""])
async def test_dates_must_be_real_iso_dates(hero: Caller, dob: str) -> None:
    reply = await hero(
        "POST", "/v1/patients/register_pds", {"nhs_number": "9434765919", "dob": dob}
    )
    assert reply.status == 400
    assert reply.body["message"][0]["path"] == ["dob"]


async def test_booking_link_from_date_after_to_date_is_refused(hero: Caller) -> None:
    body = {
        "appointment_type_id": "10",
        "location_id": "20",
        "from_date": "2025-07-02",
        "to_date": "2025-07-01",
    }
    reply = await hero("POST", "/v1/booking_links", body)
    assert reply.status == 400
    assert reply.body["message"][0]["path"] == ["to_date"]


async def test_webhook_event_type_must_be_in_the_documented_list(hero: Caller) -> None:
    """write-to-record.* is accepted (§12.1, newest); the doc-error appointment.created is not."""
    url = "http://127.0.0.1:9/hook"
    ok = {"event_type": "write-to-record.failed", "url": url}
    assert (await hero("POST", "/v1/webhooks", ok)).status == 200
    bad = {"event_type": "appointment.created", "url": url}
    assert (await hero("POST", "/v1/webhooks", bad)).status == 400


def _check_digit(prefix: str) -> int:
    total = sum(w * int(c) for w, c in zip(range(10, 1, -1), prefix, strict=True))
    return (11 - total % 11) % 11


@given(st.text("0123456789", min_size=9, max_size=9))
def test_nhs_check_digit_matches_an_independent_mod_11(prefix: str) -> None:
    """Exactly the right check digit passes; a check value of 10 never does."""
    check = _check_digit(prefix)
    for digit in range(10):
        assert nhs_number_ok(f"{prefix}{digit}") is (check != 10 and digit == check)


@given(st.text("0123456789", min_size=9, max_size=9), st.integers(0, 8), st.integers(1, 9))
def test_any_single_digit_typo_is_caught(prefix: str, position: int, shift: int) -> None:
    """Mod-11 with weights 10..2 detects every single-digit substitution."""
    check = _check_digit(prefix)
    if check == 10:
        return
    typo = list(prefix)
    typo[position] = str((int(typo[position]) + shift) % 10)
    assert not nhs_number_ok("".join(typo) + str(check))
