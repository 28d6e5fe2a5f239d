"""Patients tag (§9): register_pds, register, the two searches, get one."""

from __future__ import annotations

from typing import Any

from hero_async.testing import _pds
from hero_async.testing._query import Query, envelope
from hero_async.testing._rules import (
    IDENTITY_CHECK_LOGIN_BASE,
    PATIENT_DATA_SOURCES,
    PATIENT_SEARCH_FIELDS,
    SEXES,
    V3_PATIENT_FILTERS,
)
from hero_async.testing._state import Call, Json
from hero_async.testing._validation import Fields, Reject, issue

_DEMOGRAPHIC_KEYS = ("forename", "surname", "postcode")
_REGISTER_TEXT = (
    "title",
    "landline",
    "address_line_1",
    "address_line_2",
    "address_line_3",
    "country",
    "postcode",
    "county",
    "email",
    "ehr_partner_id",
)


def register_pds(call: Call) -> Json:
    """Shape 1 ``{nhs_number, dob}`` or shape 2 ``{dob, forename, surname, postcode}``."""
    fields = Fields(call.body)
    dob = fields.date("dob", required=True)
    demographic = "nhs_number" not in fields.body and any(
        key in fields.body for key in _DEMOGRAPHIC_KEYS
    )
    names = (
        [fields.text(key, required=True, nonempty=True) or "" for key in _DEMOGRAPHIC_KEYS]
        if demographic
        else []
    )
    nhs_number = None if demographic else fields.nhs_number("nhs_number", required=True)
    fields.text("ehr_partner", nonempty=True)
    fields.text("ehr_partner_id", nonempty=True)
    fields.done()
    assert dob is not None  # done() has refused the request otherwise
    world = call.world
    if nhs_number is None:
        record = _pds.trace_demographics(world, names[0], names[1], names[2], dob)
    else:
        record = _pds.trace(world, nhs_number, dob)
    if record is None:
        raise Reject(404, "No patient found")
    if record.outcome == "identity_check":
        return {
            "message": "Patient must verify their identity before registration",
            "login_url": IDENTITY_CHECK_LOGIN_BASE + world.uuid(),
        }
    return {"patient_id": _pds.adopt(world, call.group, record, dob)}


def register_patient(call: Call) -> Json:
    """Create, or update the patient with the same NHS number and dob in this group."""
    fields = Fields(call.body)
    dob = fields.date("dob", required=True)
    values: dict[str, Any] = {
        "first_name": fields.text("first_name", required=True, nonempty=True),
        "last_name": fields.text("last_name", required=True, nonempty=True),
        "mobile": fields.text("mobile", required=True, nonempty=True),
        "sex": fields.text("sex", choices=SEXES),
        "nhs_number": fields.nhs_number("nhs_number"),
        "data_source": fields.text("data_source", choices=PATIENT_DATA_SOURCES),
    }
    values.update((key, fields.text(key)) for key in _REGISTER_TEXT)
    fields.done()
    group, world = call.group, call.world
    values = {key: value for key, value in values.items() if value is not None}
    values["dob"] = dob.isoformat() if dob else None
    existing = group.patients.get(group.patient_by_nhs.get(values.get("nhs_number", ""), ""))
    if existing is not None and existing.get("dob") == values["dob"]:
        existing.update(values)
        return {"patient_id": existing["id"]}
    patient = {"id": world.new_patient_id(), "data_source": "hero", **values}
    world.store_patient(group, patient)
    return {"patient_id": patient["id"]}


def list_patients(call: Call) -> Json:
    """``field`` + ``search``: exact match on one field (allowed fields UNVERIFIED)."""
    query = Query(call.query)
    field = query.text("field", PATIENT_SEARCH_FIELDS)
    search = query.text("search")
    page = query.page()
    if field is not None and search is None:
        query.issues.append(issue(["search"], "invalid_type", "string"))
    query.done()
    patients = list(call.group.patients.values())
    if field is not None and search is not None:
        wanted = search.replace(" ", "") if field == "nhs_number" else search
        patients = [p for p in patients if p.get(field) == wanted]
    return envelope(patients, page, _pds.render_patient)


def list_patients_v3(call: Call) -> Json:
    """Structured search: every given filter must match; at least one is required."""
    query = Query(call.query)
    filters = {key: query.text(key) for key in V3_PATIENT_FILTERS if key in call.query}
    page = query.page()
    if "dob" in filters:
        query.when("dob")
    if not filters:
        query.issues.append(issue([], "custom", "at least one of " + ", ".join(V3_PATIENT_FILTERS)))
    query.done()
    if "nhs_number" in filters:
        filters["nhs_number"] = (filters["nhs_number"] or "").replace(" ", "")
    found = [p for p in call.group.patients.values() if _matches(p, filters)]
    return envelope(found, page, _summary)


def get_patient(call: Call) -> Json:
    patient = call.group.patients.get(call.params["id"])
    if patient is None:
        raise Reject(404)
    return _pds.render_patient(patient)


def list_attachments(call: Call) -> Json:
    """The fake holds no EHR files, so a known patient has none."""
    get_patient(call)
    return {"data": [], "count": 0}


def _matches(patient: Json, filters: dict[str, str | None]) -> bool:
    for key, wanted in filters.items():
        have = patient.get(key)
        if key in ("first_name", "last_name"):
            if (have or "").casefold() != (wanted or "").casefold():
                return False
        elif have != wanted:
            return False
    return True


def _summary(patient: Json) -> Json:
    """v3 items (§9.3, list cut off): the patient plus ``ods_code`` (UNVERIFIED extras)."""
    return {**_pds.render_patient(patient), "ods_code": None}


ROUTES = (
    ("POST", "/v1/patients/register_pds", register_pds),
    ("POST", "/v1/patients/register", register_patient),
    ("GET", "/v1/patients", list_patients),
    ("GET", "/v3/patients", list_patients_v3),
    ("GET", "/v1/patients/{id}", get_patient),
    ("GET", "/v1/patients/{id}/attachments", list_attachments),
)
