"""Webhooks tag (§12.1): create, list, get, update, delete for the acting practice group.

Get-one, update and the ``DELETE /v1/webhooks/{id}`` path are UNVERIFIED (taken from
openapi-subset.yaml); delete answers the deleted webhook (UNVERIFIED). The signing key is
echoed back, as Hero does. ``description`` is accepted but, like Hero's response schema,
never echoed.
"""

from __future__ import annotations

import yarl

from hero_async.testing._rules import WEBHOOK_EVENT_TYPES
from hero_async.testing._state import Call, Json, iso_utc
from hero_async.testing._validation import Fields, Reject


def create_webhook(call: Call) -> Json:
    fields = Fields(call.body)
    event_type = fields.text("event_type", required=True, choices=WEBHOOK_EVENT_TYPES)
    url = _url(fields, required=True)
    signing_key = fields.text("signing_key")
    headers = fields.string_map("headers")
    fields.text("description")
    fields.done()
    stamp = iso_utc(call.now)
    hook: Json = {
        "id": call.world.uuid(),
        "event_type": event_type,
        "url": url,
        "created_at": stamp,
        "updated_at": stamp,
    }
    if signing_key is not None:
        hook["signing_key"] = signing_key
    if headers is not None:
        hook["headers"] = headers
    call.group.webhooks[hook["id"]] = hook
    return hook


def list_webhooks(call: Call) -> Json:
    """``{data, count}`` (UNVERIFIED, §12.1); ``event_type`` filters exactly."""
    wanted = call.query.get("event_type")
    data = [h for h in call.group.webhooks.values() if wanted is None or h["event_type"] == wanted]
    return {"data": data, "count": len(data)}


def get_webhook(call: Call) -> Json:
    return _find(call)


def update_webhook(call: Call) -> Json:
    hook = _find(call)
    fields = Fields(call.body)
    changes = {
        "event_type": fields.text("event_type", choices=WEBHOOK_EVENT_TYPES),
        "url": _url(fields, required=False),
        "signing_key": fields.text("signing_key"),
        "headers": fields.string_map("headers"),
    }
    fields.text("description")
    fields.done()
    hook.update((key, value) for key, value in changes.items() if value is not None)
    hook["updated_at"] = iso_utc(call.now)
    return hook


def delete_webhook(call: Call) -> Json:
    hook = _find(call)
    del call.group.webhooks[hook["id"]]
    return hook


def _url(fields: Fields, *, required: bool) -> str | None:
    """An absolute http(s) URL, as ``format: uri`` demands; any host may subscribe."""
    value = fields.text("url", required=required)
    if value is None:
        return None
    try:
        parsed = yarl.URL(value)
    except ValueError:
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        fields.fail("url", "invalid_string", "url")
        return None
    return value


def _find(call: Call) -> Json:
    hook = call.group.webhooks.get(call.params["id"])
    if hook is None:
        raise Reject(404)
    return hook


ROUTES = (
    ("POST", "/v1/webhooks", create_webhook),
    ("GET", "/v1/webhooks", list_webhooks),
    ("GET", "/v1/webhooks/{id}", get_webhook),
    ("PATCH", "/v1/webhooks/{id}", update_webhook),
    ("DELETE", "/v1/webhooks/{id}", delete_webhook),
)
