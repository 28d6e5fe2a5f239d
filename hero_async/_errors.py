"""Everything hero-async raises, and the one pure function that maps a response to an error.

    HeroError
    ├── ValidationError            bad input, caught before anything is sent (names the field)
    ├── TransportError             no usable HTTP answer
    │   └── TimeoutError           connect or read timed out
    ├── OutcomeUnknownError        a POST may have reached Hero; never resent silently
    ├── MalformedResponseError     Hero answered 2xx with a body we cannot read
    ├── ClientClosedError          the HeroClient was used outside ``async with``
    ├── WebhookSignatureError      a webhook delivery failed verification (``reason``)
    ├── WebhookPayloadError        a verified delivery whose body is not a Hero event
    └── APIError                   Hero answered with an error status
        ├── BadRequestError        400 / 422, with Hero's ``message`` list as ``field_errors``
        ├── AuthenticationError    401
        ├── PermissionDeniedError  403
        │   └── CrossOrganisationDeniedError  403 for a practice group other than the key's own
        ├── NotFoundError          404
        ├── RateLimitError         429 (``retry_after`` in seconds when Hero sent one)
        └── ServerError            5xx

No error carries the API key or an access token: they never reach this module.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any

import attrs

__all__ = [
    "APIError",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "CrossOrganisationDeniedError",
    "FieldError",
    "HeroError",
    "MalformedResponseError",
    "NotFoundError",
    "OutcomeUnknownError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServerError",
    "TimeoutError",
    "TransportError",
    "ValidationError",
    "WebhookPayloadError",
    "WebhookSignatureError",
    "error_from_response",
]

_BODY_LIMIT = 500  # characters of a raw body kept in messages; bodies can be whole HTML pages


class HeroError(Exception):
    """Base class of every error hero-async raises."""


class ValidationError(HeroError, ValueError):
    """Input rejected before sending; ``field`` names the offending argument."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class ClientClosedError(HeroError, RuntimeError):
    """The client is not open (use ``async with HeroClient(...)``) or was already closed."""


