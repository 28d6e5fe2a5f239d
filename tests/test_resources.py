"""Each resource method: the exact method, path, body or query it sends, and the model it returns.

Payloads follow /work/shared/hero-api/REFERENCE.md (section numbers in the docstrings).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import pytest
from aioresponses import CallbackResult

from hero_async import (
    Appointment,
    AppointmentType,
    AttachmentLink,
    BatchMessage,
    BookingLink,
    IdentityCheckRequired,
    Location,
    Page,
    Patient,
    PatientSummary,
    PracticeGroup,
    RegisteredPatient,
    Reservation,
    SentMessage,
    Slot,
    ValidationError,
    Webhook,
)
from hero_async.models import BatchRecipient, BatchSend, BookingLinkMeta, Capabilities

if TYPE_CHECKING:
    from conftest import ClientFactory, FakeHero, Sent

    from hero_async import HeroClient

UTC = dt.UTC
VALID_NHS = "943 476 5919"  # mod-11 check digit 9

BOOKING_LINK = {
    "id": "42",
    "practice_group_id": "1001",
    "short_link": "https://hero.link/abc123",
    "active": True,
    "expiry_date": "2023-05-29",
    "maximum_uses": 1,
    "number_of_uses": 0,
    "open_count": 3,
    "unlimited_use": False,
    "meta": {"appointment_type_id": ["1"], "location_id": ["5"], "practitioner_id": ["9"]},
}
BATCH = {
    "id": "b-77",
    "name": "Flu clinic 2024",
    "status": "CREATED",
    "channel": "SMS",
    "subject": None,
    "content": "Book your flu jab: https://hero.link/flu",
}
APPOINTMENT = {
    "id": "300",
    "patient_id": "156",
    "practitioner_id": "9",
    "location_id": "5",
    "appointment_type_id": "1",
    "duration": 15,
    "start_time": "2024-05-01T09:30:00.000Z",
    "video": False,
    "in_person": True,
    "telephone": False,
    "link_id": None,
    "reserved_until": "2024-04-30T10:15:00.000Z",
    "booking_confirmed_at": None,
    "can_be_cancelled": True,
    "can_be_rescheduled": True,
    "cancellation_policy_hours": 24,
    "suppress_mail": False,
}
SLOT = {
    "id": "77",
    "practitioner_id": "9",
    "appointment_type_id": "1",
    "location_id": "5",
    "start_time": "2024-05-01T09:30:00.000Z",
    "finish_time": "2024-05-01T09:45:00.000Z",
}
WEBHOOK = {
    "id": "wh_1",
    "event_type": "appointment.confirmed",
    "url": "https://partner.example/hooks/hero",
    "signing_key": "whsec-SIGNING",
    "headers": {"X-Partner-Token": "abc"},
    "description": "Confirmed bookings",
    "created_at": "2024-04-01T12:00:00.000Z",
    "updated_at": "2024-04-01T12:00:00.000Z",
}


def only(api: FakeHero, method: str, path: str) -> Sent:
    """The single request made, checked to be ``method path`` and the only one."""
    sent = api.sent()
    assert [(s.method, s.url.split("?")[0]) for s in sent] == [
        (method, "https://api.test" + path)
    ], sent
    return sent[0]


# --- booking links (§7.2-7.4) ------------------------------------------------------------


async def test_booking_links_create(client: ClientFactory, api: FakeHero) -> None:
    """create() POSTs /v1/booking_links with every given field and returns a BookingLink."""
    api.add("POST", "/v1/booking_links", payload=BOOKING_LINK)
    hero = await client()
    link = await hero.booking_links.create(
        appointment_type_id="1",
        location_id="5",
        patient_id="156",
        practitioner_id="9",
        from_date=dt.date(2023, 5, 1),
        to_date="2023-05-20",
        expiry_date="2023-05-29",
        maximum_use_count=1,
    )
    sent = only(api, "POST", "/v1/booking_links")
    assert sent.json == {
        "appointment_type_id": "1",
        "location_id": "5",
        "patient_id": "156",
        "practitioner_id": "9",
        "from_date": "2023-05-01",
        "to_date": "2023-05-20",
        "expiry_date": "2023-05-29",
        "maximum_use_count": 1,
    }
    assert isinstance(link, BookingLink)
    assert link.id == "42"
    assert link.short_link == "https://hero.link/abc123"
    assert link.maximum_uses == 1
    assert link.expiry_date == dt.datetime(2023, 5, 29, tzinfo=UTC)
    assert link.meta == BookingLinkMeta(("1",), ("5",), ("9",))


async def test_booking_links_create_generic_sends_only_given_fields(
    client: ClientFactory, api: FakeHero
) -> None:
    """A generic link (no patient) sends just the two ids: absent fields are left out."""
    api.add("POST", "/v1/booking_links", payload={"id": "43"})
    hero = await client()
    link = await hero.booking_links.create(appointment_type_id="1", location_id="5")
    assert only(api, "POST", "/v1/booking_links").json == {
        "appointment_type_id": "1",
        "location_id": "5",
    }
    assert link.id == "43"
    assert link.meta == BookingLinkMeta()


async def test_booking_links_get(client: ClientFactory, api: FakeHero) -> None:
    """get(id) GETs /v1/booking_links/{id} with no body."""
    api.add("GET", "/v1/booking_links/42", payload=BOOKING_LINK)
    hero = await client()
    link = await hero.booking_links.get("42")
    sent = only(api, "GET", "/v1/booking_links/42")
    assert sent.data is None
    assert link.open_count == 3
    assert link.active is True


async def test_booking_links_update(client: ClientFactory, api: FakeHero) -> None:
    """update(id, ...) PATCHes /v1/booking_links/{id} with only the changed fields."""
    api.add("PATCH", "/v1/booking_links/42", payload={**BOOKING_LINK, "maximum_uses": 3})
    hero = await client()
    link = await hero.booking_links.update("42", maximum_use_count=3, to_date="2023-06-30")
    sent = only(api, "PATCH", "/v1/booking_links/42")
    assert sent.json == {"to_date": "2023-06-30", "maximum_use_count": 3}
    assert link.maximum_uses == 3


@pytest.mark.parametrize(
    "call",
    [
        lambda h: h.booking_links.update("42"),
        lambda h: h.booking_links.get("../me"),
        lambda h: h.booking_links.create(appointment_type_id="x", location_id="5"),
        lambda h: h.booking_links.create(
            appointment_type_id="1", location_id="5", from_date="2023-06-01", to_date="2023-05-01"
        ),
        lambda h: h.booking_links.create(
            appointment_type_id="1", location_id="5", maximum_use_count=0
        ),
    ],
    ids=["empty-update", "path-id", "bad-type-id", "window-reversed", "zero-uses"],
)
async def test_booking_links_invalid_input_sends_nothing(
    client: ClientFactory, api: FakeHero, call: Any
) -> None:
    """Invalid booking-link input raises ValidationError before any request."""
    hero = await client()
    with pytest.raises(ValidationError):
        await call(hero)
    assert api.count() == 0


# --- attachment links (§7.5) -------------------------------------------------------------


async def test_attachment_links_create(client: ClientFactory, api: FakeHero) -> None:
    """create() POSTs /v1/attachment_links and returns the link and its uuid."""
    api.add(
        "POST",
        "/v1/attachment_links",
        payload={
            "attachment_link": "https://hero.link/att/9f1c",
            "attachment_uuid": "6f1f2a8e-9d1c-4c53-8a4c-1f0b3c9e2d11",
        },
    )
    hero = await client()
    link = await hero.attachment_links.create(
        patient_id="156",
        ehr_file_id="ehr-file-88",
        file_name="letter.pdf",
        expiry_date="2024-01-31",
        maximum_use_count=1,
    )
    assert only(api, "POST", "/v1/attachment_links").json == {
        "patient_id": "156",
        "ehr_file_id": "ehr-file-88",
        "file_name": "letter.pdf",
        "expiry_date": "2024-01-31",
        "maximum_use_count": 1,
    }
    assert isinstance(link, AttachmentLink)
    assert link.attachment_uuid == "6f1f2a8e-9d1c-4c53-8a4c-1f0b3c9e2d11"
    assert link.attachment_link == "https://hero.link/att/9f1c"


async def test_attachment_links_need_a_file(client: ClientFactory, api: FakeHero) -> None:
    """Neither ehr_file_id nor file_data: ValidationError and no request."""
    hero = await client()
    with pytest.raises(ValidationError):
        await hero.attachment_links.create(patient_id="156")
    assert api.count() == 0


# --- messages (§8.1) ---------------------------------------------------------------------


async def test_messages_send(client: ClientFactory, api: FakeHero) -> None:
    """send() POSTs /v1/messages/send with snake_case fields; the phone is normalised."""
    api.add(
        "POST",
        "/v1/messages/send",
        payload={
            "message_id": "msg-5001",
            "content": "Your results are ready",
            "created_at": "2024-05-01T09:00:00.000Z",
            "write_to_record": True,
            "snomed_code": "185316007",
            "auth_token": "opaque-auth",
            "send_at": None,
        },
    )
    hero = await client()
    sent_message = await hero.messages.send(
        patient_id="156",
        message_type="sms",
        message_string="Your results are ready",
        recipient_contact_detail="+44 7700 900123",
        write_to_record=True,
        snomed_code="185316007",
        attachment_uuid="6f1f2a8e-9d1c-4c53-8a4c-1f0b3c9e2d11",
        assignee_id=12,
        assignee_type="AdminTeam",
        send_at=dt.datetime(2024, 5, 1, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=1))),
    )
    assert only(api, "POST", "/v1/messages/send").json == {
        "patient_id": "156",
        "message_type": "sms",
        "message_string": "Your results are ready",
        "recipient_contact_detail": "07700900123",
        "write_to_record": True,
        "snomed_code": "185316007",
        "attachment_uuid": "6f1f2a8e-9d1c-4c53-8a4c-1f0b3c9e2d11",
        "assignee_id": 12,
        "assignee_type": "AdminTeam",
        "send_at": "2024-05-01T09:00:00Z",
    }
    assert isinstance(sent_message, SentMessage)
    assert sent_message.message_id == "msg-5001"
    assert sent_message.created_at == dt.datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
    assert "opaque-auth" not in repr(sent_message)


async def test_messages_send_gen_a_answer(client: ClientFactory, api: FakeHero) -> None:
    """The old answer shape with only message_id still loads (§14.11)."""
    api.add("POST", "/v1/messages/send", payload={"message_id": "m1"})
    hero = await client()
    result = await hero.messages.send(patient_id="156", message_type="hero", message_string="Hi")
    assert result == SentMessage(message_id="m1")
    assert only(api, "POST", "/v1/messages/send").json == {
        "patient_id": "156",
        "message_type": "hero",
        "message_string": "Hi",
    }


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"patient_id": "abc"}, "patient_id"),
        ({"patient_id": "15 6"}, "patient_id"),
        ({"message_type": "fax"}, "message_type"),
        ({"message_type": "SMS"}, "message_type"),
        ({"message_string": ""}, "message_string"),
        ({"message_string": "   "}, "message_string"),
        ({"message_type": "sms", "recipient_contact_detail": "12345"}, "recipient_contact_detail"),
        (
            {"message_type": "sms", "recipient_contact_detail": "020 7946 0000"},
            "recipient_contact_detail",
        ),
        (
            {"message_type": "email", "recipient_contact_detail": "not-an-email"},
            "recipient_contact_detail",
        ),
        ({"fallback_message_type": "hero"}, "fallback_message_type"),
        ({"send_at": "2024-05-01T09:00:00"}, "send_at"),
        ({"assignee_type": "Robot"}, "assignee_type"),
    ],
    ids=[
        "patient-letters",
        "patient-space",
        "type-fax",
        "type-upper",
        "empty-string",
        "blank-string",
        "sms-short",
        "sms-landline",
        "email-bad",
        "fallback-hero",
        "send-at-naive",
        "assignee-type",
    ],
)
async def test_messages_send_validation_before_request(
    client: ClientFactory, api: FakeHero, kwargs: dict[str, Any], field: str
) -> None:
    """Bad send() input raises ValidationError naming the field, with zero requests made."""
    args: dict[str, Any] = {"patient_id": "156", "message_type": "hero", "message_string": "Hi"}
    args.update(kwargs)
    hero = await client()
    with pytest.raises(ValidationError) as info:
        await hero.messages.send(**args)
    assert info.value.field == field
    assert api.count() == 0
    assert api.mock.requests == {}


# --- batch messages (§8.2) ---------------------------------------------------------------


async def test_batch_messages_create(client: ClientFactory, api: FakeHero) -> None:
    """create() POSTs /v1/batch_message with recipients' NHS numbers normalised."""
    api.add("POST", "/v1/batch_message", payload=BATCH)
    hero = await client()
    batch = await hero.batch_messages.create(
        name="Flu clinic 2024",
        channel="SMS",
        content="Book your flu jab: https://hero.link/flu",
        recipients=[
            {"nhs_number": VALID_NHS, "dob": "1950-01-01"},
            {"nhs_number": "9434765919", "dob": dt.date(1948, 2, 29)},
        ],
    )
    assert only(api, "POST", "/v1/batch_message").json == {
        "name": "Flu clinic 2024",
        "channel": "SMS",
        "content": "Book your flu jab: https://hero.link/flu",
        "recipients": [
            {"nhs_number": "9434765919", "dob": "1950-01-01T00:00:00.000Z"},
            {"nhs_number": "9434765919", "dob": "1948-02-29T00:00:00.000Z"},
        ],
    }
    assert batch == BatchMessage(
        id="b-77",
        name="Flu clinic 2024",
        status="CREATED",
        channel="SMS",
        content="Book your flu jab: https://hero.link/flu",
    )


