from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

from .. import _serde
from .. import _validate as v
from .._errors import MalformedResponseError, ValidationError
from ..models import (
    Page,
    Patient,
    PatientAttachment,
    PatientSummary,
    PdsRegistration,
    RegisteredPatient,
)
from ._base import Resource, body, optional, paginate, query

DEFAULT_PAGE_SIZE = 100


class Patients(Resource):
    """Patients (REFERENCE.md §9): PDS trace/registration, registration, lookup."""

    __slots__ = ()

    async def register_pds(
        self,
        *,
        dob: dt.date | str,
        nhs_number: str | None = None,
        forename: str | None = None,
        surname: str | None = None,
        postcode: str | None = None,
        ehr_partner: str | None = None,
        ehr_partner_id: str | None = None,
    ) -> PdsRegistration:
        """``POST /v1/patients/register_pds``: trace the patient on PDS (NHS number + dob, or
        forename + surname + dob + postcode) and return RegisteredPatient, or
        IdentityCheckRequired (send the patient to ``login_url``, then call again)."""
        fields = pds_fields(
            dob=dob, nhs_number=nhs_number, forename=forename, surname=surname, postcode=postcode
        )
        fields.update(
            body(
                ehr_partner=optional(v.text, ehr_partner, "ehr_partner"),
                ehr_partner_id=optional(v.text, ehr_partner_id, "ehr_partner_id"),
            )
        )
        # A trace returns the existing patient_id for a known patient (REFERENCE.md §9.1), so
        # unlike messages and links it is safe to resend after an unanswered attempt.
        data = await self._scope.request(
            "POST", "/v1/patients/register_pds", json=fields, idempotent=True
        )
        try:
            return _serde.load_pds(data)
        except _serde.ConversionError as exc:
            raise MalformedResponseError(
                f"unexpected register_pds answer ({exc})", status=200, body=repr(data)
            ).at("POST", "/v1/patients/register_pds", self._scope.practice_group_id) from None

    async def register(
        self,
        *,
        dob: dt.date | str,
        first_name: str,
        last_name: str,
        mobile: str,
        nhs_number: str | None = None,
        email: str | None = None,
        sex: v.Sex | None = None,
        title: str | None = None,
        landline: str | None = None,
        address_line_1: str | None = None,
        address_line_2: str | None = None,
        address_line_3: str | None = None,
        postcode: str | None = None,
        county: str | None = None,
        country: str | None = None,
        data_source: v.DataSource | None = None,
        ehr_partner_id: str | None = None,
    ) -> RegisteredPatient:
        """``POST /v1/patients/register``: create the patient, or update the one with the same
        NHS number and dob (§9.2), and return RegisteredPatient (its ``patient_id``).
        ``title`` is free text: Hero's enum (Baron ... Viscountess) was not fully captured."""
        fields = body(
            dob=_dob(dob),
            first_name=v.text(first_name, "first_name"),
            last_name=v.text(last_name, "last_name"),
            mobile=v.contact_detail(mobile, "mobile", "sms"),
            nhs_number=optional(v.nhs_number, nhs_number, "nhs_number"),
            email=None if email is None else v.contact_detail(email, "email", "email"),
            sex=optional(_sex, sex, "sex"),
            data_source=optional(_data_source, data_source, "data_source"),
            **_texts(
                title=title,
                landline=landline,
                address_line_1=address_line_1,
                address_line_2=address_line_2,
                address_line_3=address_line_3,
                postcode=postcode,
                county=county,
                country=country,
                ehr_partner_id=ehr_partner_id,
            ),
        )
        return await self._call("POST", "/v1/patients/register", RegisteredPatient, json=fields)

    async def get(self, patient_id: str) -> Patient:
        """``GET /v1/patients/{id}``: one patient of the practice group, as a Patient."""
        return await self._call("GET", _path(patient_id), Patient)

    async def lookup(
        self,
        *,
        field: v.PatientLookupField,
        search: str,
        page_index: int = 0,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> Page[PatientSummary]:
        """``GET /v1/patients?field=&search=``: the older one-field lookup (§9.3), e.g.
        ``field="emis_id"``; returns a page of PatientSummary (the description leaves the
        items free-form, so even ``id`` may be absent; ``raw`` has every field). Allowed
        fields are UNVERIFIED."""
        params = query(
            field=v.choice(field, "field", v.PATIENT_LOOKUP_FIELDS),
            search=v.text(search, "search"),
            page_index=page_index,
            page_size=v.positive_int(page_size, "page_size"),
        )
        return await self._page("/v1/patients", PatientSummary, params)

    async def attachments(self, patient_id: str) -> Page[PatientAttachment]:
        """``GET /v1/patients/{id}/attachments``: the patient's EHR files, as a page of
        PatientAttachment (pass an ``id`` to ``attachment_links.create(ehr_file_id=)``)."""
        return await self._page(f"{_path(patient_id)}/attachments", PatientAttachment, [])

    async def search(
        self,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        dob: dt.date | str | None = None,
        nhs_number: str | None = None,
        ehr_partner_id: str | None = None,
        page_index: int = 0,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> Page[PatientSummary]:
        """``GET /v3/patients``: structured search, every given filter must match; returns a
        page of PatientSummary. At least one filter is required."""
        filters = body(
            first_name=first_name,
            last_name=last_name,
            dob=optional(v.date, dob, "dob"),
            nhs_number=optional(v.nhs_number, nhs_number, "nhs_number"),
            ehr_partner_id=ehr_partner_id,
        )
        if not filters:
            raise ValidationError(
                "filters",
                "give at least one of first_name, last_name, dob, nhs_number, ehr_partner_id",
            )
        params = query(
            page_index=page_index, page_size=v.positive_int(page_size, "page_size"), **filters
        )
        return await self._page("/v3/patients", PatientSummary, params)

    def iterate_search(
        self,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        dob: dt.date | str | None = None,
        nhs_number: str | None = None,
        ehr_partner_id: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> AsyncIterator[PatientSummary]:
        """Every match of ``GET /v3/patients``, page after page (see ``search``)."""
        return paginate(
            lambda i: self.search(
                first_name=first_name,
                last_name=last_name,
                dob=dob,
                nhs_number=nhs_number,
                ehr_partner_id=ehr_partner_id,
                page_index=i,
                page_size=page_size,
            ),
            page_size,
        )


def _path(patient_id: str) -> str:
    return f"/v1/patients/{v.hero_id(patient_id, 'patient_id')}"


def _sex(value: object, field: str) -> str:
    return v.choice(value, field, v.SEXES)


def _data_source(value: object, field: str) -> str:
    return v.choice(value, field, v.DATA_SOURCES)


def _texts(**given: str | None) -> dict[str, str | None]:
    return {name: optional(v.text, value, name) for name, value in given.items()}


def _dob(value: object) -> str:
    return v.date(value, "dob", not_future=True, today=dt.date.today())


def pds_fields(
    *,
    dob: object,
    nhs_number: object = None,
    forename: object = None,
    surname: object = None,
    postcode: object = None,
) -> dict[str, Any]:
    """Validated register_pds body: NHS number + dob, or forename + surname + dob + postcode."""
    if nhs_number is not None:
        return {"nhs_number": v.nhs_number(nhs_number), "dob": _dob(dob)}
    if forename is None or surname is None or postcode is None:
        raise ValidationError(
            "nhs_number", "give nhs_number, or forename + surname + postcode (with dob)"
        )
    return {
        "dob": _dob(dob),
        "forename": v.text(forename, "forename"),
        "surname": v.text(surname, "surname"),
        "postcode": v.text(postcode, "postcode"),
    }
