"""Invitations from CSV files as practices export them (Excel, EMIS, SystmOne searches).

One row per invitation, columns named as Invitation's fields, matched case-, space- and
underscore-insensitively ("NHS Number", "Date of birth" and a few other spellings too).
Columns that mean nothing to us ("First name", "Surname", "Postcode") are ignored and
listed in ``Header.ignored``; a near miss of a real column ("mesage_template") is refused,
because ignoring it would silently change what patients are sent.

Rows are read lazily with their line numbers. Blank rows (Excel's ",,,,") are skipped. A bad
cell never stops reading: the row carries a problem naming the field, in words, and never the
value (it may be patient data). Dates are ``YYYY-MM-DD`` or the UK ``DD/MM/YYYY``; never
``MM/DD``. Bytes that are not text in the file's encoding raise ``CsvError`` naming the line.
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Literal

import attrs

from ._invitation import DEFAULT_TEMPLATE, Invitation

__all__ = [
    "COLUMNS",
    "DATE_FORMATS",
    "REQUIRED_COLUMNS",
    "CsvError",
    "DateFormat",
    "Header",
    "Row",
    "read_invitations",
    "read_rows",
]

COLUMNS = tuple(field.name for field in attrs.fields(Invitation))
REQUIRED_COLUMNS = ("key", "practice_group_id", "appointment_type_id", "location_id")
DATE_COLUMNS = ("dob", "from_date", "to_date", "expiry_date")
DateFormat = Literal["auto", "YYYY-MM-DD", "DD/MM/YYYY"]
DATE_FORMATS: tuple[DateFormat, ...] = ("auto", "YYYY-MM-DD", "DD/MM/YYYY")
_ALIASES = {"dateofbirth": "dob", "birthdate": "dob", "nhsno": "nhs_number", "nhs": "nhs_number"}
_ISO = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
# Excel writes a date cell as "31/01/1980" or, for a date-time cell, "31/01/1980 00:00".
_UK = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]+)(?: 00:00(?::00)?)?")
_ENCODING_HINT = 'in Excel use Save As > "CSV UTF-8 (Comma delimited)", or pass --encoding cp1252'


class CsvError(ValueError):
    """The file as a whole cannot be used (empty, bad header, not text): nothing is sent."""


@attrs.frozen
class Header:
    fields: tuple[str | None, ...]  # per CSV column: the Invitation field, or None (ignored)
    ignored: tuple[str, ...]  # column names as written in the file


@attrs.frozen
class Row:
    line: int  # 1-based line of the file where the row starts (the header is line 1)
    invitation: Invitation
    problems: tuple[str, ...] = ()  # "field: what is wrong", found while reading the cells


def _normal(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.lower())


_KNOWN = {_normal(name): name for name in COLUMNS} | _ALIASES


def read_header(names: list[str], path: str | Path) -> Header:
    fields: list[str | None] = []
    ignored: list[str] = []
    seen: dict[str, str] = {}
    near_misses: list[str] = []  # all of them at once: one fix of the file, not one per run
    for raw in names:
        name = raw.strip()
        field = _KNOWN.get(_normal(name))
        if field is None and name:
            close = difflib.get_close_matches(_normal(name), _KNOWN, n=1, cutoff=0.8)
            if close:
                near_misses.append(f"unknown column {name!r}: did you mean {_KNOWN[close[0]]}?")
            else:
                ignored.append(name)
        if field is not None and field in seen:
            raise CsvError(f"{path}: columns {seen[field]!r} and {name!r} both mean {field}")
        if field is not None:
            seen[field] = name
        fields.append(field)
    if near_misses:
        raise CsvError(f"{path}: " + "; ".join(near_misses))
    missing = [name for name in REQUIRED_COLUMNS if name not in seen]
    if missing:
        raise CsvError(
            f"{path}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"(columns are {', '.join(COLUMNS)})"
        )
    return Header(tuple(fields), tuple(ignored))


def _lines(path: str | Path, encoding: str) -> Iterator[str]:
    """Decode line by line, so a bad byte is reported with its line number."""
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, 1):
            try:
                yield raw.decode("utf-8-sig" if number == 1 and encoding == "utf-8" else encoding)
            except UnicodeDecodeError:
                raise CsvError(
                    f"{path}, line {number}: not {encoding} text; {_ENCODING_HINT}"
                ) from None


def read_rows(
    path: str | Path, *, date_format: DateFormat = "auto", encoding: str = "utf-8"
) -> tuple[Header, Iterator[Row]]:
    """The header (checked now) and a lazy iterator over the non-blank rows."""
    lines = _lines(path, encoding)
    reader = csv.reader(lines)
    try:
        names = next(reader)
    except StopIteration:
        raise CsvError(f"{path}: file is empty") from None
    if not any(name.strip() for name in names):
        raise CsvError(f"{path}: file is empty (no header row)")
    header = read_header(names, path)
    return header, _rows(reader, header, date_format)


def _rows(reader: Iterable[list[str]], header: Header, date_format: DateFormat) -> Iterator[Row]:
    line = 2
    for cells in reader:
        start, line = line, reader.line_num + 1  # type: ignore[attr-defined]
        if not any(cell.strip() for cell in cells):
            continue  # Excel's trailing ",,,," rows
        yield _row(start, cells, header, date_format)


def _row(line: int, cells: list[str], header: Header, date_format: DateFormat) -> Row:
    values: dict[str, object] = {}
    problems: list[str] = []
    for field, cell in zip(header.fields, cells, strict=False):
        if field is not None and cell.strip():
            values[field] = cell.strip()
    if any(cell.strip() for cell in cells[len(header.fields) :]):
        problems.append("row: has more cells than the header has columns")
    for field in DATE_COLUMNS:
        if field in values:
            values[field] = _date(str(values[field]), field, date_format, problems)
    if "maximum_use_count" in values:
        values["maximum_use_count"] = _count(str(values["maximum_use_count"]), problems)
    values.setdefault("message_template", DEFAULT_TEMPLATE)
    for name in REQUIRED_COLUMNS:
        values.setdefault(name, "")
    return Row(line, Invitation(**values), tuple(problems))  # type: ignore[arg-type]


def _date(text: str, field: str, date_format: DateFormat, problems: list[str]) -> object:
    iso, uk = _ISO.fullmatch(text), _UK.fullmatch(text)
    match = iso if date_format != "DD/MM/YYYY" else None
    if match is None and date_format != "YYYY-MM-DD" and uk is not None:
        day, month, year = uk.groups()
        if len(year) != 4:
            problems.append(f"{field}: the year must have 4 digits (DD/MM/YYYY)")
            return text
        match_parts = (int(year), int(month), int(day))
    elif match is not None:
        match_parts = (int(match[1]), int(match[2]), int(match[3]))
    else:
        wanted = "YYYY-MM-DD or DD/MM/YYYY" if date_format == "auto" else date_format
        problems.append(f"{field}: not a date written as {wanted}")
        return text
    try:
        return dt.date(*match_parts)
    except ValueError:
        problems.append(f"{field}: not a real calendar date (day/month out of range)")
        return text


def _count(text: str, problems: list[str]) -> object:
    whole = text[:-2] if text.endswith(".0") else text  # Excel writes a number cell as "1.0"
    if whole.isascii() and whole.isdigit() and len(whole) < 10:
        return int(whole)
    problems.append("maximum_use_count: must be a whole number such as 1")
    return text


def read_invitations(
    path: str | Path, *, date_format: DateFormat = "auto", encoding: str = "utf-8"
) -> Iterator[Invitation]:
    """Yield an Invitation per non-blank row (the header is checked on the first ``next``).
    A bad cell goes on as text, so the pipeline's validation fails that row, naming it."""
    _, rows = read_rows(path, date_format=date_format, encoding=encoding)
    for row in rows:
        yield row.invitation
