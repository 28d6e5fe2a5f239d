"""BulkReport: counts, results in order, JSON / CSV files that parse back, spilling to disk,
clean closing, and no patient data in a real run's report."""

from __future__ import annotations

import csv
import gc
import json
import warnings
from pathlib import Path

import attrs
import pytest
from bulk_support import MESSAGES, invitation, nhs_number, sandbox

from hero_async import BulkReport, InvitationResult
from hero_async.testing import Fault

SAMPLE = [
    InvitationResult(
        "k1",
        "1002",
        "sent",
        patient_id="100001",
        link_id="5001",
        short_link="https://hero.test/l/a",
        message_id="700001",
    ),
    InvitationResult(
        "k2",
        "1003",
        "failed",
        step="message",
        patient_id="100002",
        link_id="5002",
        short_link="https://hero.test/l/b",
        error_type="RateLimitError",
        error='429 "Too Many" \u2013 naïve, with, commas\nand a newline',
        retryable=True,
    ),
    InvitationResult("k3", "1002", "skipped", error_type="DuplicateKey", error="dup"),
    InvitationResult(
        "k4", "1004", "outcome_unknown", step="link", error_type="OutcomeUnknownError", error="?"
    ),
    InvitationResult("k5", "1002", "failed", step="validate", error_type="ValidationError"),
]


def _report(results: list[InvitationResult] = SAMPLE) -> BulkReport:
    report = BulkReport()
    for result in results:
        report.add(result)
    return report


def test_counts_add_up() -> None:
    """counts per state, the named properties and total agree with what was added."""
    with _report() as report:
        assert report.counts == {"sent": 1, "failed": 2, "skipped": 1, "outcome_unknown": 1}
        assert (report.sent, report.failed, report.skipped, report.outcome_unknown) == (1, 2, 1, 1)
        assert report.total == 5


def test_empty_report() -> None:
    """A report with nothing in it has zero counts and no results."""
    with BulkReport() as report:
        assert report.total == 0
        assert list(report.results()) == []


def test_results_in_the_order_added_and_repeatable() -> None:
    """results() yields every result, equal to what was added, in order, as often as asked;
    adding after reading appends."""
    with _report() as report:
        assert list(report.results()) == SAMPLE
        assert list(report.results()) == SAMPLE
        extra = InvitationResult("k6", "1005", "sent")
        report.add(extra)
        assert list(report.results()) == [*SAMPLE, extra]
        assert report.total == 6


def test_write_json_round_trip(tmp_path: Path) -> None:
    """write_json writes {counts, results}: valid JSON whose results equal the report's."""
    with _report() as report:
        report.write_json(tmp_path / "r.json")
    data = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert data["counts"] == {"sent": 1, "failed": 2, "skipped": 1, "outcome_unknown": 1}
    assert [InvitationResult(**item) for item in data["results"]] == SAMPLE


def test_write_json_of_an_empty_report(tmp_path: Path) -> None:
    """An empty report still writes valid JSON."""
    with BulkReport() as report:
        report.write_json(tmp_path / "r.json")
    assert json.loads((tmp_path / "r.json").read_text()) == {
        "counts": {"sent": 0, "failed": 0, "skipped": 0, "outcome_unknown": 0},
        "results": [],
    }


def _from_csv_row(row: dict[str, str]) -> InvitationResult:
    values: dict[str, object] = {k: (v if v != "" else None) for k, v in row.items()}
    values["retryable"] = row["retryable"] == "True"
    return InvitationResult(**values)  # type: ignore[arg-type]