async def test_batch_messages_create_email_needs_subject(
    client: ClientFactory, api: FakeHero
) -> None:
    """An EMAIL batch without subject, or with no recipients, is refused before sending."""
    hero = await client()
    recipients = [{"nhs_number": VALID_NHS, "dob": "1950-01-01"}]
    with pytest.raises(ValidationError, match="subject"):
        await hero.batch_messages.create(
            name="n", channel="EMAIL", content="c", recipients=recipients
        )
    with pytest.raises(ValidationError, match="recipients"):
        await hero.batch_messages.create(name="n", channel="SMS", content="c", recipients=[])
    with pytest.raises(ValidationError, match=r"recipients\[0\]\.nhs_number"):
        await hero.batch_messages.create(
            name="n",
            channel="SMS",
            content="c",
            recipients=[{"nhs_number": "943 476 5918", "dob": "1950-01-01"}],
        )
    assert api.count() == 0


async def test_batch_messages_get(client: ClientFactory, api: FakeHero) -> None:
    """get(id) GETs /v1/batch_message/{id}."""
    api.add("GET", "/v1/batch_message/b-77", payload={**BATCH, "status": "SENDING"})
    hero = await client()
    batch = await hero.batch_messages.get("b-77")
    only(api, "GET", "/v1/batch_message/b-77")
    assert batch.status == "SENDING"


