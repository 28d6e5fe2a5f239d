"""Invitation: one intended "please book" message to one patient, and its validation.

Everything an invitation needs is checked here, before its first request, so that a bad row
can never leave a booking link behind without its message.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from typing import Any, NamedTuple

import attrs

from .. import _validate as v
from .._errors import ValidationError
from .._frozen import quick_init
from ..resources.booking_links import link_fields
from ..resources.patients import pds_fields

__all__ = ["DEFAULT_TEMPLATE", "LINK_PLACEHOLDER", "Invitation", "Plan"]

LINK_PLACEHOLDER = "{link}"
MAX_KEY_LENGTH = 200
DEFAULT_TEMPLATE = "Your GP practice invites you to book an appointment: {link}"


_MASKED = frozenset({"pds", "template", "recipient_contact_detail"})  # in a Plan's repr


def _masked(value: object) -> str:
    return "None" if value is None else "'***'"


@quick_init
@attrs.frozen
class Invitation:
    """The caller's description of one invitation. ``key`` must be unique per intended invite:
    it is what the ledger uses to make sure the patient is messaged at most once."""

    key: str
    practice_group_id: str
    appointment_type_id: str
    location_id: str
    patient_id: str | None = None
    nhs_number: str | None = attrs.field(default=None, repr=_masked)
    dob: dt.date | str | None = attrs.field(default=None, repr=_masked)
    practitioner_id: str | None = None
    from_date: dt.date | str | None = None
    to_date: dt.date | str | None = None
    expiry_date: dt.date | str | None = None
    maximum_use_count: int | None = None
    message_type: str = "sms"
    message_template: str = attrs.field(default=DEFAULT_TEMPLATE, repr=_masked)
    recipient_contact_detail: str | None = attrs.field(default=None, repr=_masked)


class Plan(NamedTuple):
    """A validated invitation: the exact request bodies it will send. Internal, and made once
    per invitation: a NamedTuple is built in a quarter of a frozen attrs class's time."""

    key: str
    practice_group_id: str
    patient_id: str | None
    pds: dict[str, Any] | None  # NHS number + dob, when needed
    link: dict[str, Any]
    message_type: str
    template: str
    recipient_contact_detail: str | None
    fingerprint: str = ""

    def __repr__(self) -> str:  # the patient's details and the message text masked
        shown = (
            f"{name}={_masked(value) if name in _MASKED else repr(value)}"
            for name, value in self._asdict().items()
        )
        return f"Plan({', '.join(shown)})"

    def message(self, short_link: str) -> str:
        # str.replace, not str.format: practice-written text may contain other braces.
        return self.template.replace(LINK_PLACEHOLDER, short_link)

    def message_body(self, patient_id: str, short_link: str, link_id: str | None) -> dict[str, Any]:
        """The messages/send body; every part was validated by ``plan()`` or came from Hero."""
        body = {
            "patient_id": patient_id,
            "message_type": self.message_type,
            "message_string": self.message(short_link),
            "short_link_id": link_id,
        }
        if self.recipient_contact_detail is not None:
            body["recipient_contact_detail"] = self.recipient_contact_detail
        return body


def _key(value: object) -> str:
    # Keys never reach Hero (they live in the ledger and report), so any printable text will
    # do, e.g. "flu-2026/9434765919"; control characters would corrupt the CSV report.
    if (  # the usual case at once: "printable" already excludes NUL, surrogates, CR/LF
        type(value) is str
        and 0 < len(value) <= MAX_KEY_LENGTH
        and not value.isspace()
        and value.isprintable()
    ):
        return value
    key = v.text(value, "key")
    if len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise ValidationError("key", f"must be printable text of at most {MAX_KEY_LENGTH} chars")
    return key


