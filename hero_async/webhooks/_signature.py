"""Verify a delivery's ``X-Herohealth-Signature``: HMAC-SHA256 over ``"{timestamp}.{raw_body}"``.

Hero documents the message and the algorithm but not the digest encoding nor the timestamp
format (REFERENCE §12.3, §14.15), so this accepts every reasonable reading: hex (any case) or
base64 (padding optional) digests, an optional lower-case ``sha256=`` prefix, and epoch seconds,
milliseconds or ISO 8601 timestamps. The timestamp is checked against a tolerance window so a
captured delivery cannot be replayed later.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from datetime import UTC, datetime

from .._errors import ValidationError
from ._events import WebhookSignatureError

__all__ = ["DEFAULT_TOLERANCE", "parse_timestamp", "verify_signature"]

# Five minutes, the usual window (Stripe, Slack): covers clock skew and slow retries by the
# sender while keeping a captured request useless soon after.
DEFAULT_TOLERANCE = 300.0

_EPOCH = re.compile(r"[0-9]+(\.[0-9]+)?")  # ASCII only: str.isdigit() also accepts "²"
_MILLISECONDS_FROM = 1e11  # 1e11 seconds is the year 5138; 1e11 ms is 1973
_PREFIX = "sha256="


def verify_signature(
    signing_key: str | bytes,
    timestamp: str,
    raw_body: bytes | str,
    signature: str,
    *,
    tolerance: float | None = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> None:
    """Return if the delivery is authentic and fresh; raise :class:`WebhookSignatureError`.

    ``raw_body`` must be the bytes exactly as received. ``tolerance`` (seconds) bounds how old
    or how far in the future the timestamp may be; ``None`` skips that check. ``now`` (epoch
    seconds) replaces the clock in tests.
    """
    key = signing_key.encode() if isinstance(signing_key, str) else signing_key
    if not key:
        raise ValidationError("signing_key", "must not be empty")
    timestamp = timestamp.strip()
    if not timestamp or not signature.strip():
        raise WebhookSignatureError("webhook timestamp or signature is missing", reason="missing")
    body = raw_body.encode() if isinstance(raw_body, str) else raw_body
    digest = hmac.new(key, timestamp.encode() + b"." + body, hashlib.sha256).digest()
    if not _matches(digest, signature):
        raise WebhookSignatureError("webhook signature does not match", reason="mismatch")
    # Freshness is checked after authenticity so "stale" always means "genuine but old":
    # a clock-skew diagnosis, not a hint to a forger.
    if tolerance is not None:
        _check_fresh(parse_timestamp(timestamp), tolerance, time.time() if now is None else now)


def parse_timestamp(value: str) -> float:
    """Epoch seconds from epoch seconds, epoch milliseconds or ISO 8601 (naive means UTC)."""
    text = value.strip()
    if _EPOCH.fullmatch(text):
        number = float(text)
        return number / 1000 if number > _MILLISECONDS_FROM else number
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise WebhookSignatureError(
            f"webhook timestamp {text[:40]!r} is not epoch seconds, milliseconds or ISO 8601",
            reason="timestamp",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _matches(digest: bytes, signature: str) -> bool:
    # The scheme is a fixed label, matched exactly (as Stripe and GitHub do): "SHA256=" is a
    # near miss from a sender we do not know, and the whole digest must follow it.
    received = signature.strip().removeprefix(_PREFIX)
    # Bytes, not str: compare_digest refuses non-ASCII str, and the header is attacker input.
    as_hex = received.lower().encode("utf-8", "replace")
    as_b64 = received.rstrip("=").encode("utf-8", "replace")
    hex_ok = hmac.compare_digest(digest.hex().encode(), as_hex)
    b64_ok = hmac.compare_digest(base64.b64encode(digest).rstrip(b"="), as_b64)
    # Each compare_digest covers the whole value, so a prefix or a truncated digest fails (the
    # lengths differ). Both always run (no short-circuit), so timing says not which matched.
    return hex_ok | b64_ok


def _check_fresh(sent_at: float, tolerance: float, now: float) -> None:
    age = now - sent_at
    if age > tolerance:
        raise WebhookSignatureError(
            f"webhook timestamp is {age:.0f} s old (tolerance {tolerance:.0f} s)", reason="stale"
        )
    if -age > tolerance:
        raise WebhookSignatureError(
            f"webhook timestamp is {-age:.0f} s in the future (tolerance {tolerance:.0f} s)",
            reason="future",
        )
