"""Frozen response models. No I/O; ``hero_async._serde`` builds them from Hero's JSON.

Rules, so the reader can predict every field:

* Only ``id`` (and the one value a response exists to carry) is required; everything else is
  ``X | None = None`` because Hero's schema grows and shrinks between doc versions (§14).
* Values Hero may extend (statuses, channels, event types, practitioner types, data sources)
  stay ``str``; the known values live in ``hero_async._validate`` as tuples.
* Dates are ``datetime.date``; date-times are aware ``datetime.datetime``.
* Every model keeps the whole JSON object as ``raw`` (not part of ``==``): a field whose shape
  changed is read as its default instead of failing the call, and ``raw`` still holds it.
  Only the required fields (the ids a caller needs) make a 2xx unreadable.
* ``repr`` masks secrets, capability URLs and patient identifiers: reprs end up in logs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Generic, Literal, TypeAlias, TypeVar

import attrs

from hero_async._models_patients import (
    IdentityCheckRequired,
    Patient,
    PatientAttachment,
    PatientSummary,
    PdsRegistration,
    RegisteredPatient,
    masked,
    url_host,
)

__all__ = [
    "Appointment",
    "AppointmentState",
    "AppointmentType",
    "AttachmentLink",
    "BatchMessage",
    "BatchRecipient",
    "BatchSend",
    "BookingLink",
    "BookingLinkMeta",
    "Capabilities",
    "Configuration",
    "IdentityCheckRequired",
    "ListedMessage",
    "Location",
    "Page",
    "Patient",
    "PatientAttachment",
    "PatientSummary",
    "PdsRegistration",
    "PracticeGroup",
    "RegisteredPatient",
    "Reservation",
    "SentMessage",
    "Slot",
    "SlotCount",
    "Webhook",
]

T = TypeVar("T")


def _keys(value: Mapping[str, Any]) -> str:
    """Show which keys a mapping has, not what they hold (raw bodies, webhook headers)."""
    return "{" + ", ".join(repr(k) for k in value) + "}"


def _raw() -> Any:
    # Excluded from eq and hash: a dict cannot be hashed, and `raw` repeats the other fields.
    return attrs.field(factory=dict, repr=_keys, eq=False)


@attrs.frozen
class Page(Generic[T]):
    """One page of a ``{data, count}`` list. ``count`` is probably the total (§6, UNVERIFIED)."""

    data: tuple[T, ...]
    count: int | None = None


# --- Links (§7) -------------------------------------------------------------------------


@attrs.frozen
class BookingLinkMeta:
    """What a link restricts booking to; ``practitioner_id``'s name was cut off (§7.3)."""

    appointment_type_id: tuple[str, ...] = ()
    location_id: tuple[str, ...] = ()
    practitioner_id: tuple[str, ...] = ()


@attrs.frozen
class BookingLink:
    id: str
    practice_group_id: str | None = None
    short_link: str | None = None  # the URL to send to the patient
    active: bool | None = None
    expiry_date: dt.datetime | None = None  # documented date-time, illustrated date-only
    maximum_uses: int | None = None  # the request calls this maximum_use_count (§14.3)
    number_of_uses: int | None = None
    open_count: int | None = None
    unlimited_use: bool | None = None
    meta: BookingLinkMeta = attrs.field(factory=BookingLinkMeta)
    raw: Mapping[str, Any] = _raw()


@attrs.frozen
class AttachmentLink:
    attachment_link: str = attrs.field(repr=url_host)  # opens a patient's medical file
    attachment_uuid: str | None = None  # pass to messages.send(attachment_uuid=...)
    raw: Mapping[str, Any] = _raw()


# --- Messaging (§8) ---------------------------------------------------------------------


@attrs.frozen
class SentMessage:
    """Answer to ``POST /v1/messages/send``; Gen A sent only ``message_id`` (§14.11)."""

    message_id: str
    content: str | None = attrs.field(default=None, repr=masked)  # the message body
    created_at: dt.datetime | None = None
    snomed_code: str | None = None
    write_to_record: bool | None = None
    submitted_by: str | None = None
    send_at: dt.datetime | None = None
    confirm_write_to_record_url: str | None = attrs.field(default=None, repr=url_host)
    auth_token: str | None = attrs.field(default=None, repr=masked)
    raw: Mapping[str, Any] = _raw()


@attrs.frozen
class ListedMessage:
    """A row of ``GET /v1/messages``; path and shape UNVERIFIED (§8.3), so ``raw`` has all."""

    message_id: str | None = None
    patient_id: str | None = None
    message_type: str | None = None
    content: str | None = attrs.field(default=None, repr=masked)
    created_at: dt.datetime | None = None
    raw: Mapping[str, Any] = _raw()


