"""The fake NHS spine (PDS) and how a traced person becomes a practice group's patient.

Outside the sandbox only seeded people exist. With ``World.pds_permissive`` (the sandbox)
anyone with a valid NHS number and a past date of birth exists, with a made-up mobile and
email; the first trace fixes their date of birth, so a later trace with another dob fails
as a real trace would.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any, Final

from hero_async.testing._records import PdsRecord
from hero_async.testing._state import Group, World

Json = dict[str, Any]


def trace(world: World, nhs_number: str, dob: dt.date | None) -> PdsRecord | None:
    """Look a person up by NHS number and dob; None means PDS found nobody (404)."""
    record = world.pds.get(nhs_number)
    if record is None and world.pds_permissive and (dob is None or dob <= world.today()):
        record = _invent_person(world, nhs_number, dob)
    if record is None or record.outcome == "not_found":
        return None
    if record.dob is not None and dob is not None and record.dob != dob:
        return None
    return record


def trace_demographics(
    world: World, forename: str, surname: str, postcode: str, dob: dt.date
) -> PdsRecord | None:
    """The second register_pds shape: an exact (case-blind) match on seeded people."""
    wanted = (forename.casefold(), surname.casefold(), dob, _postcode(postcode))
    for record in world.pds.values():
        names = (record.first_name or "").casefold(), (record.last_name or "").casefold()
        if (*names, record.dob, _postcode(record.postcode or "")) == wanted:
            return None if record.outcome == "not_found" else record
    return None


def adopt(world: World, group: Group, record: PdsRecord, dob: dt.date | None) -> str:
    """The group's Hero patient for a traced person, created on the first trace.

    The id is derived from (group, NHS number), so it is the same across runs and fakes.
    """
    existing = group.patient_by_nhs.get(record.nhs_number)
    if existing is not None:
        return existing
    digest = hashlib.sha256(f"{group.id}:{record.nhs_number}".encode()).digest()
    patient_id = str(200_000_000 + int.from_bytes(digest[:8], "big") % 800_000_000)
    if world.find_patient_anywhere(patient_id):
        patient_id = world.new_patient_id()
    person = patient_person(patient_id, record, dob or record.dob, data_source="pds")
    world.store_patient(group, person)
    return patient_id


# The GET /v1/patients/{id} fields (§9.3) a stored patient leaves out; patients are stored
# compactly (only what is known) because a benchmark may register a million of them.
PATIENT_DEFAULTS: Final[Json] = dict.fromkeys(
    (
        "uid",
        "emis_id",
        "ehr_partner_id",
        "dob",
        "deceased_at",
        "title",
        "first_name",
        "last_name",
        "sex",
        "nhs_number",
        "email",
        "mobile",
        "last_sync_at",
        "address_line_1",
        "address_line_2",
        "address_line_3",
        "country",
        "postcode",
        "town",
        "county",
        "notes",
        "sex_changed_at",
    ),
) | {"restricted": False, "status": "unarchived"}


def patient_person(
    patient_id: str, record: PdsRecord, dob: dt.date | None, *, data_source: str
) -> Json:
    """A stored patient: id, data_source and whatever the record knows (never None values)."""
    known = {
        "dob": dob.isoformat() if dob else None,
        "nhs_number": record.nhs_number or None,
        "first_name": record.first_name,
        "last_name": record.last_name,
        "postcode": record.postcode,
        "mobile": record.mobile,
        "email": record.email,
    }
    if record.invented:
        known["mobile"], known["email"] = _made_up_contacts(record.nhs_number)
    return {
        "id": patient_id,
        "data_source": data_source,
        **{key: value for key, value in known.items() if value is not None},
    }


def render_patient(patient: Json) -> Json:
    """The full ``GET /v1/patients/{id}`` shape of a stored patient."""
    email = patient.get("email")
    return {
        **PATIENT_DEFAULTS,
        **patient,
        "emails": [email] if email else [],
        "verification_credentials": [],
    }


def _invent_person(world: World, nhs_number: str, dob: dt.date | None) -> PdsRecord:
    record = PdsRecord(nhs_number, dob, invented=True)
    world.pds[nhs_number] = record
    return record


def _made_up_contacts(nhs_number: str) -> tuple[str, str]:
    """Ofcom's drama range and example.com: never a real person's phone or inbox."""
    return f"07700900{int(nhs_number) % 1000:03d}", f"patient.{nhs_number}@example.com"


def _postcode(value: str) -> str:
    return value.replace(" ", "").upper()
