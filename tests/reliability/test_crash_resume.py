"""Crash and resume: a bulk job killed at random points, then resumed with the same ledger.

Two ways to die: the job's task is cancelled (Ctrl-C in an asyncio program, a web app
shutting down), and the process is SIGKILLed (OOM killer, ``kill -9``, a lost container).
Faults keep firing through every run. After the final run the same invariants as the chaos
runs hold, over everything every run did: each row in the final report exactly once, no
patient messaged twice for a key, no second link for a key, and a ledger that agrees with
what the fake actually did.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import sys
from pathlib import Path
from typing import Any

import pytest
from reliability_support import (
    API_KEY,
    HOME,
    InvitationSet,
    acquired_connections,
    build_network,
    check_invariants,
    install_chaos_faults,
    ledger_entries,
    make_invitations,
    pending_tasks,
    quick_sleep,
    quiesce,
)

from hero_async import HeroClient, InvitationResult
from hero_async.testing import FakeHero, Fault

HERE = Path(__file__).parent
ROWS = 1500
SOAK = pytest.mark.soak
CANCEL_SEEDS = (1, 2, 3, *(pytest.param(s, marks=SOAK) for s in range(10, 20)))
KILL_SEEDS = (4, 5, *(pytest.param(s, marks=SOAK) for s in range(20, 25)))
# Seconds: only turns a child that hangs into a failure. The child's job is finite (it prints
# its lines or ends, and EOF ends the wait), so this never decides an outcome; 60 s did, once,
# on a machine with every core busy (CI's CPU-hog pass).
CHILD_GUARD = 600.0


async def _resume_to_the_end(
    fake: FakeHero, rows: InvitationSet, ledger: Path
) -> list[InvitationResult]:
    async with HeroClient(API_KEY, HOME, base_url=fake.url, sleep=quick_sleep) as hero:
        with await hero.send_invitations(rows.invitations, concurrency=50, ledger=ledger) as rep:
            results = list(rep.results())
            assert rep.total == len(rows.invitations)
        assert acquired_connections(hero) == 0
    return results


@pytest.mark.parametrize("seed", CANCEL_SEEDS)
async def test_cancelled_twice_at_random_points_then_resumed(
    seed: int, tmp_path: Path, loop_trouble: Any
) -> None:
    rng = random.Random(f"cancel:{seed}")
    rows = make_invitations(seed, ROWS)
    ledger = tmp_path / "job.db"
    async with FakeHero(seed_sandbox=True, seed=seed, log_limit=0) as fake:
        build_network(fake)
        install_chaos_faults(fake, seed)
        async with HeroClient(API_KEY, HOME, base_url=fake.url, sleep=quick_sleep) as hero:
            # First death: cancelled from inside the job, right after a random result.
            first = asyncio.current_task()
            assert first is not None
            stop_after = rng.randrange(50, ROWS // 2)
            seen = 0
            job: asyncio.Task[Any] | None = None

            def progress(result: InvitationResult) -> None:
                nonlocal seen
                seen += 1
                if seen == stop_after and job is not None:
                    job.cancel()

            job = asyncio.ensure_future(
                hero.send_invitations(
                    rows.invitations, concurrency=50, ledger=ledger, on_progress=progress
                )
            )
            with pytest.raises(asyncio.CancelledError):
                await job
            await quiesce()  # a shielded token fetch outlives the job: await it, then look
            assert acquired_connections(hero) == 0

            # Second death: cancelled from outside after a random time, wherever it is.
            job = asyncio.ensure_future(
                hero.send_invitations(rows.invitations, concurrency=50, ledger=ledger)
            )
            await asyncio.sleep(rng.uniform(0.05, 0.4))
            if not job.done():
                job.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                (await job).close()
            await quiesce()
            assert acquired_connections(hero) == 0
        interrupted = [e for e in ledger_entries(ledger) if e.error_type == "Interrupted"]
        claims = [e for e in ledger_entries(ledger) if e.state.endswith("_claimed")]
        results = await _resume_to_the_end(fake, rows, ledger)
        check_invariants(rows, results, ledger_entries(ledger), fake)
        assert len(interrupted) + len(claims) <= 2 * 50  # at most what was in flight
    assert not await pending_tasks()


async def _child_job(url: str, ledger: Path, seed: int, kill_after: int) -> tuple[int, int]:
    """Start the child job; SIGKILL it after ``kill_after`` progress lines. Returns
    (lines seen, return code)."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        str(HERE / "chaos_child.py"),
        "job",
        url,
        str(ledger),
        str(seed),
        str(ROWS),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=HERE,
    )
    assert child.stdout is not None
    lines = 0
    try:
        async with asyncio.timeout(CHILD_GUARD):
            while lines < kill_after:
                line = await child.stdout.readline()
                if not line:
                    break
                if line.startswith(b"PROGRESS"):
                    lines += 1
            child.send_signal(signal.SIGKILL)
            _, stderr = await child.communicate()
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
    assert lines == kill_after, stderr.decode()[-2000:]
    return lines, child.returncode or 0


@pytest.mark.parametrize("seed", KILL_SEEDS)
async def test_sigkilled_child_process_then_resumed(
    seed: int, tmp_path: Path, loop_trouble: Any
) -> None:
    """A child process runs the job against the fake served here and is SIGKILLed twice at
    random points (mid-request, as often as not); this process resumes with its ledger."""
    rng = random.Random(f"kill:{seed}")
    rows = make_invitations(seed, ROWS)
    ledger = tmp_path / "job.db"
    async with FakeHero(seed_sandbox=True, seed=seed, log_limit=0) as fake:
        build_network(fake)
        install_chaos_faults(fake, seed)
        fake.add_fault(Fault(latency=0.002, times=None))  # keep requests in flight
        for low, high in ((20, 600), (20, 600)):
            _, code = await _child_job(fake.url, ledger, seed, rng.randrange(low, high))
            assert code == -signal.SIGKILL
        entries = ledger_entries(ledger)
        assert entries, "the killed runs left no ledger behind"
        results = await _resume_to_the_end(fake, rows, ledger)
        check_invariants(rows, results, ledger_entries(ledger), fake)
        skipped = sum(r.state == "skipped" for r in results)
        assert skipped >= 20  # work done before the kills was kept, not redone
    assert not await pending_tasks()
