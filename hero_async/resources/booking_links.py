from __future__ import annotations

import datetime as dt

from .. import _validate as v
from .._errors import ValidationError
from ..models import BookingLink
from ._base import Resource, body, optional

PATH = "/v1/booking_links"


class BookingLinks(Resource):
    """Booking links (REFERENCE.md §7): patient invites and generic links."""

    __slots__ = ()

    async def create(
        self,
        *,
        appointment_type_id: str,
        location_id: str,
        patient_id: str | None = None,
        practitioner_id: str | None = None,
        from_date: dt.date | str | None = None,
        to_date: dt.date | str | None = None,
        expiry_date: dt.date | str | None = None,
        maximum_use_count: int | None = None,
    ) -> BookingLink:
        """``POST /v1/booking_links``: create a link and return the BookingLink (its ``id``
        and ``short_link`` to send). With ``patient_id`` it is a patient invite, without it a
        generic link. Never resent: a second call would create a second link."""
        return await self._call(
            "POST",
            PATH,
            BookingLink,
            json=link_fields(
                appointment_type_id=appointment_type_id,
                location_id=location_id,
                patient_id=patient_id,
                practitioner_id=practitioner_id,
                from_date=from_date,
                to_date=to_date,
                expiry_date=expiry_date,
                maximum_use_count=maximum_use_count,
            ),
        )

    async def get(self, booking_link_id: str) -> BookingLink:
        """``GET /v1/booking_links/{id}``: one link with its use counts, as a BookingLink."""
        link_id = v.hero_id(booking_link_id, "booking_link_id")
        return await self._call("GET", f"{PATH}/{link_id}", BookingLink)

    async def update(
        self,
        booking_link_id: str,
        *,
        appointment_type_id: str | None = None,
        location_id: str | None = None,
        practitioner_id: str | None = None,
        from_date: dt.date | str | None = None,
        to_date: dt.date | str | None = None,
        expiry_date: dt.date | str | None = None,
        maximum_use_count: int | None = None,
    ) -> BookingLink:
        """``PATCH /v1/booking_links/{id}``: change only the fields given (at least one) and
        return the updated BookingLink."""
        link_id = v.hero_id(booking_link_id, "booking_link_id")
        fields = link_fields(
            appointment_type_id=appointment_type_id,
            location_id=location_id,
            practitioner_id=practitioner_id,
            from_date=from_date,
            to_date=to_date,
            expiry_date=expiry_date,
            maximum_use_count=maximum_use_count,
        )
        if not fields:
            raise ValidationError("booking_link", "nothing to update")
        return await self._call("PATCH", f"{PATH}/{link_id}", BookingLink, json=fields)


def link_fields(
    *,
    appointment_type_id: str | None = None,
    location_id: str | None = None,
    patient_id: str | None = None,
    practitioner_id: str | None = None,
    from_date: dt.date | str | None = None,
    to_date: dt.date | str | None = None,
    expiry_date: dt.date | str | None = None,
    maximum_use_count: int | None = None,
) -> dict[str, object]:
    """Validated booking-link fields (shared by create, update and the bulk pipeline)."""
    fields = body(
        appointment_type_id=optional(v.hero_id, appointment_type_id, "appointment_type_id"),
        location_id=optional(v.hero_id, location_id, "location_id"),
        patient_id=optional(v.hero_id, patient_id, "patient_id"),
        practitioner_id=optional(v.hero_id, practitioner_id, "practitioner_id"),
        from_date=optional(v.date, from_date, "from_date"),
        to_date=optional(v.date, to_date, "to_date"),
        expiry_date=optional(v.date, expiry_date, "expiry_date"),
        maximum_use_count=optional(v.positive_int, maximum_use_count, "maximum_use_count"),
    )
    if "from_date" in fields and "to_date" in fields and fields["from_date"] > fields["to_date"]:
        raise ValidationError("to_date", "must not be before from_date")
    return fields
