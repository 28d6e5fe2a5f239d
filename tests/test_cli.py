"""The hero-async command: invite from CSV against the sandbox, dry runs, reports, exit codes.

``main()`` calls ``asyncio.run`` itself, so these tests are plain (sync) functions.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from bulk_support import nhs_number

from hero_async.bulk._csv import read_invitations
from hero_async.cli import _main as cli

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "invitations.csv"
HEADER = "key,practice_group_id,nhs_number,dob,appointment_type_id,location_id"


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run every command from an empty folder: default ledgers and reports land there."""
    monkeypatch.chdir(tmp_path)


def _clean_csv(tmp_path: Path, rows: int = 12) -> Path:
    path = tmp_path / "clean.csv"
    lines = [HEADER] + [
        f"clean/{n},{('1001', '1002', '1003')[n % 3]},{nhs_number(n)},1980-01-31,10,20"
        for n in range(rows)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _example_keys() -> list[str]:
    return [item.key for item in read_invitations(EXAMPLE)]


def test_sandbox_invite_of_the_example_reports_every_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The example CSV runs end to end against the sandbox: exit 1 (it has bad rows on
    purpose), and the JSON report has every row once, with counts that add up."""
    report_path = tmp_path / "r.json"
    code = cli.main(["invite", str(EXAMPLE), "--sandbox", "--report", str(report_path)])
    assert code == 1
    data = json.loads(report_path.read_text(encoding="utf-8"))
    keys = _example_keys()
    results = data["results"]
    assert sorted(r["key"] for r in results) == sorted(keys)
    assert len(keys) == len(set(keys)) == 300
    assert sum(data["counts"].values()) == 300
    assert data["counts"]["sent"] > 250
    errors = {r["error_type"] for r in results if r["state"] == "failed"}
    assert errors == {
        "CrossOrganisationDeniedError",
        "ValidationError",
        "IdentityCheckRequired",
        "NotFoundError",
    }
    err = capsys.readouterr().err
    assert "sandbox: fake Hero at http://127.0.0.1:" in err
    assert f"report: {report_path}" in err
    assert not list(tmp_path.rglob("*" + cli.LEDGER_SUFFIX))  # the sandbox ledger is temporary


def test_sandbox_invite_writes_a_csv_report(tmp_path: Path) -> None:
    """--report x.csv writes CSV: a header and one row per invitation."""
    report_path = tmp_path / "out" / "r.csv"  # the folder is created
    assert cli.main(["invite", str(EXAMPLE), "--sandbox", "--report", str(report_path)]) == 1
    with open(report_path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(row["key"] for row in rows) == sorted(_example_keys())
    assert {row["state"] for row in rows} <= {"sent", "failed", "skipped", "outcome_unknown"}


def test_clean_file_exits_zero_with_default_report(tmp_path: Path) -> None:
    """A CSV without bad rows exits 0; the report goes to reports/invite-<time>.json."""
    assert cli.main(["invite", str(_clean_csv(tmp_path)), "--sandbox"]) == 0
    (report_path,) = (tmp_path / "reports").glob("invite-*.json")
    assert json.loads(report_path.read_text())["counts"]["sent"] == 12


def test_rerun_with_a_kept_ledger_skips_what_was_sent(tmp_path: Path) -> None:
    """--ledger keeps progress across commands: a second run skips every sent row."""
    path, ledger = _clean_csv(tmp_path), tmp_path / "keep.db"
    first, second = tmp_path / "1.json", tmp_path / "2.json"
    args = ["invite", str(path), "--sandbox", "--ledger", str(ledger)]
    assert cli.main([*args, "--report", str(first)]) == 0
    assert cli.main([*args, "--report", str(second)]) == 0
    assert json.loads(first.read_text())["counts"]["sent"] == 12
    assert json.loads(second.read_text())["counts"] == {
        "sent": 0,
        "failed": 0,
        "skipped": 12,
        "outcome_unknown": 0,
    }


def test_dry_run_sends_nothing_and_flags_invalid_rows(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--dry-run validates every row without any client (nothing is sent), shows what would
    be sent, and exits 1 when some rows are invalid."""

    def no_client(sandbox: bool) -> None:
        raise AssertionError("a dry run must not create a client")

    monkeypatch.setattr(cli, "_client", no_client)
    assert cli.main(["invite", str(EXAMPLE), "--dry-run"]) == 1
    err = capsys.readouterr().err
    assert "INVALID" in err
    assert "nhs_number:" in err
    assert "message_template:" in err
    assert "WOULD SEND flu-2026/000001 -> group 1002" in err
    assert "nothing was sent" in err
    assert list(tmp_path.iterdir()) == []  # no ledger, no report


def test_dry_run_of_a_clean_file_exits_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--dry-run exits 0 when every row is valid."""
    assert cli.main(["invite", str(_clean_csv(tmp_path)), "--dry-run"]) == 0
    assert "dry run: 12 would be sent, 0 invalid; nothing was sent" in capsys.readouterr().err


@pytest.mark.parametrize("extra", [["--sandbox"], ["--dry-run"], []])
def test_missing_file_exits_two(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str]
) -> None:
    """A file that does not exist exits 2 with a one-line message naming it, no traceback."""
    assert cli.main(["invite", "nope.csv", *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hero-async: ")
    assert "nope.csv" in err
    assert "Traceback" not in err


def test_without_sandbox_and_credentials_exits_two_naming_the_variable(
    no_hero_env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --sandbox and without HERO_API_KEY: exit 2, saying to set HERO_API_KEY; no
    ledger or report is left behind."""
    assert cli.main(["invite", str(_clean_csv(tmp_path))]) == 2
    err = capsys.readouterr().err
    assert "HERO_API_KEY" in err
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clean.csv"]


def test_unknown_column_exits_two_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A CSV with a misspelt column exits 2 and names the column."""
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + ",phone\nk,1002,9434765919,1980-01-31,10,20,07700900123\n")
    assert cli.main(["invite", str(path), "--sandbox"]) == 2
    assert "phone" in capsys.readouterr().err


def test_bad_concurrency_exits_two(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--concurrency 0 is bad usage: exit 2 with the reason."""
    assert cli.main(["invite", str(_clean_csv(tmp_path)), "--sandbox", "--concurrency", "0"]) == 2
    assert "concurrency" in capsys.readouterr().err


def test_interrupt_exits_130_saying_how_to_resume(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ctrl-C during a run exits 130 and says progress is kept in the ledger."""

    async def interrupted(args: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_invite", interrupted)
    assert cli.main(["invite", str(_clean_csv(tmp_path)), "--sandbox"]) == 130
    assert "run the same command to resume" in capsys.readouterr().err


def test_usage_errors_exit_two(capsys: pytest.CaptureFixture[str]) -> None:
    """No command, or an unknown option, is argparse's exit 2."""
    for argv in ([], ["invite"], ["invite", "x.csv", "--bogus"]):
        with pytest.raises(SystemExit) as caught:
            cli.main(argv)
        assert caught.value.code == 2
    assert "usage: hero-async" in capsys.readouterr().err


def test_unusable_ledger_path_exits_two(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A --ledger path that cannot be opened (its folder does not exist) is bad usage: exit 2
    with a one-line message, not a traceback (exit 1 means "some rows failed")."""
    ledger = tmp_path / "no-such-folder" / "x.db"
    code = cli.main(["invite", str(_clean_csv(tmp_path)), "--sandbox", "--ledger", str(ledger)])
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    assert err.rstrip().splitlines()[-1].startswith("hero-async: ")
