"""Webhook subscriptions (REFERENCE.md §12.1). Receiving them: ``hero_async.webhooks``."""

from __future__ import annotations

from collections.abc import Mapping

from .. import _validate as v
from .._errors import ValidationError
from ..models import Page, Webhook
from ._base import Resource, body, optional, query

PATH = "/v1/webhooks"


# UNVERIFIED (§12.1, §14.16): get-one and update were not seen; REST-style guesses.
GET_ONE = ("GET", "/v1/webhooks/{id}")
UPDATE = ("PATCH", "/v1/webhooks/{id}")
DELETE = ("DELETE", "/v1/webhooks/{id}")


class Webhooks(Resource):
    """``/v1/webhooks``: subscriptions to Hero events (receiving: ``hero_async.webhooks``)."""

    __slots__ = ()

    async def create(
        self,
        *,
        event_type: v.WebhookEventType,
        url: str,
        signing_key: str | None = None,
        headers: Mapping[str, str] | None = None,
        description: str | None = None,
    ) -> Webhook:
        """``POST /v1/webhooks``: subscribe to one event type and return the Webhook (Hero
        echoes ``signing_key``). Pass ``signing_key`` so deliveries can be verified."""
        fields = body(
            event_type=v.choice(event_type, "event_type", v.WEBHOOK_EVENT_TYPES),
            url=v.url(url, "url"),
            signing_key=optional(v.text, signing_key, "signing_key"),
            headers=None if headers is None else _headers(headers),
            description=optional(v.text, description, "description"),
        )
        return await self._call("POST", PATH, Webhook, json=fields)

    async def list(self, *, event_type: v.WebhookEventType | None = None) -> Page[Webhook]:
        """``GET /v1/webhooks``: the practice group's subscriptions, as a page of Webhook
        (a bare JSON array is read too: the list shape was not captured)."""
        params = query(event_type=optional(_event_type, event_type, "event_type"))
        return await self._page(PATH, Webhook, params)

    async def get(self, webhook_id: str) -> Webhook:
        """``GET /v1/webhooks/{id}`` (UNVERIFIED, ``GET_ONE``): one subscription."""
        method, path = GET_ONE
        return await self._call(method, path.format(id=_id(webhook_id)), Webhook)

    async def update(
        self,
        webhook_id: str,
        *,
        event_type: v.WebhookEventType | None = None,
        url: str | None = None,
        signing_key: str | None = None,
        headers: Mapping[str, str] | None = None,
        description: str | None = None,
    ) -> Webhook:
        """``PATCH /v1/webhooks/{id}`` (UNVERIFIED, ``UPDATE``): change only the fields
        given (at least one) and return the updated Webhook."""
        fields = body(
            event_type=optional(_event_type, event_type, "event_type"),
            url=optional(v.url, url, "url"),
            signing_key=optional(v.text, signing_key, "signing_key"),
            headers=None if headers is None else _headers(headers),
            description=optional(v.text, description, "description"),
        )
        if not fields:
            raise ValidationError("webhook", "nothing to update")
        method, path = UPDATE
        return await self._call(method, path.format(id=_id(webhook_id)), Webhook, json=fields)

    async def delete(self, webhook_id: str) -> None:
        """``DELETE /v1/webhooks/{id}`` (path UNVERIFIED, ``DELETE``): unsubscribe; returns
        nothing, and any 2xx is a success whatever its body."""
        method, path = DELETE
        await self._no_body(method, path.format(id=_id(webhook_id)))


def _id(webhook_id: str) -> str:
    return v.opaque_id(webhook_id, "webhook_id")


def _event_type(value: object, field: str) -> str:
    return v.choice(value, field, v.WEBHOOK_EVENT_TYPES)


def _headers(headers: Mapping[str, str]) -> dict[str, str]:
    out = {}
    for name, value in headers.items():
        out[v.header_value(name, "headers")] = v.header_value(value, f"headers[{name}]")
    if not out:
        raise ValidationError("headers", "empty; leave it out instead")
    return out
