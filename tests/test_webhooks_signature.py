"""verify_signature: digest encodings, tampering, wrong keys, timestamp formats and freshness."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

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


# -- near misses: only the whole, exact digest passes -------------------------------------------


def _one_off(text: str, at: int) -> str:
    """``text`` with the character at ``at`` replaced by another of the same alphabet."""
    swap = "1" if text[at] != "1" else "2"
    return text[:at] + swap + text[at + 1 :]


NEAR_MISSES = {
    "hex, first character off": _one_off(OPENSSL_HEX, 0),
    "hex, last character off": _one_off(OPENSSL_HEX, 63),
    "hex, middle character off": _one_off(OPENSSL_HEX, 31),
    "hex, last character dropped": OPENSSL_HEX[:-1],
    "hex, first half": OPENSSL_HEX[:32],
    "hex, first 8 characters": OPENSSL_HEX[:8],
    "hex, one character extra": OPENSSL_HEX + "0",
    "hex, doubled": OPENSSL_HEX * 2,
    "hex, first character dropped": OPENSSL_HEX[1:],
    "base64, first character off": _one_off(OPENSSL_B64, 0),
    "base64, last digit character off": _one_off(OPENSSL_B64, 42),
    "base64, truncated": OPENSSL_B64[:20],
    "base64, one character extra": OPENSSL_B64.rstrip("=") + "A",
    "prefix only": "sha256=",
    "prefix and whitespace": "sha256=   ",
    "prefix, truncated hex": f"sha256={OPENSSL_HEX[:8]}",
    "prefix twice": f"sha256=sha256={OPENSSL_HEX}",
    "upper-case scheme": f"SHA256={OPENSSL_HEX}",
    "mixed-case scheme": f"Sha256={OPENSSL_HEX}",
    "another scheme": f"sha1={OPENSSL_HEX}",
    "scheme without =": f"sha256{OPENSSL_HEX}",
    "v1= scheme": f"v1={OPENSSL_HEX}",
    "hex with inner space": OPENSSL_HEX[:32] + " " + OPENSSL_HEX[32:],
    "base64 of the hex": base64.b64encode(OPENSSL_HEX.encode()).decode(),
    "raw digest as latin-1": bytes.fromhex(OPENSSL_HEX).decode("latin-1"),
}


@pytest.mark.parametrize("signature", list(NEAR_MISSES.values()), ids=list(NEAR_MISSES))
def test_near_miss_signatures_rejected(signature: str) -> None:
    """A digest that is off by a character, cut short, padded, or under another scheme fails."""
    rejected("mismatch", signature=signature)


@pytest.mark.parametrize("signature", ["", " ", "\t\n"])
def test_empty_signature_rejected_as_missing(signature: str) -> None:
    rejected("missing", signature=signature)


@given(cut=st.integers(0, 63))
def test_every_proper_prefix_of_the_hex_digest_rejected(cut: int) -> None:
    """The length is part of the digest: no prefix, however long, passes (nor its upper case)."""
    for signature in (OPENSSL_HEX[:cut], OPENSSL_HEX[:cut].upper(), f"sha256={OPENSSL_HEX[:cut]}"):
        with pytest.raises(WebhookSignatureError):
            verify_signature(KEY, TS, BODY, signature, now=NOW)


@given(at=st.integers(0, 63), data=st.data())
def test_every_single_character_change_of_the_hex_digest_rejected(
    at: int, data: st.DataObject
) -> None:
    replacement = data.draw(
        st.sampled_from("0123456789abcdef").filter(lambda c: c != OPENSSL_HEX[at])
    )
    signature = OPENSSL_HEX[:at] + replacement + OPENSSL_HEX[at + 1 :]
    with pytest.raises(WebhookSignatureError):
        verify_signature(KEY, TS, BODY, signature, now=NOW)


@given(at=st.integers(0, 42), data=st.data())
def test_every_single_character_change_of_the_base64_digest_rejected(
    at: int, data: st.DataObject
) -> None:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    replacement = data.draw(st.sampled_from(alphabet).filter(lambda c: c != OPENSSL_B64[at]))
    signature = OPENSSL_B64[:at] + replacement + OPENSSL_B64[at + 1 :]
    with pytest.raises(WebhookSignatureError):
        verify_signature(KEY, TS, BODY, signature, now=NOW)


# -- what mutation testing found untested (tests/MUTATION.md) -----------------------------------


def test_without_now_the_real_clock_judges_freshness() -> None:
    """``now`` defaults to the wall clock: a delivery signed at this moment passes, and one
    signed an hour ago is stale (no sleeping: the timestamps are chosen, the clock is read)."""
    fresh = str(int(time.time()))
    verify_signature(KEY, fresh, BODY, sign(KEY, fresh, BODY).hex())
    old = str(int(time.time()) - 3600)
    with pytest.raises(WebhookSignatureError) as info:
        verify_signature(KEY, old, BODY, sign(KEY, old, BODY).hex())
    assert info.value.reason == "stale"


def test_milliseconds_start_exactly_above_1e11() -> None:
    """1e11 itself is read as seconds (year 5138), the next integer up as milliseconds."""
    assert parse_timestamp("100000000000") == 1e11
    assert parse_timestamp("100000000001") == pytest.approx(100_000_000.001)


def test_naive_iso_timestamp_is_utc_whatever_the_machine_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        assert parse_timestamp("2023-11-14T22:13:20") == 1_700_000_000.0
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.parametrize("signature", ["\udcff" * 64, "sha256=" + "\ud800" * 44, "\udc80"])
def test_undecodable_header_bytes_are_a_mismatch_not_a_crash(signature: str) -> None:
    """aiohttp hands undecodable header bytes over as lone surrogates (surrogateescape)."""
    rejected("mismatch", signature=signature)


def test_error_messages_say_what_failed_without_echoing_secrets() -> None:
    with pytest.raises(ValidationError) as empty_key:
        verify_signature("", TS, BODY, OPENSSL_HEX, now=NOW)
    assert str(empty_key.value) == "signing_key: must not be empty"
    missing = rejected("missing", signature=" ")
    assert str(missing) == "webhook timestamp or signature is missing"
    mismatch = rejected("mismatch", signature=OPENSSL_HEX[:-1] + "0")
    assert str(mismatch) == "webhook signature does not match"
    future = rejected("future", now=int(TS) - 301)
    assert str(future) == "webhook timestamp is 301 s in the future (tolerance 300 s)"
    stale = rejected("stale", now=int(TS) + 400, tolerance=60)
    assert str(stale) == "webhook timestamp is 400 s old (tolerance 60 s)"


def test_unreadable_timestamp_message_quotes_at_most_40_characters() -> None:
    timestamp = "y" * 39 + "z" + "!" * 20
    error = rejected("timestamp", timestamp=timestamp, signature=sign(KEY, timestamp, BODY).hex())
    assert str(error) == (
        f"webhook timestamp {timestamp[:40]!r} is not epoch seconds, milliseconds or ISO 8601"
    )
