"""Receive Hero webhooks safely: verify the signature, parse the event, route it to handlers.

A service that reacts to Hero events (REFERENCE §12) needs only this::

    from aiohttp import web
    from hero_async.webhooks import WebhookEvent, WebhookRouter, webhook_app

    router = WebhookRouter()

    @router.on("appointment.confirmed")
    async def confirmed(event: WebhookEvent) -> None:
        ...  # fetch the appointment: the payload only names it (object, id, practice group)

    web.run_app(webhook_app(signing_key, router))  # POST /hero/webhooks

What the receiver does, safe by default:

* caps the body (64 KiB, else 413) before anything else;
* checks ``X-Herohealth-Signature`` = HMAC-SHA256 of ``"{X-Herohealth-Timestamp}.{body}"``
  (hex or base64, constant time) and rejects timestamps more than 5 minutes away (401);
* parses the four-field payload, keeping ``event`` as a string (400 when malformed);
* answers 200 at once and runs the handlers in a background task it owns;
* skips a redelivered ``(event, id)`` seen in the last 5 minutes (bounded memory);
* logs a failing handler on the ``hero_async.webhooks`` logger and still runs the others.

The pieces work on their own too: :func:`verify_signature` and :func:`parse_event` for another
web framework, :meth:`WebhookRouter.dispatch` to feed events from a queue, and
:func:`webhook_handler` to mount the endpoint in an existing aiohttp application. In tests,
``await app[WEBHOOK_RECEIVER].drain()`` waits until the handlers have run.
"""

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
