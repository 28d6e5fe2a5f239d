"""The pre-pass: read and check the whole file before anything is sent.

A practice manager fixes a file in one go only if every problem of every row is named, with
its line, so a row is checked field by field: each time validation names a bad field, that
field is swapped for a known-good stand-in and the row is checked again. The stand-ins never
leave this module; the row itself is never sent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import attrs

from .._errors import ValidationError
from ..bulk import (
    COLUMNS,
    DEFAULT_TEMPLATE,
    FAILED,
    DateFormat,
    Invitation,
    InvitationResult,
    Row,
    plan,
    read_rows,
)

SHOWN_PROBLEMS = 10  # rows whose problems are printed before a run; the report has them all
_STAND_INS: dict[str, object] = {
    "key": "k",
    "practice_group_id": "1",
    "appointment_type_id": "1",
    "location_id": "1",
    "patient_id": "1",
    "nhs_number": "9434765919",
    "dob": dt.date(1980, 1, 1),
    "practitioner_id": None,
    "from_date": None,
    "to_date": None,
    "expiry_date": None,
    "maximum_use_count": None,
    "message_type": "sms",
    "message_template": DEFAULT_TEMPLATE,
    "recipient_contact_detail": None,
}


@attrs.define
class FileCheck:
    """What the pre-pass found. ``keys`` is held whole (the campaign fingerprint and the
    duplicate check need it): about 100 bytes a row."""

    rows: int = 0
    invalid: int = 0
    duplicates: int = 0
    ignored: tuple[str, ...] = ()
    problems: list[str] = attrs.field(factory=list)  # the first SHOWN_PROBLEMS, with lines
    keys: set[str] = attrs.field(factory=set)

    @property
    def valid(self) -> int:
        return self.rows - self.invalid


def row_problems(row: Row) -> list[str]:
    """Every problem of the row, as "field: what is wrong"."""
    problems = list(row.problems)
    bad = {problem.split(":", 1)[0] for problem in problems}
    invitation = _stand_in(row.invitation, bad)
    for _ in COLUMNS:
        try:
            plan(invitation)
            break
        except ValidationError as exc:
            problems.append(f"{exc.field}: {exc.problem}")
            if exc.field == "patient_id":  # "give patient_id, or nhs_number and dob"
                bad |= {"nhs_number", "dob"}
            bad.add(exc.field)
            invitation = _stand_in(invitation, bad)
    return problems


def _stand_in(invitation: Invitation, fields: set[str]) -> Invitation:
    changes = {name: _STAND_INS[name] for name in fields if name in _STAND_INS}
    return attrs.evolve(invitation, **changes) if changes else invitation  # type: ignore[arg-type]


def describe(row: Row, problems: list[str]) -> str:
    key = f" (key {row.invitation.key})" if row.invitation.key else ""
    return f"line {row.line}{key}: " + "; ".join(problems)


def check_file(path: Path, date_format: DateFormat, encoding: str) -> FileCheck:
    """Read every row once (bounded memory but for the key set); raises CsvError."""
    header, rows = read_rows(path, date_format=date_format, encoding=encoding)
    check = FileCheck(ignored=header.ignored)
    for row in rows:
        check.rows += 1
        problems = row_problems(row)
        key = row.invitation.key
        if not problems and key in check.keys:
            check.duplicates += 1
            problems = ["key: used by an earlier row too (this row will be skipped)"]
        else:
            check.keys.add(key)
        if problems and len(check.problems) < SHOWN_PROBLEMS:
            check.problems.append(describe(row, problems))
        check.invalid += bool(problems) and not problems[0].startswith("key: used by")
    return check


def valid_invitations(
    path: Path,
    date_format: DateFormat,
    encoding: str,
    rejected: list[InvitationResult],
    *,
    keys: set[str] | None = None,
) -> Iterator[Invitation]:
    """The file again, streamed for sending: valid rows go on; each bad row becomes a failed
    result (every problem, with its line) and never reaches the ledger. With ``keys`` (the
    pre-pass's), a row added to the file since is refused: it was never checked."""
    _, rows = read_rows(path, date_format=date_format, encoding=encoding)
    for row in rows:
        problems = row_problems(row)
        if keys is not None and row.invitation.key not in keys:
            problems = ["key: not in the file when it was checked (was it edited during the run?)"]
        if not problems:
            yield row.invitation
            continue
        invitation = row.invitation
        rejected.append(
            InvitationResult(
                key=invitation.key,
                practice_group_id=str(invitation.practice_group_id),
                state=FAILED,
                error_type="ValidationError",
                error=describe(row, problems),
            )
        )
