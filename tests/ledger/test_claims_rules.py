"""The claim store's rules one at a time, beyond the shared contract: what a campaign's
fingerprint is (older ledgers must keep matching), who a run says it is, and how SqliteLedger
reads, batches and fences its writes. Real SQLite files, an injected lease clock, no sleeps."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import hashlib
import os
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from contract import Clock

from hero_async.bulk import (
    LEASE_SECONDS,
    Campaign,
    ForeignLedgerError,
    LedgerEntry,
    LedgerError,
    LedgerUnavailableError,
    Resolution,
    RunInfo,
    SqliteLedger,
    State,
)
from hero_async.bulk._sqlite_schema import process_alive, process_mark

HOST = socket.gethostname()


def _link(key: str = "k1", **fields: object) -> LedgerEntry:
    entry = LedgerEntry(key, "1002", State.LINK_CLAIMED, patient_id="p1", step="link")
    return entry._replace(**fields)


def _remote(n: int = 0) -> RunInfo:
    """A run of another machine: judged by its lease alone."""
    return RunInfo(f"owner-{n}", "host-elsewhere", 10_000 + n, 1_800_000_000.0)


def _raw(path: Path, sql: str, args: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    with contextlib.closing(sqlite3.connect(path)) as raw, raw:
        return raw.execute(sql, args).fetchall()


# --- _claims: Campaign and RunInfo ----------------------------------------------------------


def test_campaign_fingerprint_is_the_first_20_hex_of_the_sha256_of_the_sorted_keys() -> None:
    """The fingerprint is recorded in every ledger: a new version must compute the very same
    one, or every existing ledger would be refused as foreign."""
    expected = hashlib.sha256(b"a\0b\0c\0").hexdigest()[:20]
    assert Campaign.of("flu", ["c", "a", "b", "a"]) == Campaign("flu", expected)
    assert Campaign.of("flu", []) == Campaign("flu", hashlib.sha256().hexdigest()[:20])


def test_campaign_fingerprint_tells_key_boundaries_apart() -> None:
    assert Campaign.of("x", ["ab"]).fingerprint != Campaign.of("x", ["a", "b"]).fingerprint
    assert Campaign.of("x", ["a"]).fingerprint != Campaign.of("x", ["a", "b"]).fingerprint


def test_campaign_of_keys_with_undecodable_bytes() -> None:
    """A key read from a CSV with surrogateescape holds lone surrogates: it fingerprints,
    and differently from its neighbours."""
    odd = b"key-\xff".decode("utf-8", "surrogateescape")
    other = b"key-\xfe".decode("utf-8", "surrogateescape")
    fingerprint = Campaign.of("x", [odd]).fingerprint
    assert (
        fingerprint
        == hashlib.sha256("key-\udcff".encode("utf-8", "surrogatepass") + b"\0").hexdigest()[:20]
    )
    assert fingerprint != Campaign.of("x", [other]).fingerprint


def test_run_info_here_names_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "time", lambda: 1_234.5)
    run, again = RunInfo.here(), RunInfo.here()
    assert (run.host, run.pid, run.started) == (HOST, os.getpid(), 1_234.5)
    assert uuid.UUID(hex=run.owner).hex == run.owner  # 32 hex digits
    assert run.owner != again.owner  # unique per run


# --- SqliteLedger ---------------------------------------------------------------------------


def test_busy_timeout_is_what_was_asked(tmp_path: Path) -> None:
    """How long a store waits for another process's write lock before giving up."""
    default, short = (
        SqliteLedger(tmp_path / "l.db"),
        SqliteLedger(tmp_path / "l.db", busy_timeout=2.5),
    )
    try:
        assert default._db.execute("PRAGMA busy_timeout").fetchone() == (10_000,)
        assert short._db.execute("PRAGMA busy_timeout").fetchone() == (2_500,)
    finally:
        default._db.close()
        short._db.close()


def test_an_unopenable_path_is_ledger_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "no-such-folder" / "l.db"
    with pytest.raises(LedgerUnavailableError) as raised:
        SqliteLedger(path)
    assert str(raised.value).startswith(f"the ledger {path} cannot record progress (unable to")


