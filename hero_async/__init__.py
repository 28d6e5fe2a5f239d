"""hero-async: an asyncio SDK for the Hero Health Public API.

    async with HeroClient() as hero:          # HERO_API_KEY / HERO_PRACTICE_GROUP_ID
        link = await hero.booking_links.create(appointment_type_id="10", location_id="20")
        token = await hero.practice_group("1002").access_token()

Importing this package does no I/O and starts nothing.
"""

from importlib.metadata import PackageNotFoundError, version

from ._auth import AccessToken, InMemoryTokenStore, TokenStore
from ._client import HeroClient, PracticeGroupView
from ._errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    CrossOrganisationDeniedError,
    FieldError,
    HeroError,
    MalformedResponseError,
    NotFoundError,
    OutcomeUnknownError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    TimeoutError,
    TransportError,
    ValidationError,
    WebhookPayloadError,
    WebhookSignatureError,
)
from ._ratelimit import LocalRateLimiter, RateLimiter
from ._transport import AiohttpTransport, RawResponse, Timeouts, Transport
from .bulk import (
    BulkReport,
    Invitation,
    InvitationResult,
    Ledger,
    LedgerEntry,
    Outcome,
    SqliteLedger,
)
from .models import (
    Appointment,
    AppointmentType,
    AttachmentLink,
    BatchMessage,
    BookingLink,
    IdentityCheckRequired,
    Location,
    Page,
    Patient,
    PatientSummary,
    PdsRegistration,
    PracticeGroup,
    RegisteredPatient,
    Reservation,
    SentMessage,
    Slot,
    Webhook,
)

try:
    __version__ = version("hero-async")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "APIError",
    "AccessToken",
    "AiohttpTransport",
    "Appointment",
    "AppointmentType",
    "AttachmentLink",
    "AuthenticationError",
    "BadRequestError",
    "BatchMessage",
    "BookingLink",
    "BulkReport",
    "ClientClosedError",
    "CrossOrganisationDeniedError",
    "FieldError",
    "HeroClient",
    "HeroError",
    "IdentityCheckRequired",
    "InMemoryTokenStore",
    "Invitation",
    "InvitationResult",
    "Ledger",
    "LedgerEntry",
    "LocalRateLimiter",
    "Location",
    "MalformedResponseError",
    "NotFoundError",
    "Outcome",
    "OutcomeUnknownError",
    "Page",
    "Patient",
    "PatientSummary",
    "PdsRegistration",
    "PermissionDeniedError",
    "PracticeGroup",
    "PracticeGroupView",
    "RateLimitError",
    "RateLimiter",
    "RawResponse",
    "RegisteredPatient",
    "Reservation",
    "SentMessage",
    "ServerError",
    "Slot",
    "SqliteLedger",
    "TimeoutError",
    "Timeouts",
    "TokenStore",
    "Transport",
    "TransportError",
    "ValidationError",
    "Webhook",
    "WebhookPayloadError",
    "WebhookSignatureError",
    "__version__",
]
