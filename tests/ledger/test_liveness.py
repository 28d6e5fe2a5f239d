"""Who may sweep whose claims: a live run on this machine is never swept (however long it is
paused, whatever the wall clock does), a dead one at once, a run of another machine when its
lease is over; and a run keeps its lease for as long as it lives, or stops.

Real SQLite files, real child processes (SIGSTOP/SIGKILL), the real pipeline against a
FakeHero; lease time is an injected clock and the renewal timer is driven by the test.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bulk_support import MESSAGES, invitation, sandbox
from contract import Clock

from hero_async.bulk import (
    LEASE_SECONDS,
    LedgerEntry,
    LedgerUnavailableError,
    RunInfo,
    RunLedger,
    SqliteLedger,
    State,
)
from hero_async.bulk import _pipeline as pipeline
from hero_async.resources import Requester

_HOLDER = """
import asyncio, sys
from hero_async.bulk import LedgerEntry, RunInfo, SqliteLedger

async def main():
    ledger = SqliteLedger(sys.argv[1])
    await ledger.begin(RunInfo.here(), None)
    for n in range(3):
        entry = LedgerEntry(f"k{n}", "1002", "message_claimed", link_id=str(n), step="message")
        assert await ledger.claim(entry, expect_epoch=0) == 1
    print("READY", flush=True)
    sys.stdin.read()  # holds its claims until killed

asyncio.run(main())
"""


@contextlib.contextmanager
def _holder(ledger: Path) -> Iterator[subprocess.Popen[str]]:
    """A child process that claims k0..k2 on ``ledger`` and then holds them."""
    with subprocess.Popen(  # noqa: S603 - our own snippet
        [sys.executable, "-c", _HOLDER, str(ledger)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as child:
        try:
            assert child.stdout is not None
            assert child.stdout.readline() == "READY\n"
            yield child
        finally:
            child.kill()
            child.wait()


def _states(store: SqliteLedger) -> list[str]:
    return [entry.state for entry in store.read_entries()]


async def test_a_paused_local_owner_is_never_swept_and_a_dead_one_at_once(
    tmp_path: Path,
) -> None:
    """The owner is stopped (Ctrl-Z, a suspended laptop) and another run's clock is a day
    ahead (its lease long over, as after a forward wall-clock step): its pid is alive and
    is the same process, so its claims stay. Once it is killed, they are swept at once."""
    path = tmp_path / "l.db"
    clock = Clock()
    with _holder(path) as child:
        child.send_signal(signal.SIGSTOP)
        try:
            clock.now = time.time() + 86_400
            other = SqliteLedger(path, clock=clock)
            await other.begin(RunInfo.here(), None)  # begin sweeps too
            assert await other.sweep() == 0
            assert _states(other) == [State.MESSAGE_CLAIMED] * 3
            # Not one of the paused run's keys can be claimed, not even from_unknown.
            entry = LedgerEntry("k0", "1002", State.LINK_CLAIMED, step="link")
            assert await other.claim(entry, expect_epoch=1, from_unknown=True) is None
        finally:
            child.send_signal(signal.SIGCONT)
    assert await other.sweep() == 3  # killed: no lease to wait for
    assert _states(other) == [State.UNKNOWN] * 3
    await other.close()


async def test_a_reused_pid_does_not_keep_a_dead_runs_claims(tmp_path: Path) -> None:
    """A run row whose pid is alive but is another process (the pid was reused: its start
    time differs from the one recorded at begin) is judged by its lease like a remote run;
    the same row with its own process's mark is live past any lease."""
    path = tmp_path / "l.db"
    clock = Clock()
    owner = SqliteLedger(path, clock=clock)
    await owner.begin(RunInfo.here(), None)
    assert await owner.claim(LedgerEntry("k", "1002", State.LINK_CLAIMED), expect_epoch=0) == 1
    other = SqliteLedger(path, clock=clock)
    clock.now += LEASE_SECONDS * 10
    assert await other.sweep() == 0  # this very process: live
    with contextlib.closing(sqlite3.connect(path)) as raw, raw:
        assert raw.execute("UPDATE runs SET proc = 'another-boot:1'").rowcount == 1
    assert await other.sweep() == 1  # the pid is someone else now, the lease is over
    await owner.close()
    await other.close()


