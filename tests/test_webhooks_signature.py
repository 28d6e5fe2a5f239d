"""verify_signature: digest encodings, tampering, wrong keys, timestamp formats and freshness."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hero_async._errors import HeroError, ValidationError
from hero_async.webhooks import WebhookSignatureError, parse_timestamp, verify_signature

KEY = "whsec_test_key"
BODY = (
    b'{"object":"Appointment","id":"156","practice_group_id":"42","event":"appointment.confirmed"}'
)
TS = "1700000000"
NOW = 1_700_000_010.0
# Computed with `openssl dgst -sha256 -hmac whsec_test_key` over "1700000000.<BODY>".
OPENSSL_HEX = "6ce44f76e7e4d648c0d1bfa8f833c5e95a0444b55f1acc7dab5756cf5a4ae5fd"
OPENSSL_B64 = "bORPdufk1kjA0b+o+DPF6VoERLVfGsx9q1dWz1pK5f0="


def sign(key: str, timestamp: str, body: bytes) -> bytes:
    """The digest the sender computes, written out independently of the SDK."""
    return hmac.new(key.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).digest()


def rejected(reason: str, **overrides: object) -> WebhookSignatureError:
    args: dict[str, object] = {
        "signing_key": KEY,
        "timestamp": TS,
        "raw_body": BODY,
        "signature": OPENSSL_HEX,
        "now": NOW,
    }
    args.update(overrides)
    with pytest.raises(WebhookSignatureError) as info:
        verify_signature(**args)  # type: ignore[arg-type]
    assert info.value.reason == reason
    return info.value


def test_openssl_vectors_verify_in_hex_and_base64() -> None:
    """The independently computed vectors match the helper and pass in both encodings."""
    assert sign(KEY, TS, BODY).hex() == OPENSSL_HEX
    assert base64.b64encode(sign(KEY, TS, BODY)).decode() == OPENSSL_B64
    for signature in (OPENSSL_HEX, OPENSSL_B64):
        verify_signature(KEY, TS, BODY, signature, now=NOW)  # raises when it fails


@pytest.mark.parametrize(
    "signature",
    [
        f"  {OPENSSL_HEX}\t",
        OPENSSL_HEX.upper(),
        f"sha256={OPENSSL_HEX}",
        OPENSSL_B64.rstrip("="),
        f" {OPENSSL_B64} ",
    ],
)
def test_header_variants_accepted(signature: str) -> None:
    """Surrounding whitespace, upper-case hex, a sha256= prefix and unpadded base64 pass."""
    verify_signature(KEY, TS, BODY, signature, now=NOW)


def test_key_and_body_may_be_bytes_or_str() -> None:
    verify_signature(KEY.encode(), TS, BODY.decode(), OPENSSL_HEX, now=NOW)


def test_tampered_body_rejected() -> None:
    rejected("mismatch", raw_body=BODY.replace(b"156", b"157"))


def test_reserialised_body_rejected() -> None:
    """Verification is over the exact bytes; a re-encoded JSON body is a different message."""
    rejected("mismatch", raw_body=BODY.replace(b",", b", "))


def test_wrong_key_rejected() -> None:
    rejected("mismatch", signing_key="whsec_other_key")


def test_signature_for_another_timestamp_rejected() -> None:
    rejected("mismatch", timestamp="1700000001")


def test_garbage_and_non_ascii_signatures_rejected() -> None:
    rejected("mismatch", signature="not-a-signature")
    rejected("mismatch", signature="é" * 64)


@pytest.mark.parametrize(("timestamp", "signature"), [("", OPENSSL_HEX), (TS, "  ")])
def test_missing_parts_rejected(timestamp: str, signature: str) -> None:
    rejected("missing", timestamp=timestamp, signature=signature)


def test_error_never_contains_key_or_signature() -> None:
    error = rejected("mismatch", signing_key="whsec_super_secret")
    assert "whsec_super_secret" not in str(error)
    assert OPENSSL_HEX not in str(error)
    assert isinstance(error, HeroError)


def test_empty_signing_key_is_a_programming_error() -> None:
    with pytest.raises(ValidationError, match="signing_key"):
        verify_signature("", TS, BODY, OPENSSL_HEX, now=NOW)


def test_stale_timestamp_rejected() -> None:
    error = rejected("stale", now=int(TS) + 301)
    assert "301 s old" in str(error)


def test_future_timestamp_rejected() -> None:
    rejected("future", now=int(TS) - 301)


def test_edges_of_tolerance_accepted_and_window_configurable() -> None:
    verify_signature(KEY, TS, BODY, OPENSSL_HEX, now=int(TS) + 300)
    verify_signature(KEY, TS, BODY, OPENSSL_HEX, now=int(TS) - 300)
    rejected("stale", now=int(TS) + 61, tolerance=60)
    verify_signature(KEY, TS, BODY, OPENSSL_HEX, now=int(TS) + 10**9, tolerance=None)


@pytest.mark.parametrize(
    "timestamp",
    [
        "1700000000000",
        "1700000000.25",
        "2023-11-14T22:13:20Z",
        "2023-11-14T23:13:20+01:00",
        "2023-11-14T22:13:20",
    ],
)
def test_milliseconds_and_iso_timestamps(timestamp: str) -> None:
    """A signature over any accepted timestamp form verifies when that moment is fresh."""
    signature = sign(KEY, timestamp, BODY).hex()
    verify_signature(KEY, timestamp, BODY, signature, now=NOW)
    rejected("stale", timestamp=timestamp, signature=signature, now=NOW + 3600)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1700000000", 1_700_000_000.0),
        ("1700000000123", 1_700_000_000.123),
        ("2023-11-14T22:13:20.5Z", 1_700_000_000.5),
        ("2023-11-14T22:13:20", 1_700_000_000.0),
    ],
)
def test_parse_timestamp(text: str, expected: float) -> None:
    assert parse_timestamp(text) == pytest.approx(expected)


@pytest.mark.parametrize("timestamp", ["yesterday", "1700000000x", "²³", "-1700000000", "nan"])
def test_unreadable_timestamp_rejected_after_a_valid_signature(timestamp: str) -> None:
    signature = sign(KEY, timestamp, BODY).hex()
    rejected("timestamp", timestamp=timestamp, signature=signature)


@given(key=st.text(min_size=1), body=st.binary(), timestamp=st.integers(0, 10**10))
def test_any_signed_body_verifies_and_any_flipped_byte_fails(
    key: str, body: bytes, timestamp: int
) -> None:
    digest = sign(key, str(timestamp), body)
    verify_signature(key, str(timestamp), body, digest.hex(), tolerance=None)
    verify_signature(key, str(timestamp), body, base64.b64encode(digest).decode(), tolerance=None)
    tampered = body + b"x"
    with pytest.raises(WebhookSignatureError):
        verify_signature(key, str(timestamp), tampered, digest.hex(), tolerance=None)
