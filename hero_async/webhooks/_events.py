"""The webhook payload as a value, its parser, and the two errors a receiver raises.

Hero's payload is deliberately thin (REFERENCE §12.2): four strings naming what changed; the
receiver fetches the details through the REST API. The parser uses plain ``json`` and explicit
checks instead of the SDK's converter, so it stays independent of the models and strict about
the four required fields while tolerating any extra keys Hero adds later.
"""

from __future__ import annotations

import json
from typing import Any

import attrs

from .._errors import WebhookPayloadError, WebhookSignatureError

__all__ = ["WebhookEvent", "WebhookPayloadError", "WebhookSignatureError", "parse_event"]

_REQUIRED = ("object", "id", "practice_group_id", "event")


@attrs.frozen
class WebhookEvent:
    """One Hero event. ``event`` stays a ``str`` so new event names never break parsing."""

    object: str
    id: str
    practice_group_id: str
    event: str

    @property
    def dedupe_key(self) -> tuple[str, str]:
        """What identifies a redelivery: the same event about the same object."""
        return (self.event, self.id)


def parse_event(raw_body: bytes | str) -> WebhookEvent:
    """Parse a delivery body; raise :class:`WebhookPayloadError` when it is not an event."""
    data = _load_json(raw_body)
    if not isinstance(data, dict):
        raise WebhookPayloadError(f"webhook body must be a JSON object, not {type(data).__name__}")
    values = {name: _required_string(data, name) for name in _REQUIRED}
    return WebhookEvent(**values)


def _load_json(raw_body: bytes | str) -> Any:
    try:
        return json.loads(raw_body)
    # UnicodeDecodeError is a ValueError; RecursionError comes from absurdly nested input.
    except (ValueError, RecursionError) as exc:
        raise WebhookPayloadError("webhook body is not valid JSON") from exc


def _required_string(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value:
        problem = "is missing" if value is None else "must be a non-empty string"
        raise WebhookPayloadError(f"webhook field {name!r} {problem}")
    return value
