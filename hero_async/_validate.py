"""Input checks that run before anything is sent to Hero.

Each function takes what the caller passed, raises ``ValidationError(field, problem)`` naming
the argument, and returns the normalised value to put on the wire. Messages never echo the
value (it may be a secret or patient data) except where the value is one of our own enums.

Section numbers (§) point at /work/shared/hero-api/REFERENCE.md.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection
from typing import Final, Literal, TypeAlias, get_args
from urllib.parse import urlsplit

from hero_async._config import is_loopback
from hero_async._errors import ValidationError

# Enums copied from the reference; each is a one-line fix if Hero's list differs. The
# Literal types let mypy catch a typo; the tuples (from the same list) check at run time.
MessageType: TypeAlias = Literal["hero", "sms", "email", "nhs_app"]  # §8.1, newest
FallbackMessageType: TypeAlias = Literal["sms", "email"]  # §8.1 fallback_message_type
BatchChannel: TypeAlias = Literal["SMS", "EMAIL", "NHS_APP"]  # §8.2, upper case
BatchStatus: TypeAlias = Literal["CREATED", "PENDING", "SENDING", "COMPLETED"]  # batch object
# §8.2 / §14.13: the enum the list filters show (per recipient, not the batch's own).
RecipientStatus: TypeAlias = Literal[
    "CREATED", "ENRICHMENT_ERROR", "ENRICHED", "INVALID_PAYLOAD", "QUEUED"
]
WebhookEventType: TypeAlias = Literal[  # §12.1: Gen B's six + Gen C's two write-to-record
    "appointment.confirmed",
    "appointment.cancelled",
    "appointment.rescheduled",
    "prescription.issued",
    "patient.medical-record-updated",
    "patient.added-to-sequence",
    "write-to-record.succeeded",
    "write-to-record.failed",
]
Sex: TypeAlias = Literal["Not known", "Not specified", "Male", "Female", "Other"]  # §9.2
AssigneeType: TypeAlias = Literal["Admin", "AdminTeam"]  # §8.1 assignee_type
DataSource: TypeAlias = Literal["hero", "emis", "pds", "gha", "systm_one"]  # §9.3 Patient
# UNVERIFIED (§9.3): GET /v1/patients?field= values were not captured (emis_id was seen).
PatientLookupField: TypeAlias = Literal[
    "emis_id", "nhs_number", "ehr_partner_id", "email", "mobile"
]

MESSAGE_TYPES: Final[tuple[str, ...]] = get_args(MessageType)
FALLBACK_MESSAGE_TYPES: Final[tuple[str, ...]] = get_args(FallbackMessageType)
BATCH_CHANNELS: Final[tuple[str, ...]] = get_args(BatchChannel)
BATCH_STATUSES: Final[tuple[str, ...]] = get_args(BatchStatus)
RECIPIENT_STATUSES: Final[tuple[str, ...]] = get_args(RecipientStatus)
WEBHOOK_EVENT_TYPES: Final[tuple[str, ...]] = get_args(WebhookEventType)
SEXES: Final[tuple[str, ...]] = get_args(Sex)
ASSIGNEE_TYPES: Final[tuple[str, ...]] = get_args(AssigneeType)
DATA_SOURCES: Final[tuple[str, ...]] = get_args(DataSource)
PATIENT_LOOKUP_FIELDS: Final[tuple[str, ...]] = get_args(PatientLookupField)

_MIN_YEAR: Final = 1900  # no Hero date (dob, expiry, slot window) is older; catches typos
_DIGITS = re.compile(r"[0-9]+")  # not \d, which also matches "٣" and friends
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # fromisoformat alone accepts "20230529"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]+")
# UK mobile: national 07..., or +44 / 0044 / 44 followed by 7...; spaces and hyphens removed.
_UK_MOBILE = re.compile(r"(?:\+44|0044|44|0)(7[0-9]{9})")
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s.]+(?:\.[^@\s.]+)+")
# Characters that would change a URL's shape if an id were put into a path segment.
_PATH_UNSAFE = re.compile(r"[/\\?#]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _string(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise ValidationError(field, f"expected a string, got {type(value).__name__}")
    if _SURROGATE.search(value):  # cannot be encoded as UTF-8, so it can never be sent
        raise ValidationError(field, "contains an unpaired surrogate (not valid Unicode text)")
    return value


def nhs_number(value: object, field: str = "nhs_number") -> str:
    """Ten digits (spaces allowed, as in "943 476 5919") with a valid mod-11 check digit."""
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValidationError(field, "pass the NHS number as a string (an int drops leading 0s)")
    digits = _string(value, field).strip().replace(" ", "")
    if len(digits) != 10 or not _DIGITS.fullmatch(digits):
        raise ValidationError(field, "must be 10 digits (spaces allowed, nothing else)")
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = (11 - total % 11) % 11  # 11 becomes 0; 10 means no valid number has these 9 digits
    if check == 10 or check != int(digits[9]):
        raise ValidationError(field, "check digit does not match (not a valid NHS number)")
    return digits


def hero_id(value: object, field: str) -> str:
    """A Hero id documented as ``^\\d+$``: a string of ASCII digits, or an int >= 0."""
    if type(value) is str and value.isdigit() and value.isascii():  # the usual case, fast
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ValidationError(field, "must not be negative")
        return str(value)
    if not _DIGITS.fullmatch(_string(value, field)):
        raise ValidationError(field, "must be a Hero id made of digits 0-9, e.g. '156'")
    return str(value)


def opaque_id(value: object, field: str) -> str:
    """An id with no documented pattern (batch, webhook): non-blank, safe in a URL path."""
    text = _string(value, field)
    if not text.strip():
        raise ValidationError(field, "must not be empty")
    if _CONTROL.search(text):
        raise ValidationError(field, "must not contain control characters (CR, LF, NUL...)")
    # §15 asks only for the two checks above; we also refuse "/", "?", "#", "\" and dot
    # segments because these ids go into request paths, where they would retarget the call.
    if _PATH_UNSAFE.search(text) or text in {".", ".."}:
        raise ValidationError(field, "must not contain '/', '\\', '?', '#' or be '.' or '..'")
    if not text.isascii():  # would be percent-encoded into some other id on the wire
        raise ValidationError(field, "must be ASCII")
    return text


def header_value(value: object, field: str) -> str:
    """A value sent in an HTTP header (API key...). Errors never show the value."""
    text = _string(value, field)
    if not text:
        raise ValidationError(field, "must not be empty")
    if not _PRINTABLE_ASCII.fullmatch(text):
        raise ValidationError(
            field, "must be printable ASCII without line breaks (check for a trailing newline)"
        )
    if text != text.strip():
        raise ValidationError(field, "has leading or trailing spaces (copy-paste slip?)")
    return text


def practice_group_id(value: object, field: str = "practice_group_id") -> str:
    """No pattern is documented (§15), so header rules only; ints are accepted for comfort."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)
    return header_value(value, field)


