"""read_invitations: CSV rows to Invitations; bad cells pass through for validation to name."""

from __future__ import annotations

from pathlib import Path

import pytest
from bulk_support import sandbox

from hero_async import Invitation, ValidationError
from hero_async.bulk._csv import COLUMNS, read_invitations
from hero_async.bulk._invitation import DEFAULT_TEMPLATE, plan

HEADER = "key,practice_group_id,nhs_number,dob,appointment_type_id,location_id"


def _write(tmp_path: Path, *lines: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "invitations.csv"
    path.write_text("\n".join(lines) + "\n", encoding=encoding)
    return path


def test_reads_every_column_into_the_invitation(tmp_path: Path) -> None:
    """Each Invitation field has a column of the same name; cells are trimmed and become the
    fields (maximum_use_count as an int), quoted commas included."""
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
        dob="1980-01-31",
        practitioner_id="30",
        from_date="2026-10-01",
        to_date="2026-10-31",
        expiry_date="2026-11-30",
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


def test_unknown_column_is_refused_by_name(tmp_path: Path) -> None:
    """A column that is not an Invitation field raises ValueError naming it (and the file)."""
    path = _write(tmp_path, HEADER + ",nhs_no", "k,1002,9434765919,1980-01-31,10,20,1")
    with pytest.raises(ValueError, match="nhs_no") as caught:
        list(read_invitations(path))
    assert str(path) in str(caught.value)


@pytest.mark.parametrize("column", ["practice_group_id", "appointment_type_id", "location_id"])
def test_missing_required_column_is_refused_by_name(tmp_path: Path, column: str) -> None:
    """A header without a required column raises ValueError naming it."""
    header = [name for name in HEADER.split(",") if name != column]
    path = _write(tmp_path, ",".join(header), ",".join("x" for _ in header))
    with pytest.raises(ValueError, match=rf"missing columns \['{column}'\]"):
        list(read_invitations(path))


def test_empty_file_is_refused(tmp_path: Path) -> None:
    """A file with no header at all is a ValueError, not an empty run."""
    path = tmp_path / "empty.csv"
    path.write_text("", encoding="utf-8")
    with pytest.raises(ValueError, match="missing columns"):
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


def test_rows_are_read_lazily(tmp_path: Path) -> None:
    """Rows are produced one at a time: the first comes before a broken row further down is
    read (a million-row file is never loaded whole)."""
    rows = [f"k{n},1002,9434765919,1980-01-31,10,20" for n in range(1, 5000)]  # ~190 kB
    path = _write(tmp_path, HEADER, *rows)
    with open(path, "ab") as handle:
        handle.write(b"bad,1002,\xff\xfe,1980-01-31,10,20\n")  # not UTF-8
    reader = read_invitations(path)
    assert next(reader).key == "k1"
    with pytest.raises(UnicodeDecodeError):
        list(reader)


@pytest.mark.parametrize("count", ["abc", "0", "-1", "1.5", "\u0661", "9" * 30])  # \u0661: Arabic 1
def test_bad_maximum_use_count_is_left_for_validation(tmp_path: Path, count: str) -> None:
    """A bad maximum_use_count does not break reading; validation then names the field."""
    path = _write(
        tmp_path,
        HEADER + ",maximum_use_count",
        f"k1,1002,9434765919,1980-01-31,10,20,{count}",
    )
    (item,) = read_invitations(path)
    with pytest.raises(ValidationError) as caught:
        plan(item)
    assert caught.value.field == "maximum_use_count"


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
