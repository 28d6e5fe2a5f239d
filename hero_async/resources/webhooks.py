"""Webhook subscriptions (REFERENCE.md §12.1). Receiving them: ``hero_async.webhooks``."""

from __future__ import annotations

from collections.abc import Mapping

from .. import _validate as v
from .._errors import ValidationError
from ..models import Page, Webhook
from ._base import Resource, body, optional, query

PATH = "/v1/webhooks"


class Webhooks(Resource):
    __slots__ = ()

    async def create(
        self,
        *,
        event_type: str,
        url: str,
        signing_key: str | None = None,
        headers: Mapping[str, str] | None = None,
        description: str | None = None,
    ) -> Webhook:
        """Subscribe to one event type. Pass ``signing_key`` so deliveries can be verified."""
        fields = body(
            event_type=v.choice(event_type, "event_type", v.WEBHOOK_EVENT_TYPES),
            url=v.url(url, "url"),
            signing_key=optional(v.text, signing_key, "signing_key"),
            headers=None if headers is None else _headers(headers),
            description=optional(v.text, description, "description"),
        )
        return await self._call("POST", PATH, Webhook, json=fields)

    async def list(self, *, event_type: str | None = None) -> Page[Webhook]:
        params = query(event_type=optional(v.text, event_type, "event_type"))
        return await self._page(PATH, Webhook, params)

    async def delete(self, webhook_id: str) -> None:
        await self._scope.request("DELETE", f"{PATH}/{v.opaque_id(webhook_id, 'webhook_id')}")


def _headers(headers: Mapping[str, str]) -> dict[str, str]:
    out = {}
    for name, value in headers.items():
        out[v.header_value(name, "headers")] = v.header_value(value, f"headers[{name}]")
    if not out:
        raise ValidationError("headers", "empty; leave it out instead")
    return out