def test_a_store_made_in_one_thread_serves_a_loop_in_another(tmp_path: Path) -> None:
    """Built in the caller's thread, used by an event loop running in a worker thread."""
    store = SqliteLedger(tmp_path / "l.db", clock=Clock())

    async def use() -> int | None:
        await store.begin(_remote(), None)
        try:
            return await store.claim(_link(), expect_epoch=0)
        finally:
            await store.close()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        assert pool.submit(asyncio.run, use()).result() == 1


def test_repr_names_the_file_only(tmp_path: Path) -> None:
    store = SqliteLedger(tmp_path / "l.db")
    try:
        assert repr(store) == f"SqliteLedger({str(tmp_path / 'l.db')!r})"
    finally:
        store._db.close()


async def test_a_settled_answer_is_seen_at_once_by_its_own_store(tmp_path: Path) -> None:
    """settle returns before its write commits: get, entries and counts of that store already
    see the answer; an answer for another epoch (it will be fenced off) is never shown."""
    store = SqliteLedger(tmp_path / "l.db", clock=Clock())
    await store.begin(_remote(), None)
    try:
        assert await store.claim(_link("k1"), expect_epoch=0) == 1
        assert await store.claim(_link("k2"), expect_epoch=0) == 1
        linked = _link("k1", state=State.LINKED, link_id="L1", step=None)
        await store.settle(linked, epoch=1)
        await store.settle(_link("k2", state=State.SENT, message_id="M"), epoch=5)
        assert await store.get("k1") == linked._replace(epoch=1, owner="owner-0")
        k2 = await store.get("k2")
        assert k2 is not None
        assert (k2.state, k2.message_id) == (State.LINK_CLAIMED, None)
        assert [e.state for e in await store.entries()] == [State.LINKED, State.LINK_CLAIMED]
    finally:
        await store.close()


async def test_entries_and_counts_include_an_answer_settled_just_before(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    store = SqliteLedger(path, clock=Clock())
    await store.begin(_remote(), None)
    try:
        assert await store.claim(_link("k1"), expect_epoch=0) == 1
        await store.settle(_link("k1", state=State.SENT, message_id="M"), epoch=1)
        counts = await store.counts()
        assert (counts[State.SENT], counts[State.LINK_CLAIMED]) == (1, 0)
        assert _raw(path, "SELECT state FROM invitations") == [(State.SENT,)]
        await store.settle(_link("k1", state=State.FAILED), epoch=1)  # already final: ignored
        assert [(e.state, e.message_id) for e in await store.entries()] == [(State.SENT, "M")]
    finally:
        await store.close()


async def test_a_campaign_name_with_spaces_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    flu = Campaign.of("flu clinic 2026", ["k1"])
    store = SqliteLedger(path, clock=Clock())
    await store.begin(_remote(), flu)
    await store.close()
    again = SqliteLedger(path, clock=Clock())
    try:
        assert await again.campaign() == flu
        await again.begin(_remote(1), flu)
    finally:
        await again.close()


async def test_runs_whose_process_is_gone_are_swept_at_once(tmp_path: Path) -> None:
    """Runs of this machine whose pid no longer exists: their claims are swept though their
    leases are fresh, and they are marked ended (a lease no longer protects anything)."""
    path = tmp_path / "l.db"
    clock = Clock()
    dead = [SqliteLedger(path, clock=clock) for _ in range(2)]
    with _child(sys.executable) as first, _child(sys.executable) as second:
        for n, (store, child) in enumerate(zip(dead, (first, second), strict=True)):
            await store.begin(RunInfo(f"gone-{n}", HOST, child.pid, time.time()), None)
            assert await store.claim(_link(f"k{n}"), expect_epoch=0) == 1
    # both exited and were reaped: their pids are gone
    other = SqliteLedger(path, clock=clock)
    try:
        assert await other.sweep() == 2
        assert _raw(path, "SELECT owner, ended FROM runs ORDER BY owner") == [
            ("gone-0", 1),
            ("gone-1", 1),
        ]
        row = await other.get("k1")
        assert row is not None
        assert (row.state, row.error_type, row.step) == (State.UNKNOWN, "Interrupted", "link")
    finally:
        for store in dead:
            store._db.close()
        await other.close()


async def test_a_run_of_another_machine_is_judged_by_its_lease_alone(tmp_path: Path) -> None:
    """A store records no process mark for a run of another host (it cannot see that host's
    processes): on that host, whatever a local process of the same pid does, the run's
    lease decides -- here the pid is a zombie, and the claim stays until the lease ends."""
    path = tmp_path / "l.db"
    clock = Clock()
    here = SqliteLedger(path, clock=clock, host="here")
    with _child(sys.executable) as child:
        await here.begin(RunInfo("remote", "there", child.pid, 0.0), None)
        assert await here.claim(_link(), expect_epoch=0) == 1
        _exit_unreaped(child)
        there = SqliteLedger(path, clock=clock, host="there")
        try:
            assert await there.sweep() == 0
            clock.now += LEASE_SECONDS + 1
            assert await there.sweep() == 1
        finally:
            here._db.close()
            await there.close()


@contextlib.contextmanager
def _child(program: str | Path) -> Iterator[subprocess.Popen[bytes]]:
    """A Python child process that runs until ``_exit_unreaped``. It takes SIGHUP's default
    action (dies) even if this process ignores it, so a stray signal shows in its returncode."""
    hold = [str(program), "-c", _HOLD]
    with subprocess.Popen(  # noqa: S603 - our snippet
        hold, stdin=subprocess.PIPE, stdout=subprocess.PIPE
    ) as child:
        assert child.stdout is not None
        assert child.stdout.readline() == b"ready\n"
        yield child


_HOLD = """
import signal, sys
signal.signal(signal.SIGHUP, signal.SIG_DFL)
print("ready", flush=True)
sys.stdin.read()
"""


def _exit_unreaped(child: subprocess.Popen[bytes]) -> None:
    """Let ``child`` exit and wait until it has, without reaping it: a zombie."""
    assert child.stdin is not None
    child.stdin.close()
    os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)


