"""Receive Hero webhooks safely: verify the signature, parse the event, route it to handlers."""

from __future__ import annotations

from ._events import WebhookEvent, WebhookPayloadError, WebhookSignatureError, parse_event
from ._receiver import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WEBHOOK_RECEIVER,
    WebhookReceiver,
    webhook_app,
    webhook_handler,
)
from ._router import Deduplicator, DispatchResult, Handler, WebhookRouter
from ._signature import DEFAULT_TOLERANCE, parse_timestamp, verify_signature

__all__ = [
    "DEFAULT_TOLERANCE",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "WEBHOOK_RECEIVER",
    "Deduplicator",
    "DispatchResult",
    "Handler",
    "WebhookEvent",
    "WebhookPayloadError",
    "WebhookReceiver",
    "WebhookRouter",
    "WebhookSignatureError",
    "parse_event",
    "parse_timestamp",
    "verify_signature",
    "webhook_app",
    "webhook_handler",
]
