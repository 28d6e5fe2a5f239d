"""POST /v1/access_token: a real HS256 JWT with exp = now + 1800 on the injected clock (§4)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from fakehero_support import START, Caller, ManualClock

from hero_async.testing import FakeHero


def _part(text: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


async def test_access_token_is_a_signed_hs256_jwt(fake: FakeHero, hero: Caller) -> None:
    """Verified with the standard library alone, independent of the fake's own decoder."""
    body = await hero.ok("POST", "/v1/access_token")
    assert list(body) == ["access_token"]
    header, payload, signature = body["access_token"].split(".")
    assert _part(header) == {"alg": "HS256", "typ": "JWT"}
    expected = hmac.new(fake.jwt_secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    assert base64.urlsafe_b64encode(expected).rstrip(b"=").decode() == signature
    claims = _part(payload)
    assert claims["iat"] == int(START)
    assert claims["exp"] == int(START) + 1800
    assert claims["practice_group_id"] == "1001"


async def test_token_expiry_follows_the_injected_clock(
    clock: ManualClock, fake: FakeHero, hero: Caller
) -> None:
    """An aged clock yields a later exp; the cross-org group lands in the claims."""
    clock.advance(3600)
    token = (await hero.ok("POST", "/v1/access_token", group="1002"))["access_token"]
    claims = fake.decode_access_token(token)
    assert claims["exp"] == int(START) + 3600 + 1800
    assert claims["practice_group_id"] == "1002"


async def test_access_token_takes_no_body_but_tolerates_one(hero: Caller) -> None:
    """The Elements guide sends Content-Type: application/json with the empty POST."""
    assert (await hero("POST", "/v1/access_token", {})).status == 200


async def test_each_token_is_distinct(hero: Caller) -> None:
    first = await hero.ok("POST", "/v1/access_token")
    second = await hero.ok("POST", "/v1/access_token")
    assert first != second
