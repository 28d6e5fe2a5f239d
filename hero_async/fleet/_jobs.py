"""The procrastinate side: one job per shard (queueing lock ``shard:NAME:N``: never queued
twice), and a reconcile job (queueing lock ``reconcile``) that recovers from dead workers.

procrastinate leaves a SIGKILLed worker's job ``doing`` forever; reconcile finds those by the
workers' heartbeats, puts them back to ``todo`` (or, when a ``todo`` copy already holds the
queueing lock, marks the stalled one failed), sweeps expired ledger leases and re-defers any
unfinished shard that has no live job. Correctness never depends on procrastinate: a shard run
twice at once shares its keys through the ledger's claims. procrastinate's ``lock=`` is not
used (a burst worker cannot fetch a job waiting on a held lock).
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from procrastinate import App, PsycopgConnector
from procrastinate import exceptions as pexc
from procrastinate.jobs import Status

__all__ = ["QUEUE", "RECONCILE", "SHARD", "build_app", "defer_reconcile", "defer_shard"]

QUEUE = "hero_fleet"
SHARD = "hero_fleet.shard"
RECONCILE = "hero_fleet.reconcile"

RunShard = Callable[[str, int], Awaitable[None]]
Reconcile = Callable[[], Awaitable[None]]


def build_app(
    url: str, run_shard: RunShard | None = None, reconcile: Reconcile | None = None
) -> App:
    """An app whose tasks call ``run_shard``/``reconcile`` (None: for deferring only)."""
    app = App(connector=PsycopgConnector(conninfo=url, min_size=1, max_size=4))

    @app.task(name=SHARD, queue=QUEUE)
    async def shard(campaign: str, number: int) -> None:
        assert run_shard is not None, "a submit-only app cannot run shards"
        await run_shard(campaign, number)

    @app.task(name=RECONCILE, queue=QUEUE)
    async def reconcile_() -> None:
        assert reconcile is not None, "a submit-only app cannot reconcile"
        await reconcile()

    return app


async def defer_shard(app: App, campaign: str, number: int, *, connection: Any = None) -> bool:
    """Queue the shard's job unless one is queued already; False if it was. Inside the
    caller's transaction (``connection``) the attempt is a savepoint, so a held queueing
    lock does not abort the rest of that transaction."""
    task = app.configure_task(
        SHARD, queue=QUEUE, queueing_lock=f"shard:{campaign}:{number}", connection=connection
    )
    try:
        if connection is None:
            await task.defer_async(campaign=campaign, number=number)
        else:
            async with connection.transaction():
                await task.defer_async(campaign=campaign, number=number)
    except pexc.AlreadyEnqueued:
        return False
    return True


async def defer_reconcile(app: App) -> None:
    with contextlib.suppress(pexc.AlreadyEnqueued):  # one is queued: that one will do
        await app.configure_task(RECONCILE, queue=QUEUE, queueing_lock="reconcile").defer_async()


async def retry_stalled(app: App, stalled_after: float) -> int:
    """Put shard jobs of workers silent for ``stalled_after`` s back to todo."""
    manager = app.job_manager
    stalled = await manager.get_stalled_jobs(
        queue=QUEUE, task_name=SHARD, seconds_since_heartbeat=stalled_after
    )
    retried = 0
    for job in stalled:
        try:
            await manager.retry_job(job)
            retried += 1
        except pexc.UniqueViolation:  # a todo copy holds the queueing lock: it will run
            await manager.finish_job(job, status=Status.FAILED, delete_job=False)
    return retried