async def test_batch_messages_list(client: ClientFactory, api: FakeHero) -> None:
    """list() GETs /v1/batch_message with page_index, page_size and status."""
    api.add("GET", "/v1/batch_message", payload={"data": [BATCH], "count": 1})
    hero = await client()
    page = await hero.batch_messages.list(page_index=2, page_size=50, status="CREATED")
    sent = only(api, "GET", "/v1/batch_message")
    assert sent.params == [("page_index", "2"), ("page_size", "50"), ("status", "CREATED")]
    assert isinstance(page, Page)
    assert page.count == 1
    assert page.data[0].id == "b-77"


async def test_batch_messages_list_defaults(client: ClientFactory, api: FakeHero) -> None:
    """list() with no arguments asks for page 0 of 100."""
    api.add("GET", "/v1/batch_message", payload={"data": [], "count": 0})
    hero = await client()
    page = await hero.batch_messages.list()
    assert only(api, "GET", "/v1/batch_message").params == [
        ("page_index", "0"),
        ("page_size", "100"),
    ]
    assert page == Page(data=(), count=0)


async def test_batch_messages_send(client: ClientFactory, api: FakeHero) -> None:
    """send(id) PATCHes /v1/batch_message/{id}/send with no body and returns None."""
    api.add("PATCH", "/v1/batch_message/b-77/send", body="")
    hero = await client()
    assert await hero.batch_messages.send("b-77") is None
    sent = only(api, "PATCH", "/v1/batch_message/b-77/send")
    assert sent.data is None


async def test_batch_messages_recipients(client: ClientFactory, api: FakeHero) -> None:
    """recipients(id) GETs .../recipients with paging and keeps each row's raw JSON."""
    row = {"id": "r1", "status": "ENRICHED", "nhs_number": "9434765919"}
    api.add("GET", "/v1/batch_message/b-77/recipients", payload={"data": [row], "count": 1})
    hero = await client()
    page = await hero.batch_messages.recipients("b-77", page_size=10, status="ENRICHED")
    sent = only(api, "GET", "/v1/batch_message/b-77/recipients")
    assert sent.params == [("page_index", "0"), ("page_size", "10"), ("status", "ENRICHED")]
    [recipient] = page.data
    assert isinstance(recipient, BatchRecipient)
    assert (recipient.id, recipient.status) == ("r1", "ENRICHED")
    assert recipient.raw["nhs_number"] == "9434765919"


async def test_batch_messages_messages(client: ClientFactory, api: FakeHero) -> None:
    """messages(id) GETs .../messages with paging."""
    api.add(
        "GET",
        "/v1/batch_message/b-77/messages",
        payload={"data": [{"id": "s1", "status": "QUEUED"}], "count": 7},
    )
    hero = await client()
    page = await hero.batch_messages.messages("b-77", page_index=1, page_size=1)
    sent = only(api, "GET", "/v1/batch_message/b-77/messages")
    assert sent.params == [("page_index", "1"), ("page_size", "1")]
    assert isinstance(page.data[0], BatchSend)
    assert page.count == 7


