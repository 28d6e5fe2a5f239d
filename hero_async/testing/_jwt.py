"""Real HS256 JWTs for ``POST /v1/access_token``, built with the standard library only.

Hero documents neither the claims nor the signing key (§4, §14.20). The fake signs with a
per-instance secret (``FakeHero.jwt_secret``) and puts ``exp`` = ``iat`` + 1800 and the
practice group in the claims, so a client that decodes ``exp`` can be tested against an
injected clock.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from hero_async.testing._rules import ACCESS_TOKEN_LIFETIME

_HEADER = {"alg": "HS256", "typ": "JWT"}
ISSUER = "hero-async-fake"  # UNVERIFIED: Hero's issuer claim is unknown


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _compact(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()


def encode(claims: dict[str, Any], secret: bytes) -> str:
    """header.payload.signature, each part base64url without padding."""
    signing_input = f"{_b64(_compact(_HEADER))}.{_b64(_compact(claims))}"
    signature = hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def access_token(practice_group_id: str, now: float, secret: bytes, token_id: str) -> str:
    """The Elements token: integer ``iat``/``exp`` (seconds), 30 minutes apart."""
    issued = int(now)
    claims = {
        "iss": ISSUER,
        "iat": issued,
        "exp": issued + ACCESS_TOKEN_LIFETIME,
        "practice_group_id": practice_group_id,
        "jti": token_id,
    }
    return encode(claims, secret)


def decode(token: str, secret: bytes) -> dict[str, Any]:
    """Verify the signature and return the claims (for tests); ValueError when forged."""
    signing_input, _, signature = token.rpartition(".")
    expected = hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()
    if not hmac.compare_digest(_unb64(signature), expected):
        raise ValueError("bad JWT signature")
    claims: dict[str, Any] = json.loads(_unb64(signing_input.partition(".")[2]))
    return claims
