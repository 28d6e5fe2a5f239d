"""The fake's rule book: every table, enum and guess in one place.

Values read from the reference are copied as found. Each ``UNVERIFIED`` line is a guess
the reference could not settle (see REFERENCE.md §14); changing one guess is a one-line
change here, and nothing else in the fake repeats these values.
"""

from __future__ import annotations

from typing import Final

# -- Headers --------------------------------------------------------------------------------
API_KEY_HEADER: Final = "x-api-key"
PRACTICE_GROUP_HEADER: Final = "x-practice-group-id"
REQUEST_ID_HEADER: Final = "x-request-id"  # UNVERIFIED: Hero's request-id header is not documented
SIGNATURE_HEADER: Final = "X-Herohealth-Signature"
TIMESTAMP_HEADER: Final = "X-Herohealth-Timestamp"

# -- Authentication and authorisation -------------------------------------------------------
MISSING_PRACTICE_GROUP_STATUS: Final = 401  # UNVERIFIED: both headers are the security scheme
UNKNOWN_PRACTICE_GROUP_STATUS: Final = 403
CROSS_ORG_DENIED_STATUS: Final = 403  # UNVERIFIED (§5): the diagram is cut before the status
MISSING_SCOPE_STATUS: Final = 403  # UNVERIFIED (§3): per-operation scopes are never stated

SCOPES: Final = ("booking", "booking_links", "messaging")

# Route-template prefix -> scope the key needs (UNVERIFIED mapping, §3). Routes matching no
# prefix (access_token, /v1/me*, webhooks, patients other than register_pds) need no scope.
# The longest matching prefix wins, so register_pds beats the unscoped patients routes.
SCOPE_BY_PREFIX: Final[dict[str, str]] = {
    "/v1/booking_links": "booking_links",
    "/v1/patients/register_pds": "booking_links",
    "/v1/appointment_types": "booking_links",
    "/v1/locations": "booking_links",
    "/v1/messages": "messaging",
    "/v1/batch_message": "messaging",
    "/v1/attachment_links": "messaging",
    "/v1/slots": "booking",
    "/v1/appointments": "booking",
}


def scope_for(template: str) -> str | None:
    """The scope a route template needs, or None when any valid key may call it."""
    matches = [p for p in SCOPE_BY_PREFIX if template == p or template.startswith(p + "/")]
    return SCOPE_BY_PREFIX[max(matches, key=len)] if matches else None


# -- Enums (copied from the reference) ------------------------------------------------------
MESSAGE_TYPES: Final = ("hero", "sms", "email", "nhs_app")
FALLBACK_MESSAGE_TYPES: Final = ("sms", "email")
ASSIGNEE_TYPES: Final = ("Admin", "AdminTeam")
BATCH_CHANNELS: Final = ("SMS", "EMAIL", "NHS_APP")
BATCH_STATUSES: Final = ("CREATED", "PENDING", "SENDING", "COMPLETED")  # lifecycle order
BATCH_RECIPIENT_STATUSES: Final = (
    "CREATED",
    "ENRICHMENT_ERROR",
    "ENRICHED",
    "INVALID_PAYLOAD",
    "QUEUED",
)
SEXES: Final = ("Not known", "Not specified", "Male", "Female", "Other")
# §9.3 Patient.data_source; register takes the same set (UNVERIFIED: its type was not shown).
PATIENT_DATA_SOURCES: Final = ("hero", "emis", "pds", "gha", "systm_one")
WEBHOOK_EVENT_TYPES: Final = (
    "appointment.confirmed",
    "appointment.cancelled",
    "appointment.rescheduled",
    "prescription.issued",
    "patient.medical-record-updated",
    "patient.added-to-sequence",
    "write-to-record.succeeded",
    "write-to-record.failed",
)
# UNVERIFIED: allowed values of GET /v1/patients?field= were not captured (emis_id seen).
PATIENT_SEARCH_FIELDS: Final = ("emis_id", "nhs_number", "ehr_partner_id", "email", "mobile")
V3_PATIENT_FILTERS: Final = ("first_name", "last_name", "dob", "nhs_number", "ehr_partner_id")