@attrs.frozen
class BatchMessage:
    id: str
    name: str | None = None
    status: str | None = None  # CREATED, PENDING, SENDING, COMPLETED so far
    channel: str | None = None  # SMS, EMAIL, NHS_APP
    subject: str | None = None
    content: str | None = None
    raw: Mapping[str, Any] = _raw()


@attrs.frozen
class BatchRecipient:
    """A row of ``/batch_message/{id}/recipients``; its fields were not captured (§8.2)."""

    id: str | None = None
    status: str | None = None
    raw: Mapping[str, Any] = _raw()


@attrs.frozen
class BatchSend:
    """A row of ``/batch_message/{id}/messages``; its fields were not captured (§8.2)."""

    id: str | None = None
    status: str | None = None
    raw: Mapping[str, Any] = _raw()


# --- Practice group and reference data (§10) --------------------------------------------


@attrs.frozen
class PracticeGroup:
    """``GET /v1/me``; only an illustrative example was captured, hence ``raw``."""

    id: str | None = None
    name: str | None = None
    sector: str | None = None
    raw: Mapping[str, Any] = _raw()


@attrs.frozen
class Capabilities:
    raw: Mapping[str, Any] = _raw()  # shape not captured (§10)


@attrs.frozen
class Configuration:
    raw: Mapping[str, Any] = _raw()  # shape not captured (§10)


@attrs.frozen
class Location:
    id: str
    name: str | None = None
    raw: Mapping[str, Any] = _raw()  # item fields not captured (§10)


@attrs.frozen
class AppointmentType:
    id: str
    name: str | None = None
    partner_slot_name: str | None = None
    next_available_at: dt.datetime | None = None
    slot_count: int | None = None
    price: float | None = None
    assignee_id: str | None = None
    assignee_type: str | None = None  # Admin, AdminTeam
    sector: str | None = None  # nhs, paid
    duration: int | None = None  # minutes (UNVERIFIED unit)
    video: bool = False
    in_person: bool = False
    telephone: bool = False
    use_partner_bookable_slots: bool | None = None
    admin_booking_invoice_required: bool | None = None
    form_id: str | None = None
    practitioner_type: str | None = None  # free text: Hero's enum was cut off (§10)
    raw: Mapping[str, Any] = _raw()


# --- Booking (§11) ----------------------------------------------------------------------


@attrs.frozen
class Slot:
    id: str
    practitioner_id: str | None = None
    appointment_type_id: str | None = None
    location_id: str | None = None
    start_time: dt.datetime | None = None
    finish_time: dt.datetime | None = None

    raw: Mapping[str, Any] = _raw()


@attrs.frozen
class SlotCount:
    count: int


@attrs.frozen
class Reservation:
    """Answer to ``POST /v1/appointments``: the slot is held until ``reserved_until``."""

    id: str
    reserved_until: dt.datetime | None = None

    raw: Mapping[str, Any] = _raw()


AppointmentState: TypeAlias = Literal["reserved", "booked", "unreserved"]


@attrs.frozen
class Appointment:
    id: str
    patient_id: str | None = None
    practitioner_id: str | None = None
    location_id: str | None = None
    appointment_type_id: str | None = None
    duration: int | None = None
    start_time: dt.datetime | None = None
    video: bool = False
    in_person: bool = False
    telephone: bool = False
    video_url: str | None = None
    link_id: str | None = None
    reserved_until: dt.datetime | None = None
    booking_confirmed_at: dt.datetime | None = None
    can_be_cancelled: bool = False
    can_be_rescheduled: bool = False
    cancellation_policy_hours: float | None = None
    suppress_mail: bool = False

    raw: Mapping[str, Any] = _raw()

    @property
    def state(self) -> AppointmentState:
        """Hero has no status field (§11.3): confirmed wins, then a hold, else neither.

        A "reserved" appointment whose ``reserved_until`` has passed has probably lapsed;
        compare it with the current time if that matters to you.
        """
        if self.booking_confirmed_at is not None:
            return "booked"
        if self.reserved_until is not None:
            return "reserved"
        return "unreserved"


# --- Webhooks (§12) ---------------------------------------------------------------------


@attrs.frozen
class Webhook:
    id: str
    event_type: str | None = None
    url: str | None = None
    signing_key: str | None = attrs.field(default=None, repr=masked)  # Hero echoes it back (§12.1)
    # Extra delivery headers often carry a receiver's credentials: repr shows names only.
    headers: Mapping[str, str] = attrs.field(factory=dict, repr=_keys, hash=False)
    description: str | None = None
    created_at: str | None = None  # typed plain string by Hero
    updated_at: str | None = None
    raw: Mapping[str, Any] = _raw()