@pytest.mark.parametrize("batch_id", ["", "a/b", "..", "x\ny", "q?x=1"])
async def test_batch_ids_checked_before_request(
    client: ClientFactory, api: FakeHero, batch_id: str
) -> None:
    """A batch id that would change the request path is refused before sending."""
    hero = await client()
    with pytest.raises(ValidationError):
        await hero.batch_messages.send(batch_id)
    assert api.count() == 0


# --- patients (§9) -----------------------------------------------------------------------


async def test_register_pds_registered(client: ClientFactory, api: FakeHero) -> None:
    """register_pds POSTs NHS number + dob and returns RegisteredPatient."""
    api.add("POST", "/v1/patients/register_pds", payload={"patient_id": "156"})
    hero = await client()
    result = await hero.patients.register_pds(
        nhs_number=VALID_NHS, dob="1950-01-01", ehr_partner="emis", ehr_partner_id="E-1"
    )
    assert only(api, "POST", "/v1/patients/register_pds").json == {
        "nhs_number": "9434765919",
        "dob": "1950-01-01",
        "ehr_partner": "emis",
        "ehr_partner_id": "E-1",
    }
    assert result == RegisteredPatient(patient_id="156")


async def test_register_pds_identity_check(client: ClientFactory, api: FakeHero) -> None:
    """The guide's {message, login_url} answer becomes IdentityCheckRequired."""
    api.add(
        "POST",
        "/v1/patients/register_pds",
        payload={
            "message": "Patient must verify their identity",
            "login_url": "https://patient.herohealth.net/verify/tok-123",
        },
    )
    hero = await client()
    result = await hero.patients.register_pds(
        forename="Ada", surname="Lovelace", dob=dt.date(1992, 1, 1), postcode="SW1A 1AA"
    )
    assert only(api, "POST", "/v1/patients/register_pds").json == {
        "dob": "1992-01-01",
        "forename": "Ada",
        "surname": "Lovelace",
        "postcode": "SW1A 1AA",
    }
    assert isinstance(result, IdentityCheckRequired)
    assert result.login_url == "https://patient.herohealth.net/verify/tok-123"
    assert "tok-123" not in repr(result)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"nhs_number": "943 476 5918", "dob": "1950-01-01"},  # wrong check digit
        {"nhs_number": "94347659", "dob": "1950-01-01"},
        {"nhs_number": 9434765919, "dob": "1950-01-01"},
        {"nhs_number": VALID_NHS, "dob": "01/01/1950"},
        {"nhs_number": VALID_NHS, "dob": "2999-01-01"},  # in the future
        {"forename": "Ada", "dob": "1992-01-01"},  # demographic trace incomplete
    ],
    ids=["check-digit", "short", "int", "dob-format", "dob-future", "incomplete"],
)
async def test_register_pds_invalid_rejected_before_sending(
    client: ClientFactory, api: FakeHero, kwargs: dict[str, Any]
) -> None:
    """An invalid NHS number or dob is refused with no request sent."""
    hero = await client()
    with pytest.raises(ValidationError):
        await hero.patients.register_pds(**kwargs)
    assert api.count() == 0


async def test_patients_register(client: ClientFactory, api: FakeHero) -> None:
    """register() POSTs /v1/patients/register with the required and extra fields."""
    api.add("POST", "/v1/patients/register", payload={"patient_id": "157"})
    hero = await client()
    result = await hero.patients.register(
        dob="1992-01-01",
        first_name="Ada",
        last_name="Lovelace",
        mobile="07700 900123",
        nhs_number=VALID_NHS,
        sex="Female",
        title="Dr",
        email="ada@example.com",
        postcode="SW1A 1AA",
    )
    assert only(api, "POST", "/v1/patients/register").json == {
        "dob": "1992-01-01",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "mobile": "07700900123",
        "nhs_number": "9434765919",
        "sex": "Female",
        "title": "Dr",
        "email": "ada@example.com",
        "postcode": "SW1A 1AA",
    }
    assert result == RegisteredPatient(patient_id="157")


async def test_patients_register_bad_sex_rejected(client: ClientFactory, api: FakeHero) -> None:
    """An unknown sex value is refused before sending."""
    hero = await client()
    with pytest.raises(ValidationError, match="sex"):
        await hero.patients.register(
            dob="1992-01-01", first_name="A", last_name="L", mobile="07700900123", sex="F"
        )
    assert api.count() == 0


async def test_patients_get(client: ClientFactory, api: FakeHero) -> None:
    """get(id) GETs /v1/patients/{id} and returns a Patient with masked repr."""
    api.add(
        "GET",
        "/v1/patients/156",
        payload={
            "id": "156",
            "dob": "1992-01-01T00:00:00.000Z",
            "first_name": "Ada",
            "last_name": "Lovelace",
            "nhs_number": "9434765919",
            "mobile": "07700900123",
            "emails": ["ada@example.com"],
            "data_source": "pds",
            "status": "unarchived",
            "restricted": False,
        },
    )
    hero = await client()
    patient = await hero.patients.get("156")
    only(api, "GET", "/v1/patients/156")
    assert isinstance(patient, Patient)
    assert patient.dob == dt.date(1992, 1, 1)
    assert patient.emails == ("ada@example.com",)
    assert patient.data_source == "pds"
    assert "Lovelace" not in repr(patient)


async def test_patients_search(client: ClientFactory, api: FakeHero) -> None:
    """search() GETs /v3/patients with paging and the given filters."""
    api.add(
        "GET",
        "/v3/patients",
        payload={
            "data": [{"id": "156", "dob": "1992-01-01", "first_name": "Ada", "ods_code": "A1"}],
            "count": 1,
        },
    )
    hero = await client()
    page = await hero.patients.search(last_name="Lovelace", dob="1992-01-01", nhs_number=VALID_NHS)
    assert only(api, "GET", "/v3/patients").params == [
        ("page_index", "0"),
        ("page_size", "100"),
        ("last_name", "Lovelace"),
        ("dob", "1992-01-01"),
        ("nhs_number", "9434765919"),
    ]
    [summary] = page.data
    assert isinstance(summary, PatientSummary)
    assert summary.dob == dt.date(1992, 1, 1)
    assert summary.ods_code == "A1"