def test_write_csv_round_trip(tmp_path: Path) -> None:
    """write_csv writes a header of InvitationResult's fields and one row per result; quotes,
    commas, newlines and non-ASCII survive; None is an empty cell."""
    with _report() as report:
        report.write_csv(tmp_path / "r.csv")
    with open(tmp_path / "r.csv", newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == [f.name for f in attrs.fields(InvitationResult)]
        rows = list(reader)
    assert [_from_csv_row(row) for row in rows] == SAMPLE


@pytest.mark.parametrize(
    ("name", "kind"),
    [("r.csv", "csv"), ("r.json", "json"), ("report", "json"), ("r.txt", "json")],
)
def test_write_picks_the_format_by_suffix(tmp_path: Path, name: str, kind: str) -> None:
    """write() makes CSV for a .csv path and JSON otherwise."""
    with _report() as report:
        report.write(tmp_path / name)
        report.write(str(tmp_path / ("s-" + name)))  # str paths too
    for path in (tmp_path / name, tmp_path / ("s-" + name)):
        text = path.read_text(encoding="utf-8")
        if kind == "json":
            assert len(json.loads(text)["results"]) == 5
        else:
            assert text.startswith("key,practice_group_id,state,")


def test_close_is_idempotent_and_reading_after_close_fails() -> None:
    """close() twice is fine; reading a closed report raises ValueError."""
    report = _report()
    report.close()
    report.close()
    with pytest.raises(ValueError, match="closed file"):
        list(report.results())
    assert report.total == 5  # the counts stay readable


def test_forgotten_reports_raise_no_resource_warning() -> None:
    """Reports dropped without close(), small or spilled to disk, warn about nothing."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        small = _report()
        big = _report(_many(40_000))
        del small, big
        gc.collect()
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []


def test_repr_shows_counts() -> None:
    """repr names the total and every state's count."""
    with _report() as report:
        assert repr(report) == (
            "BulkReport(total=5, sent=1, failed=2, skipped=1, outcome_unknown=1)"
        )


def _many(n: int) -> list[InvitationResult]:
    return [
        InvitationResult(
            f"key-{i:07d}",
            "1002",
            "failed",
            step="message",
            error_type="ServerError",
            error="503 ServerError on POST /v1/messages/send: upstream unavailable " * 2,
        )
        for i in range(n)
    ]


def test_large_report_spills_to_disk_and_reads_back(tmp_path: Path) -> None:
    """Past 4 MB the results move to a temporary file; every one still reads back and writes."""
    results = _many(40_000)  # ~190 bytes each: ~7.6 MB of JSON lines
    with _report(results) as report:
        assert report._spool._rolled  # type: ignore[attr-defined]  # on disk now
        back = list(report.results())
        assert back == results
        report.add(InvitationResult("last", "1002", "sent"))
        assert report.total == 40_001
        report.write_csv(tmp_path / "big.csv")
    with open(tmp_path / "big.csv", newline="", encoding="utf-8") as handle:
        assert sum(1 for _ in csv.reader(handle)) == 40_002  # header + rows


async def test_real_run_report_holds_no_patient_data(tmp_path: Path) -> None:
    """A run's JSON and CSV reports name keys, groups and Hero ids, but hold no NHS number,
    dob, phone number or message text."""
    phone, text = "07700900461", "Zebra-clinic-invite"
    invitations = [
        invitation(
            i,
            "1002",
            dob="1957-03-14",
            recipient_contact_detail=phone,
            message_template=f"{text} {{link}}",
        )
        for i in range(6)
    ]
    invitations.append(invitation(9, "1002", nhs_number="9434765918"))  # invalid
    async with sandbox() as (fake, hero):
        fake.add_fault(Fault(method="POST", path=MESSAGES, status=400, times=1))
        with await hero.send_invitations(invitations) as report:
            assert (report.sent, report.failed) == (5, 2)
            report.write(tmp_path / "r.json")
            report.write(tmp_path / "r.csv")
    for name in ("r.json", "r.csv"):
        data = (tmp_path / name).read_text(encoding="utf-8")
        assert "inv-000001" in data
        for forbidden in (*map(nhs_number, range(6)), "9434765918", phone, "1957-03-14", text):
            assert forbidden not in data


def test_adding_after_an_unfinished_read_keeps_every_result() -> None:
    """Reading only the first result (an abandoned results() iterator), then adding more,
    loses or corrupts nothing."""
    with _report() as report:
        reader = report.results()
        assert next(reader) == SAMPLE[0]
        extra = InvitationResult("k6", "1005", "sent")
        report.add(extra)
        assert list(report.results()) == [*SAMPLE, extra]
