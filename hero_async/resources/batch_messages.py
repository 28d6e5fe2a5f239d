from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

from .. import _validate as v
from .._errors import ValidationError
from ..models import BatchMessage, BatchRecipient, BatchSend, Page
from ._base import Resource, body, optional, paginate, query

PATH = "/v1/batch_message"
DEFAULT_PAGE_SIZE = 100


class BatchMessages(Resource):
    """Batch messages (REFERENCE.md §8.2): create, then ``send`` starts the mass send."""

    __slots__ = ()

    async def create(
        self,
        *,
        name: str,
        channel: str,
        content: str,
        recipients: Iterable[Mapping[str, Any]],
        subject: str | None = None,
    ) -> BatchMessage:
        """``recipients`` items are ``{"nhs_number": ..., "dob": ...}`` (the captured shape)."""
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
        return await self._call("GET", f"{PATH}/{_id(batch_id)}", BatchMessage)

    async def list(
        self, *, page_index: int = 0, page_size: int = DEFAULT_PAGE_SIZE, status: str | None = None
    ) -> Page[BatchMessage]:
        return await self._page(PATH, BatchMessage, _paging(page_index, page_size, status))

    def iterate(
        self, *, page_size: int = DEFAULT_PAGE_SIZE, status: str | None = None
    ) -> AsyncIterator[BatchMessage]:
        return paginate(
            lambda i: self.list(page_index=i, page_size=page_size, status=status), page_size
        )

    async def send(self, batch_id: str) -> None:
        """Start sending. Never retried automatically: a resend could double the mass send."""
        await self._scope.request("PATCH", f"{PATH}/{_id(batch_id)}/send")

    async def recipients(
        self,
        batch_id: str,
        *,
        page_index: int = 0,
        page_size: int = DEFAULT_PAGE_SIZE,
        status: str | None = None,
    ) -> Page[BatchRecipient]:
        path = f"{PATH}/{_id(batch_id)}/recipients"
        return await self._page(path, BatchRecipient, _paging(page_index, page_size, status))

    async def messages(
        self,
        batch_id: str,
        *,
        page_index: int = 0,
        page_size: int = DEFAULT_PAGE_SIZE,
        status: str | None = None,
    ) -> Page[BatchSend]:
        path = f"{PATH}/{_id(batch_id)}/messages"
        return await self._page(path, BatchSend, _paging(page_index, page_size, status))


def _id(batch_id: str) -> str:
    return v.opaque_id(batch_id, "batch_id")


def _paging(page_index: int, page_size: int, status: str | None) -> list[tuple[str, str]]:
    return query(
        page_index=v.positive_int(page_index, "page_index") if page_index else 0,
        page_size=v.positive_int(page_size, "page_size"),
        status=optional(v.text, status, "status"),
    )


def _recipients(items: Iterable[Mapping[str, Any]]) -> list[dict[str, str]]:
    out = []
    for n, item in enumerate(items):
        out.append(
            {
                "nhs_number": v.nhs_number(item.get("nhs_number"), f"recipients[{n}].nhs_number"),
                "dob": v.date(
                    item.get("dob"), f"recipients[{n}].dob", not_future=True, today=dt.date.today()
                ),
            }
        )
    if not out:
        raise ValidationError("recipients", "at least one recipient is required")
    return out