async def test_patients_search_needs_a_filter(client: ClientFactory, api: FakeHero) -> None:
    """search() with no filter is refused before any request."""
    hero = await client()
    with pytest.raises(ValidationError, match="at least one"):
        await hero.patients.search()
    with pytest.raises(ValidationError, match="at least one"):
        await hero.patients.search(page_size=10)
    assert api.count() == 0


# --- reference data (§10) ----------------------------------------------------------------


async def test_appointment_types_list(client: ClientFactory, api: FakeHero) -> None:
    """list() sends location_ids as repeated keys and has_availability=true."""
    api.add(
        "GET",
        "/v1/appointment_types",
        payload={
            "data": [
                {
                    "id": "1",
                    "name": "Flu vaccination",
                    "partner_slot_name": "Flu",
                    "next_available_at": "2024-05-01T09:30:00.000Z",
                    "slot_count": 12,
                    "price": 0,
                    "assignee_id": None,
                    "assignee_type": None,
                    "sector": "nhs",
                    "duration": 10,
                    "in_person": True,
                    "use_partner_bookable_slots": False,
                    "form_id": None,
                    "practitioner_type": "Nurse",
                }
            ],
            "count": 1,
        },
    )
    hero = await client()
    page = await hero.appointment_types.list(location_ids=["5", "6"], has_availability=True)
    sent = only(api, "GET", "/v1/appointment_types")
    assert sent.params == [
        ("location_ids", "5"),
        ("location_ids", "6"),
        ("has_availability", "true"),
    ]
    assert "location_ids=5&location_ids=6" in sent.url
    [kind] = page.data
    assert isinstance(kind, AppointmentType)
    assert kind.slot_count == 12
    assert kind.price == 0.0
    assert kind.in_person is True
    assert kind.video is False


async def test_appointment_types_list_without_filters(client: ClientFactory, api: FakeHero) -> None:
    """list() with no filters sends no query; has_availability=False is sent as false."""
    api.add("GET", "/v1/appointment_types", payload={"data": [], "count": 0}, repeat=True)
    hero = await client()
    await hero.appointment_types.list()
    await hero.appointment_types.list(has_availability=False)
    params = [s.params for s in api.sent("GET", "/v1/appointment_types")]
    assert params == [[], [("has_availability", "false")]]


async def test_locations_list(client: ClientFactory, api: FakeHero) -> None:
    """list() GETs /v1/locations and keeps unknown fields in raw."""
    api.add(
        "GET",
        "/v1/locations",
        payload={"data": [{"id": "5", "name": "Main surgery", "postcode": "SW1A 1AA"}], "count": 1},
    )
    hero = await client()
    page = await hero.locations.list()
    only(api, "GET", "/v1/locations")
    [location] = page.data
    assert isinstance(location, Location)
    assert (location.id, location.name) == ("5", "Main surgery")
    assert location.raw["postcode"] == "SW1A 1AA"


async def test_practice_group_info(client: ClientFactory, api: FakeHero) -> None:
    """me(), capabilities() and configuration() GET /v1/me and its two sub-resources."""
    me = {"id": "1001", "name": "Riverside Surgery", "sector": "nhs", "address": {"town": "X"}}
    api.add("GET", "/v1/me", payload=me)
    api.add("GET", "/v1/me/capabilities", payload={"booking": True, "messaging": True})
    api.add("GET", "/v1/me/configuration", payload={"timezone": "Europe/London"})
    hero = await client()
    group = await hero.practice_group_info.me()
    capabilities = await hero.practice_group_info.capabilities()
    configuration = await hero.practice_group_info.configuration()
    assert [(s.method, s.url) for s in api.sent()] == [
        ("GET", "https://api.test/v1/me"),
        ("GET", "https://api.test/v1/me/capabilities"),
        ("GET", "https://api.test/v1/me/configuration"),
    ]
    assert isinstance(group, PracticeGroup)
    assert (group.id, group.name, group.sector) == ("1001", "Riverside Surgery", "nhs")
    assert group.raw["address"] == {"town": "X"}
    assert isinstance(capabilities, Capabilities)
    assert capabilities.raw == {"booking": True, "messaging": True}
    assert configuration.raw == {"timezone": "Europe/London"}


# --- slots (§11.1) -----------------------------------------------------------------------


async def test_slots_list(client: ClientFactory, api: FakeHero) -> None:
    """list() GETs /v1/slots with paging first, then the filters."""
    api.add("GET", "/v1/slots", payload={"data": [SLOT], "count": 1})
    hero = await client()
    page = await hero.slots.list(
        appointment_type_id="1",
        location_id="5",
        start_date=dt.date(2024, 5, 1),
        end_date="2024-05-07",
        page_size=2,
    )
    assert only(api, "GET", "/v1/slots").params == [
        ("page_index", "0"),
        ("page_size", "2"),
        ("appointment_type_id", "1"),
        ("location_id", "5"),
        ("start_date", "2024-05-01"),
        ("end_date", "2024-05-07"),
    ]
    [slot] = page.data
    assert slot == Slot(
        id="77",
        practitioner_id="9",
        appointment_type_id="1",
        location_id="5",
        start_time=dt.datetime(2024, 5, 1, 9, 30, tzinfo=UTC),
        finish_time=dt.datetime(2024, 5, 1, 9, 45, tzinfo=UTC),
    )


async def test_slots_count(client: ClientFactory, api: FakeHero) -> None:
    """count() GETs /v1/slots/count with only the filters and returns an int."""
    api.add("GET", "/v1/slots/count", payload={"count": 12})
    hero = await client()
    total = await hero.slots.count(location_id="5", practitioner_id="9")
    assert only(api, "GET", "/v1/slots/count").params == [
        ("location_id", "5"),
        ("practitioner_id", "9"),
    ]
    assert total == 12


async def test_slots_get(client: ClientFactory, api: FakeHero) -> None:
    """get(id) GETs /v1/slots/{id}."""
    api.add("GET", "/v1/slots/77", payload=SLOT)
    hero = await client()
    slot = await hero.slots.get("77")
    only(api, "GET", "/v1/slots/77")
    assert slot.id == "77"


