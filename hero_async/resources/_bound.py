"""The resources of one practice group, created on first use: ``view.<resource>.<verb>()``."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar, cast

from ._base import Resource
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

R = TypeVar("R", bound=Resource)


class Resources:
    """Mixed into a Requester (a practice group view): one attribute per API area."""

    def _resource(self, cls: type[R], name: str) -> R:
        """Created on first use and kept on the instance. Plain properties (not
        cached_property) so that ``help(HeroClient)`` lists each one with its docstring."""
        cache: dict[str, Resource] = self.__dict__.setdefault("_resources", {})
        found = cache.get(name)
        if found is None:
            requester: Requester = self  # type: ignore[assignment]  # mixed into Requesters
            found = cache[name] = cls(requester)
        return cast("R", found)

    @property
    def access_tokens(self) -> AccessTokens:
        """``/v1/access_token``: mint Hero Elements tokens."""
        return self._resource(AccessTokens, "AccessTokens")

    @property
    def booking_links(self) -> BookingLinks:
        """``/v1/booking_links``: patient invites and generic booking links."""
        return self._resource(BookingLinks, "BookingLinks")

    @property
    def attachment_links(self) -> AttachmentLinks:
        """``/v1/attachment_links``: links that let a patient upload files."""
        return self._resource(AttachmentLinks, "AttachmentLinks")

    @property
    def messages(self) -> Messages:
        """``/v1/messages``: SMS, email and NHS App messages to one patient."""
        return self._resource(Messages, "Messages")

    @property
    def batch_messages(self) -> BatchMessages:
        """``/v1/batch_message``: one message to many recipients."""
        return self._resource(BatchMessages, "BatchMessages")

    @property
    def patients(self) -> Patients:
        """``/v1/patients``, ``/v3/patients``: search, register, PDS trace."""
        return self._resource(Patients, "Patients")

    @property
    def appointment_types(self) -> AppointmentTypes:
        """``/v1/appointment_types``: what can be booked."""
        return self._resource(AppointmentTypes, "AppointmentTypes")

    @property
    def locations(self) -> Locations:
        """``/v1/locations``: the practice group's sites."""
        return self._resource(Locations, "Locations")

    @property
    def slots(self) -> Slots:
        """``/v1/slots``: free appointment slots."""
        return self._resource(Slots, "Slots")

    @property
    def appointments(self) -> Appointments:
        """``/v1/appointments``: book, reschedule, cancel."""
        return self._resource(Appointments, "Appointments")

    @property
    def webhooks(self) -> Webhooks:
        """``/v1/webhooks``: subscriptions to Hero events."""
        return self._resource(Webhooks, "Webhooks")

    @property
    def practice_group_info(self) -> PracticeGroupInfo:
        """``/v1/me``: the practice group's profile and settings."""
        return self._resource(PracticeGroupInfo, "PracticeGroupInfo")
