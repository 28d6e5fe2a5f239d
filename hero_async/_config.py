"""Where a HeroClient's settings come from: arguments first, then environment variables."""

from __future__ import annotations

import ipaddress
import os
from urllib.parse import urlsplit

from . import _constants as C
from ._errors import ValidationError

__all__ = ["from_env", "is_loopback", "resolve_base_url"]


def from_env(value: str | None, field: str, variable: str) -> str:
    if value is None:
        value = os.environ.get(variable)
    if not value:
        raise ValidationError(field, f"missing: pass {field}= or set {variable}")
    return value


ENV_BASE_URL = "HERO_BASE_URL"  # a standalone fake, a proxy; same rule as base_url=


def resolve_base_url(environment: str | None, base_url: str | None) -> str:
    """base_url=, then environment=, then HERO_BASE_URL, then HERO_ENVIRONMENT."""
    if base_url is None and environment is None and os.environ.get(ENV_BASE_URL):
        return _checked(os.environ[ENV_BASE_URL], ENV_BASE_URL)
    if base_url is None:
        env = environment or os.environ.get(C.ENV_ENVIRONMENT) or C.DEFAULT_ENVIRONMENT
        if env not in C.ENVIRONMENTS:
            raise ValidationError("environment", f"must be one of {sorted(C.ENVIRONMENTS)}")
        return C.ENVIRONMENTS[env]
    return _checked(base_url, "base_url")


def _checked(base_url: str, source: str) -> str:
    try:
        parts = urlsplit(base_url)
        host = parts.hostname
    except ValueError:
        host = None
    if host and parts.scheme == "https":
        return base_url.rstrip("/")
    if host and parts.scheme == "http" and is_loopback(host):
        return base_url.rstrip("/")
    raise ValidationError(
        "base_url", f"{source} must be https:// (plain http:// only for loopback hosts)"
    )


def is_loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False
