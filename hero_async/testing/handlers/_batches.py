"""Batch messages (§8.2): create, list, get, send, recipients, messages.

Lifecycle (UNVERIFIED, §8.2): ``CREATED`` -(send)-> ``PENDING`` -> ``SENDING`` -> ``COMPLETED``.
No timers: each ``GET /v1/batch_message/{id}`` moves a sent batch one step on (when
``FakeHero.batch_auto_advance`` is true), and ``FakeHero.advance_batches()`` does the same for
every batch. Recipients are traced at send (``ENRICHED``, ``ENRICHMENT_ERROR`` or
``INVALID_PAYLOAD``); messages are sent on entering ``SENDING`` (recipients become ``QUEUED``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hero_async.testing import _pds
from hero_async.testing._query import Query, envelope
from hero_async.testing._records import SentMessage
from hero_async.testing._rules import (
    BATCH_CHANNELS,
    BATCH_LIST_STATUS_FILTER,
    BATCH_MIN_RECIPIENTS,
    BATCH_RECIPIENT_DOB_DATETIME,
    BATCH_RECIPIENT_STATUSES,
    CONTACT_FIELD,
    OMIT_UNSET_OPTIONAL,
)
from hero_async.testing._state import Batch, Call, Group, Json, World, iso_utc
from hero_async.testing._validation import Fields, Reject, bad_request


def create_batch(call: Call) -> Json:
    fields = Fields(call.body)
    name = fields.text("name", required=True, nonempty=True)
    channel = fields.text("channel", required=True, choices=BATCH_CHANNELS)
    subject = fields.text("subject", required=channel == "EMAIL", nonempty=True)
    content = fields.text("content", required=True, nonempty=True)
    items = fields.array("recipients", required=True, min_items=BATCH_MIN_RECIPIENTS) or []
    recipients = [_recipient(item, index, fields) for index, item in enumerate(items)]
    fields.done()
    batch = Batch(call.world.uuid(), name or "", channel or "", subject, content or "", recipients)
    call.group.batches[batch.id] = batch
    return render_batch(batch)


def _recipient(item: Any, index: int, parent: Fields) -> Json:
    """One of the recipient shapes: ``{nhs_number, dob}`` or ``{patient_id}`` (UNVERIFIED)."""
    fields = Fields(item, parent.issues, ("recipients", index))
    row: Json = {
        "id": str(index + 1),
        "nhs_number": None,
        "dob": None,
        "patient_id": None,
        "status": "CREATED",
    }
    if isinstance(item, dict) and "patient_id" in item:
        row["patient_id"] = fields.text("patient_id", required=True, digits=True)
    else:
        row["nhs_number"] = fields.nhs_number("nhs_number", required=True)
        if BATCH_RECIPIENT_DOB_DATETIME:
            when = fields.when("dob", required=True, nullable=True, time_required=True)
            row["dob"] = when.date().isoformat() if when else None
        else:
            dob = fields.date("dob", required=True, nullable=True)
            row["dob"] = dob.isoformat() if dob else None
    return row


def list_batches(call: Call) -> Json:
    query = Query(call.query)
    page = query.page()
    status = query.text("status", BATCH_LIST_STATUS_FILTER)
    query.done()
    batches = [b for b in call.group.batches.values() if status is None or b.status == status]
    return envelope(batches, page, render_batch)


def get_batch(call: Call) -> Json:
    batch = _find(call.group, call.params["id"])
    if call.world.batch_auto_advance:
        advance(call.world, call.group, batch, call.now)
    return render_batch(batch)


def send_batch(call: Call) -> Json:
    """PATCH .../send: no body; answers the batch (UNVERIFIED: response not captured)."""
    batch = _find(call.group, call.params["id"])
    if batch.status != "CREATED":
        raise bad_request(["status"], "custom", "a batch in status CREATED")
    for row in batch.recipients:
        row["status"] = _enrich(call.world, call.group, batch, row)
    batch.status = "PENDING"
    return render_batch(batch)


def list_recipients(call: Call) -> Json:
    return _rows(call, _find(call.group, call.params["id"]).recipients)


def list_batch_messages(call: Call) -> Json:
    batch = _find(call.group, call.params["id"])
    return _rows(call, [_message_row(message) for message in batch.messages])


def advance(world: World, group: Group, batch: Batch, now: float) -> None:
    """One lifecycle step for a sent batch; CREATED and COMPLETED batches stay put."""
    if batch.status == "PENDING":
        batch.status = "SENDING"
        _send_all(world, group, batch, now)
    elif batch.status == "SENDING":
        batch.status = "COMPLETED"


def render_batch(batch: Batch) -> Json:
    answer: Json = {
        "id": batch.id,
        "name": batch.name,
        "status": batch.status,
        "channel": batch.channel,
        "content": batch.content,
    }
    if batch.subject is not None or not OMIT_UNSET_OPTIONAL:  # optional, not nullable
        answer["subject"] = batch.subject
    return answer


def _enrich(world: World, group: Group, batch: Batch, row: Json) -> str:
    """Trace one recipient like register_pds does, then check the channel's contact."""
    if row["patient_id"] is not None:
        if row["patient_id"] not in group.patients:
            return "INVALID_PAYLOAD"
    else:
        dob = dt.date.fromisoformat(row["dob"]) if row["dob"] else None
        record = _pds.trace(world, row["nhs_number"], dob)
        if record is None or record.outcome != "found":
            return "ENRICHMENT_ERROR"
        row["patient_id"] = _pds.adopt(world, group, record, dob)
    patient = group.patients[row["patient_id"]]
    field = CONTACT_FIELD.get(batch.channel)
    return "ENRICHED" if field is None or patient.get(field) else "ENRICHMENT_ERROR"


def _send_all(world: World, group: Group, batch: Batch, now: float) -> None:
    created_at = iso_utc(now)
    for row in batch.recipients:
        if row["status"] != "ENRICHED":
            continue
        patient = group.patients[row["patient_id"]]
        field = CONTACT_FIELD.get(batch.channel)
        message = SentMessage(
            world.next_id("message"),
            group.id,
            row["patient_id"],
            batch.channel.lower(),
            batch.content,
            patient.get(field) if field else None,
            batch_id=batch.id,
            created_at=created_at,
        )
        world.record_message(message)
        batch.messages.append(message)
        row["status"] = "QUEUED"


def _message_row(message: SentMessage) -> Json:
    """Item shape not captured (UNVERIFIED): the single-send answer plus patient and status."""
    return {
        "message_id": message.message_id,
        "patient_id": message.patient_id,
        "content": message.message_string,
        "created_at": message.created_at,
        "recipient_contact_detail": message.recipient_contact_detail,
        "status": "QUEUED",
    }


def _rows(call: Call, rows: list[Json]) -> Json:
    query = Query(call.query)
    page = query.page()
    status = query.text("status", BATCH_RECIPIENT_STATUSES)
    query.done()
    chosen = [row for row in rows if status is None or row["status"] == status]
    return envelope(chosen, page, dict)


def _find(group: Group, batch_id: str) -> Batch:
    batch = group.batches.get(batch_id)
    if batch is None:
        raise Reject(404)
    return batch


ROUTES = (
    ("POST", "/v1/batch_message", create_batch),
    ("GET", "/v1/batch_message", list_batches),
    ("GET", "/v1/batch_message/{id}", get_batch),
    ("PATCH", "/v1/batch_message/{id}/send", send_batch),
    ("GET", "/v1/batch_message/{id}/recipients", list_recipients),
    ("GET", "/v1/batch_message/{id}/messages", list_batch_messages),
)