def plan(invitation: Invitation) -> Plan:
    """Validate every field; raises ValidationError naming the first bad one."""
    inv = invitation
    key = _key(inv.key)
    try:
        group = _group(inv.practice_group_id)
    except TypeError:  # an unhashable value (a list...): validated uncached, which names it
        group = v.practice_group_id(inv.practice_group_id)
    patient_id = None if inv.patient_id is None else v.hero_id(inv.patient_id, "patient_id")
    pds = None
    if patient_id is None:
        if inv.nhs_number is None or inv.dob is None:
            raise ValidationError("patient_id", "give patient_id, or nhs_number and dob")
        pds = pds_fields(nhs_number=inv.nhs_number, dob=inv.dob)
    what = (
        inv.appointment_type_id, inv.location_id, inv.practitioner_id, inv.from_date,
        inv.to_date, inv.expiry_date, inv.maximum_use_count, inv.message_type,
        inv.message_template,
    )  # fmt: skip
    try:
        validated = _what(*what)
    except TypeError:  # the same
        validated = _validated_what(*what)
    link, kind, template, no_contact, hashed = validated
    # Who + what, hashed, to catch a key reused for a different invitation. The "who" part
    # keeps only 16 bits: enough to tell two patients apart, far too few to find one back
    # from (about 15,000 NHS numbers share each value).
    contact = inv.recipient_contact_detail
    if contact is None:
        what_print = no_contact
    else:  # per patient: not in the cache, which outlives the job
        contact = v.contact_detail(contact, "recipient_contact_detail", kind)
        digest = hashed.copy()
        digest.update(f"{contact!r})".encode())
        what_print = digest.hexdigest()[:12]
    who = hashlib.sha256(_who(patient_id, pds).encode()).hexdigest()[:4]
    print_ = f"{who}-{what_print}"
    return Plan(key, group, patient_id, pds, dict(link), kind, template, contact, print_)


def _who(patient_id: str | None, pds: dict[str, Any] | None) -> str:
    """``repr((patient_id, pds))``, what the "who" half hashes; built directly for a patient
    id (ASCII digits, which repr quotes as they are): a tuple's generic repr is slower."""
    if pds is None and patient_id is not None and patient_id.isdigit() and patient_id.isascii():
        return f"('{patient_id}', None)"
    return repr((patient_id, pds))


def _validated_what(
    appointment_type_id: Any,
    location_id: Any,
    practitioner_id: Any,
    from_date: Any,
    to_date: Any,
    expiry_date: Any,
    maximum_use_count: Any,
    message_type: Any,
    message_template: Any,
) -> tuple[dict[str, Any], str, str, str, Any]:
    """The "what" of a plan (link fields, message type, template) validated, and its part
    of the fingerprint: ``sha256(repr((link, kind, template, contact)))``, done for no
    contact, and hashed up to the contact for a recipient to be added."""
    link = link_fields(
        appointment_type_id=appointment_type_id,
        location_id=location_id,
        practitioner_id=practitioner_id,
        from_date=from_date,
        to_date=to_date,
        expiry_date=expiry_date,
        maximum_use_count=maximum_use_count,
    )
    kind = v.choice(message_type, "message_type", v.MESSAGE_TYPES)
    template = v.text(message_template, "message_template")
    if LINK_PLACEHOLDER not in template:
        raise ValidationError("message_template", f"must contain {LINK_PLACEHOLDER}")
    hashed = hashlib.sha256(f"({link!r}, {kind!r}, {template!r}, ".encode())
    no_contact = hashed.copy()
    no_contact.update(b"None)")
    return link, kind, template, no_contact.hexdigest()[:12], hashed


# A job's rows mostly share their practice group, link fields and template: each distinct
# set is validated (and hashed) once. ``typed``: 1, 1.0 and True are different inputs, as are
# a str and a str subclass; only valid inputs are kept (a raise is not cached).
_group = functools.lru_cache(maxsize=256, typed=True)(v.practice_group_id)
_what = functools.lru_cache(maxsize=256, typed=True)(_validated_what)
