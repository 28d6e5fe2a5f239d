"""The invitation ledger: SQLite round trips, durability (even under SIGKILL), claims before
requests, and no patient data at rest."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from bulk_support import LINKS, MESSAGES, REGISTER, invitation, nhs_number, sandbox

from hero_async import LedgerEntry, SqliteLedger
from hero_async.bulk._ledger import NullLedger, State
from hero_async.testing import FakeHero, Fault

FULL = LedgerEntry(
    key="flu-2026/0001",
    practice_group_id="1002",
    state=State.SENT,
    patient_id="100001",
    link_id="5001",
    short_link="https://hero.test/l/abc",
    message_id="700001",
    step=None,
    error_type=None,
    error=None,
)


async def test_put_get_round_trip(tmp_path: Path) -> None:
    """Every field written comes back equal; an unknown key is None."""
    ledger = SqliteLedger(tmp_path / "l.db")
    try:
        failed = LedgerEntry(
            "k2", "1003", State.FAILED, step="message", error_type="RateLimitError", error="429 é"
        )
        await ledger.put(FULL)
        await ledger.put(failed)
        assert await ledger.get(FULL.key) == FULL
        assert await ledger.get("k2") == failed
        assert await ledger.get("never-seen") is None
    finally:
        await ledger.close()


async def test_put_replaces_the_previous_entry(tmp_path: Path) -> None:
    """A key has one row: the latest put wins."""
    ledger = SqliteLedger(tmp_path / "l.db")
    try:
        await ledger.put(LedgerEntry("k", "1002", State.LINK_CLAIMED, patient_id="1"))
        await ledger.put(LedgerEntry("k", "1002", State.LINKED, patient_id="1", link_id="9"))
        assert await ledger.get("k") == LedgerEntry(
            "k", "1002", State.LINKED, patient_id="1", link_id="9"
        )
        assert len(ledger.entries()) == 1
    finally:
        await ledger.close()


async def test_entries_lists_everything_sorted_by_key(tmp_path: Path) -> None:
    """entries() returns every row, ordered by key."""
    ledger = SqliteLedger(tmp_path / "l.db")
    try:
        for name in ("c", "a", "b"):
            await ledger.put(LedgerEntry(name, "1002", State.NEW))
        assert [e.key for e in ledger.entries()] == ["a", "b", "c"]
        assert repr(ledger) == f"SqliteLedger({str(tmp_path / 'l.db')!r})"
    finally:
        await ledger.close()


async def test_second_connection_sees_committed_writes_at_once(tmp_path: Path) -> None:
    """A put is committed when it returns: another connection (another process's view) sees
    it while the writer is still open, and after the writer closes."""
    path = tmp_path / "l.db"
    writer, reader = SqliteLedger(path), SqliteLedger(path)
    try:
        await writer.put(FULL)
        assert await reader.get(FULL.key) == FULL
        newer = LedgerEntry(FULL.key, "1002", State.FAILED, step="message", error_type="X")
        await writer.put(newer)
        assert await reader.get(FULL.key) == newer
        with contextlib.closing(sqlite3.connect(path)) as raw:  # a plain client agrees
            assert raw.execute("SELECT count(*) FROM invitations").fetchone() == (1,)
    finally:
        await writer.close()
        await reader.close()
    reopened = SqliteLedger(path)
    try:
        assert await reopened.get(FULL.key) == newer
    finally:
        await reopened.close()


async def test_uses_wal_journal(tmp_path: Path) -> None:
    """The file is in WAL mode (commits survive the process dying mid-run)."""
    await SqliteLedger(tmp_path / "l.db").close()
    with contextlib.closing(sqlite3.connect(tmp_path / "l.db")) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)


_WRITER = """
import asyncio, sys
from hero_async import LedgerEntry, SqliteLedger

async def main():
    ledger = SqliteLedger(sys.argv[1])
    for n in range(1_000_000):
        await ledger.put(LedgerEntry(f"key-{n:07d}", "1002", "message_claimed", link_id=str(n)))
        print(n, flush=True)

asyncio.run(main())
"""


async def _stored(path: Path) -> dict[str, LedgerEntry]:
    ledger = SqliteLedger(path)
    try:
        return {entry.key: entry for entry in ledger.entries()}
    finally:
        await ledger.close()


def test_every_reported_write_survives_sigkill(tmp_path: Path) -> None:
    """A child process prints after each put; killed with SIGKILL mid-stream, every entry it
    reported (including lines still in the pipe) is in the reopened ledger."""
    path = tmp_path / "l.db"
    child = subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", _WRITER, str(path)],
        stdout=subprocess.PIPE,
        text=True,
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
    assert child.returncode == -signal.SIGKILL
    reported = [int(line) for line in printed if line.strip()]
    assert len(reported) >= 300
    stored = asyncio.run(_stored(path))
    for n in reported:
        entry = stored[f"key-{n:07d}"]
        assert entry.state == "message_claimed"
        assert entry.link_id == str(n)


async def test_null_ledger_remembers_nothing() -> None:
    """NullLedger accepts puts and always answers None."""
    ledger = NullLedger()
    await ledger.put(FULL)
    assert await ledger.get(FULL.key) is None
    await ledger.close()


def _read_all(folder: Path, pattern: str) -> bytes:
    """The bytes of every file matching ``pattern`` (the database and any -wal / -shm)."""
    files = sorted(folder.glob(pattern))
    assert files
    return b"".join(f.read_bytes() for f in files)


class _WatchingLedger:
    """An in-memory Ledger that notes, at every put, what Hero had already done."""

    def __init__(self, fake: FakeHero) -> None:
        self.fake = fake
        self.rows: dict[str, LedgerEntry] = {}
        self.puts: list[tuple[str, int, int, int]] = []
        self.closed = 0

    async def get(self, key: str) -> LedgerEntry | None:
        return self.rows.get(key)

    async def put(self, entry: LedgerEntry) -> None:
        self.rows[entry.key] = entry
        counts = (self.fake.count(path=p) for p in (REGISTER, LINKS, MESSAGES))
        self.puts.append((entry.state, *counts))

    async def close(self) -> None:
        self.closed += 1


async def test_each_claim_is_stored_before_its_request() -> None:
    """A caller's Ledger sees register → link claim → link → message claim → sent, and each
    claim is put before Hero saw the request it claims; the caller's ledger is not closed."""
    async with sandbox() as (fake, hero):
        ledger = _WatchingLedger(fake)
        with await hero.send_invitations([invitation(1, "1002")], ledger=ledger) as report:
            assert report.sent == 1
    assert ledger.puts == [
        ("registered", 1, 0, 0),
        ("link_claimed", 1, 0, 0),
        ("linked", 1, 1, 0),
        ("message_claimed", 1, 1, 0),
        ("sent", 1, 1, 1),
    ]
    assert ledger.closed == 0


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


async def test_concurrent_writes_share_one_commit_and_each_is_durable_on_return(
    tmp_path: Path,
) -> None:
    """Group commit: 50 writers in one loop turn cost one transaction, and when each put()
    returns, its row is visible to a second connection (committed, not just buffered)."""
    path = tmp_path / "ledger.db"
    ledger = SqliteLedger(path)
    commits = 0
    real_commit = ledger._commit

    def counting_commit() -> None:
        nonlocal commits
        commits += 1
        real_commit()

    ledger._commit = counting_commit  # type: ignore[method-assign]
    entries = [LedgerEntry(f"k{i}", "1002", "link_claimed") for i in range(50)]
    await asyncio.gather(*(ledger.put(entry) for entry in entries))
    assert commits == 1
    other = sqlite3.connect(path)
    assert other.execute("SELECT count(*) FROM invitations").fetchone() == (50,)
    other.close()
    await ledger.close()


async def test_a_cancelled_writer_does_not_cancel_its_batch_mates(tmp_path: Path) -> None:
    """One writer cancelled while waiting for the group commit: the others' rows (and its
    own, already handed over) are still committed."""
    path = tmp_path / "ledger.db"
    ledger = SqliteLedger(path)
    writers = [
        asyncio.create_task(ledger.put(LedgerEntry(f"k{i}", "1002", "message_claimed")))
        for i in range(3)
    ]
    await asyncio.sleep(0)  # let all three hand their rows over (no time passes)
    writers[0].cancel()
    results = await asyncio.gather(*writers, return_exceptions=True)
    assert isinstance(results[0], asyncio.CancelledError)
    assert results[1:] == [None, None]
    assert sorted(entry.key for entry in ledger.entries()) == ["k0", "k1", "k2"]
    await ledger.close()
