"""Schema set-up by many workers at once, and the recovery of a dead worker's shard job."""

from __future__ import annotations

import asyncio
import sys

import psycopg
from procrastinate.jobs import Status

from hero_async.fleet import open_pool
from hero_async.fleet._jobs import build_app, defer_shard, retry_stalled

OPENERS = """
import asyncio, sys
from hero_async.fleet import open_pool
async def main():
    pool = await open_pool(sys.argv[1], max_size=1)
    await pool.close()
asyncio.run(main())
"""


async def test_many_processes_create_the_schema_once(database_url: str) -> None:
    # procrastinate's own apply_schema is not idempotent: six racing processes must not break.
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", OPENERS, database_url, stderr=asyncio.subprocess.PIPE
        )
        for _ in range(6)
    ]
    for proc in procs:
        _, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()
    with psycopg.connect(database_url) as conn:
        versions = conn.execute("SELECT version FROM hero_fleet.migrations ORDER BY 1").fetchall()
        types = conn.execute(
            "SELECT count(*) FROM pg_type WHERE typname = 'procrastinate_job_status'"
        ).fetchone()
    assert [v for (v,) in versions] == [1, 2]
    assert types == (1,)
    pool = await open_pool(database_url)  # and once more, on an up-to-date database
    await pool.close()


async def _stalled_job(database_url: str) -> tuple[object, int]:
    app = build_app(database_url)
    await app.open_async()
    assert await defer_shard(app, "c", 0)
    assert not await defer_shard(app, "c", 0)  # the queueing lock: never queued twice
    worker = await app.job_manager.register_worker()
    job = await app.job_manager.fetch_job(queues=None, worker_id=worker)
    assert job is not None
    with psycopg.connect(database_url, autocommit=True) as conn:  # the worker went silent
        conn.execute("UPDATE procrastinate_workers SET last_heartbeat = now() - interval '1 hour'")
    return app, int(job.id or 0)


async def test_a_dead_workers_shard_job_is_put_back(database_url: str) -> None:
    pool = await open_pool(database_url)
    app, job_id = await _stalled_job(database_url)
    try:
        assert await retry_stalled(app, stalled_after=60) == 1
        status = await app.job_manager.get_job_status_async(job_id)
        assert status == Status.TODO
    finally:
        await app.close_async()
        await pool.close()


async def test_a_stalled_job_with_a_queued_copy_is_closed_not_retried(database_url: str) -> None:
    pool = await open_pool(database_url)
    app, job_id = await _stalled_job(database_url)
    try:
        assert await defer_shard(app, "c", 0)  # the lock is free while the first is doing
        assert await retry_stalled(app, stalled_after=60) == 0
        status = await app.job_manager.get_job_status_async(job_id)
        assert status == Status.FAILED  # UniqueViolation handled: the todo copy will run
    finally:
        await app.close_async()
        await pool.close()
