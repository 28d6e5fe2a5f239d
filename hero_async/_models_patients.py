"""Patient models (§9), kept apart from ``models.py`` for size; import them from there.

Also home of the repr maskers both modules use: reprs end up in logs, so identifying fields,
secrets and capability URLs show as ``'***'`` (the values themselves are untouched).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, TypeAlias
from urllib.parse import urlsplit

import attrs


def masked(value: object) -> str:
    return "None" if value is None else "'***'"


def url_host(value: object) -> str:
    """Show only scheme and host of a capability URL (its path is the secret)."""
    if value is None:
        return "None"
    try:  # str(): a URL object (yarl.URL) would otherwise show its whole path
        parts = urlsplit(str(value))
    except ValueError:  # e.g. a broken IPv6 host: a repr must not raise
        return masked(value)
    host = parts.netloc.rpartition("@")[2]  # user:password@ is a secret too
    return repr(f"{parts.scheme}://{host}/***" if host else "***")


@attrs.frozen
class RegisteredPatient:
    patient_id: str
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


@attrs.frozen
class IdentityCheckRequired:
    """register_pds could not confirm identity: the patient must verify at ``login_url``."""

    login_url: str = attrs.field(repr=url_host)
    message: str | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


PdsRegistration: TypeAlias = RegisteredPatient | IdentityCheckRequired


@attrs.frozen
class PatientSummary:
    """An item of ``GET /v3/patients``; the field list was cut off, so ``raw`` has the rest."""

    id: str | None = None  # likely present, not captured (§9.3)
    ehr_partner_id: str | None = None
    emis_id: str | None = None
    ods_code: str | None = None
    dob: dt.date | None = attrs.field(default=None, repr=masked)
    deceased_at: dt.datetime | None = None
    title: str | None = None
    first_name: str | None = attrs.field(default=None, repr=masked)
    last_name: str | None = attrs.field(default=None, repr=masked)
    sex: str | None = None
    nhs_number: str | None = attrs.field(
        default=None, repr=masked
    )  # likely present, not captured (§9.3)
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


@attrs.frozen
class Patient:
    """``GET /v1/patients/{id}`` (§9.3). Identifying fields are masked in ``repr``."""

    id: str
    uid: str | None = None
    emis_id: str | None = None
    ehr_partner_id: str | None = None
    dob: dt.date | None = attrs.field(
        default=None, repr=masked
    )  # typed date-time by Hero, but it is a date of birth
    deceased_at: dt.datetime | None = None
    title: str | None = None
    first_name: str | None = attrs.field(default=None, repr=masked)
    last_name: str | None = attrs.field(default=None, repr=masked)
    sex: str | None = None
    nhs_number: str | None = attrs.field(default=None, repr=masked)
    email: str | None = attrs.field(default=None, repr=masked)
    emails: tuple[str, ...] = attrs.field(default=(), repr=masked)
    mobile: str | None = attrs.field(default=None, repr=masked)
    last_sync_at: dt.datetime | None = None
    address_line_1: str | None = attrs.field(default=None, repr=masked)
    address_line_2: str | None = attrs.field(default=None, repr=masked)
    address_line_3: str | None = attrs.field(default=None, repr=masked)
    country: str | None = None
    postcode: str | None = attrs.field(default=None, repr=masked)
    town: str | None = None
    county: str | None = None
    notes: str | None = attrs.field(default=None, repr=masked)
    verification_credentials: tuple[str, ...] = attrs.field(default=(), repr=masked)
    data_source: str | None = None  # hero, emis, pds, gha, systm_one so far
    restricted: bool = False
    sex_changed_at: dt.datetime | None = None
    status: str | None = None  # archived, unarchived
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


@attrs.frozen
class PatientAttachment:
    """An item of ``GET /v1/patients/{id}/attachments``: an EHR file to share with
    ``attachment_links.create(ehr_file_id=...)``. Item fields were not captured (§9)."""

    id: str | None = None
    file_name: str | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)