def date(
    value: object, field: str, *, not_future: bool = False, today: dt.date | None = None
) -> str:
    """A calendar date as ``YYYY-MM-DD``; ``not_future`` for dates of birth."""
    if isinstance(value, dt.datetime):  # a subclass of date: refuse rather than drop the time
        raise ValidationError(field, "expected a date, got a datetime (use .date())")
    if isinstance(value, dt.date):
        day = value
    elif isinstance(value, str) and _ISO_DATE.fullmatch(value):
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            raise ValidationError(field, "is not a real calendar date") from None
    else:
        raise ValidationError(field, "expected a datetime.date or a 'YYYY-MM-DD' string")
    if day.year < _MIN_YEAR:
        raise ValidationError(field, f"year before {_MIN_YEAR} is not plausible")
    if not_future and day > (today or dt.date.today()):
        raise ValidationError(field, "must not be in the future")
    return day.isoformat()


def datetime_(value: object, field: str) -> str:
    """An aware date-time, sent as UTC with a "Z" suffix.

    Hero says all timestamps are UTC (§6) and its 400 bodies look like zod's, whose datetime
    check rejects offsets by default, so "Z" is the form most likely to be accepted.
    """
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, str) and _ISO_DATE.fullmatch(value):
        raise ValidationError(field, "needs a time and zone, e.g. '2024-05-01T09:30:00Z'")
    elif isinstance(value, str) and value.isascii():
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            raise ValidationError(field, "is not an ISO 8601 date-time") from None
    else:
        raise ValidationError(field, "expected an aware datetime or an ISO 8601 string")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValidationError(field, "has no time zone (give an offset or 'Z')")
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def text(value: object, field: str) -> str:
    """Free text that must say something; NUL is refused (databases reject it, giving a 500)."""
    if not _string(value, field).strip():
        raise ValidationError(field, "must not be empty")
    if "\x00" in str(value):
        raise ValidationError(field, "must not contain NUL characters")
    return str(value)


def choice(value: object, field: str, allowed: Collection[str]) -> str:
    if not isinstance(value, str) or value not in allowed:
        shown = repr(value) if isinstance(value, str) and len(value) <= 40 else "value"
        raise ValidationError(field, f"{shown} is not one of: {', '.join(allowed)}")
    return value


def positive_int(value: object, field: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationError(field, f"expected an int, got {type(value).__name__}")
    if value < 1:
        raise ValidationError(field, "must be at least 1")
    return value


def boolean(value: object, field: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(field, f"expected True or False, got {type(value).__name__}")
    return value


def _uk_mobile(value: str) -> str | None:
    match = _UK_MOBILE.fullmatch(re.sub(r"[ \-]", "", value))
    return "0" + match.group(1) if match else None


def _email(value: str) -> str | None:
    return value if len(value) <= 254 and _EMAIL.fullmatch(value) else None


def contact_detail(value: object, field: str, message_type: str) -> str:
    """A recipient for ``message_type``: UK mobile for sms, e-mail for email, either otherwise.

    Mobiles are sent in UK national form (07700900123): Hero's examples are UK numbers and
    that is how GP systems store them. The form Hero expects is UNVERIFIED (§8.1).
    """
    kind = choice(message_type, "message_type", MESSAGE_TYPES)
    detail = _string(value, field).strip()
    if kind == "sms":
        found, wanted = _uk_mobile(detail), "a UK mobile number (07..., +44 7...)"
    elif kind == "email":
        found, wanted = _email(detail), "an e-mail address"
    else:
        found, wanted = _uk_mobile(detail) or _email(detail), "a UK mobile or an e-mail address"
    if found is None:
        raise ValidationError(field, f"is not {wanted}")
    return found


def url(value: object, field: str) -> str:
    """An absolute https URL; plain http only for loopback hosts (local test receivers)."""
    text_ = _string(value, field)
    if _CONTROL.search(text_) or " " in text_:
        raise ValidationError(field, "must not contain spaces or control characters")
    try:
        parts = urlsplit(text_)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - parsing the port is what raises on "host:abc"
    except ValueError:
        raise ValidationError(field, "is not a valid URL") from None
    if parts.scheme not in {"https", "http"} or not host:
        raise ValidationError(field, "must be an absolute https:// URL")
    if parts.scheme == "http" and not is_loopback(host):
        raise ValidationError(field, "must use https (http is allowed only for localhost)")
    return text_
