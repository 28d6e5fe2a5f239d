"""Reading CSV exports: header spellings, UK dates, line numbers, blank rows, encodings."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from bulk_support import sandbox

from hero_async import Invitation, ValidationError
from hero_async.bulk._csv import COLUMNS, CsvError, read_invitations, read_rows
from hero_async.bulk._invitation import DEFAULT_TEMPLATE, plan

HEADER = "key,practice_group_id,nhs_number,dob,appointment_type_id,location_id"


def _write(tmp_path: Path, *lines: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "invitations.csv"
    path.write_text("\n".join(lines) + "\n", encoding=encoding)
    return path


def test_reads_every_column_into_the_invitation(tmp_path: Path) -> None:
    """Each Invitation field has a column of the same name; cells are trimmed and become the
    fields (maximum_use_count as an int, dates as dates), quoted commas included."""
    values = {
        "key": "flu/1",
        "practice_group_id": " 1002 ",
        "appointment_type_id": "10",
        "location_id": "20",
        "patient_id": "100001",
        "nhs_number": "9434765919",
        "dob": "1980-01-31",
        "practitioner_id": "30",
        "from_date": "2026-10-01",
        "to_date": "2026-10-31",
        "expiry_date": "2026-11-30",
        "maximum_use_count": " 2 ",
        "message_type": "email",
        "message_template": "Book, please: {link}",
        "recipient_contact_detail": "a@example.com",
    }
    assert set(values) == set(COLUMNS)
    path = _write(
        tmp_path, ",".join(reversed(COLUMNS)), ",".join(f'"{values[c]}"' for c in reversed(COLUMNS))
    )
    (item,) = read_invitations(path)
    assert item == Invitation(
        key="flu/1",
        practice_group_id="1002",
        appointment_type_id="10",
        location_id="20",
        patient_id="100001",
        nhs_number="9434765919",
        dob=dt.date(1980, 1, 31),
        practitioner_id="30",
        from_date=dt.date(2026, 10, 1),
        to_date=dt.date(2026, 10, 31),
        expiry_date=dt.date(2026, 11, 30),
        maximum_use_count=2,
        message_type="email",
        message_template="Book, please: {link}",
        recipient_contact_detail="a@example.com",
    )


def test_empty_cells_mean_not_given(tmp_path: Path) -> None:
    """Empty or blank cells are None; message_type and template fall back to their defaults."""
    path = _write(
        tmp_path,
        HEADER + ",patient_id,message_type,message_template,maximum_use_count",
        "k1,1002,9434765919,1980-01-31,10,20,, ,,",
    )
    (item,) = read_invitations(path)
    assert item.patient_id is None
    assert item.maximum_use_count is None
    assert item.practitioner_id is None  # a column that is absent altogether
    assert item.message_type == "sms"
    assert item.message_template == DEFAULT_TEMPLATE


def test_missing_key_fails_that_row_by_name(tmp_path: Path) -> None:
    """A row without a key reads as an empty key, which validation then reports as the "key"
    field (a position-based key would point at another patient once the file changes)."""
    path = _write(
        tmp_path,
        HEADER,
        ",1002,9434765919,1980-01-31,10,20",
        "given,1002,9434765919,1980-01-31,10,20",
    )
    first, second = read_invitations(path)
    assert (first.key, second.key) == ("", "given")
    with pytest.raises(ValidationError) as caught:
        plan(first)
    assert caught.value.field == "key"


def test_key_column_is_required(tmp_path: Path) -> None:
    """A file with no key column at all is refused before any row is read, naming it."""
    path = _write(tmp_path, "practice_group_id,appointment_type_id,location_id", "1002,10,20")
    with pytest.raises(ValueError, match="key"):
        list(read_invitations(path))


def test_header_only_gives_no_invitations(tmp_path: Path) -> None:
    """A header and no rows reads as no invitations."""
    assert list(read_invitations(_write(tmp_path, HEADER))) == []


def test_byte_order_mark_is_handled(tmp_path: Path) -> None:
    """A UTF-8 BOM (Excel's "CSV UTF-8") does not become part of the first column name."""
    path = _write(
        tmp_path, HEADER, "bom-key,1002,9434765919,1980-01-31,10,20", encoding="utf-8-sig"
    )
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    (item,) = read_invitations(path)
    assert item.key == "bom-key"


async def test_bad_rows_fail_by_field_and_good_rows_are_sent(tmp_path: Path) -> None:
    """Through send_invitations, a file's bad cells fail their rows naming the field while the
    good rows are sent."""
    path = _write(
        tmp_path,
        HEADER + ",maximum_use_count",
        "good,1002,9434765919,1980-01-31,10,20,1",
        "count,1002,9434765919,1980-01-31,10,20,many",
        "nhs,1002,9434765918,1980-01-31,10,20,",
        "type,1002,9434765919,1980-01-31,ten,20,",
    )
    async with sandbox() as (fake, hero):
        with await hero.send_invitations(read_invitations(path)) as report:
            results = {r.key: r for r in report.results()}
        assert report.sent == 1
        assert len(fake.messages) == 1
    assert results["good"].state == "sent"
    for key, field in (
        ("count", "maximum_use_count"),
        ("nhs", "nhs_number"),
        ("type", "appointment_type_id"),
    ):
        assert results[key].state == "failed"
        assert results[key].error is not None
        assert results[key].error.startswith(f"{field}:")


def _rows(path: Path, **options: object) -> list[tuple[int, tuple[str, ...]]]:
    _, rows = read_rows(path, **options)  # type: ignore[arg-type]
    return [(row.line, row.problems) for row in rows]


def test_header_spellings_as_practices_export_them(tmp_path: Path) -> None:
    """Case, spaces and underscores do not matter; "Date of birth"/"DOB"/"NHS No." are known;
    unrelated columns are ignored and listed, an empty header cell silently."""
    path = _write(
        tmp_path,
        "KEY,Practice Group ID,NHS No.,Date of birth,appointment-type-id,Location_ID,First name,,",
        "k1,1002,943 476 5919,31/01/1980,10,20,Jane,,",
    )
    header, rows = read_rows(path)
    assert header.ignored == ("First name",)
    (row,) = rows
    assert row.problems == ()
    assert (row.invitation.nhs_number, row.invitation.dob) == ("943 476 5919", dt.date(1980, 1, 31))
    assert plan(row.invitation).practice_group_id == "1002"


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (
            HEADER + ",mesage_template",
            "unknown column 'mesage_template': did you mean message_template?",
        ),
        (HEADER + ",NHS Number", "columns 'nhs_number' and 'NHS Number' both mean nhs_number"),
        ("key,practice_group_id,nhs_number", "missing columns appointment_type_id, location_id"),
    ],
)
def test_header_mistakes_are_refused_in_words(tmp_path: Path, header: str, message: str) -> None:
    """A near miss would silently drop a field (the default template, no expiry...): refused,
    with a suggestion. So are two columns for one field, and missing required ones."""
    path = _write(tmp_path, header, "x")
    with pytest.raises(CsvError) as caught:
        read_rows(path)
    assert message in str(caught.value)
    assert "[]" not in str(caught.value)


