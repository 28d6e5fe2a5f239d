"""hero_async.webhooks is the one public door to the receiver: its names are pinned here."""

from __future__ import annotations

import hero_async.webhooks as webhooks

EXPECTED = [
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


def test_public_names_are_pinned_and_importable() -> None:
    assert webhooks.__all__ == EXPECTED
    for name in EXPECTED:
        assert getattr(webhooks, name) is not None


def test_headers_are_the_documented_ones() -> None:
    """REFERENCE §12.3 names exactly these two headers."""
    assert webhooks.TIMESTAMP_HEADER == "X-Herohealth-Timestamp"
    assert webhooks.SIGNATURE_HEADER == "X-Herohealth-Signature"