class _Timer:
    """The lease-renewal timer, driven by the test: ``tick()`` lets one renewal happen and
    returns once it is done (the renewer is waiting for the next one)."""

    def __init__(self) -> None:
        self._go = asyncio.Event()
        self._waiting = asyncio.Event()
        self.renewals = 0

    async def __call__(self) -> None:
        self._waiting.set()
        await self._go.wait()
        self._go.clear()
        self.renewals += 1

    def release(self) -> None:
        self._go.set()

    async def tick(self) -> None:
        await self._waiting.wait()
        self._waiting.clear()
        self.release()
        await self._waiting.wait()


class _Held:
    """A practice-group view whose message POSTs wait at the door until ``open``."""

    def __init__(self, view: Requester, door: asyncio.Event, arrived: list[int]) -> None:
        self._view, self._door, self._arrived = view, door, arrived

    @property
    def practice_group_id(self) -> str:
        return self._view.practice_group_id

    async def request(self, method: str, path: str, **options: Any) -> Any:
        if path == MESSAGES:
            self._arrived.append(1)
            await self._door.wait()
        return await self._view.request(method, path, **options)

    async def access_token(self) -> Any:
        return await self._view.access_token()

    async def mint_access_token(self) -> Any:
        return await self._view.mint_access_token()


async def test_a_job_outliving_its_lease_keeps_its_keys(tmp_path: Path) -> None:
    """A job's message POSTs hang for four leases: it renews, so a store on another machine
    sweeping all along takes none of its keys; they end sent, once each."""
    path = tmp_path / "l.db"
    clock = Clock()
    door, arrived = asyncio.Event(), list[int]()
    timer = _Timer()
    elsewhere = SqliteLedger(path, clock=clock, host="another-machine")
    async with sandbox() as (fake, hero):

        def held(group: str, cap: Any) -> _Held:
            return _Held(hero._bulk_view(group, cap), door, arrived)

        job = asyncio.create_task(
            pipeline.send_invitations(
                held,
                [invitation(i) for i in range(3)],
                ledger=SqliteLedger(path, clock=clock),
                lease_timer=timer,
            )
        )
        while len(arrived) < 3:
            await asyncio.sleep(0)
        for _ in range(5):
            clock.now += LEASE_SECONDS * 0.8
            await timer.tick()
            assert await elsewhere.sweep() == 0
        assert _states(elsewhere) == [State.MESSAGE_CLAIMED] * 3
        door.set()
        with await job as report:
            assert report.sent == 3
        assert len(fake.messages) == 3
    assert timer.renewals == 5
    assert _states(elsewhere) == [State.SENT] * 3
    await elsewhere.close()


class _FailingSweep(RunLedger):
    """An in-memory store whose sweep fails like an unreadable SQLite file, once armed."""

    def __init__(self) -> None:
        super().__init__()
        self.armed = False

    async def sweep(self) -> int:
        if self.armed:
            raise sqlite3.OperationalError("disk I/O error")
        return await super().sweep()


async def test_a_failed_renewal_stops_the_job(tmp_path: Path) -> None:
    """The renewer fails mid-job: the job raises LedgerUnavailableError instead of going on
    claiming without a lease; at most the requests already in flight went out after."""
    store = _FailingSweep()
    timer = _Timer()
    at_failure: list[int] = []
    async with sandbox() as (fake, hero):

        def progress(result: object) -> None:
            if len(fake.messages) >= 10 and not at_failure:
                store.armed = True
                at_failure.append(fake.count())
                timer.release()

        with pytest.raises(LedgerUnavailableError, match="lease"):
            await pipeline.send_invitations(
                hero._bulk_view,
                [invitation(i) for i in range(300)],
                ledger=store,
                concurrency=4,
                on_progress=progress,
                lease_timer=timer,
            )
        assert at_failure
        assert fake.count() - at_failure[0] <= 4
        assert len(fake.messages) < 100


async def test_a_failed_read_in_sweep_is_ledger_unavailable_and_final(tmp_path: Path) -> None:
    """The lock is held by another program: sweep's read of the runs table fails. That is a
    LedgerUnavailableError (not a raw sqlite3 error), and the store grants no claim after
    it, even once the lock is gone."""
    path = tmp_path / "l.db"
    store = SqliteLedger(path, busy_timeout=0)
    await store.begin(RunInfo.here(), None)
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as blocker:
        blocker.execute("BEGIN EXCLUSIVE")
        with pytest.raises(LedgerUnavailableError, match=str(path)):
            await store.sweep()
        blocker.execute("ROLLBACK")
    entry = LedgerEntry("k", "1002", State.LINK_CLAIMED)
    with pytest.raises(LedgerUnavailableError):
        await store.claim(entry, expect_epoch=0)
    store._db.close()
