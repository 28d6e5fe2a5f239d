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
from ._validate import (
    AssigneeType,
    BatchChannel,
    DataSource,
    FallbackMessageType,
    MessageType,
    PatientLookupField,
    RecipientStatus,
    Sex,
    WebhookEventType,
)
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
    AppointmentState,
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
from .resources.batch_messages import NhsNumberRecipient, PatientRecipient

try:
    __version__ = version("hero-async")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "APIError",
    "AccessToken",
    "AiohttpTransport",
    "Appointment",
    "AppointmentState",
    "AppointmentType",
    "AssigneeType",
    "AttachmentLink",
    "AuthenticationError",
    "BadRequestError",
    "BatchChannel",
    "BatchMessage",
    "BookingLink",
    "BulkReport",
    "ClientClosedError",
    "CrossOrganisationDeniedError",
    "DataSource",
    "FallbackMessageType",
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
    "MessageType",
    "NhsNumberRecipient",
    "NotFoundError",
    "Outcome",
    "OutcomeUnknownError",
    "Page",
    "Patient",
    "PatientLookupField",
    "PatientRecipient",
    "PatientSummary",
    "PdsRegistration",
    "PermissionDeniedError",
    "PracticeGroup",
    "PracticeGroupView",
    "RateLimitError",
    "RateLimiter",
    "RawResponse",
    "RecipientStatus",
    "RegisteredPatient",
    "Reservation",
    "SentMessage",
    "ServerError",
    "Sex",
    "Slot",
    "SqliteLedger",
    "TimeoutError",
    "Timeouts",
    "TokenStore",
    "Transport",
    "TransportError",
    "ValidationError",
    "Webhook",
    "WebhookEventType",
    "WebhookPayloadError",
    "WebhookSignatureError",
    "__version__",
]
