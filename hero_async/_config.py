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


def resolve_base_url(environment: str | None, base_url: str | None) -> str:
    if base_url is None:
        env = environment or os.environ.get(C.ENV_ENVIRONMENT) or C.DEFAULT_ENVIRONMENT
        if env not in C.ENVIRONMENTS:
            raise ValidationError("environment", f"must be one of {sorted(C.ENVIRONMENTS)}")
        return C.ENVIRONMENTS[env]
    parts = urlsplit(base_url)
    if parts.scheme == "https" and parts.hostname:
        return base_url.rstrip("/")
    if parts.scheme == "http" and is_loopback(parts.hostname):
        return base_url.rstrip("/")
    raise ValidationError("base_url", "must be https:// (plain http:// only for loopback hosts)")


def is_loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False