def _slot_pages(pages: list[dict[str, Any]]) -> tuple[list[list[tuple[str, str]]], Any]:
    seen: list[list[tuple[str, str]]] = []

    async def answer(url: Any, **kwargs: Any) -> CallbackResult:
        seen.append(list(kwargs["params"]))
        return CallbackResult(payload=pages[len(seen) - 1])

    return seen, answer


def _slots(start: int, n: int) -> list[dict[str, Any]]:
    return [{**SLOT, "id": str(start + i)} for i in range(n)]


async def test_slots_iterate_stops_at_short_page(client: ClientFactory, api: FakeHero) -> None:
    """iterate() walks page_index 0, 1, 2 and stops after a page shorter than page_size."""
    seen, answer = _slot_pages(
        [
            {"data": _slots(1, 2)},
            {"data": _slots(3, 2)},
            {"data": _slots(5, 1)},
        ]
    )
    api.add("GET", "/v1/slots", callback=answer, repeat=True)
    hero = await client()
    ids = [slot.id async for slot in hero.slots.iterate(page_size=2, location_id="5")]
    assert ids == ["1", "2", "3", "4", "5"]
    assert [p[:3] for p in seen] == [
        [("page_index", "0"), ("page_size", "2"), ("location_id", "5")],
        [("page_index", "1"), ("page_size", "2"), ("location_id", "5")],
        [("page_index", "2"), ("page_size", "2"), ("location_id", "5")],
    ]


async def test_slots_iterate_stops_when_count_reached(client: ClientFactory, api: FakeHero) -> None:
    """iterate() makes no extra request once the running total reaches count."""
    seen, answer = _slot_pages(
        [{"data": _slots(1, 2), "count": 4}, {"data": _slots(3, 2), "count": 4}]
    )
    api.add("GET", "/v1/slots", callback=answer, repeat=True)
    hero = await client()
    ids = [slot.id async for slot in hero.slots.iterate(page_size=2)]
    assert ids == ["1", "2", "3", "4"]
    assert len(seen) == 2


async def test_slots_iterate_empty_first_page(client: ClientFactory, api: FakeHero) -> None:
    """An empty first page ends iteration after one request."""
    seen, answer = _slot_pages([{"data": [], "count": 0}])
    api.add("GET", "/v1/slots", callback=answer, repeat=True)
    hero = await client()
    assert [slot async for slot in hero.slots.iterate()] == []
    assert len(seen) == 1


# --- appointments (§11.2-11.7) -----------------------------------------------------------


async def test_appointments_reserve(client: ClientFactory, api: FakeHero) -> None:
    """reserve() POSTs /v1/appointments; start_time goes as UTC with Z."""
    api.add(
        "POST",
        "/v1/appointments",
        payload={"id": "300", "reserved_until": "2024-04-30T10:15:00.000Z"},
    )
    hero = await client()
    reservation = await hero.appointments.reserve(
        appointment_type_id="1",
        location_id="5",
        practitioner_id="9",
        duration=15,
        start_time=dt.datetime(2024, 5, 1, 10, 30, tzinfo=dt.timezone(dt.timedelta(hours=1))),
        patient_id="156",
        reason="Flu jab",
        suppress_mail=True,
    )
    assert only(api, "POST", "/v1/appointments").json == {
        "appointment_type_id": "1",
        "location_id": "5",
        "practitioner_id": "9",
        "duration": 15,
        "patient_id": "156",
        "reason": "Flu jab",
        "suppress_mail": True,
        "start_time": "2024-05-01T09:30:00Z",
    }
    assert reservation == Reservation(
        id="300", reserved_until=dt.datetime(2024, 4, 30, 10, 15, tzinfo=UTC)
    )


async def test_appointments_reserve_null_start_time(client: ClientFactory, api: FakeHero) -> None:
    """start_time=None is sent as JSON null (required but nullable)."""
    api.add("POST", "/v1/appointments", payload={"id": "301", "reserved_until": None})
    hero = await client()
    reservation = await hero.appointments.reserve(
        appointment_type_id="1", location_id="5", practitioner_id="9", duration=15, start_time=None
    )
    body = only(api, "POST", "/v1/appointments").json
    assert "start_time" in body
    assert body["start_time"] is None
    assert reservation.reserved_until is None


async def test_appointments_get(client: ClientFactory, api: FakeHero) -> None:
    """get(id) GETs /v1/appointments/{id} and derives state from the timestamps."""
    api.add("GET", "/v1/appointments/300", payload=APPOINTMENT)
    hero = await client()
    appointment = await hero.appointments.get("300")
    only(api, "GET", "/v1/appointments/300")
    assert isinstance(appointment, Appointment)
    assert appointment.state == "reserved"
    assert appointment.cancellation_policy_hours == 24.0
    assert appointment.start_time == dt.datetime(2024, 5, 1, 9, 30, tzinfo=UTC)


async def test_appointments_update(client: ClientFactory, api: FakeHero) -> None:
    """update(id) PUTs /v1/appointments/{id} with timing fields."""
    api.add("PUT", "/v1/appointments/300", payload={**APPOINTMENT, "duration": 20})
    hero = await client()
    appointment = await hero.appointments.update(
        "300",
        start_time="2024-05-01T10:00:00+00:00",
        duration=20,
        practitioner_id="9",
        suppress_availability_check=True,
    )
    assert only(api, "PUT", "/v1/appointments/300").json == {
        "duration": 20,
        "practitioner_id": "9",
        "start_time": "2024-05-01T10:00:00Z",
        "suppress_availability_check": True,
    }
    assert appointment.duration == 20


async def test_appointments_book(client: ClientFactory, api: FakeHero) -> None:
    """book(id) PATCHes /v1/appointments/{id}/book with the patient id."""
    booked = {**APPOINTMENT, "booking_confirmed_at": "2024-04-30T10:05:00.000Z"}
    api.add("PATCH", "/v1/appointments/300/book", payload=booked)
    hero = await client()
    appointment = await hero.appointments.book("300", patient_id="156")
    assert only(api, "PATCH", "/v1/appointments/300/book").json == {"patient_id": "156"}
    assert appointment.state == "booked"