def test_every_near_miss_column_is_named_at_once(tmp_path: Path) -> None:
    """Three misspelt columns: all three named with their suggestion, so one fix is enough."""
    header = "key,pratice_group_id,nhs_number,dob,appointment_type_id,locaton_id,mesage_template"
    with pytest.raises(CsvError) as caught:
        read_rows(_write(tmp_path, header, "x"))
    message = str(caught.value)
    for wrong, right in [
        ("pratice_group_id", "practice_group_id"),
        ("locaton_id", "location_id"),
        ("mesage_template", "message_template"),
    ]:
        assert f"unknown column {wrong!r}: did you mean {right}?" in message
    assert message.count("\n") == 0  # one line


@pytest.mark.parametrize(
    ("cell", "date_format", "expected"),
    [
        ("1980-01-31", "auto", dt.date(1980, 1, 31)),
        ("31/01/1980", "auto", dt.date(1980, 1, 31)),
        ("1/2/1980", "auto", dt.date(1980, 2, 1)),  # day first, always
        ("31/01/1980 00:00", "auto", dt.date(1980, 1, 31)),  # an Excel date-time cell
        ("01/31/1980", "auto", "not a real calendar date"),  # MM/DD is never guessed
        ("31/01/80", "auto", "the year must have 4 digits"),
        ("31.01.1980", "auto", "not a date written as YYYY-MM-DD or DD/MM/YYYY"),
        ("31/01/1980", "YYYY-MM-DD", "not a date written as YYYY-MM-DD"),
        ("1980-01-31", "DD/MM/YYYY", "not a date written as DD/MM/YYYY"),
    ],
)
def test_dates_iso_or_uk(tmp_path: Path, cell: str, date_format: str, expected: object) -> None:
    path = _write(tmp_path, HEADER, f"k,1002,9434765919,{cell},10,20")
    _, rows = read_rows(path, date_format=date_format)  # type: ignore[arg-type]
    (row,) = rows
    if isinstance(expected, dt.date):
        assert (row.invitation.dob, row.problems) == (expected, ())
    else:
        (problem,) = row.problems
        assert problem.startswith("dob: ")
        assert expected in problem
        assert cell not in problem  # a date of birth is patient data


