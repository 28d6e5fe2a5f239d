"""Response models and their loading (hero_async.models + hero_async._serde).

Samples in tests/samples/ are shaped after the reference (see its README); JSON is built by
hand, never by our converter, so a converter bug cannot hide by round-tripping.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hero_async import models as m
from hero_async._serde import ConversionError, load, load_page, load_pds

SAMPLES = Path(__file__).parent / "samples"
UTC = dt.UTC


def sample(name: str) -> Any:
    return json.loads((SAMPLES / f"{name}.json").read_text(encoding="utf-8"))


def _conversion_error(cls: type[Any], data: Any) -> str:
    with pytest.raises(ConversionError) as info:
        load(cls, data)
    return str(info.value)


# --- reference-shaped samples ----------------------------------------------------------


def test_booking_link_sample_loads_with_meta_and_tolerates_unknown_keys() -> None:
    link = load(m.BookingLink, sample("booking_link_get"))
    assert link == m.BookingLink(
        id="4821",
        practice_group_id="156",
        short_link="https://hero.sh/b/Xk3p9Q",
        active=True,
        expiry_date=dt.datetime(2023, 5, 29, tzinfo=UTC),
        maximum_uses=1,
        number_of_uses=0,
        open_count=3,
        unlimited_use=False,
        meta=m.BookingLinkMeta(("1",), ("5",), ("77",)),
    )


def test_send_message_newest_response() -> None:
    sent = load(m.SentMessage, sample("send_message_newest"))
    assert sent.message_id == "98231"
    assert sent.write_to_record is True
    assert sent.created_at == dt.datetime(2024, 9, 2, 8, 15, 30, 120000, tzinfo=UTC)
    assert sent.send_at == dt.datetime(2024, 9, 2, 8, 0, tzinfo=UTC)  # +01:00 kept, same instant
    assert sent.auth_token == "wtr-secret-token-0f9e8d"


def test_send_message_gen_a_response_has_only_message_id() -> None:
    assert load(m.SentMessage, sample("send_message_gen_a")) == m.SentMessage(message_id="98231")


def test_register_pds_both_outcomes() -> None:
    assert load_pds(sample("register_pds_patient")) == m.RegisteredPatient("156")
    check = load_pds(sample("register_pds_identity_check"))
    assert isinstance(check, m.IdentityCheckRequired)
    assert check.login_url.startswith("https://patient.herohealth.net/verify/")
    assert check.message is not None


@pytest.mark.parametrize("body", [{}, {"message": "x"}, {"patient_id": None}, [], "156", None])
def test_register_pds_neither_shape_is_a_conversion_error(body: Any) -> None:
    with pytest.raises(ConversionError, match="patient_id or login_url"):
        load_pds(body)


def test_patient_sample_keeps_raw_and_reads_dob_in_london_time() -> None:
    body = sample("patient")
    patient = load(m.Patient, body)
    # "1992-06-30T23:00:00.000Z" is midnight BST on 1 July: the birthday, not the day before.
    assert patient.dob == dt.date(1992, 7, 1)
    assert patient.emails == ("ada@example.org",)
    assert patient.verification_credentials == ()
    assert patient.raw == body
    assert patient.raw["gp_surgery_note"] == "a field the reference did not capture"


def test_appointment_sample_is_booked() -> None:
    appointment = load(m.Appointment, sample("appointment_booked"))
    assert appointment.state == "booked"
    assert appointment.duration == 10
    assert appointment.cancellation_policy_hours == 24.0
    assert appointment.in_person is True


def test_appointment_types_page() -> None:
    page = load_page(m.AppointmentType, sample("appointment_types"))
    assert page.count == 2
    first, second = page.data
    assert first.next_available_at == dt.datetime(2024, 10, 1, 9, tzinfo=UTC)
    assert first.price == 0.0
    assert second.practitioner_type == "GP – Dermatology Specialist"
    assert second.video is False  # omitted: documented default false
    assert second.assignee_type == "AdminTeam"


def test_webhook_and_batch_message_samples() -> None:
    hook = load(m.Webhook, sample("webhook"))
    assert hook.headers == {"Authorization": "Bearer receiver-secret"}
    assert hook.created_at == "2024-09-01T10:00:00.000Z"  # kept as the string Hero sent
    batch = load(m.BatchMessage, sample("batch_message"))
    assert (batch.id, batch.status, batch.channel, batch.subject) == (
        "batch-7f3a", "CREATED", "SMS", None,
    )  # fmt: skip


# --- reading rules ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2023-05-29", dt.datetime(2023, 5, 29, tzinfo=UTC)),
        ("2023-05-29T10:15:00Z", dt.datetime(2023, 5, 29, 10, 15, tzinfo=UTC)),
        ("2023-05-29T10:15:00.000Z", dt.datetime(2023, 5, 29, 10, 15, tzinfo=UTC)),
        ("2023-05-29T10:15:00", dt.datetime(2023, 5, 29, 10, 15, tzinfo=UTC)),  # naive = UTC
        ("2023-05-29T11:15:00+01:00", dt.datetime(2023, 5, 29, 10, 15, tzinfo=UTC)),
        (None, None),
    ],
)
def test_datetime_fields_accept_date_only_and_date_time(value: Any, expected: Any) -> None:
    link = load(m.BookingLink, {"id": "1", "expiry_date": value})
    assert link.expiry_date == expected
    assert link.expiry_date is None or link.expiry_date.tzinfo is not None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1992-01-01", dt.date(1992, 1, 1)),
        ("1992-01-01T00:00:00.000Z", dt.date(1992, 1, 1)),
        ("1992-01-01T00:00:00", dt.date(1992, 1, 1)),
        ("1992-06-30T23:00:00Z", dt.date(1992, 7, 1)),
    ],
)
def test_date_fields_accept_date_time_strings(value: str, expected: dt.date) -> None:
    assert load(m.PatientSummary, {"dob": value}).dob == expected


def test_ids_sent_as_numbers_become_strings_and_nulls_become_defaults() -> None:
    link = load(m.BookingLink, {"id": 4821, "meta": None, "maximum_uses": 2.0})
    assert link.id == "4821"
    assert link.meta == m.BookingLinkMeta()
    assert link.maximum_uses == 2
    meta = load(m.BookingLinkMeta, {"location_id": "5", "practitioner_id": None})
    assert meta == m.BookingLinkMeta(location_id=("5",))
    assert load(m.Appointment, {"id": "1", "video": None}).video is False


def test_open_records_keep_the_whole_object() -> None:
    row = {"id": 9, "status": "ENRICHED", "nhs_number": "9434765919", "extra": {"a": 1}}
    recipient = load(m.BatchRecipient, row)
    assert (recipient.id, recipient.status, recipient.raw) == ("9", "ENRICHED", row)
    assert load(m.BatchSend, {}).raw == {}
    assert load(m.Capabilities, {"booking": True}).raw == {"booking": True}
    assert (
        load(m.PracticeGroup, {"id": "156", "name": "Surgery", "sector": "nhs"}).name == "Surgery"
    )


def test_slot_count_accepts_object_or_bare_number() -> None:
    assert load(m.SlotCount, {"count": 7}) == m.SlotCount(7)
    assert load(m.SlotCount, 7) == m.SlotCount(7)


def test_pages_accept_envelope_bare_list_and_null_data() -> None:
    assert load_page(m.Location, {"data": [{"id": "5"}]}) == m.Page(
        (m.Location("5", raw={"id": "5"}),), None
    )
    assert load_page(m.Slot, [{"id": "1"}]).data == (m.Slot("1"),)
    assert load_page(m.Slot, {"data": None, "count": 0}) == m.Page((), 0)


# --- malformed payloads ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "data", "where"),
    [
        (m.BookingLink, {"short_link": "x"}, "required field missing @ $.id"),
        (m.BookingLink, {"id": {"nested": 1}}, "$.id"),
        (m.BookingLink, ["not", "an", "object"], "expected an object, got list @ $"),
        (m.SentMessage, None, "got null @ $"),
        (m.SentMessage, {"content": "hi"}, "$.message_id"),
        (m.Reservation, {"id": None, "reserved_until": None}, "$.id"),
        (m.SlotCount, "seven", "$"),
    ],
)
def test_malformed_payload_names_the_field(cls: type[Any], data: Any, where: str) -> None:
    message = _conversion_error(cls, data)
    assert message.startswith(f"cannot read {cls.__name__}: ")
    assert where in message


@pytest.mark.parametrize(
    ("cls", "data", "field", "default"),
    [
        (m.BookingLink, {"id": "1", "maximum_uses": "lots"}, "maximum_uses", None),
        (m.BookingLink, {"id": "1", "maximum_uses": 1.5}, "maximum_uses", None),
        (m.BookingLink, {"id": "1", "active": "false"}, "active", None),
        (m.BookingLink, {"id": "1", "expiry_date": "29/05/2023"}, "expiry_date", None),
        (m.BookingLink, {"id": "1", "meta": []}, "meta", m.BookingLinkMeta()),
        (m.Patient, {"id": "1", "dob": 19920101}, "dob", None),
        (m.Webhook, {"id": "1", "headers": ["x"]}, "headers", {}),
        # Prism-style answers that follow the description's plain "string" types (issue 12):
        (m.SentMessage, {"message_id": "9", "created_at": "string"}, "created_at", None),
        (m.PatientSummary, {"dob": "string", "deceased_at": "string"}, "dob", None),
        (m.PatientSummary, {"dob": "1980-01-31", "deceased_at": "string"}, "deceased_at", None),
        (m.Appointment, {"id": "3", "duration": 12.5, "video": "yes"}, "duration", None),
    ],
)
def test_a_field_of_another_shape_is_its_default_and_stays_in_raw(
    cls: type[Any], data: dict[str, Any], field: str, default: Any
) -> None:
    """A 2xx never fails over a field the caller may not need (issue 12)."""
    loaded = load(cls, data)
    assert getattr(loaded, field) == default
    assert loaded.raw == data  # type: ignore[attr-defined]


def test_a_nested_model_keeps_its_readable_fields() -> None:
    link = load(m.BookingLink, {"id": "1", "meta": {"location_id": [5.5], "practitioner_id": "7"}})
    assert link.meta == m.BookingLinkMeta(practitioner_id=("7",))


def test_every_response_model_keeps_its_raw_body() -> None:
    data = {"id": "5", "brand_new_field": {"x": 1}}
    for cls in (m.BookingLink, m.Appointment, m.Slot, m.Webhook, m.BatchMessage, m.Patient):
        assert load(cls, data).raw == data


def test_malformed_page_item_names_its_index() -> None:
    with pytest.raises(ConversionError, match=r"\$\.data\[1\]\.id") as info:
        load_page(m.Location, {"data": [{"id": "5"}, {"name": "no id"}], "count": 2})
    assert isinstance(info.value, ValueError)
    # A count of another shape (Prism's mock sends any number) drops to None: paging then
    # stops at the first short page.
    assert load_page(m.Location, {"data": [], "count": "many"}) == m.Page((), None)
    assert load_page(m.Location, {"data": [{"id": "5"}], "count": 1.5}).count is None
    tolerant = load_page(m.Slot, {"data": [{"id": "1", "start_time": "soon"}], "count": 1})
    assert tolerant == m.Page((m.Slot("1"),), 1)
    with pytest.raises(ConversionError, match="'data' list"):
        load_page(m.BatchMessage, sample("batch_message"))  # a bare object is not a page


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
_FIELDS = st.sampled_from(["id", "expiry_date", "meta", "maximum_uses", "active", "dob"])


@given(st.dictionaries(_FIELDS, _JSON, max_size=6) | _JSON)
def test_any_json_loads_or_raises_conversion_error(data: Any) -> None:
    for cls in (m.BookingLink, m.Patient, m.SentMessage):
        try:
            load(cls, data)
        except ConversionError as exc:
            assert exc.errors


# --- model behaviour -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("confirmed", "held", "state"),
    [
        (dt.datetime(2024, 9, 2, tzinfo=UTC), dt.datetime(2024, 9, 2, tzinfo=UTC), "booked"),
        (dt.datetime(2024, 9, 2, tzinfo=UTC), None, "booked"),
        (None, dt.datetime(2024, 9, 2, tzinfo=UTC), "reserved"),
        (None, None, "unreserved"),
    ],
)
def test_appointment_state(confirmed: Any, held: Any, state: str) -> None:
    assert m.Appointment("1", booking_confirmed_at=confirmed, reserved_until=held).state == state


def test_reprs_mask_secrets_capability_urls_and_patient_identifiers() -> None:
    sent = repr(load(m.SentMessage, sample("send_message_newest")))
    assert "wtr-secret-token" not in sent
    assert "auth_token='***'" in sent
    assert "confirm_write_to_record_url='https://app.herohealth.net/***'" in sent
    hook = repr(load(m.Webhook, sample("webhook")))
    assert "whsec" not in hook
    assert "receiver-secret" not in hook
    assert "'Authorization'" in hook
    patient = repr(load(m.Patient, sample("patient")))
    for secret in ("9434765919", "07700900123", "ada@example.org", "1992", "Ada", "LS1 4AP"):
        assert secret not in patient
    assert "id='156'" in patient
    check = repr(load_pds(sample("register_pds_identity_check")))
    assert "identity-token" not in check
    link = repr(m.AttachmentLink("https://files.herohealth.net/a/secret-path", "uuid-1"))
    assert "secret-path" not in link


def test_models_are_frozen_and_hashable() -> None:
    link = load(m.BookingLink, sample("booking_link_get"))
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        link.id = "2"  # type: ignore[misc]
    location = load(m.Location, {"id": "5", "name": "Main"})
    hook = load(m.Webhook, sample("webhook"))
    assert len({link, location, hook, load(m.Patient, sample("patient"))}) == 4
