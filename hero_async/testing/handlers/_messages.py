"""Messages tag, single send (§8.1): the hot path of the invitation benchmarks.

Kept lean: one pass of field checks, dictionary look-ups, one frozen record appended.
``short_link_id`` and ``attachment_uuid`` must belong to the acting group (404 otherwise;
UNVERIFIED, Hero could equally answer 400).
"""

from __future__ import annotations

from typing import Any

from hero_async.testing._query import Query, envelope
from hero_async.testing._records import SentMessage
from hero_async.testing._rules import (
    ASSIGNEE_TYPES,
    CONTACT_FIELD,
    FALLBACK_MESSAGE_TYPES,
    MESSAGE_TYPES,
)
from hero_async.testing._state import Call, Json, iso_utc
from hero_async.testing._validation import Fields, Reject, bad_request, require


def send_message(call: Call) -> Json:
    fields = Fields(call.body)
    patient_id = fields.text("patient_id", required=True, digits=True)
    message_type = fields.text("message_type", required=True, choices=MESSAGE_TYPES)
    message_string = fields.text("message_string", required=True, nonempty=True)
    recipient = fields.text("recipient_contact_detail", nonempty=True)
    attachment_uuid = fields.text("attachment_uuid", nonempty=True)
    short_link_id = fields.text("short_link_id", nonempty=True)
    write_to_record = fields.flag("write_to_record")
    snomed_code = fields.text("snomed_code")
    send_at = fields.when("send_at")
    _check_optional(fields)
    fields.done()
    group, world = call.group, call.world
    patient = group.patients.get(patient_id or "")
    if patient is None:
        raise Reject(404, f"Patient {patient_id} not found")
    if short_link_id is not None:
        require(group.links, short_link_id, "Short link")
    if attachment_uuid is not None:
        require(group.attachments, attachment_uuid, "Attachment")
    contact = recipient or _contact_on_record(patient, message_type or "")
    message_id = world.next_id("message")
    created_at = iso_utc(call.now)
    sent = SentMessage(
        message_id,
        group.id,
        patient_id or "",
        message_type or "",
        message_string or "",
        contact,
        short_link_id,
        attachment_uuid,
        created_at=created_at,
    )
    world.record_message(sent)
    answer: Json = {
        "message_id": message_id,
        "content": message_string,
        "created_at": created_at,
        "write_to_record": bool(write_to_record),
    }
    if snomed_code is not None:
        answer["snomed_code"] = snomed_code
    if send_at is not None:
        answer["send_at"] = call.body["send_at"]
    return answer


def _check_optional(fields: Fields) -> None:
    """Type checks for optional fields the fake accepts but does not act on."""
    fields.text("fallback_contact_detail")
    fields.text("fallback_message_type", choices=FALLBACK_MESSAGE_TYPES)
    fields.text("snomed_term")
    fields.flag("auto_write_to_record")
    fields.text("task_id")
    fields.number("assignee_id")
    fields.text("assignee_type", choices=ASSIGNEE_TYPES)
    encrypted = fields.body.get("encrypted")
    if encrypted is not None and not isinstance(encrypted, bool | str):
        fields.fail("encrypted", "invalid_type", "boolean | string")


def _contact_on_record(patient: dict[str, Any], message_type: str) -> str | None:
    """The recipient from the patient record; 400 when the channel needs one and none is set."""
    field = CONTACT_FIELD.get(message_type)
    if field is None:
        return None
    contact: str | None = patient.get(field)
    if not contact:
        raise bad_request(
            ["recipient_contact_detail"],
            "custom",
            f"a {field} on the patient record or recipient_contact_detail",
        )
    return contact


def list_messages(call: Call) -> Json:
    """``GET /v1/messages`` (UNVERIFIED path and shape, §8.3): the group's sent messages,
    oldest first, single sends and batch sends alike. Fast mode keeps none, so lists none."""
    query = Query(call.query)
    page = query.page()
    query.done()
    group_id = call.group.id
    mine = [m for m in call.world.messages if m.practice_group_id == group_id]
    return envelope(mine, page, _render_sent)


def _render_sent(message: SentMessage) -> Json:
    row: Json = {
        "message_id": message.message_id,
        "patient_id": message.patient_id,
        "message_type": message.message_type,
        "content": message.message_string,
        "created_at": message.created_at,
    }
    for key in ("short_link_id", "attachment_uuid", "batch_id"):
        if getattr(message, key) is not None:
            row[key] = getattr(message, key)
    return row


ROUTES = (
    ("POST", "/v1/messages/send", send_message),
    ("GET", "/v1/messages", list_messages),
)
