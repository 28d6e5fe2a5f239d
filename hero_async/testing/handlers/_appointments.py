"""Booking tag, appointments (§11.2-11.7): reserve, get, edit, book, cancel, reschedule.

A reservation holds its slot until ``reserved_until`` (now + 15 min, UNVERIFIED); a slot held
by a live reservation or a confirmed appointment cannot be reserved (400, UNVERIFIED) unless
``suppress_availability_check`` is true. Book is ``PATCH /v1/appointments/{id}/book`` and
reschedule is ``PATCH`` (both UNVERIFIED, from openapi-subset.yaml). Cancel and reschedule
answer the appointment (UNVERIFIED). Webhook events fire on book, on cancelling a confirmed
appointment, and on reschedule.
"""

from __future__ import annotations

import datetime as dt

from hero_async.testing._records import Event
from hero_async.testing._rules import RESERVATION_HOLD
from hero_async.testing._state import Appointment, Call, Group, Json, iso_utc
from hero_async.testing._validation import Fields, Reject, bad_request, require
from hero_async.testing.handlers._slots import find_free_slot, slot_unavailable


def reserve(call: Call) -> Json:
    fields = Fields(call.body)
    type_id = fields.text("appointment_type_id", required=True, digits=True) or ""
    location_id = fields.text("location_id", required=True, digits=True) or ""
    practitioner_id = fields.text("practitioner_id", required=True, digits=True) or ""
    duration = fields.number("duration", required=True, minimum=1)
    start = fields.when("start_time", required=True, nullable=True)
    patient_id = fields.text("patient_id", digits=True)
    fields.text("billpayer_id")
    fields.text("reason")
    suppress_mail = fields.flag("suppress_mail")
    unchecked = fields.flag("suppress_availability_check")
    fields.done()
    group = call.group
    require(group.appointment_types, type_id, "Appointment type")
    require(group.locations, location_id, "Location")
    if patient_id is not None:
        require(group.patients, patient_id, "Patient")
    slot = find_free_slot(
        group,
        call.now,
        type_id=type_id,
        location_id=location_id,
        practitioner_id=practitioner_id,
        start=start,
    )
    if slot is None and not unchecked:
        raise slot_unavailable()
    appointment = Appointment(
        call.world.next_id("appointment"),
        type_id,
        location_id,
        practitioner_id,
        duration or 1,
        start,
        patient_id,
        call.now + RESERVATION_HOLD,
        slot_id=slot.id if slot else None,
        suppress_mail=bool(suppress_mail),
    )
    group.appointments[appointment.id] = appointment
    if slot is not None:
        slot.holder = appointment.id
    return {"id": appointment.id, "reserved_until": iso_utc(call.now + RESERVATION_HOLD)}


def get_appointment(call: Call) -> Json:
    return render(call.group, _find(call))


def edit(call: Call) -> Json:
    """PUT: only a live, unconfirmed reservation may change (§11.4)."""
    appointment = _find(call)
    _require_state(appointment, call.now, confirmed=False)
    fields = Fields(call.body)
    start = fields.when("start_time", required=True, nullable=True)
    duration = fields.number("duration", required=True, minimum=1)
    practitioner_id = fields.text("practitioner_id", required=True, digits=True) or ""
    unchecked = fields.flag("suppress_availability_check")
    fields.flag("suppress_mail")
    fields.done()
    _move(call, appointment, start, practitioner_id, unchecked=bool(unchecked))
    appointment.duration = duration or appointment.duration
    return render(call.group, appointment)


def book(call: Call) -> Json:
    appointment = _find(call)
    _require_state(appointment, call.now, confirmed=False)
    fields = Fields(call.body)
    patient_id = fields.text("patient_id", digits=True) or appointment.patient_id
    fields.flag("suppress_mail")
    if patient_id is None:
        fields.fail("patient_id", "invalid_type", "string (the reservation has no patient)")
    fields.done()
    require(call.group.patients, patient_id or "", "Patient")
    appointment.patient_id = patient_id
    appointment.confirmed_at = call.now
    _announce(call, appointment, "appointment.confirmed")
    return render(call.group, appointment)


def cancel(call: Call) -> Json:
    appointment = _find(call)
    if appointment.cancelled_at is not None:
        raise bad_request([], "custom", "an appointment that is not cancelled")
    fields = Fields(call.body)
    fields.flag("suppress_mail")
    override = fields.flag("suppress_cancellation_policy")
    fields.done()
    hours = call.group.cancellation_policy_hours
    start = appointment.start.timestamp() if appointment.start else None
    if hours and not override and start is not None and start - call.now < hours * 3600:
        raise bad_request([], "custom", f"cancellation at least {hours:g} hours before start")
    appointment.cancelled_at = call.now
    slot = call.group.slots.get(appointment.slot_id or "")
    if slot is not None and slot.holder == appointment.id:
        slot.holder = None
    if appointment.confirmed_at is not None:
        _announce(call, appointment, "appointment.cancelled")
    return render(call.group, appointment)


