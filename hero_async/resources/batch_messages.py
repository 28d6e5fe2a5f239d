"""Batch messages (REFERENCE.md §8.2): create, then ``send`` starts the mass send."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Final, TypedDict

from .. import _validate as v
from .._errors import ValidationError
from ..models import BatchMessage, BatchRecipient, BatchSend, Page
from ._base import Resource, body, optional, paginate, query

PATH = "/v1/batch_message"
DEFAULT_PAGE_SIZE = 100
# UNVERIFIED (issue 12 decision): recipients[].dob is typed "date-time or null" (§8.2), and a
# schema validator refuses a date-only value there, so a date of birth goes as midnight UTC.
# One-line fix if Hero wants "YYYY-MM-DD": "{date}".
RECIPIENT_DOB_FORMAT: Final = "{date}T00:00:00.000Z"


class NhsNumberRecipient(TypedDict):
    """The captured recipient shape: NHS number and date of birth (``None`` sends null)."""

    nhs_number: str
    dob: dt.date | str | None


class PatientRecipient(TypedDict):
    """A Hero patient by id (UNVERIFIED: the description's other ``oneOf`` branch)."""

    patient_id: str


Recipient = NhsNumberRecipient | PatientRecipient


class BatchMessages(Resource):
    """Batch messages (REFERENCE.md §8.2): create, then ``send`` starts the mass send."""

    __slots__ = ()

    async def create(
        self,
        *,
        name: str,
        channel: v.BatchChannel,
        content: str,
        recipients: Iterable[Recipient],
        subject: str | None = None,
    ) -> BatchMessage:
        """``POST /v1/batch_message``: create a batch (status CREATED) and return the
        BatchMessage. Each recipient is ``{"nhs_number", "dob"}`` (``dob`` may be None) or
        ``{"patient_id"}``; ``subject`` is required for EMAIL. Nothing is sent until ``send``.
        """
        kind = v.choice(channel, "channel", v.BATCH_CHANNELS)
        if kind == "EMAIL" and subject is None:
            raise ValidationError("subject", "required when channel is EMAIL")
        fields = body(
            name=v.text(name, "name"),
            channel=kind,
            subject=optional(v.text, subject, "subject"),
            content=v.text(content, "content"),
            recipients=_recipients(recipients),
        )
        return await self._call("POST", PATH, BatchMessage, json=fields)

    async def get(self, batch_id: str) -> BatchMessage:
        """``GET /v1/batch_message/{id}``: one batch, as a BatchMessage with its status."""
        return await self._call("GET", f"{PATH}/{_id(batch_id)}", BatchMessage)

    async def list(
        self,
        *,
        page_index: int = 0,
        page_size: int = DEFAULT_PAGE_SIZE,
        status: v.RecipientStatus | None = None,
    ) -> Page[BatchMessage]:
        """``GET /v1/batch_message``: one page of batches. ``status`` takes the enum that
        page documents (the recipient statuses, §14.13), not the batch's own statuses."""
        return await self._page(PATH, BatchMessage, _paging(page_index, page_size, status))

    def iterate(
        self, *, page_size: int = DEFAULT_PAGE_SIZE, status: v.RecipientStatus | None = None
    ) -> AsyncIterator[BatchMessage]:
        """Every batch, page after page of ``GET /v1/batch_message`` (see ``list``)."""
        return paginate(
            lambda i: self.list(page_index=i, page_size=page_size, status=status), page_size
        )

    async def send(self, batch_id: str) -> None:
        """``PATCH /v1/batch_message/{id}/send``: start the mass send; returns nothing.
        Never retried automatically: a resend could double the mass send. Any 2xx is a
        success, whatever its body (the description promises none)."""
        await self._no_body("PATCH", f"{PATH}/{_id(batch_id)}/send")

    async def recipients(
        self,
        batch_id: str,
        *,
        page_index: int = 0,
        page_size: int = DEFAULT_PAGE_SIZE,
        status: v.RecipientStatus | None = None,
    ) -> Page[BatchRecipient]:
        """``GET /v1/batch_message/{id}/recipients``: one page of per-recipient rows
        (BatchRecipient, with ``raw``: their fields were not captured)."""
        path = f"{PATH}/{_id(batch_id)}/recipients"
        return await self._page(path, BatchRecipient, _paging(page_index, page_size, status))

    async def messages(
        self,
        batch_id: str,
        *,
        page_index: int = 0,
        page_size: int = DEFAULT_PAGE_SIZE,
        status: v.RecipientStatus | None = None,
    ) -> Page[BatchSend]:
        """``GET /v1/batch_message/{id}/messages``: one page of the messages the batch
        generated (BatchSend, with ``raw``)."""
        path = f"{PATH}/{_id(batch_id)}/messages"
        return await self._page(path, BatchSend, _paging(page_index, page_size, status))


def _id(batch_id: str) -> str:
    return v.opaque_id(batch_id, "batch_id")


def _paging(page_index: int, page_size: int, status: str | None) -> list[tuple[str, str]]:
    return query(
        page_index=v.positive_int(page_index, "page_index") if page_index else 0,
        page_size=v.positive_int(page_size, "page_size"),
        status=optional(_status, status, "status"),
    )


def _status(value: object, field: str) -> str:
    return v.choice(value, field, v.RECIPIENT_STATUSES)


def _recipients(items: Iterable[Recipient]) -> list[dict[str, str | None]]:
    out = [_recipient(item, f"recipients[{n}]") for n, item in enumerate(items)]
    if not out:
        raise ValidationError("recipients", "at least one recipient is required")
    return out


def _recipient(item: Mapping[str, object], where: str) -> dict[str, str | None]:
    if "patient_id" in item:
        if "nhs_number" in item:
            raise ValidationError(where, "give patient_id or nhs_number + dob, not both")
        return {"patient_id": v.hero_id(item["patient_id"], f"{where}.patient_id")}
    if "dob" not in item:  # required by the description, even when null
        raise ValidationError(f"{where}.dob", "required (pass None if unknown)")
    dob = item["dob"]
    return {
        "nhs_number": v.nhs_number(item.get("nhs_number"), f"{where}.nhs_number"),
        "dob": None
        if dob is None
        else RECIPIENT_DOB_FORMAT.format(
            date=v.date(dob, f"{where}.dob", not_future=True, today=dt.date.today())
        ),
    }
