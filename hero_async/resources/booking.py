"""Slots and appointments (REFERENCE.md §11): list slots → reserve → book → cancel/reschedule."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Mapping
from typing import Any

from .. import _validate as v
from ..models import Appointment, Page, Reservation, Slot, SlotCount
from ._base import Resource, body, load, optional, paginate, query

DEFAULT_PAGE_SIZE = 100
APPOINTMENTS = "/v1/appointments"
# Not captured in Hero's pages; best guesses by analogy with .../cancel (one-line fixes).
BOOK = ("PATCH", "/v1/appointments/{id}/book")
RESCHEDULE = ("PATCH", "/v1/appointments/{id}/reschedule")


def _filters(**given: Any) -> dict[str, Any]:
    return {
        "appointment_type_id": optional(
            v.hero_id, given.get("appointment_type_id"), "appointment_type_id"
        ),
        "location_id": optional(v.hero_id, given.get("location_id"), "location_id"),
        "practitioner_id": optional(v.hero_id, given.get("practitioner_id"), "practitioner_id"),
        "start_date": optional(v.date, given.get("start_date"), "start_date"),
        "end_date": optional(v.date, given.get("end_date"), "end_date"),
    }


class Slots(Resource):
    """``/v1/slots``: free appointment slots (filter names UNVERIFIED, §11.1)."""

    __slots__ = ()

    async def list(
        self,
        *,
        appointment_type_id: str | None = None,
        location_id: str | None = None,
        practitioner_id: str | None = None,
        start_date: dt.date | str | None = None,
        end_date: dt.date | str | None = None,
        page_index: int = 0,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> Page[Slot]:
        """``GET /v1/slots``: one page of free slots matching the filters, as Slot items."""
        filters = _filters(
            appointment_type_id=appointment_type_id,
            location_id=location_id,
            practitioner_id=practitioner_id,
            start_date=start_date,
            end_date=end_date,
        )
        params = query(
            page_index=page_index, page_size=v.positive_int(page_size, "page_size"), **filters
        )
        return await self._page("/v1/slots", Slot, params)

    def iterate(
        self,
        *,
        appointment_type_id: str | None = None,
        location_id: str | None = None,
        practitioner_id: str | None = None,
        start_date: dt.date | str | None = None,
        end_date: dt.date | str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> AsyncIterator[Slot]:
        """Every matching slot, page after page of ``GET /v1/slots`` (see ``list``)."""
        return paginate(
            lambda i: self.list(
                appointment_type_id=appointment_type_id,
                location_id=location_id,
                practitioner_id=practitioner_id,
                start_date=start_date,
                end_date=end_date,
                page_index=i,
                page_size=page_size,
            ),
            page_size,
        )

    async def count(
        self,
        *,
        appointment_type_id: str | None = None,
        location_id: str | None = None,
        practitioner_id: str | None = None,
        start_date: dt.date | str | None = None,
        end_date: dt.date | str | None = None,
    ) -> int:
        """``GET /v1/slots/count``: how many free slots match the filters (an int)."""
        params = query(
            **_filters(
                appointment_type_id=appointment_type_id,
                location_id=location_id,
                practitioner_id=practitioner_id,
                start_date=start_date,
                end_date=end_date,
            )
        )
        return (await self._call("GET", "/v1/slots/count", SlotCount, params=params)).count

    async def get(self, slot_id: str) -> Slot:
        """``GET /v1/slots/{id}``: one slot, as a Slot."""
        return await self._call("GET", f"/v1/slots/{v.hero_id(slot_id, 'slot_id')}", Slot)


class Appointments(Resource):
    """``/v1/appointments``: reserve a slot, then book, edit, reschedule or cancel it."""

    __slots__ = ()

    async def reserve(
        self,
        *,
        appointment_type_id: str,
        location_id: str,
        practitioner_id: str,
        duration: int,
        start_time: dt.datetime | str | None,
        patient_id: str | None = None,
        billpayer_id: str | None = None,
        reason: str | None = None,
        suppress_mail: bool | None = None,
        suppress_availability_check: bool | None = None,
    ) -> Reservation:
        """``POST /v1/appointments``: reserve (hold) a slot and return the Reservation (its
        ``id`` and ``reserved_until``). Never resent: a second call could hold a second slot.
        """
        fields = body(
            appointment_type_id=v.hero_id(appointment_type_id, "appointment_type_id"),
            location_id=v.hero_id(location_id, "location_id"),
            practitioner_id=v.hero_id(practitioner_id, "practitioner_id"),
            duration=v.positive_int(duration, "duration"),
            patient_id=optional(v.hero_id, patient_id, "patient_id"),
            billpayer_id=optional(v.hero_id, billpayer_id, "billpayer_id"),
            reason=optional(v.text, reason, "reason"),
            suppress_mail=optional(v.boolean, suppress_mail, "suppress_mail"),
            suppress_availability_check=optional(
                v.boolean, suppress_availability_check, "suppress_availability_check"
            ),
        )
        # start_time is required but may be null (REFERENCE.md §11.2), so it is always sent.
        fields["start_time"] = optional(v.datetime_, start_time, "start_time")
        return await self._call("POST", APPOINTMENTS, Reservation, json=fields)

    async def get(self, appointment_id: str) -> Appointment:
        """``GET /v1/appointments/{id}``: one appointment; ``state`` tells reserved/booked."""
        return await self._call("GET", _path(appointment_id), Appointment)

    async def update(
        self,
        appointment_id: str,
        *,
        start_time: dt.datetime | str | None,
        duration: int,
        practitioner_id: str,
        suppress_availability_check: bool | None = None,
        suppress_mail: bool | None = None,
    ) -> Appointment:
        """``PUT /v1/appointments/{id}``: change the time, duration or practitioner of an
        appointment that is not confirmed yet; returns the Appointment."""
        fields = _timing(start_time, duration, practitioner_id, suppress_mail)
        fields.update(
            body(
                suppress_availability_check=optional(
                    v.boolean, suppress_availability_check, "suppress_availability_check"
                )
            )
        )
        return await self._call("PUT", _path(appointment_id), Appointment, json=fields)

    async def book(
        self,
        appointment_id: str,
        *,
        patient_id: str | None = None,
        suppress_mail: bool | None = None,
    ) -> Appointment:
        """``PATCH /v1/appointments/{id}/book`` (path UNVERIFIED, ``BOOK``): confirm a
        reservation, naming the patient if it had none (``suppress_mail``, UNVERIFIED: no
        email); returns the Appointment and makes Hero fire ``appointment.confirmed``."""
        fields = body(
            patient_id=optional(v.hero_id, patient_id, "patient_id"),
            suppress_mail=optional(v.boolean, suppress_mail, "suppress_mail"),
        )
        method, path = BOOK
        path = path.format(id=_id(appointment_id))
        return await self._call(method, path, Appointment, json=fields)

    async def cancel(
        self,
        appointment_id: str,
        *,
        suppress_mail: bool | None = None,
        suppress_cancellation_policy: bool | None = None,
    ) -> Appointment | None:
        """``PATCH /v1/appointments/{id}/cancel``: cancel (fires ``appointment.cancelled``).
        Returns the Appointment when Hero answers with one, else None: the description
        promises no body, so any 2xx (empty, ``{}``, text such as ``OK``) is a success."""
        fields = body(
            suppress_mail=optional(v.boolean, suppress_mail, "suppress_mail"),
            suppress_cancellation_policy=optional(
                v.boolean, suppress_cancellation_policy, "suppress_cancellation_policy"
            ),
        )
        data = await self._no_body("PATCH", f"{_path(appointment_id)}/cancel", json=fields)
        if not isinstance(data, Mapping) or type(data.get("id")) not in (str, int):
            return None  # Hero cancelled; the answer carries no appointment to read
        return load(Appointment, data)

    async def reschedule(
        self,
        appointment_id: str,
        *,
        start_time: dt.datetime | str,
        duration: int,
        practitioner_id: str,
        suppress_mail: bool | None = None,
    ) -> Appointment:
        """``PATCH /v1/appointments/{id}/reschedule`` (method UNVERIFIED, ``RESCHEDULE``):
        move a booked appointment; returns the Appointment (fires ``appointment.rescheduled``).
        """
        method, path = RESCHEDULE
        path = path.format(id=_id(appointment_id))
        fields = _timing(start_time, duration, practitioner_id, suppress_mail)
        return await self._call(method, path, Appointment, json=fields)


def _id(appointment_id: str) -> str:
    return v.hero_id(appointment_id, "appointment_id")


def _path(appointment_id: str) -> str:
    return f"{APPOINTMENTS}/{_id(appointment_id)}"


def _timing(
    start_time: object, duration: int, practitioner_id: str, suppress_mail: bool | None
) -> dict[str, Any]:
    fields = body(
        duration=v.positive_int(duration, "duration"),
        practitioner_id=v.hero_id(practitioner_id, "practitioner_id"),
        suppress_mail=optional(v.boolean, suppress_mail, "suppress_mail"),
    )
    fields["start_time"] = optional(v.datetime_, start_time, "start_time")
    return fields