def reschedule(call: Call) -> Json:
    appointment = _find(call)
    _require_state(appointment, call.now, confirmed=True)
    fields = Fields(call.body)
    start = fields.when("start_time", required=True)
    duration = fields.number("duration", minimum=1)
    practitioner_id = fields.text("practitioner_id", digits=True) or appointment.practitioner_id
    fields.flag("suppress_mail")
    fields.done()
    _move(call, appointment, start, practitioner_id, unchecked=False)
    appointment.duration = duration or appointment.duration
    _announce(call, appointment, "appointment.rescheduled")
    return render(call.group, appointment)


def render(group: Group, appointment: Appointment) -> Json:
    """The Appointment shape (§11.3); state shows only through the two timestamps."""
    kind = group.appointment_types.get(appointment.appointment_type_id, {})
    live = appointment.cancelled_at is None
    confirmed = appointment.confirmed_at is not None
    return {
        "id": appointment.id,
        "patient_id": appointment.patient_id,
        "practitioner_id": appointment.practitioner_id,
        "location_id": appointment.location_id,
        "appointment_type_id": appointment.appointment_type_id,
        "duration": appointment.duration,
        "start_time": iso_utc(appointment.start.timestamp()) if appointment.start else None,
        "video": kind.get("video", False),
        "in_person": kind.get("in_person", False),
        "telephone": kind.get("telephone", False),
        "link_id": None,
        "reserved_until": None
        if confirmed or appointment.reserved_until is None
        else iso_utc(appointment.reserved_until),
        "booking_confirmed_at": iso_utc(appointment.confirmed_at)
        if appointment.confirmed_at
        else None,
        "can_be_cancelled": live,
        "can_be_rescheduled": live and confirmed,
        "cancellation_policy_hours": group.cancellation_policy_hours,
        "suppress_mail": appointment.suppress_mail,
    }


def _find(call: Call) -> Appointment:
    appointment = call.group.appointments.get(call.params["id"])
    if appointment is None:
        raise Reject(404)
    return appointment


def _require_state(appointment: Appointment, now: float, *, confirmed: bool) -> None:
    """400 unless the appointment is live and (un)confirmed as the operation needs."""
    if appointment.cancelled_at is not None:
        raise bad_request([], "custom", "an appointment that is not cancelled")
    if confirmed and appointment.confirmed_at is None:
        raise bad_request([], "custom", "a booked (confirmed) appointment")
    if not confirmed and appointment.confirmed_at is not None:
        raise bad_request([], "custom", "an appointment that is not yet confirmed")
    if not confirmed and (appointment.reserved_until or 0) <= now:
        raise bad_request(["reserved_until"], "custom", "a reservation that has not lapsed")


def _move(
    call: Call,
    appointment: Appointment,
    new_start: dt.datetime | None,
    practitioner_id: str,
    *,
    unchecked: bool,
) -> None:
    """Hold the slot at the new time (releasing the old one) or refuse."""
    group = call.group
    slot = find_free_slot(
        group,
        call.now,
        type_id=appointment.appointment_type_id,
        location_id=appointment.location_id,
        practitioner_id=practitioner_id,
        start=new_start,
        ignore=appointment.id,
    )
    if slot is None and not unchecked:
        raise slot_unavailable()
    old = group.slots.get(appointment.slot_id or "")
    if old is not None and old.holder == appointment.id:
        old.holder = None
    if slot is not None:
        slot.holder = appointment.id
    appointment.slot_id = slot.id if slot else None
    appointment.start, appointment.practitioner_id = new_start, practitioner_id


def _announce(call: Call, appointment: Appointment, event: str) -> None:
    call.world.on_event(Event("Appointment", appointment.id, call.group.id, event))


ROUTES = (
    ("POST", "/v1/appointments", reserve),
    ("GET", "/v1/appointments/{id}", get_appointment),
    ("PUT", "/v1/appointments/{id}", edit),
    ("PATCH", "/v1/appointments/{id}/book", book),
    ("PATCH", "/v1/appointments/{id}/cancel", cancel),
    ("PATCH", "/v1/appointments/{id}/reschedule", reschedule),
)
