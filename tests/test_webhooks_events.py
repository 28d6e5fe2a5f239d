"""parse_event: the four-field payload of REFERENCE §12.2, strict on fields, open to new events."""

from __future__ import annotations

import json

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hero_async._errors import HeroError
from hero_async.webhooks import WebhookEvent, WebhookPayloadError, parse_event

# The shape of REFERENCE §12.2, with the values of its appointment example.
SAMPLE = {
    "object": "Appointment",
    "id": "156",
    "practice_group_id": "42",
    "event": "appointment.confirmed",
}


def test_parses_bytes_and_str() -> None:
    expected = WebhookEvent(
        object="Appointment", id="156", practice_group_id="42", event="appointment.confirmed"
    )
    assert parse_event(json.dumps(SAMPLE).encode()) == expected
    assert parse_event(json.dumps(SAMPLE)) == expected


def test_unknown_event_names_and_extra_keys_are_kept_or_ignored() -> None:
    """Hero adds events between doc versions; a new name must parse, extra keys are ignored."""
    body = {**SAMPLE, "event": "form-submission.created", "object": "FormSubmission", "x": 1}
    event = parse_event(json.dumps(body))
    assert event.event == "form-submission.created"
    assert event.object == "FormSubmission"


def test_event_is_frozen_and_keyed_on_event_and_id() -> None:
    event = parse_event(json.dumps(SAMPLE))
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        event.id = "1"  # type: ignore[misc]
    assert event.dedupe_key == ("appointment.confirmed", "156")


@pytest.mark.parametrize("field", list(SAMPLE))
def test_each_field_is_required(field: str) -> None:
    body = {k: v for k, v in SAMPLE.items() if k != field}
    with pytest.raises(WebhookPayloadError, match=f"'{field}' is missing"):
        parse_event(json.dumps(body))


@pytest.mark.parametrize("value", [156, None, "", ["156"], True])
def test_fields_must_be_non_empty_strings(value: object) -> None:
    with pytest.raises(WebhookPayloadError, match="'id'"):
        parse_event(json.dumps({**SAMPLE, "id": value}))


@pytest.mark.parametrize(
    "body", [b"", b"not json", b"\xff\xfe\x00", b"[1, 2]", b'"text"', b"null", b"[" * 100_000]
)
def test_malformed_bodies_raise_payload_error(body: bytes) -> None:
    with pytest.raises(WebhookPayloadError) as info:
        parse_event(body)
    assert isinstance(info.value, HeroError)


@given(st.binary())
def test_arbitrary_bytes_never_raise_anything_else(body: bytes) -> None:
    try:
        result = parse_event(body)
    except WebhookPayloadError:
        return
    assert isinstance(result, WebhookEvent)
