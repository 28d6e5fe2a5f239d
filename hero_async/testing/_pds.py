"""The fake NHS spine (PDS) and how a traced person becomes a practice group's patient.

Outside the sandbox only seeded people exist. With ``World.pds_permissive`` (the sandbox)
anyone with a valid NHS number and a past date of birth exists, with a made-up mobile and
email; the first trace fixes their date of birth, so a later trace with another dob fails
as a real trace would.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hero_async.testing._state import Group, Json, World


@dataclasses.dataclass(slots=True)
class PdsRecord:
    """One person on the fake spine. ``dob=None`` matches any date of birth."""

    nhs_number: str
    dob: dt.date | None
    outcome: str = "found"  # "found" | "identity_check" | "not_found"
    first_name: str | None = None
    last_name: str | None = None
    postcode: str | None = None
    mobile: str | None = None
    email: str | None = None


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
        patient_id = world.next_id("patient")
    person = patient_person(patient_id, record, dob or record.dob, data_source="pds")
    world.store_patient(group, person)
    return patient_id


def patient_person(
    patient_id: str, record: PdsRecord, dob: dt.date | None, *, data_source: str
) -> Json:
    """A patient in the ``GET /v1/patients/{id}`` shape (§9.3); dob is sent date-only."""
    return {
        "id": patient_id,
        "uid": None,
        "emis_id": None,
        "ehr_partner_id": None,
        "dob": dob.isoformat() if dob else None,
        "deceased_at": None,
        "title": None,
        "first_name": record.first_name,
        "last_name": record.last_name,
        "sex": None,
        "nhs_number": record.nhs_number,
        "email": record.email,
        "emails": [record.email] if record.email else [],
        "mobile": record.mobile,
        "last_sync_at": None,
        "address_line_1": None,
        "address_line_2": None,
        "address_line_3": None,
        "country": None,
        "postcode": record.postcode,
        "town": None,
        "county": None,
        "notes": None,
        "verification_credentials": [],
        "data_source": data_source,
        "restricted": False,
        "sex_changed_at": None,
        "status": "unarchived",
    }


def _invent_person(world: World, nhs_number: str, dob: dt.date | None) -> PdsRecord:
    # Contact details in Ofcom's drama range and example.com: never a real person.
    record = PdsRecord(
        nhs_number,
        dob,
        mobile=f"07700900{int(nhs_number) % 1000:03d}",
        email=f"patient.{nhs_number}@example.com",
    )
    world.pds[nhs_number] = record
    return record


def _postcode(value: str) -> str:
    return value.replace(" ", "").upper()
