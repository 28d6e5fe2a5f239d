"""Links tag: booking links (create, get, update) and attachment links (§7).

The create response is the GET shape (§7.3; UNVERIFIED, §14.1). ``appointment_type_id`` and
``location_id`` are required (UNVERIFIED, "almost certainly") and must exist in the acting
group, as must ``patient_id`` when given; a missing one answers 404.
"""

from __future__ import annotations

import datetime as dt
import string

from hero_async.testing._rules import ATTACHMENT_LINK_BASE, OMIT_UNSET_OPTIONAL, SHORT_LINK_BASE
from hero_async.testing._state import Call, Group, Json, Link
from hero_async.testing._validation import Fields, Reject, require

_CODE_ALPHABET = string.ascii_letters + string.digits


def create_booking_link(call: Call) -> Json:
    fields = Fields(call.body)
    type_id = fields.text("appointment_type_id", required=True, digits=True)
    location_id = fields.text("location_id", required=True, digits=True)
    patient_id = fields.text("patient_id", digits=True)
    practitioner_id = fields.text("practitioner_id", digits=True)
    window = _window(fields, None, None)
    expiry = fields.date("expiry_date")
    uses = fields.number("maximum_use_count", minimum=1)
    fields.done()
    group, world = call.group, call.world
    _require_targets(group, type_id, location_id, patient_id)
    link = Link(
        id=world.next_id("link"),
        code="".join(world.rng.choices(_CODE_ALPHABET, k=10)),
        appointment_type_ids=(type_id or "",),
        location_ids=(location_id or "",),
        practitioner_ids=(practitioner_id,) if practitioner_id else (),
        patient_id=patient_id,
        from_date=window[0],
        to_date=window[1],
        expiry_date=expiry,
        maximum_uses=None if uses is None else int(uses),
    )
    group.links[link.id] = link
    return render_link(group.id, link, world.today())


def get_booking_link(call: Call) -> Json:
    link = _find(call.group, call.params["id"])
    return render_link(call.group.id, link, call.world.today())


def update_booking_link(call: Call) -> Json:
    """PATCH: only the fields sent change (field list partly UNVERIFIED, §7.4)."""
    link = _find(call.group, call.params["id"])
    fields = Fields(call.body)
    type_id = fields.text("appointment_type_id", digits=True)
    location_id = fields.text("location_id", digits=True)
    practitioner_id = fields.text("practitioner_id", digits=True)
    window = _window(fields, link.from_date, link.to_date)
    expiry = fields.date("expiry_date")
    uses = fields.number("maximum_use_count", minimum=1)
    active = fields.flag("active")
    fields.done()
    _require_targets(call.group, type_id, location_id, None)
    if type_id is not None:
        link.appointment_type_ids = (type_id,)
    if location_id is not None:
        link.location_ids = (location_id,)
    if practitioner_id is not None:
        link.practitioner_ids = (practitioner_id,)
    link.from_date, link.to_date = window
    link.expiry_date = expiry if expiry is not None else link.expiry_date
    link.maximum_uses = int(uses) if uses is not None else link.maximum_uses
    link.active = active if active is not None else link.active
    return render_link(call.group.id, link, call.world.today())


def render_link(group_id: str, link: Link, today: dt.date) -> Json:
    """The ``GET /v1/booking_links/{id}`` shape (§7.3); no patient-facing uses are simulated."""
    expired = link.expiry_date is not None and link.expiry_date < today
    answer: Json = {
        "id": link.id,
        "practice_group_id": group_id,
        "short_link": SHORT_LINK_BASE + link.code,
        "active": link.active and not expired,
        "number_of_uses": 0,
        "open_count": 0,
        "unlimited_use": link.maximum_uses is None,
        "meta": {
            "appointment_type_id": list(link.appointment_type_ids),
            "location_id": list(link.location_ids),
            "practitioner_id": list(link.practitioner_ids),
        },
    }
    # UNVERIFIED: a date-only expiry is echoed as midnight UTC in date-time form.
    expiry = f"{link.expiry_date.isoformat()}T00:00:00.000Z" if link.expiry_date else None
    _put(answer, "expiry_date", expiry)
    _put(answer, "maximum_uses", link.maximum_uses)
    return answer


def _put(answer: Json, key: str, value: object) -> None:
    """Unset optional fields are left out (or null), per ``_rules.OMIT_UNSET_OPTIONAL``."""
    if value is not None or not OMIT_UNSET_OPTIONAL:
        answer[key] = value


def create_attachment_link(call: Call) -> Json:
    """§7.5: a patient plus either an EHR file id or inline file data."""
    fields = Fields(call.body)
    patient_id = fields.text("patient_id", required=True, digits=True)
    ehr_file_id = fields.text("ehr_file_id", nonempty=True)
    file_data = fields.text("file_data", nonempty=True)
    fields.text("file_name")
    fields.date("expiry_date")
    fields.number("maximum_use_count", minimum=1)
    if ehr_file_id is None and file_data is None and not fields.issues:
        fields.fail("file_data", "invalid_type", "string (required without ehr_file_id)")
    fields.done()
    require(call.group.patients, patient_id or "", "Patient")
    attachment_uuid = call.world.uuid()
    call.group.attachments[attachment_uuid] = {"patient_id": patient_id}
    return {
        "attachment_link": ATTACHMENT_LINK_BASE + attachment_uuid,
        "attachment_uuid": attachment_uuid,
    }


def _window(
    fields: Fields,
    start: dt.date | None,
    end: dt.date | None,
) -> tuple[dt.date | None, dt.date | None]:
    """``from_date``/``to_date`` (sent values over current ones), refusing from > to."""
    new_start = fields.date("from_date") if "from_date" in fields.body else start
    new_end = fields.date("to_date") if "to_date" in fields.body else end
    if new_start is not None and new_end is not None and new_start > new_end:
        fields.fail("to_date", "custom", "a date on or after from_date")
    return new_start, new_end


def _require_targets(
    group: Group, type_id: str | None, location_id: str | None, patient_id: str | None
) -> None:
    if type_id is not None:
        require(group.appointment_types, type_id, "Appointment type")
    if location_id is not None:
        require(group.locations, location_id, "Location")
    if patient_id is not None:
        require(group.patients, patient_id, "Patient")


def _find(group: Group, link_id: str) -> Link:
    link = group.links.get(link_id)
    if link is None:
        raise Reject(404)
    return link


ROUTES = (
    ("POST", "/v1/booking_links", create_booking_link),
    ("GET", "/v1/booking_links/{id}", get_booking_link),
    ("PATCH", "/v1/booking_links/{id}", update_booking_link),
    ("POST", "/v1/attachment_links", create_attachment_link),
)
