"""The SQLite claim store in the job: durability (SIGKILL, lost side files), commit failures
that stop the job, campaign identity, and fingerprints that mean "who"."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from bulk_support import LINKS, MESSAGES, invitation, nhs_number, sandbox

from hero_async import SqliteLedger
from hero_async.bulk import Campaign, ForeignLedgerError, LedgerUnavailableError, State
from hero_async.testing import Fault


def _read_all(folder: Path, pattern: str) -> bytes:
    """The bytes of every file matching ``pattern`` (the database and any side files)."""
    files = sorted(folder.glob(pattern))
    assert files
    return b"".join(f.read_bytes() for f in files)


def test_journal_keeps_commits_in_the_db_file(tmp_path: Path) -> None:
    """TRUNCATE journal + synchronous FULL: nothing committed lives only in a side file."""
    path = tmp_path / "l.db"
    with contextlib.closing(sqlite3.connect(path)) as raw:  # an older ledger, in WAL mode
        raw.execute("PRAGMA journal_mode=WAL")
    ledger = SqliteLedger(path)
    assert ledger._db.execute("PRAGMA journal_mode").fetchone() == ("truncate",)
    assert ledger._db.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL
    ledger._db.close()
    with contextlib.closing(sqlite3.connect(path)) as raw:  # no longer WAL for anyone
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("delete",)


_CLAIMER = """
import asyncio, sys
from hero_async.bulk import LedgerEntry, RunInfo, SqliteLedger

async def main():
    ledger = SqliteLedger(sys.argv[1])
    await ledger.begin(RunInfo.here(), None)
    for n in range(1_000_000):
        entry = LedgerEntry(f"key-{n:07d}", "1002", "message_claimed", link_id=str(n))
        assert await ledger.claim(entry, expect_epoch=0) == 1
        print(n, flush=True)

asyncio.run(main())
"""


@pytest.mark.parametrize("lose_side_files", [False, True])
def test_every_reported_claim_survives_sigkill_and_lost_side_files(
    tmp_path: Path, lose_side_files: bool
) -> None:
    """A child prints after each claim returns; SIGKILLed mid-stream (and the journal file
    deleted, as a "cleanup" or a copy of the .db alone would), every printed claim is in
    the reopened ledger, and is then outcome_unknown: never claimable again."""
    path = tmp_path / "l.db"
    child = subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", _CLAIMER, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    try:
        printed = [child.stdout.readline() for _ in range(300)]
        child.send_signal(signal.SIGKILL)
        child.wait()
        printed += child.stdout.readlines()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()
    if lose_side_files:
        for side in tmp_path.glob("l.db-*"):
            side.unlink()
    reported = [int(line) for line in printed if line.strip()]
    assert len(reported) >= 300

    async def reopen() -> dict[str, object]:
        ledger = SqliteLedger(path)
        from hero_async.bulk import RunInfo

        await ledger.begin(RunInfo.here(), None)  # sweeps: the child's pid is dead
        rows = {e.key: e for e in await ledger.entries()}
        await ledger.close()
        return rows

    stored = asyncio.run(reopen())
    for n in reported:
        entry = stored[f"key-{n:07d}"]
        assert entry.state == State.UNKNOWN  # type: ignore[attr-defined]
        assert entry.link_id == str(n)  # type: ignore[attr-defined]


async def test_ledger_file_holds_no_patient_data(tmp_path: Path) -> None:
    """After a run (sent, failed, unknown), no NHS number, dob, phone number or message
    text is anywhere in the ledger's files."""
    phone = "07700900461"
    secret_text = "Zebra-clinic-invite"
    invitations = [
        invitation(
            i,
            "1002",
            dob="1957-03-14",
            recipient_contact_detail=phone,
            message_template=f"{secret_text} {{link}}",
        )
        for i in range(20)
    ]
    invitations.append(invitation(99, "1002", nhs_number="9434765918"))  # invalid: fails
    ledger = tmp_path / "run.db"
    async with sandbox() as (fake, hero):
        fake.add_fault(Fault(method="POST", path=MESSAGES, drop="after", times=1))
        fake.add_fault(Fault(method="POST", path=MESSAGES, status=400, times=1))
        with await hero.send_invitations(invitations, ledger=ledger) as report:
            assert report.counts == {
                "sent": 18,
                "failed": 2,
                "skipped": 0,
                "outcome_unknown": 1,
            }
        assert fake.messages[0].recipient_contact_detail == phone
    data = _read_all(tmp_path, "run.db*")
    for i in (*range(20), 99):
        assert nhs_number(i).encode() not in data
    for forbidden in ("9434765918", phone, "1957-03-14", secret_text, "07700 900461"):
        assert forbidden.encode() not in data
    assert b"inv-000001" in data  # the scan looks at the right bytes


