"""Hero-style request validation: collect every issue, then answer 400 with all of them.

The 400 body is the one the reference documents (§6)::

    {"error": true, "statusCode": 400,
     "message": [{"code": "invalid_type", "expected": "string", "path": ["patient_id"]}]}

Items carry exactly ``code``, ``expected`` and ``path``; codes follow the schema-validator
vocabulary the shape resembles. Unknown body keys are accepted: Hero's behaviour for them is
not documented, and refusing them would break clients the moment Hero adds a field.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import Any

from hero_async.testing._rules import MISSING_REFERENCE_STATUS, NOT_FOUND_MESSAGE

_DIGITS = re.compile(r"[0-9]+")  # Hero's ^\d+$ is a JS pattern: ASCII only, no final \n
_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?)?$"
)
_NHS_WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)

Issue = dict[str, Any]
PathItem = str | int


class Reject(Exception):
    """Raised by handlers; the dispatcher turns it into Hero's JSON error answer."""

    def __init__(self, status: int, message: Any = NOT_FOUND_MESSAGE) -> None:
        super().__init__(status, message)
        self.status = status
        self.message = message


def error_body(status: int, message: Any) -> dict[str, Any]:
    return {"error": True, "statusCode": status, "message": message}


def issue(path: Sequence[PathItem], code: str, expected: str) -> Issue:
    return {"code": code, "expected": expected, "path": list(path)}


def bad_request(path: Sequence[PathItem], code: str, expected: str) -> Reject:
    """A one-issue 400, for rules that need the world (e.g. "slot is free")."""
    return Reject(400, [issue(path, code, expected)])


def require(found: Mapping[str, Any], key: str, what: str) -> None:
    """404 when a body names something the acting practice group does not have."""
    if key not in found:
        raise Reject(MISSING_REFERENCE_STATUS, f"{what} {key} not found")


def nhs_number_ok(value: str) -> bool:
    """Mod-11 check of a 10-digit NHS number (spaces already removed)."""
    if len(value) != 10 or not _DIGITS.fullmatch(value):
        return False
    total = sum(w * int(c) for w, c in zip(_NHS_WEIGHTS, value, strict=False))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(value[9])


def parse_date(value: str) -> dt.date | None:
    """A real calendar date in ``YYYY-MM-DD`` form (a full date-time is also taken)."""
    when = parse_datetime(value)
    return when.date() if when is not None else None


def parse_datetime(value: str) -> dt.datetime | None:
    """ISO 8601 date or date-time; naive values are UTC, as Hero's guide says all times are."""
    if not _DATETIME.match(value):
        return None
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:  # 2023-02-30 and friends
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


class Fields:
    """Reads one JSON object, collecting issues instead of stopping at the first."""

    __slots__ = ("body", "issues", "prefix")

    def __init__(
        self, body: Any, issues: list[Issue] | None = None, prefix: tuple[PathItem, ...] = ()
    ) -> None:
        self.issues: list[Issue] = [] if issues is None else issues
        self.prefix = prefix
        if isinstance(body, Mapping):
            self.body: Mapping[str, Any] = body
        else:
            self.body = {}
            self.issues.append(issue(prefix, "invalid_type", "object"))

    def fail(self, key: PathItem, code: str, expected: str) -> None:
        self.issues.append(issue((*self.prefix, key), code, expected))

    def done(self) -> None:
        if self.issues:
            raise Reject(400, self.issues)

    def _get(
        self,
        key: str,
        kind: type | tuple[type, ...],
        expected: str,
        *,
        required: bool,
        nullable: bool = False,
    ) -> Any:
        value = self.body.get(key)
        if value is None:
            # null counts as absent only where the field is nullable; elsewhere Hero's
            # validator sees the wrong type (an optional field may be left out, not nulled).
            if (required or key in self.body) and not (nullable and key in self.body):
                self.fail(key, "invalid_type", expected)
            return None
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            self.fail(key, "invalid_type", expected)
            return None
        return value

    def text(
        self,
        key: str,
        *,
        required: bool = False,
        digits: bool = False,
        nonempty: bool = False,
        choices: Sequence[str] = (),
        nullable: bool = False,
    ) -> str | None:
        value: str | None = self._get(key, str, "string", required=required, nullable=nullable)
        if value is None:
            return None
        if choices and value not in choices:
            self.fail(key, "invalid_enum_value", " | ".join(f"'{c}'" for c in choices))
        elif digits and not _DIGITS.fullmatch(value):
            self.fail(key, "invalid_string", r"^\d+$")
        elif nonempty and not value:
            self.fail(key, "too_small", "non-empty string")
        else:
            return value
        return None

    def flag(self, key: str) -> bool | None:
        value: bool | None = self._get(key, bool, "boolean", required=False)
        return value

    def number(
        self,
        key: str,
        *,
        required: bool = False,
        minimum: float | None = None,
    ) -> float | None:
        value: float | None = self._get(key, (int, float), "number", required=required)
        if value is not None and minimum is not None and value < minimum:
            self.fail(key, "too_small", f">= {minimum:g}")
            return None
        return value

    def date(self, key: str, *, required: bool = False, nullable: bool = False) -> dt.date | None:
        value = self.text(key, required=required, nullable=nullable)
        if value is None:
            return None
        parsed = parse_date(value)
        if parsed is None:
            self.fail(key, "invalid_date", "ISO 8601 date (YYYY-MM-DD)")
        return parsed

    def when(
        self,
        key: str,
        *,
        required: bool = False,
        nullable: bool = False,
        time_required: bool = False,
    ) -> dt.datetime | None:
        value = self.text(key, required=required, nullable=nullable)
        if value is None:
            return None
        parsed = parse_datetime(value)
        if parsed is None or (time_required and "T" not in value):
            self.fail(key, "invalid_date", "ISO 8601 date-time")
        return parsed

    def nhs_number(self, key: str, *, required: bool = False) -> str | None:
        value = self.text(key, required=required)
        if value is None:
            return None
        digits = value.replace(" ", "")
        if not nhs_number_ok(digits):
            self.fail(key, "custom", "valid NHS number (10 digits, mod-11 check digit)")
            return None
        return digits

    def string_map(self, key: str) -> dict[str, str] | None:
        value: dict[str, Any] | None = self._get(key, dict, "object", required=False)
        if value is None:
            return None
        for name, item in value.items():
            if not isinstance(item, str):
                self.issues.append(issue((*self.prefix, key, name), "invalid_type", "string"))
        return value

    def array(self, key: str, *, required: bool = False, min_items: int = 0) -> list[Any] | None:
        value: list[Any] | None = self._get(key, list, "array", required=required)
        if value is not None and len(value) < min_items:
            self.fail(key, "too_small", f">= {min_items} items")
            return None
        return value
