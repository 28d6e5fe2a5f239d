"""One small module per API area; each method builds a path and a body and loads a model."""

from ._base import Requester
from ._bound import Resources
from .access_tokens import AccessTokens
from .attachment_links import AttachmentLinks
from .batch_messages import BatchMessages
from .booking import Appointments, Slots
from .booking_links import BookingLinks
from .messages import Messages
from .patients import Patients
from .reference_data import AppointmentTypes, Locations, PracticeGroupInfo
from .webhooks import Webhooks

__all__ = [
    "AccessTokens",
    "AppointmentTypes",
    "Appointments",
    "AttachmentLinks",
    "BatchMessages",
    "BookingLinks",
    "Locations",
    "Messages",
    "Patients",
    "PracticeGroupInfo",
    "Requester",
    "Resources",
    "Slots",
    "Webhooks",
]
