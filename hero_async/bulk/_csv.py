"""Invitations from CSV: one row per invitation, columns named as Invitation's fields.

Rows are read lazily (a million-row file is fine). A cell left empty means "not given".
Conversion never raises for a bad cell: the value goes through as text and the pipeline's
validation reports that row as failed, naming the field, while the other rows go on.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from pathlib import Path

import attrs

from ._invitation import DEFAULT_TEMPLATE, Invitation

__all__ = ["COLUMNS", "REQUIRED_COLUMNS", "read_invitations"]

COLUMNS = tuple(field.name for field in attrs.fields(Invitation))
REQUIRED_COLUMNS = ("key", "practice_group_id", "appointment_type_id", "location_id")


def read_invitations(path: str | Path) -> Iterator[Invitation]:
    """Yield an Invitation per row. Every row needs its own stable ``key``: a key made up from
    the row's position would silently point at another patient once the file changes."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        _check_header(reader.fieldnames or [], path)
        for row in reader:
            yield _invitation(row)


def _check_header(header: Sequence[str], path: str | Path) -> None:
    unknown = sorted(set(header) - set(COLUMNS))
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if unknown or missing:
        raise ValueError(
            f"{path}: unknown columns {unknown}, missing columns {missing}; "
            f"columns are {', '.join(COLUMNS)}"
        )


def _invitation(row: dict[str | None, str | None]) -> Invitation:
    cells = {name: (row.get(name) or "").strip() or None for name in COLUMNS}
    count: object = cells["maximum_use_count"]
    if isinstance(count, str) and count.isascii() and count.isdigit() and len(count) < 10:
        count = int(count)  # anything else goes on as text and fails validation, named
    return Invitation(
        key=cells["key"] or "",  # required: a missing key fails validation, named
        practice_group_id=cells["practice_group_id"] or "",
        appointment_type_id=cells["appointment_type_id"] or "",
        location_id=cells["location_id"] or "",
        patient_id=cells["patient_id"],
        nhs_number=cells["nhs_number"],
        dob=cells["dob"],
        practitioner_id=cells["practitioner_id"],
        from_date=cells["from_date"],
        to_date=cells["to_date"],
        expiry_date=cells["expiry_date"],
        maximum_use_count=count,  # type: ignore[arg-type]  # a bad count fails validation, named
        message_type=cells["message_type"] or "sms",
        message_template=cells["message_template"] or DEFAULT_TEMPLATE,
        recipient_contact_detail=cells["recipient_contact_detail"],
    )
