"""``hero-async invite`` on files as practices export them, through the real command."""

from __future__ import annotations

import json
from pathlib import Path

from cli_support import EXAMPLES, excel_row, run, write_excel


def test_quickstart_job_exits_zero_with_plain_progress_off_a_terminal(tmp_path: Path) -> None:
    """The README's first command succeeds (exit 0); off a terminal (cron, CI) it prints
    plain progress lines with total, percent, rate and ETA, and no terminal escapes; the
    report goes to reports/invite-<time>.json in the current folder."""
    done = run(tmp_path, "invite", str(EXAMPLES / "invitations.csv"), "--sandbox")
    assert done.code == 0, done.err
    assert "\x1b[" not in done.err
    progress = [line for line in done.err.splitlines() if line.startswith("progress: ")]
    assert progress[0].startswith("progress: 0/300 (0%)")
    assert progress[-1].startswith("progress: 300/300 (100%)  sent 300")
    assert "/s  ETA" in progress[-1]
    (report,) = (tmp_path / "reports").glob("invite-*.json")
    assert json.loads(report.read_text())["counts"]["sent"] == 300


def test_an_excel_export_runs_as_it_is(tmp_path: Path) -> None:
    """BOM, CRLF, "NHS Number"/"Date of birth"/"Appointment Type ID" headers, DD/MM/YYYY
    dates, First name/Surname/Postcode columns and trailing ",,,," rows: every row is sent,
    the unused columns are named once in one warning line, blank rows are not invitations."""
    path = write_excel(tmp_path / "export.csv", [excel_row(n) for n in range(6)])
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    report = tmp_path / "r.json"
    done = run(tmp_path, "invite", str(path), "--sandbox", "--report", str(report))
    assert done.code == 0, done.err
    warnings = [line for line in done.err.splitlines() if line.startswith("ignoring columns")]
    assert warnings == ["ignoring columns hero-async does not use: First name, Surname, Postcode"]
    data = json.loads(report.read_text())
    assert data["counts"] == {"sent": 6, "failed": 0, "skipped": 0, "outcome_unknown": 0}
    assert sorted(r["key"] for r in data["results"]) == [f"flu/{n}" for n in range(6)]


def test_every_bad_field_is_named_with_its_line_before_sending(tmp_path: Path) -> None:
    """A row with three bad cells is reported once with all three, its CSV line and plain
    words (no Python type names), before the sandbox starts; good rows are still sent and
    the bad row is in the report as failed with the same text."""
    rows = [excel_row(n) for n in range(3)]
    rows[1][2], rows[1][3], rows[1][7] = "12345", "01/31/1980", "ten"  # MM/DD is never guessed
    path = write_excel(tmp_path / "export.csv", rows)
    report = tmp_path / "r.csv"
    done = run(tmp_path, "invite", str(path), "--sandbox", "--report", str(report))
    assert done.code == 1
    (problem,) = [line.strip() for line in done.err.splitlines() if line.startswith("  line ")]
    assert problem.startswith("line 3 (key flu/1): ")
    for field in ("nhs_number:", "dob:", "appointment_type_id:"):
        assert field in problem
    for jargon in ("datetime", " str", " int", "expected a"):
        assert jargon not in problem
    assert done.err.index("line 3") < done.err.index("sandbox: fake Hero")
    text = report.read_text(encoding="utf-8")
    assert problem in text
    assert text.count("\n") == 4  # header + 3 rows: blank rows are not invitations


def test_problems_example_shows_every_failure_kind(tmp_path: Path) -> None:
    """The README's second example exits 1 and its report has every failure kind."""
    report = tmp_path / "r.json"
    example = EXAMPLES / "invitations-with-problems.csv"
    done = run(tmp_path, "invite", str(example), "--sandbox", "--report", str(report))
    assert done.code == 1
    data = json.loads(report.read_text())
    assert sum(data["counts"].values()) == len(data["results"]) == 300
    kinds = {r["error_type"] for r in data["results"] if r["state"] == "failed"}
    assert kinds == {
        "CrossOrganisationDeniedError",
        "ValidationError",
        "IdentityCheckRequired",
        "NotFoundError",
    }


def test_windows_1252_byte_stops_before_anything_starts(tmp_path: Path) -> None:
    """A Windows-1252 byte on line 5 (after valid rows): exit 2 naming the line, with the
    "CSV UTF-8" hint and no buffer offset; no sandbox, report or ledger was started. With
    --encoding cp1252 the same file runs."""
    rows = [excel_row(n) for n in range(6)]
    rows[3][5] = "Bront\xeb"
    path = write_excel(tmp_path / "export.csv", rows, encoding="cp1252")
    done = run(tmp_path, "invite", str(path), "--sandbox")
    assert done.code == 2
    assert done.err.startswith(f"hero-async: {path}, line 5: not utf-8 text")
    assert "CSV UTF-8" in done.err
    assert "position" not in done.err
    assert "sandbox" not in done.err.replace("--sandbox", "")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export.csv"]
    assert run(tmp_path, "invite", str(path), "--sandbox", "--encoding", "cp1252").code == 0


def test_file_problems_are_one_line_exit_two(tmp_path: Path) -> None:
    """Empty file, header only, a near-miss column name, a bad --report and --rate-limit 0:
    each exit 2 with one line saying what is wrong, before anything starts."""
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"\xef\xbb\xbf\r\n")
    header_only = write_excel(tmp_path / "header.csv", [], blank_rows=2)
    near = write_excel(
        tmp_path / "near.csv",
        [[*excel_row(1), "Book: {link}"]],
        header=(*write_header(), "mesage_template"),
    )
    good = write_excel(tmp_path / "good.csv", [excel_row(1)])
    cases = {
        (str(empty),): "file is empty",
        (str(header_only),): f"no invitations in {header_only}",
        (str(near),): "unknown column 'mesage_template': did you mean message_template?",
        (str(good), "--report", "r.xlsx"): "written as .json or .csv",
        (str(good), "--report", str(empty / "r.json")): "cannot write there",
        (str(good), "--rate-limit", "0"): "--rate-limit: must be more than 0",
    }
    for args, expected in cases.items():
        done = run(tmp_path, "invite", *args, "--sandbox")
        assert done.code == 2, args
        assert expected in done.err, (args, done.err)
        assert "Traceback" not in done.err
        assert "sandbox: fake Hero" not in done.err


def write_header() -> tuple[str, ...]:
    from cli_support import EXCEL_HEADER

    return EXCEL_HEADER


def test_in_a_terminal_progress_has_total_percent_rate_and_eta(tmp_path: Path) -> None:
    """With a terminal (forced: FORCE_COLOR), rich's bar shows done/total, percent, rate,
    time remaining and the running counts."""
    done = run(tmp_path, "invite", str(EXAMPLES / "invitations.csv"), "--sandbox", FORCE_COLOR="1")
    assert done.code == 0, done.err
    assert "\x1b[" in done.err
    for part in ("300/300", "100%", "/s", "0:00:00", "sent 300"):
        assert part in done.err
    assert "progress: " not in done.err  # the plain lines are for logs only
