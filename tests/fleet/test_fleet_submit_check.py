"""``campaign submit`` checks the whole file as ``invite`` does, before the database: every
bad field of every row with its line, Excel's headers, encoding and dates, repeated keys, a
header-only file; ``campaign report`` checks its path first. Real CLI, real PostgreSQL."""

from __future__ import annotations

import json
import os
from pathlib import Path

from test_fleet_campaign_cli import hero_async

EXCEL = (  # Excel's "CSV (Comma delimited)": cp1252, CRLF, spelled-out headers, DD/MM/YYYY
    "Key,Practice Group ID,Appointment Type ID,Location ID,NHS Number,Date of birth,"
    "Message Template,Surname\r\n"
    "k1,1002,3,4,9434765919,31/01/1980,Book: {link},Zoë\r\n"
    "k2,1002,3,4,123,31/13/1980,Book: {link},Ré\r\n"
    "k3,1002,,4,9434765919,01/02/1981,Book,O'Brien\r\n"
    "k1,1002,3,4,9434765919,31/01/1980,Book: {link},Zoë\r\n"
)


async def test_an_excel_file_is_checked_row_by_row(database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes(EXCEL.encode("cp1252"))
    env = {**os.environ, "HERO_DATABASE_URL": database_url}
    code, out, err = await hero_async(
        "campaign", "submit", str(path), "--name", "x", "--encoding", "cp1252", env=env
    )
    assert code == 0, err
    assert "ignoring columns hero-async does not use: Surname" in err
    assert "4 invitations, 2 valid, 2 with problems, 1 repeated keys" in err
    line3 = next(text for text in err.splitlines() if "line 3 (key k2)" in text)
    assert "nhs_number" in line3
    assert "dob" in line3  # every bad field of the row, not just the first
    line4 = next(text for text in err.splitlines() if "line 4 (key k3)" in text)
    assert "appointment_type_id" in line4
    assert "message_template" in line4
    assert "line 5 (key k1): key: used by an earlier row" in err
    assert "3 invitations, 2 invalid" in out
    report = tmp_path / "r.json"
    await hero_async("campaign", "report", "x", "--report", str(report), env=env)
    rows = {r["key"]: r for r in json.loads(report.read_text())["results"]}
    assert "line 3" in rows["k2"]["error"]  # the report names the line too


async def test_bad_files_and_report_paths_are_refused_before_the_database(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "HERO_DATABASE_URL": "postgresql://nobody:pw@127.0.0.1:1/none"}
    header_only = tmp_path / "empty.csv"
    header_only.write_text("key,practice_group_id,appointment_type_id,location_id,patient_id\n")
    code, _, err = await hero_async("campaign", "submit", str(header_only), "--name", "x", env=env)
    assert (code, f"no invitations in {header_only}" in err) == (2, True), err
    misspelt = tmp_path / "typo.csv"
    misspelt.write_text("key,practise_group_id,appointment_type_id,location_id,patient_id\n")
    code, _, err = await hero_async("campaign", "submit", str(misspelt), "--name", "x", env=env)
    assert code == 2
    assert "practice_group_id" in err
    assert "database" not in err
    code, _, err = await hero_async(
        "campaign", "report", "x", "--report", str(tmp_path / "out.txt"), env=env
    )
    assert (code, "written as .json or .csv" in err) == (2, True), err
    (tmp_path / "file").write_text("")
    code, _, err = await hero_async(
        "campaign", "report", "x", "--report", str(tmp_path / "file" / "r.json"), env=env
    )
    assert (code, "cannot write there" in err) == (2, True), err