@pytest.mark.parametrize(
    ("flag", "sent"),
    [(True, {"suppress_mail": True}), (False, {"suppress_mail": False}), (None, {})],
)
async def test_appointments_book_sends_suppress_mail_only_when_given(
    client: ClientFactory, api: FakeHero, flag: bool | None, sent: dict[str, Any]
) -> None:
    """book(suppress_mail=...) is in the body as a JSON boolean; left out when None."""
    api.add("PATCH", "/v1/appointments/300/book", payload=APPOINTMENT)
    hero = await client()
    await hero.appointments.book("300", suppress_mail=flag)
    assert only(api, "PATCH", "/v1/appointments/300/book").json == sent


async def test_appointments_book_refuses_a_non_boolean_suppress_mail(
    client: ClientFactory, api: FakeHero
) -> None:
    """A string such as "false" is refused before anything is sent (Hero would read it as
    truthy)."""
    hero = await client()
    with pytest.raises(ValidationError, match="suppress_mail"):
        await hero.appointments.book("300", suppress_mail="false")  # type: ignore[arg-type]
    assert api.count() == 0


async def test_appointments_cancel(client: ClientFactory, api: FakeHero) -> None:
    """cancel(id) PATCHes /v1/appointments/{id}/cancel with its two flags."""
    api.add("PATCH", "/v1/appointments/300/cancel", payload={**APPOINTMENT, "reserved_until": None})
    hero = await client()
    appointment = await hero.appointments.cancel(
        "300", suppress_mail=True, suppress_cancellation_policy=False
    )
    assert only(api, "PATCH", "/v1/appointments/300/cancel").json == {
        "suppress_mail": True,
        "suppress_cancellation_policy": False,
    }
    assert appointment.state == "unreserved"


async def test_appointments_reschedule(client: ClientFactory, api: FakeHero) -> None:
    """reschedule(id) PATCHes /v1/appointments/{id}/reschedule with the new timing."""
    api.add("PATCH", "/v1/appointments/300/reschedule", payload=APPOINTMENT)
    hero = await client()
    await hero.appointments.reschedule(
        "300",
        start_time=dt.datetime(2024, 5, 2, 14, 0, tzinfo=UTC),
        duration=15,
        practitioner_id="9",
        suppress_mail=False,
    )
    assert only(api, "PATCH", "/v1/appointments/300/reschedule").json == {
        "duration": 15,
        "practitioner_id": "9",
        "suppress_mail": False,
        "start_time": "2024-05-02T14:00:00Z",
    }


@pytest.mark.parametrize(
    "call",
    [
        lambda h: h.appointments.get("abc"),
        lambda h: h.appointments.cancel("3/0"),
        lambda h: h.appointments.reserve(
            appointment_type_id="1",
            location_id="5",
            practitioner_id="9",
            duration=0,
            start_time=None,
        ),
        lambda h: h.appointments.reserve(
            appointment_type_id="1",
            location_id="5",
            practitioner_id="9",
            duration=15,
            start_time=dt.datetime(2024, 5, 1, 9, 30),  # naive
        ),
        lambda h: h.slots.get("x"),
        lambda h: h.slots.list(page_size=0),
    ],
    ids=["get-id", "cancel-id", "duration-0", "naive-start", "slot-id", "page-size-0"],
)
async def test_booking_invalid_input_sends_nothing(
    client: ClientFactory, api: FakeHero, call: Any
) -> None:
    """Bad booking input is refused before any request."""
    hero = await client()
    with pytest.raises(ValidationError):
        await call(hero)
    assert api.count() == 0


# --- webhooks (§12.1) --------------------------------------------------------------------


async def test_webhooks_create(client: ClientFactory, api: FakeHero) -> None:
    """create() POSTs /v1/webhooks; the echoed signing key is masked in repr."""
    api.add("POST", "/v1/webhooks", payload=WEBHOOK)
    hero = await client()
    webhook = await hero.webhooks.create(
        event_type="appointment.confirmed",
        url="https://partner.example/hooks/hero",
        signing_key="whsec-SIGNING",
        headers={"X-Partner-Token": "abc"},
        description="Confirmed bookings",
    )
    assert only(api, "POST", "/v1/webhooks").json == {
        "event_type": "appointment.confirmed",
        "url": "https://partner.example/hooks/hero",
        "signing_key": "whsec-SIGNING",
        "headers": {"X-Partner-Token": "abc"},
        "description": "Confirmed bookings",
    }
    assert isinstance(webhook, Webhook)
    assert webhook.id == "wh_1"
    assert webhook.headers == {"X-Partner-Token": "abc"}
    assert "whsec-SIGNING" not in repr(webhook)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"event_type": "appointment.created", "url": "https://partner.example/h"},
        {"event_type": "appointment.confirmed", "url": "http://partner.example/h"},
        {
            "event_type": "appointment.confirmed",
            "url": "https://partner.example/h",
            "headers": {"X-Bad": "a\r\nb"},
        },
    ],
    ids=["unknown-event", "plain-http", "header-crlf"],
)
async def test_webhooks_create_invalid_sends_nothing(
    client: ClientFactory, api: FakeHero, kwargs: dict[str, Any]
) -> None:
    """A bad event type, non-https URL or header with CR/LF is refused before sending."""
    hero = await client()
    with pytest.raises(ValidationError):
        await hero.webhooks.create(**kwargs)
    assert api.count() == 0


async def test_webhooks_list(client: ClientFactory, api: FakeHero) -> None:
    """list() GETs /v1/webhooks filtered by event_type; a bare array answer is accepted."""
    api.add("GET", "/v1/webhooks", payload={"data": [WEBHOOK], "count": 1})
    api.add("GET", "/v1/webhooks", body='[{"id": "wh_2"}]')
    hero = await client()
    page = await hero.webhooks.list(event_type="appointment.confirmed")
    bare = await hero.webhooks.list()
    params = [s.params for s in api.sent("GET", "/v1/webhooks")]
    assert params == [[("event_type", "appointment.confirmed")], []]
    assert [w.id for w in page.data] == ["wh_1"]
    assert [w.id for w in bare.data] == ["wh_2"]
    assert bare.count is None


