from __future__ import annotations

import datetime as dt

from .. import _validate as v
from .._errors import ValidationError
from ..models import AttachmentLink
from ._base import Resource, body, optional


class AttachmentLinks(Resource):
    """``POST /v1/attachment_links``: let a patient open an EHR file (REFERENCE.md §7.5)."""

    __slots__ = ()

    async def create(
        self,
        *,
        patient_id: str,
        ehr_file_id: str | None = None,
        file_data: str | None = None,
        file_name: str | None = None,
        expiry_date: dt.date | str | None = None,
        maximum_use_count: int | None = None,
    ) -> AttachmentLink:
        """``POST /v1/attachment_links``: share an EHR file (``ehr_file_id`` from
        ``patients.attachments``) or uploaded ``file_data`` with the patient; returns the
        AttachmentLink (pass its ``attachment_uuid`` to ``messages.send``)."""
        if ehr_file_id is None and file_data is None:
            raise ValidationError("ehr_file_id", "give ehr_file_id or file_data")
        fields = body(
            patient_id=v.hero_id(patient_id, "patient_id"),
            ehr_file_id=optional(v.opaque_id, ehr_file_id, "ehr_file_id"),
            file_data=optional(v.text, file_data, "file_data"),
            file_name=optional(v.text, file_name, "file_name"),
            expiry_date=optional(v.date, expiry_date, "expiry_date"),
            maximum_use_count=optional(v.positive_int, maximum_use_count, "maximum_use_count"),
        )
        return await self._call("POST", "/v1/attachment_links", AttachmentLink, json=fields)