class TransportError(HeroError):
    """The request got no usable HTTP answer (connection refused, reset, DNS...).

    ``reached_server`` is False only when the connection was never established, i.e. Hero
    provably did not see the request.
    """

    def __init__(
        self,
        message: str,
        *,
        reached_server: bool,
        method: str = "",
        path: str = "",
        practice_group_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.reached_server = reached_server
        self.method = method
        self.path = path
        self.practice_group_id = practice_group_id


class TimeoutError(TransportError, builtins.TimeoutError):  # named like asyncio's
    """Connecting or reading timed out."""


class OutcomeUnknownError(HeroError):
    """A non-idempotent request may have reached Hero but we saw no answer.

    Hero has no idempotency key, so the SDK never resends it: check Hero (or your ledger)
    before trying again, or a patient may get the same message twice.
    """

    def __init__(
        self, *, method: str, path: str, practice_group_id: str | None, cause: str
    ) -> None:
        super().__init__(
            f"{method} {path} for practice group {practice_group_id} may have reached Hero "
            f"({cause}); not resent automatically"
        )
        self.method = method
        self.path = path
        self.practice_group_id = practice_group_id
        self.cause = cause


class MalformedResponseError(HeroError):
    """Hero answered with a success status but a body we could not read. Carries the
    request's ``method``, ``path`` and ``practice_group_id`` like :class:`APIError`."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        body: str,
        method: str = "",
        path: str = "",
        practice_group_id: str | None = None,
    ) -> None:
        # The body stays out of the message: an answer can hold tokens or signing keys.
        super().__init__(f"{message} (status {status}, {len(body)} characters; see .body)")
        self.status = status
        self.body = body
        self.method = method
        self.path = path
        self.practice_group_id = practice_group_id

    def at(self, method: str, path: str, practice_group_id: str) -> MalformedResponseError:
        """Name the request this answer came from (the layer that reads a body knows the
        answer, the layer that sent it knows the request)."""
        self.method, self.path, self.practice_group_id = method, path, practice_group_id
        return self


class WebhookSignatureError(HeroError):
    """A delivery failed verification. Never carries the signing key or the signature.

    ``reason`` is a stable word for logs and metrics: ``missing``, ``mismatch``,
    ``timestamp`` (unreadable), ``stale`` or ``future``.
    """

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class WebhookPayloadError(HeroError):
    """A verified delivery whose body is not a Hero event (not JSON, or a field is missing)."""


@attrs.frozen
class FieldError:
    """One item of Hero's 400 ``message`` list: what failed where."""

    path: str
    code: str = ""
    expected: str = ""
    message: str = ""


class APIError(HeroError):
    """Hero answered with an error status."""

    def __init__(
        self,
        *,
        status: int,
        method: str,
        path: str,
        practice_group_id: str | None,
        request_id: str | None = None,
        body: Any = None,
    ) -> None:
        self.status = status
        self.method = method
        self.path = path
        self.practice_group_id = practice_group_id
        self.request_id = request_id
        self.body = body
        super().__init__(self._describe())

    def _describe(self) -> str:
        text = f"{self.status} {type(self).__name__} on {self.method} {self.path}"
        text += f" for practice group {self.practice_group_id}"
        if self.request_id:
            text += f" (request id {self.request_id})"
        detail = _detail(self.body)
        return f"{text}: {detail}" if detail else text


class BadRequestError(APIError):
    """400/422: Hero rejected the request; ``field_errors`` lists the failing paths."""

    @property
    def field_errors(self) -> tuple[FieldError, ...]:
        return _field_errors(self.body)


class AuthenticationError(APIError):
    """401: the API key is missing, wrong, rotated or revoked."""


class PermissionDeniedError(APIError):
    """403: the key lacks the scope for this endpoint, or may not act for this group."""


class CrossOrganisationDeniedError(PermissionDeniedError):
    """403 acting for another practice group: the two groups share no Hero network."""


class NotFoundError(APIError):
    """404: no such object (or, for register_pds, no patient found on PDS)."""


class RateLimitError(APIError):
    """429: too many requests. ``retry_after`` is in seconds when Hero said how long."""

    def __init__(self, *, retry_after: float | None = None, **kwargs: Any) -> None:
        self.retry_after = retry_after
        super().__init__(**kwargs)


class ServerError(APIError):
    """5xx: Hero failed. For a POST this means the outcome is unknown."""


_BY_STATUS: Mapping[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    422: BadRequestError,
    429: RateLimitError,
}


def error_from_response(
    *,
    status: int,
    method: str,
    path: str,
    practice_group_id: str | None,
    home_practice_group_id: str | None,
    body: Any,
    request_id: str | None = None,
    retry_after: float | None = None,
) -> APIError:
    """Map an error response to its exception. Pure: no I/O, no client state."""
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else APIError)
    if cls is PermissionDeniedError and practice_group_id != home_practice_group_id:
        cls = CrossOrganisationDeniedError
    kwargs: dict[str, Any] = {
        "status": status,
        "method": method,
        "path": path,
        "practice_group_id": practice_group_id,
        "request_id": request_id,
        "body": body,
    }
    if cls is RateLimitError:
        return RateLimitError(retry_after=retry_after, **kwargs)
    return cls(**kwargs)


def _detail(body: Any) -> str:
    """What of Hero's error body goes into the message: for a 400, the failing field paths and
    codes. Free text stays in ``.body`` only: Hero's (or a proxy's) text can echo the request,
    i.e. patient data, and messages end up in logs, ledgers and reports."""
    text = "; ".join(f"{e.path}: {e.code}" for e in _field_errors(body) if e.path or e.code)
    return text[:_BODY_LIMIT]


def _field_errors(body: Any) -> tuple[FieldError, ...]:
    message = body.get("message") if isinstance(body, Mapping) else None
    if not isinstance(message, list):
        return ()
    return tuple(_field_error(item) for item in message)


def _field_error(item: Any) -> FieldError:
    if not isinstance(item, Mapping):
        return FieldError(path="", message=str(item))
    path = item.get("path")
    dotted = ".".join(str(p) for p in path) if isinstance(path, list) else str(path or "")
    return FieldError(
        path=dotted,
        code=str(item.get("code") or ""),
        expected=str(item.get("expected") or ""),
        message=str(item.get("message") or ""),
    )