@pytest.mark.parametrize(("cell", "ok"), [("2", True), ("1.0", True), ("1.5", False), ("x", False)])
def test_counts_as_spreadsheets_write_them(tmp_path: Path, cell: str, ok: bool) -> None:
    """Excel writes a number cell as "1.0": accepted; anything not whole is explained."""
    path = _write(
        tmp_path, HEADER + ",maximum_use_count", f"k,1002,9434765919,1980-01-31,10,20,{cell}"
    )
    _, rows = read_rows(path)
    (row,) = rows
    assert (row.problems == ()) is ok
    if not ok:
        assert row.problems == ("maximum_use_count: must be a whole number such as 1",)


def test_line_numbers_skip_blank_rows_and_follow_quoted_newlines(tmp_path: Path) -> None:
    """Lines are the file's own (header = 1), a quoted cell spanning two lines included;
    ",,,," and whitespace-only rows are not invitations; extra filled cells are a problem."""
    path = tmp_path / "x.csv"
    path.write_bytes(
        (
            HEADER + ",message_template\r\n"
            'a,1002,9434765919,1980-01-31,10,20,"two\r\nlines {link}"\r\n'
            ",,,,,,\r\n  , ,,,,,\r\n"
            "b,1002,9434765919,1980-01-31,10,20,,surplus\r\n"
            ",,,,,,\r\n"
        ).encode()
    )
    assert _rows(path) == [(2, ()), (6, ("row: has more cells than the header has columns",))]


def test_empty_file_and_header_only(tmp_path: Path) -> None:
    for content in (b"", b"\xef\xbb\xbf", b"\r\n", b",,,\r\n"):
        path = tmp_path / "e.csv"
        path.write_bytes(content)
        with pytest.raises(CsvError, match="file is empty"):
            read_rows(path)
    assert _rows(_write(tmp_path, HEADER, ",,,,,", "")) == []


def test_a_non_utf8_byte_names_its_line(tmp_path: Path) -> None:
    """Windows-1252 text on line 4 stops the read naming line 4 (no byte offsets), with the
    hint; --encoding cp1252 reads it."""
    path = tmp_path / "x.csv"
    path.write_bytes(
        f"{HEADER}\nk1,1002,9434765919,1980-01-31,10,20\nk2,1002,9434765919,1980-01-31,10,20\n".encode()
        + "k3,1002,9434765919,1980-01-31,10,20,Zoë\n".encode("cp1252")
    )
    _, rows = read_rows(path)
    assert next(rows).line == 2  # lazily: the bad line is not reached yet
    with pytest.raises(CsvError, match=r"line 4: not utf-8 text; .*CSV UTF-8") as caught:
        list(rows)
    assert "position" not in str(caught.value)
    assert len(_rows(path, encoding="cp1252")) == 3
