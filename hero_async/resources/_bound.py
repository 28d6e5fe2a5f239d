"""The resources of one practice group, created on first use: ``view.<resource>.<verb>()``."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from .access_tokens import AccessTokens
from .attachment_links import AttachmentLinks
from .batch_messages import BatchMessages
from .booking import Appointments, Slots
from .booking_links import BookingLinks
from .messages import Messages
from .patients import Patients
from .reference_data import AppointmentTypes, Locations, PracticeGroupInfo
from .webhooks import Webhooks

if TYPE_CHECKING:
    from ._base import Requester

__all__ = ["Resources"]


class Resources:
    """Mixed into a Requester (a practice group view): one attribute per API area."""

    def _requester(self) -> Requester:
        return self  # type: ignore[return-value]  # only mixed into Requesters

    @cached_property
    def access_tokens(self) -> AccessTokens:
        """``/v1/access_token``: mint Hero Elements tokens."""
        return AccessTokens(self._requester())

    @cached_property
    def booking_links(self) -> BookingLinks:
        """``/v1/booking_links``: patient invites and generic booking links."""
        return BookingLinks(self._requester())

    @cached_property
    def attachment_links(self) -> AttachmentLinks:
        """``/v1/attachment_links``: links that let a patient upload files."""
        return AttachmentLinks(self._requester())

    @cached_property
    def messages(self) -> Messages:
        """``/v1/messages``: SMS, email and NHS App messages to one patient."""
        return Messages(self._requester())

    @cached_property
    def batch_messages(self) -> BatchMessages:
        """``/v1/batch_message``: one message to many recipients."""
        return BatchMessages(self._requester())

    @cached_property
    def patients(self) -> Patients:
        """``/v1/patients``, ``/v3/patients``: search, register, PDS trace."""
        return Patients(self._requester())

    @cached_property
    def appointment_types(self) -> AppointmentTypes:
        """``/v1/appointment_types``: what can be booked."""
        return AppointmentTypes(self._requester())

    @cached_property
    def locations(self) -> Locations:
        """``/v1/locations``: the practice group's sites."""
        return Locations(self._requester())

    @cached_property
    def slots(self) -> Slots:
        """``/v1/slots``: free appointment slots."""
        return Slots(self._requester())

    @cached_property
    def appointments(self) -> Appointments:
        """``/v1/appointments``: book, reschedule, cancel."""
        return Appointments(self._requester())

    @cached_property
    def webhooks(self) -> Webhooks:
        """``/v1/webhooks``: subscriptions to Hero events."""
        return Webhooks(self._requester())

    @cached_property
    def practice_group_info(self) -> PracticeGroupInfo:
        """``/v1/me``: the practice group's profile and settings."""
        return PracticeGroupInfo(self._requester())