def _reaped_pid() -> int:
    """The pid of a process that has exited and been reaped."""
    with subprocess.Popen([sys.executable, "-c", ""]) as child:
        child.wait()
    return child.pid


async def test_renew_moves_the_lease_of_this_run_only(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    clock = Clock()
    a, b = SqliteLedger(path, clock=clock), SqliteLedger(path, clock=clock)
    await a.begin(_remote(0), None)
    await b.begin(_remote(1), None)
    try:
        clock.now += 5
        await a.renew()
        leases = dict(_raw(path, "SELECT owner, lease_until FROM runs"))
        assert leases == {
            "owner-0": clock.now + LEASE_SECONDS,
            "owner-1": clock.now - 5 + LEASE_SECONDS,
        }
    finally:
        await a.close()
        await b.close()


async def test_end_marks_the_run_ended_and_a_store_without_a_run_renews_nothing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "l.db"
    clock = Clock()
    store = SqliteLedger(path, clock=clock)
    await store.renew()  # no run begun: nothing to renew, nothing written
    assert _raw(path, "SELECT count(*) FROM runs") == [(0,)]
    await store.begin(_remote(), None)
    await store.end()
    assert _raw(path, "SELECT owner, ended FROM runs") == [("owner-0", 1)]
    await store.close()


def _fail_inserts_of(path: Path, key: str) -> None:
    """Make the file refuse one key's row, mid-transaction, as a full disk would."""
    trigger = (
        f"CREATE TRIGGER refuse BEFORE INSERT ON invitations WHEN NEW.key = '{key}' "
        "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
    )
    _raw(path, trigger)


async def test_a_failed_commit_tells_every_writer_of_its_batch_and_keeps_none_of_it(
    tmp_path: Path,
) -> None:
    """Claims made in one loop turn share a transaction: when it fails, every one of them is
    told (none is reported won), none is in the file, and the store grants nothing after --
    not even to settle or begin."""
    path = tmp_path / "l.db"
    store = SqliteLedger(path, clock=Clock())
    await store.begin(_remote(), None)
    _fail_inserts_of(path, "boom")
    results = await asyncio.gather(
        store.claim(_link("ok"), expect_epoch=0),
        store.claim(_link("boom"), expect_epoch=0),
        return_exceptions=True,
    )
    assert [type(r) for r in results] == [LedgerUnavailableError] * 2
    assert str(results[0]) == (
        f"the ledger {path} cannot record progress (database or disk is full); the job "
        "stops before sending anything further: free disk space, fix the file's permissions "
        "or stop the other program holding it, then run the same command again"
    )
    assert _raw(path, "SELECT key FROM invitations") == []
    with pytest.raises(LedgerUnavailableError):
        await store.settle(_link("ok", state=State.FAILED), epoch=1)
    with pytest.raises(LedgerUnavailableError):
        await store.begin(_remote(1), None)
    with pytest.raises(LedgerUnavailableError):
        await store.get("ok")
    store._db.close()


async def test_a_failed_commit_lets_go_of_the_write_lock(tmp_path: Path) -> None:
    """The failed store rolls its transaction back: other runs on the ledger go on."""
    path = tmp_path / "l.db"
    failed = SqliteLedger(path, clock=Clock())
    await failed.begin(_remote(0), None)
    _fail_inserts_of(path, "boom")
    with pytest.raises(LedgerUnavailableError):
        await failed.claim(_link("boom"), expect_epoch=0)
    other = SqliteLedger(path, clock=Clock(), busy_timeout=0)
    try:
        await other.begin(_remote(1), None)
        assert await other.claim(_link("k1"), expect_epoch=0) == 1
    finally:
        await other.close()
        failed._db.close()


class _RacedCampaign(SqliteLedger):
    """A store whose first campaign read happened just before another process recorded its
    campaign (the interleaving of two first runs at once)."""

    reads = 0

    async def campaign(self) -> Campaign | None:
        self.reads += 1
        return None if self.reads == 1 else await super().campaign()


async def test_two_first_runs_with_different_campaigns_at_once_only_one_adopts(
    tmp_path: Path,
) -> None:
    path = tmp_path / "l.db"
    flu, covid = Campaign.of("flu", ["k1"]), Campaign.of("covid", ["k2"])
    first = SqliteLedger(path, clock=Clock())
    await first.begin(_remote(0), flu)
    second = _RacedCampaign(path, clock=Clock())
    try:
        with pytest.raises(ForeignLedgerError, match=r"'flu'.*'covid'"):
            await second.begin(_remote(1), covid)
        again = _RacedCampaign(path, clock=Clock())
        await again.begin(_remote(2), flu)  # the same campaign raced: fine
        await again.close()
        assert await second.campaign() == flu
    finally:
        await first.close()
        second._db.close()


# --- _sqlite_schema: the file's mark, migrations, process liveness ---------------------------


async def test_read_mark_counts_rows_and_claims_made_without_changing_anything(
    tmp_path: Path,
) -> None:
    path = tmp_path / "l.db"
    assert SqliteLedger.read_mark(path) is None
    assert not path.exists()  # reading created nothing
    store = SqliteLedger(path, clock=Clock())
    await store.begin(_remote(), None)
    (ledger_id,) = _raw(path, "SELECT value FROM meta WHERE name = 'ledger_id'")[0]
    assert SqliteLedger.read_mark(path) == (ledger_id, 0, 0)
    assert await store.claim(_link("k1"), expect_epoch=0) == 1
    assert await store.claim(_link("k2"), expect_epoch=0) == 1
    await store.settle(_link("k2", state=State.FAILED), epoch=1)
    await store.end()
    await store.close()
    again = SqliteLedger(path, clock=Clock())
    await again.begin(_remote(1), None)
    assert await again.claim(_link("k2"), expect_epoch=1) == 2
    await again.close()
    assert SqliteLedger.read_mark(path) == (ledger_id, 2, 2 + 1 + 2)
    assert SqliteLedger(path).read_mark(path) == (ledger_id, 2, 5)  # opening keeps the id


def test_read_mark_of_files_that_are_not_ledgers_yet(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    assert SqliteLedger.read_mark(empty) == (None, 0, 0)
    older = tmp_path / "older.db"  # before ids and epochs: rows count as the work done
    _raw(older, "CREATE TABLE invitations (key TEXT PRIMARY KEY, state TEXT)")
    _raw(older, "INSERT INTO invitations VALUES ('a', 'sent'), ('b', 'failed')")
    assert SqliteLedger.read_mark(older) == (None, 2, 2)
    _raw(older, "CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT)")
    _raw(older, "INSERT INTO meta VALUES ('ledger_id', 'abc')")
    assert SqliteLedger.read_mark(older) == ("abc", 2, 2)
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database at all" * 100)
    with pytest.raises(LedgerUnavailableError, match=r"garbage\.db .*\(file is not a database\)"):
        SqliteLedger.read_mark(garbage)


async def test_an_older_ledger_is_migrated_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "older.db"
    _raw(
        path,
        "CREATE TABLE invitations (key TEXT PRIMARY KEY, practice_group_id TEXT NOT NULL, "
        "state TEXT NOT NULL, patient_id TEXT, link_id TEXT, short_link TEXT, message_id TEXT, "
        "step TEXT, error_type TEXT, error TEXT, fingerprint TEXT, updated_at REAL)",
    )
    _raw(path, "CREATE TABLE runs (owner TEXT PRIMARY KEY, host TEXT, pid INTEGER, "
         "started REAL, lease_until REAL, ended INTEGER NOT NULL DEFAULT 0)")  # fmt: skip
    _raw(path, "INSERT INTO invitations (key, practice_group_id, state, link_id) "
         "VALUES ('k1', '1002', 'failed', 'L1')")  # fmt: skip
    store = SqliteLedger(path, clock=Clock())
    try:
        await store.begin(_remote(), None)
        row = await store.get("k1")
        assert row == LedgerEntry("k1", "1002", State.FAILED, link_id="L1", epoch=0)
        message = row._replace(state=State.MESSAGE_CLAIMED, step="message")
        assert await store.claim(message, expect_epoch=0) is None  # a row exists: not epoch 0
        await store.settle(row, epoch=0)
        mark = SqliteLedger.read_mark(path)
        assert mark is not None
        assert mark.ledger_id is not None
        assert (mark.rows, mark.work) == (1, 1)
    finally:
        await store.close()


def test_a_process_is_known_by_its_mark_even_with_a_parenthesis_in_its_name(
    tmp_path: Path,
) -> None:
    """/proc/<pid>/stat puts the process name in parentheses, and a name may hold ') ':
    a live process so named is alive with its own mark, dead with another; once it has
    exited (a zombie, not yet reaped) it is dead, and once reaped it is gone."""
    odd = tmp_path / "x) S 1 2"
    odd.symlink_to(sys.executable)
    with _child(odd) as child:
        mark = process_mark(child.pid)
        assert mark is not None
        assert process_alive(child.pid, mark) is True
        # the same pid, another start time: another process now (pid reused)
        assert process_alive(child.pid, mark.rsplit(":", 1)[0] + ":1") is False
        assert process_alive(child.pid, None) is None  # recorded without a mark: the lease decides
        assert process_mark(child.pid) == mark  # the same all its life
        _exit_unreaped(child)
        assert process_alive(child.pid, mark) is False
        assert process_mark(child.pid) is None
    assert process_alive(child.pid, mark) is False  # reaped: gone
    assert child.returncode == 0  # asking about it sent it no signal


def test_marks_of_two_processes_differ_and_name_the_boot() -> None:
    boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    mine = process_mark(os.getpid())
    assert mine is not None
    assert mine.startswith(f"{boot}:")
    assert mine != process_mark(os.getppid())
    assert process_mark(_reaped_pid()) is None


async def test_a_linked_answer_only_settles_a_link_claim(tmp_path: Path) -> None:
    """ "linked" answers a link claim; for a message claim (or the unknown a swept message
    claim left) it is ignored: the row never goes back to a state that would send again."""
    path = tmp_path / "l.db"
    clock = Clock()
    store = SqliteLedger(path, clock=clock)
    await store.begin(_remote(), None)
    try:
        assert await store.claim(_link("k1"), expect_epoch=0) == 1
        message = _link("k1", state=State.MESSAGE_CLAIMED, link_id="L1", step="message")
        assert await store.claim(message, expect_epoch=1) == 2
        await store.settle(_link("k1", state=State.LINKED, link_id="L1", step=None), epoch=2)
        assert [(e.state, e.step) for e in await store.entries()] == [
            (State.MESSAGE_CLAIMED, "message")
        ]
        await store.end()  # the message claim becomes unknown
        await store.settle(_link("k1", state=State.LINKED, link_id="L1", step=None), epoch=2)
        assert [e.state for e in await store.entries()] == [State.UNKNOWN]
    finally:
        await store.close()


class _Interrupted(SqliteLedger):
    """A store whose first read of a key is followed, before it writes, by ``meanwhile``
    (another process acting on the same ledger)."""

    meanwhile: Callable[[], Awaitable[None]] | None = None

    async def get(self, key: str) -> LedgerEntry | None:
        row = await super().get(key)
        act, self.meanwhile = self.meanwhile, None
        if act is not None:
            await act()
        return row


@pytest.mark.parametrize("outcome", ["sent", "not-sent"])
async def test_resolve_racing_another_run_decides_again_on_the_new_row(
    tmp_path: Path, outcome: Resolution
) -> None:
    """Between alice's read and her write, another run claimed the key from unknown and was
    interrupted (unknown again, a newer epoch): her resolution is made on the new row."""
    path = tmp_path / "l.db"
    clock = Clock()
    first = SqliteLedger(path, clock=clock)
    await first.begin(_remote(0), None)
    assert await first.claim(_link("k1"), expect_epoch=0) == 1
    await first.close()  # k1: outcome_unknown, epoch 1
    other = SqliteLedger(path, clock=clock)
    await other.begin(_remote(1), None)

    async def rerun() -> None:
        assert await other.claim(_link("k1"), expect_epoch=1, from_unknown=True) == 2
        await other.end()

    person = _Interrupted(path, clock=clock)
    person.meanwhile = rerun
    try:
        done = await person.resolve("k1", outcome, "alice")
        assert await person.get("k1") == done
        state = State.SENT if outcome == "sent" else State.FAILED
        assert (done.key, done.state, done.epoch, done.owner) == ("k1", state, 3, "owner-1")
        assert f"resolved as {outcome} by alice" in (done.error or "")
    finally:
        await other.close()
        await person.close()


async def test_resolve_losing_to_another_persons_resolution_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    first = SqliteLedger(path, clock=Clock())
    await first.begin(_remote(0), None)
    assert await first.claim(_link("k1"), expect_epoch=0) == 1
    await first.close()
    bob = SqliteLedger(path, clock=Clock())

    async def bob_resolves() -> None:
        await bob.resolve("k1", "not-sent", "bob")

    alice = _Interrupted(path, clock=Clock())
    alice.meanwhile = bob_resolves
    try:
        with pytest.raises(LedgerError, match="this one is failed"):
            await alice.resolve("k1", "sent", "alice")
        row = await alice.get("k1")
        assert row is not None
        assert (row.state, row.epoch) == (State.FAILED, 2)
    finally:
        await alice.close()
        await bob.close()


async def _settled_within_loop_turns(task: asyncio.Task[object]) -> None:
    """Loop turns, not time: a batch's commit runs on the next one."""
    for _ in range(20):
        if task.done():
            return
        await asyncio.sleep(0)
    raise AssertionError("the writer was left waiting")


async def test_a_value_sqlite_cannot_store_fails_the_store_instead_of_stranding_its_batch(
    tmp_path: Path,
) -> None:
    """An answer's text with a lone surrogate (JSON may carry one as an escape) cannot be
    encoded for SQLite: the batch it was in fails like a full disk -- every writer is told,
    at once, nothing of it is committed -- and the write lock is let go."""
    path = tmp_path / "l.db"
    store = SqliteLedger(path, clock=Clock())
    await store.begin(_remote(0), None)
    assert await store.claim(_link("k1"), expect_epoch=0) == 1
    # The claim's task starts before the next commit: the answer and the claim share it.
    claim = asyncio.create_task(store.claim(_link("k2"), expect_epoch=0))
    await store.settle(_link("k1", state=State.FAILED, error="bad \udcff answer"), epoch=1)
    await _settled_within_loop_turns(claim)
    with pytest.raises(LedgerUnavailableError, match="cannot record progress"):
        claim.result()
    assert _raw(path, "SELECT key, state FROM invitations") == [("k1", State.LINK_CLAIMED)]
    other = SqliteLedger(path, clock=Clock(), busy_timeout=0)
    try:
        await other.begin(_remote(1), None)
        assert await other.claim(_link("k3"), expect_epoch=0) == 1
    finally:
        await other.close()
        store._db.close()


class _RollbackFails:
    """The store's connection, except that ROLLBACK fails (an I/O error on the journal)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __getattr__(self, name: str) -> object:
        return getattr(self._db, name)

    def execute(self, sql: str, *args: object) -> sqlite3.Cursor:
        if sql == "ROLLBACK":
            raise sqlite3.OperationalError("disk I/O error")
        return self._db.execute(sql, *args)


async def test_a_failed_rollback_still_tells_every_writer_of_the_batch(tmp_path: Path) -> None:
    """The batch failed, and so did its ROLLBACK: the writers are still told, at once (not
    left waiting for a commit that will never come, the job's POSTs stalled behind them)."""
    store = SqliteLedger(tmp_path / "l.db", clock=Clock())
    await store.begin(_remote(0), None)
    assert await store.claim(_link("k1"), expect_epoch=0) == 1
    real = store._db
    store._db = _RollbackFails(real)  # type: ignore[assignment]
    claim = asyncio.create_task(store.claim(_link("k2"), expect_epoch=0))
    await store.settle(_link("k1", state=State.FAILED, error="bad \udcff answer"), epoch=1)
    await _settled_within_loop_turns(claim)
    with pytest.raises(LedgerUnavailableError, match="cannot record progress"):
        claim.result()
    real.close()


def test_a_migration_that_fails_midway_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    """The file refuses the ledger's id (as a full disk would): opening it is
    LedgerUnavailableError naming that cause, and no table of the migration is left."""
    path = tmp_path / "l.db"
    _raw(path, "CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT)")
    _raw(
        path,
        "CREATE TRIGGER refuse BEFORE INSERT ON meta "
        "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END",
    )
    with pytest.raises(LedgerUnavailableError, match=r"\(database or disk is full\)"):
        SqliteLedger(path)
    tables = _raw(path, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    assert tables == [("meta",)]


async def test_a_failed_read_names_its_cause(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    store = SqliteLedger(path, busy_timeout=0)
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as blocker:
        blocker.execute("BEGIN EXCLUSIVE")
        with pytest.raises(LedgerUnavailableError, match=r"\(database is locked\)"):
            await store.get("k1")
        blocker.execute("ROLLBACK")
    store._db.close()


def test_a_run_of_another_boot_or_pid_namespace_is_judged_by_its_lease() -> None:
    """A machine or container sharing this hostname (a cloned VM, host networking): its pids
    mean nothing here, so our /proc never calls its run dead or alive; the lease decides."""
    mine = process_mark(os.getpid())
    assert mine is not None
    assert process_alive(os.getpid(), mine) is True
    boot, namespace, pid, start = mine.split(":")
    assert process_alive(os.getpid(), f"another-boot:{namespace}:{pid}:{start}") is None
    assert process_alive(os.getpid(), f"{boot}:1:{pid}:{start}") is None
    assert process_alive(_reaped_pid(), f"{boot}:{namespace}:{pid}:{start}") is False
    assert process_alive(os.getpid(), None) is None