async def test_read_only_ledger_stops_the_job_before_any_request(tmp_path: Path) -> None:
    """A ledger that cannot be written: the job raises LedgerUnavailableError and Hero sees
    no booking link and no message."""
    if os.geteuid() == 0:
        pytest.skip("root writes read-only files")  # pragma: no cover
    path = tmp_path / "ro.db"
    SqliteLedger(path)._db.close()
    path.chmod(0o444)
    async with sandbox() as (fake, hero):
        with pytest.raises(LedgerUnavailableError, match="cannot record progress"):
            await hero.send_invitations([invitation(i) for i in range(5)], ledger=path)
        assert fake.count(path=LINKS) == fake.count(path=MESSAGES) == 0


async def test_a_commit_failure_mid_job_stops_it_before_anything_further_is_sent(
    tmp_path: Path,
) -> None:
    """The disk fills after some keys were sent: the failing commit is raised, not swallowed,
    and no request goes out after it (each POST's claim could not be committed)."""
    path = tmp_path / "full.db"
    ledger = SqliteLedger(path)
    sent_when_full: list[int] = []

    async with sandbox() as (fake, hero):

        def progress(result: object) -> None:
            if len(fake.messages) >= 10 and not sent_when_full:
                # A second connection takes the write lock and never lets go: every later
                # commit fails (SQLITE_BUSY after the timeout), exactly like a full disk would.
                ledger._db.execute("PRAGMA busy_timeout = 0")
                blocker.execute("BEGIN IMMEDIATE")
                sent_when_full.append(len(fake.messages) + fake.count(path=LINKS))

        blocker = sqlite3.connect(path, isolation_level=None)
        try:
            with pytest.raises(LedgerUnavailableError):
                await hero.send_invitations(
                    [invitation(i) for i in range(200)],
                    ledger=ledger,
                    concurrency=4,
                    on_progress=progress,
                )
            creating = len(fake.messages) + fake.count(path=LINKS)
        finally:
            blocker.close()
    assert sent_when_full
    # At most the requests whose claims were already committed when the lock was taken.
    assert creating - sent_when_full[0] <= 4
    with pytest.raises(LedgerUnavailableError):  # still said at close, never swallowed
        await ledger.close()


async def test_foreign_campaign_is_refused_before_any_request(tmp_path: Path) -> None:
    path = tmp_path / "flu.db"
    flu = [invitation(i) for i in range(3)]
    async with sandbox() as (fake, hero):
        first = Campaign.of("flu-2026", [i.key for i in flu])
        with await hero.send_invitations(flu, ledger=path, campaign=first) as report:
            assert report.sent == 3
        before = fake.count()
        other = [invitation(i) for i in range(10, 13)]
        second = Campaign.of("covid-2026", [i.key for i in other])
        with pytest.raises(ForeignLedgerError, match="flu-2026"):
            await hero.send_invitations(other, ledger=path, campaign=second)
        assert fake.count() == before


async def test_template_edited_after_a_run_skips_sent_keys_with_their_ids(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    async with sandbox() as (fake, hero):
        rows = [invitation(i) for i in range(4)]
        with await hero.send_invitations(rows, ledger=path) as report:
            first = {r.key: r for r in report.results()}
        edited = [invitation(i, message_template="New words: {link}") for i in range(4)]
        with await hero.send_invitations(edited, ledger=path) as report:
            second = list(report.results())
            assert report.skipped == 4
        assert len(fake.messages) == 4
    for result in second:
        assert result.error_type == "InputChanged"
        assert (result.link_id, result.message_id) == (
            first[result.key].link_id,
            first[result.key].message_id,
        )


async def test_patient_changed_for_a_key_is_key_reused_across_runs_and_in_one_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "l.db"
    async with sandbox() as (fake, hero):
        with await hero.send_invitations([invitation(1)], ledger=path) as report:
            assert report.sent == 1
        other_patient = invitation(1, nhs_number=nhs_number(77))
        with await hero.send_invitations([other_patient], ledger=path) as report:
            (result,) = report.results()
        assert (result.state, result.error_type) == ("failed", "KeyReused")
        # In one file: the same key for two patients, the second is failed loudly.
        rows = [invitation(5), invitation(5, nhs_number=nhs_number(78))]
        with await hero.send_invitations(rows) as report:
            states = sorted((r.state, r.error_type) for r in report.results())
        assert states == [("failed", "KeyReused"), ("sent", None)]
        assert len(fake.messages) == 2