# -- Channels: the patient-record field a channel needs as its recipient -------------------
# "hero" stays inside Hero (UNVERIFIED, §8.1), so it needs no contact; the NHS App reaches the
# patient through their NHS number (UNVERIFIED).
CONTACT_FIELD: Final[dict[str, str]] = {
    "sms": "mobile",
    "email": "email",
    "nhs_app": "nhs_number",
    "SMS": "mobile",
    "EMAIL": "email",
    "NHS_APP": "nhs_number",
}

# -- Numbers --------------------------------------------------------------------------------
ACCESS_TOKEN_LIFETIME: Final = 1800  # seconds; stated twice in the reference (§4)
RESERVATION_HOLD: Final = 15 * 60  # UNVERIFIED: the patient-facing flow holds a slot 15 minutes
DEFAULT_PAGE_SIZE: Final = 20  # UNVERIFIED: defaults are not published
MAX_PAGE_SIZE: Final = 100  # UNVERIFIED: larger pages are refused with 400, never truncated
BATCH_MIN_RECIPIENTS: Final = 1  # UNVERIFIED: an empty batch is refused

# -- Status codes for situations the reference does not cover -------------------------------
MISSING_REFERENCE_STATUS: Final = 404  # unknown patient/link/type/location named in a body
SLOT_UNAVAILABLE_STATUS: Final = 400  # UNVERIFIED: taken or absent slot on reserve/edit

# -- Request bodies --------------------------------------------------------------------------
# Operations whose requestBody the description marks required: a missing or null body is a
# 400 naming the whole body (path []), as a schema validator reports an absent object.
BODY_REQUIRED: Final = frozenset(
    {
        ("PATCH", "/v1/me"),
        ("POST", "/v1/booking_links"),
        ("PATCH", "/v1/booking_links/{id}"),
        ("POST", "/v1/attachment_links"),
        ("POST", "/v1/messages/send"),
        ("POST", "/v1/batch_message"),
        ("POST", "/v1/patients/register_pds"),
        ("POST", "/v1/patients/register"),
        ("POST", "/v1/appointments"),
        ("PUT", "/v1/appointments/{id}"),
        ("PATCH", "/v1/appointments/{id}/reschedule"),
        ("POST", "/v1/webhooks"),
        ("PATCH", "/v1/webhooks/{id}"),
    }
)
# UNVERIFIED: a body sent with another Content-Type is refused with a 400 naming the body,
# as an Express JSON parser in front of a schema validator would leave it unread.
JSON_CONTENT_TYPES: Final = ("application/json",)
# UNVERIFIED (issue 12 decision): REFERENCE.md writes "or null" wherever Hero's schema is
# nullable (start_time, reserved_until, recipients[].dob...). Optional fields it types
# without "or null" (link expiry_date / maximum_uses, batch subject) are left out of answers
# when unset, and a null sent for them is refused. One-line fix: set to False to send null.
OMIT_UNSET_OPTIONAL: Final = True
# UNVERIFIED (issue 12 decision): recipients[].dob is typed "date-time or null" (§8.2) and
# Hero's 400s look like a schema validator's, which refuses a date-only string for date-time.
BATCH_RECIPIENT_DOB_DATETIME: Final = True
# UNVERIFIED (§14.13): GET /v1/batch_message?status= takes the enum shown on that page (the
# recipient statuses), so PENDING/SENDING/COMPLETED are refused there.
BATCH_LIST_STATUS_FILTER: Final = BATCH_RECIPIENT_STATUSES

# -- Shapes ---------------------------------------------------------------------------------
SHORT_LINK_BASE: Final = "https://hero.sandbox/l/"
ATTACHMENT_LINK_BASE: Final = "https://hero.sandbox/a/"
IDENTITY_CHECK_LOGIN_BASE: Final = "https://patient.hero.sandbox/verify/"
NOT_FOUND_MESSAGE: Final = "Not found"

# UNVERIFIED: GET /v1/me/capabilities and /configuration shapes were not captured (§10);
# each practice group starts with a copy of these.
DEFAULT_CAPABILITIES: Final = {
    "messaging": True,
    "booking": True,
    "booking_links": True,
    "nhs_app": True,
    "write_to_record": False,
}
DEFAULT_CONFIGURATION: Final = {"timezone": "Europe/London", "sector": "nhs"}
