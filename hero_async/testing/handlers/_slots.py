"""Booking tag, slots (§11.1): list (paged), count, get; plus slot matching for reservations.

Filter names are borrowed from ``/v1/slots/count`` (UNVERIFIED for the list). Only future,
free slots are listed and counted; ``GET /v1/slots/{id}`` answers any slot of the group.
A date-only ``end_date`` includes that whole day.
"""

from __future__ import annotations

import datetime as dt

from hero_async.testing._query import Query, envelope
from hero_async.testing._rules import SLOT_UNAVAILABLE_STATUS
from hero_async.testing._state import Call, Group, Json, Slot, iso_utc, slot_is_free
from hero_async.testing._validation import Reject, issue

_DAY = dt.timedelta(days=1)


def list_slots(call: Call) -> Json:
    query = Query(call.query)
    page = query.page()
    return envelope(_matching(call, query), page, render_slot)


def count_slots(call: Call) -> Json:
    """Response shape not captured (UNVERIFIED): ``{count}``."""
    return {"count": len(_matching(call, Query(call.query)))}


def get_slot(call: Call) -> Json:
    slot = call.group.slots.get(call.params["id"])
    if slot is None:
        raise Reject(404)
    return render_slot(slot)


def render_slot(slot: Slot) -> Json:
    return {
        "id": slot.id,
        "practitioner_id": slot.practitioner_id,
        "appointment_type_id": slot.appointment_type_id,
        "location_id": slot.location_id,
        "start_time": iso_utc(slot.start.timestamp()),
        "finish_time": iso_utc(slot.start.timestamp() + slot.minutes * 60),
    }


def find_free_slot(
    group: Group,
    now: float,
    *,
    type_id: str,
    location_id: str,
    practitioner_id: str,
    start: dt.datetime | None,
    ignore: str | None = None,
) -> Slot | None:
    """The free slot exactly matching a reservation request, if any."""
    if start is None:
        return None
    for slot in group.slots.values():
        if (
            slot.start == start
            and slot.appointment_type_id == type_id
            and slot.location_id == location_id
            and slot.practitioner_id == practitioner_id
            and slot_is_free(group, slot, now, ignore)
        ):
            return slot
    return None


def slot_unavailable() -> Reject:
    """Taken or absent slot (status UNVERIFIED: Hero's answer for this was not captured)."""
    return Reject(
        SLOT_UNAVAILABLE_STATUS, [issue(["start_time"], "custom", "the start of an available slot")]
    )


def _matching(call: Call, query: Query) -> list[Slot]:
    types = set(query.many("appointment_type_id"))
    locations = set(query.many("location_id"))
    practitioners = set(query.many("practitioner_id"))
    start = query.when("start_date")
    end = query.when("end_date")
    query.done()
    if end is not None and len(call.query.get("end_date", "")) == 10:
        end += _DAY  # a date-only end_date means "up to the end of that day"
    group, now = call.group, call.now
    chosen = [
        slot
        for slot in group.slots.values()
        if (not types or slot.appointment_type_id in types)
        and (not locations or slot.location_id in locations)
        and (not practitioners or slot.practitioner_id in practitioners)
        and (start is None or slot.start >= start)
        and (end is None or slot.start < end)
        and slot.start.timestamp() > now
        and slot_is_free(group, slot, now)
    ]
    chosen.sort(key=lambda slot: (slot.start, slot.id))
    return chosen


ROUTES = (
    ("GET", "/v1/slots", list_slots),
    ("GET", "/v1/slots/count", count_slots),
    ("GET", "/v1/slots/{id}", get_slot),
)
