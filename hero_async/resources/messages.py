from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

from .. import _validate as v
from ..models import ListedMessage, Page, SentMessage
from ._base import Resource, body, optional, paginate, query

PATH = "/v1/messages/send"
# UNVERIFIED (§8.3): "List Sent Messages" exists; its path was not captured (one-line fix).
LIST_PATH = "/v1/messages"
DEFAULT_PAGE_SIZE = 100


class Messages(Resource):
    """``POST /v1/messages/send``: one message to one patient (REFERENCE.md §8.1).

    Hero has no idempotency key: a send that may have reached Hero raises
    OutcomeUnknownError and is never resent by the SDK.
    """

    __slots__ = ()

    async def send(
        self,
        *,
        patient_id: str,
        message_type: v.MessageType,
        message_string: str,
        recipient_contact_detail: str | None = None,
        fallback_contact_detail: str | None = None,
        fallback_message_type: v.FallbackMessageType | None = None,
        write_to_record: bool | None = None,
        encrypted: bool | None = None,
        snomed_code: str | None = None,
        snomed_term: str | None = None,
        auto_write_to_record: bool | None = None,
        task_id: str | None = None,
        attachment_uuid: str | None = None,
        short_link_id: str | None = None,
        assignee_id: int | None = None,
        assignee_type: v.AssigneeType | None = None,
        send_at: dt.datetime | str | None = None,
    ) -> SentMessage:
        """``POST /v1/messages/send``: send one message to one patient and return the
        SentMessage (``message_id`` always; content and timestamps when Hero sends them).
        ``recipient_contact_detail`` defaults to the patient record's contact for the
        channel. Never resent: an unanswered attempt raises OutcomeUnknownError.
        """
        kind = v.choice(message_type, "message_type", v.MESSAGE_TYPES)
        fallback = optional(_fallback_type, fallback_message_type, "fallback_message_type")
        fields = body(
            patient_id=v.hero_id(patient_id, "patient_id"),
            message_type=kind,
            message_string=v.text(message_string, "message_string"),
            recipient_contact_detail=None
            if recipient_contact_detail is None
            else v.contact_detail(recipient_contact_detail, "recipient_contact_detail", kind),
            fallback_contact_detail=None
            if fallback_contact_detail is None
            else v.contact_detail(
                fallback_contact_detail, "fallback_contact_detail", fallback or kind
            ),
            fallback_message_type=fallback,
            write_to_record=optional(v.boolean, write_to_record, "write_to_record"),
            encrypted=optional(v.boolean, encrypted, "encrypted"),
            snomed_code=optional(v.text, snomed_code, "snomed_code"),
            snomed_term=optional(v.text, snomed_term, "snomed_term"),
            auto_write_to_record=optional(v.boolean, auto_write_to_record, "auto_write_to_record"),
            task_id=optional(v.opaque_id, task_id, "task_id"),
            attachment_uuid=optional(v.opaque_id, attachment_uuid, "attachment_uuid"),
            short_link_id=optional(v.opaque_id, short_link_id, "short_link_id"),
            assignee_id=optional(v.positive_int, assignee_id, "assignee_id"),
            assignee_type=optional(_assignee_type, assignee_type, "assignee_type"),
            send_at=optional(v.datetime_, send_at, "send_at"),
        )
        return await self._call("POST", PATH, SentMessage, json=fields)

    async def list(
        self, *, page_index: int = 0, page_size: int = DEFAULT_PAGE_SIZE
    ) -> Page[ListedMessage]:
        """``GET /v1/messages`` (path UNVERIFIED, ``LIST_PATH``): one page of the messages the
        practice group has sent, as ListedMessage items with the raw rows kept."""
        params = query(
            page_index=v.positive_int(page_index, "page_index") if page_index else 0,
            page_size=v.positive_int(page_size, "page_size"),
        )
        return await self._page(LIST_PATH, ListedMessage, params)

    def iterate(self, *, page_size: int = DEFAULT_PAGE_SIZE) -> AsyncIterator[ListedMessage]:
        """Every sent message, page after page of ``GET /v1/messages`` (see ``list``)."""
        return paginate(lambda i: self.list(page_index=i, page_size=page_size), page_size)


def _fallback_type(value: object, field: str) -> str:
    return v.choice(value, field, v.FALLBACK_MESSAGE_TYPES)


def _assignee_type(value: object, field: str) -> str:
    return v.choice(value, field, v.ASSIGNEE_TYPES)