async def test_webhooks_delete(client: ClientFactory, api: FakeHero) -> None:
    """delete(id) sends DELETE /v1/webhooks/{id} and returns None."""
    api.add("DELETE", "/v1/webhooks/wh_1", body="")
    hero = await client()
    assert await hero.webhooks.delete("wh_1") is None
    assert only(api, "DELETE", "/v1/webhooks/wh_1").data is None


# --- scoping of resources ------------------------------------------------------------------


async def test_resources_on_a_view_act_for_that_group(client: ClientFactory, api: FakeHero) -> None:
    """A resource reached through practice_group("1002") sends 1002's header."""
    api.add("GET", "/v1/slots/77", payload=SLOT)
    hero: HeroClient = await client()
    await hero.practice_group("1002").slots.get("77")
    [sent] = api.sent()
    assert sent.headers["x-practice-group-id"] == "1002"


async def test_register_pds_is_resent_after_a_5xx(client: ClientFactory, api: FakeHero) -> None:
    """A PDS trace returns the existing patient on a repeat, so a 503 on it is retried."""
    api.add("POST", "/v1/patients/register_pds", status=503)
    api.add("POST", "/v1/patients/register_pds", payload={"patient_id": "156"})
    hero = await client()
    result = await hero.patients.register_pds(nhs_number=VALID_NHS, dob="1950-01-01")
    assert result == RegisteredPatient(patient_id="156")
    assert api.count("POST", "/v1/patients/register_pds") == 2


# --- tolerant 2xx answers (issue 12) ------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [{"body": ""}, {"payload": {}}, {"payload": {"ok": True}}, {"payload": {"id": {"x": 1}}}],
)
async def test_cancel_with_an_empty_or_id_less_answer_succeeds(
    client: ClientFactory, api: FakeHero, answer: dict[str, Any]
) -> None:
    """The description promises no body: Hero cancelled, so this is a success (None)."""
    api.add("PATCH", "/v1/appointments/300/cancel", **answer)
    hero = await client()
    assert await hero.appointments.cancel("300") is None
    assert api.count("PATCH", "/v1/appointments/300/cancel") == 1


async def test_prism_style_answers_that_follow_the_description_parse(
    client: ClientFactory, api: FakeHero
) -> None:
    """Prism's mock fills ``string`` fields with "string" and numbers with any number."""
    api.add(
        "POST",
        "/v1/messages/send",
        payload={"message_id": "string", "content": "string", "created_at": "string"},
    )
    api.add(
        "GET",
        "/v3/patients",
        payload={"data": [{"dob": "string", "deceased_at": "string", "id": "7"}], "count": 0.5},
    )
    hero = await client()
    sent = await hero.messages.send(patient_id="156", message_type="sms", message_string="hi")
    assert sent.message_id == "string"
    assert sent.created_at is None
    assert sent.raw["created_at"] == "string"
    page = await hero.patients.search(last_name="Doe")
    assert page.count is None
    assert page.data[0].id == "7"
    assert page.data[0].dob is None
    assert page.data[0].raw["deceased_at"] == "string"


async def test_a_post_answer_missing_its_id_is_still_an_error(
    client: ClientFactory, api: FakeHero
) -> None:
    """Without the id the caller needs, the answer is unusable (MalformedResponseError)."""
    from hero_async import MalformedResponseError

    api.add("POST", "/v1/booking_links", payload={"short_link": "https://hero.link/x"})
    hero = await client()
    with pytest.raises(MalformedResponseError):
        await hero.booking_links.create(appointment_type_id="1", location_id="5")


async def test_register_takes_only_the_documented_fields(client: ClientFactory) -> None:
    """A typo is a TypeError (and a mypy error), never a field sent to Hero."""
    hero = await client()
    with pytest.raises(TypeError):
        await hero.patients.register(  # type: ignore[call-arg]
            dob="1980-01-31", first_name="A", last_name="B", mobile="07700900123", emial="x"
        )


async def test_register_sends_the_optional_fields_it_is_given(
    client: ClientFactory, api: FakeHero
) -> None:
    api.add("POST", "/v1/patients/register", payload={"patient_id": "156"})
    hero = await client()
    await hero.patients.register(
        dob="1980-01-31",
        first_name="Jane",
        last_name="Doe",
        mobile="07700 900123",
        email="jane@example.com",
        sex="Female",
        title="Dr",
        postcode="LS1 4AP",
    )
    sent = only(api, "POST", "/v1/patients/register").json
    assert sent["sex"] == "Female"
    assert sent["title"] == "Dr"
    assert sent["postcode"] == "LS1 4AP"
    assert "landline" not in sent
    with pytest.raises(ValidationError, match="sex"):
        await hero.patients.register(
            dob="1980-01-31", first_name="J", last_name="D", mobile="07700900123",
            sex="female",  # type: ignore[arg-type]
        )  # fmt: skip


def test_every_public_resource_method_has_a_docstring_naming_its_endpoint() -> None:
    import inspect

    from hero_async import resources

    for name in resources.__all__:
        cls = getattr(resources, name)
        if not isinstance(cls, type) or not issubclass(cls, resources._base.Resource):
            continue
        for method_name, method in inspect.getmembers(cls, inspect.isfunction):
            if method_name.startswith("_"):
                continue
            doc = inspect.getdoc(method) or ""
            assert "/v" in doc, f"{name}.{method_name} has no docstring naming its endpoint"


def test_help_shows_each_resource_with_its_docstring() -> None:
    import pydoc

    from hero_async import HeroClient

    text = pydoc.render_doc(HeroClient, renderer=pydoc.plaintext)
    assert "cached_property object" not in text
    assert "``/v1/messages``" in text


async def test_register_checks_data_source_before_sending(
    client: ClientFactory, api: FakeHero
) -> None:
    hero = await client()
    with pytest.raises(ValidationError, match="data_source"):
        await hero.patients.register(
            dob="1980-01-31", first_name="J", last_name="D", mobile="07700900123",
            data_source="excel",  # type: ignore[arg-type]
        )  # fmt: skip
    assert api.count() == 0
