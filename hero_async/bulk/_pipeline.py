"""The bulk invitation pipeline: register (PDS) → booking link → message, for every patient.

Shape of a run:

    invitations ─▶ validate ─▶ per-group buffers ─▶ shards ─▶ bounded queue ─▶ workers
    (list, iterable,  (bad rows    (one practice group,        (2 x concurrency  (`concurrency`
     async iterable)   fail here)   ≤ shard_size keys)          invitations)      of them)

Memory is O(concurrency + shard_size x groups buffered), never O(invitations): input is read
as it is consumed and results stream into the report's spool. A shard (one practice group, a
bounded batch of keys) is the unit that could later run as one job on a distributed queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable
from pathlib import Path
from typing import Protocol

import attrs

from .. import _constants as C
from .._errors import ValidationError
from .._ratelimit import LocalRateLimiter, RateLimiter
from ..resources import Requester
from ._breaker import CircuitBreaker
from ._claims import (
    LEASE_SECONDS,
    Campaign,
    Ledger,
    LedgerError,
    LedgerUnavailableError,
    RunInfo,
)
from ._invitation import Invitation, Plan, plan
from ._preflight import Preflight
from ._report import FAILED, SKIPPED, BulkReport, InvitationResult
from ._runledger import RunLedger
from ._sqlite import SqliteLedger
from ._steps import InvitationRun, Parked

__all__ = ["DEFAULT_CONCURRENCY", "Shard", "ViewFor", "send_invitations"]

DEFAULT_CONCURRENCY = 20
SHARD_SIZE = 100  # keys per shard: big enough to keep slots busy, small enough to resume well
Progress = Callable[[InvitationResult], object]
Sleep = Callable[[float], Awaitable[None]]
LeaseTimer = Callable[[], Awaitable[None]]
_Work = asyncio.Queue["tuple[Requester, Plan] | None"]


class ViewFor(Protocol):
    """How the bulk layer gets "a view that can make requests for a practice group": the
    client passes its own factory, so this layer never imports the client."""

    def __call__(self, practice_group_id: str, cap: RateLimiter | None, /) -> Requester: ...


@attrs.frozen
class Shard:
    practice_group_id: str
    plans: tuple[Plan, ...]


async def send_invitations(
    view_for: ViewFor,
    invitations: Iterable[Invitation] | AsyncIterable[Invitation],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    rate_limit: float | None = None,
    ledger: Ledger | str | Path | None = None,
    on_progress: Progress | None = None,
    retry_unknown: bool = False,
    campaign: Campaign | None = None,
    max_outage: float = C.DEFAULT_MAX_OUTAGE_SECONDS,
    sleep: Sleep = asyncio.sleep,
    lease_timer: LeaseTimer | None = None,
) -> BulkReport:
    """Invite every patient; see ``Job`` for the guarantees. ``ledger`` may be a SQLite path.
    ``campaign``: the job's identity; a ledger recorded for another one is refused before
    any request (see ``Ledger.begin``). ``max_outage``: seconds a practice group's outage
    is waited out (its invitations set aside, the other groups going on) before the rest
    of that group fails, retryable, as CircuitOpen. ``sleep``: how those waits are slept
    (the breaker's clock is monotonic). ``lease_timer``: awaited before each renewal of
    the run's lease (default: ``LEASE_SECONDS / 3`` of real time; tests drive their own)."""
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    if max_outage < 0:
        raise ValueError("max_outage must not be negative")
    if type(retry_unknown) is not bool:  # "false" is truthy: it would re-send unknown keys
        raise TypeError(f"retry_unknown must be True or False, not {type(retry_unknown).__name__}")
    async with contextlib.AsyncExitStack() as stack:
        store = _open_ledger(ledger, stack)
        await store.begin(RunInfo.here(), campaign)
        stack.push_async_callback(store.end)  # also on cancel: held claims become unknown
        job = Job(
            view_for,
            store,
            concurrency=concurrency,
            rate_limit=rate_limit,
            on_progress=on_progress,
            retry_unknown=retry_unknown,
            max_outage=max_outage,
            sleep=sleep,
        )
        try:
            await _renewing(store, job.run(invitations), lease_timer or _third_of_a_lease)
        except BaseException:
            job.report.close()
            raise
    return job.report


async def _renewing(store: Ledger, work: Awaitable[None], timer: LeaseTimer) -> None:
    """Run ``work`` while renewing the lease. A renewal that fails stops the work (its
    claims could be taken over once the lease runs out) and is raised, as
    LedgerUnavailableError; the store itself grants nothing after a failed write or read."""
    try:
        async with asyncio.TaskGroup() as tasks:
            renewer = tasks.create_task(_keep_alive(store, timer))
            await work
            renewer.cancel()
    except BaseExceptionGroup as group:  # the renewer's error first, else the job's own
        ledger = [exc for exc in group.exceptions if isinstance(exc, LedgerError)]
        if ledger or len(group.exceptions) == 1:
            first = (ledger or group.exceptions)[0]
            raise first from first.__cause__  # keeps the database's own error as the cause
        raise


async def _keep_alive(store: Ledger, timer: LeaseTimer) -> None:
    """Renew this run's lease while it lives, sweeping dead runs' claims on the way."""
    while True:
        await timer()
        try:
            await store.renew()
            await store.sweep()
        except LedgerError:
            raise
        except Exception as exc:  # a store's raw error (an unwrapped read): stop all the same
            raise LedgerUnavailableError(
                f"the ledger could not renew this run's lease ({type(exc).__name__}: {exc}); "
                "the job stops before sending anything further"
            ) from exc


async def _third_of_a_lease() -> None:
    await asyncio.sleep(LEASE_SECONDS / 3)


def _open_ledger(ledger: Ledger | str | Path | None, stack: contextlib.AsyncExitStack) -> Ledger:
    """A path opens a SQLite ledger; None an in-memory one, so a key repeated in the input is
    never sent twice even without a ledger."""
    if ledger is None:
        ledger = RunLedger()
        stack.push_async_callback(ledger.close)
    elif isinstance(ledger, str | Path):
        ledger = SqliteLedger(ledger)
        stack.push_async_callback(ledger.close)
    return ledger


class Job:
    """One run. Every invitation read ends as exactly one report result; a patient is never
    messaged twice for one key (the ledger claims each POST before it is sent)."""

    def __init__(
        self,
        view_for: ViewFor,
        ledger: Ledger,
        *,
        concurrency: int,
        rate_limit: float | None,
        on_progress: Progress | None,
        retry_unknown: bool,
        max_outage: float = C.DEFAULT_MAX_OUTAGE_SECONDS,
        sleep: Sleep = asyncio.sleep,
        shard_size: int = SHARD_SIZE,
    ) -> None:
        self.report = BulkReport()
        self._view_for = view_for
        self._concurrency = concurrency
        self._preflight = Preflight()
        self._run = InvitationRun(
            ledger,
            retry_unknown=retry_unknown,
            on_denied=self._preflight.deny,
            breaker=CircuitBreaker(),
            max_outage=max_outage,
        )
        self._sleep = sleep
        # The job's own cap gates every request of its steps, retries included.
        self._limiter = LocalRateLimiter(rate_limit) if rate_limit else None
        self._on_progress = on_progress
        self._shard_size = shard_size
        self._pending: dict[str, str] = {}  # key -> who, buffered, in flight or parked
        self._parked = 0  # set aside while their group's outage is waited out
        self._waiting: dict[str, list[tuple[Requester, Plan]]] = {}  # group -> parked
        self._drained = asyncio.Event()  # set whenever _pending empties or _parked drops
        self._room: asyncio.Event | None = None  # the feeder waits for half the queue free
        self._views: dict[str, Requester] = {}

    async def run(self, invitations: Iterable[Invitation] | AsyncIterable[Invitation]) -> None:
        """Stream shards into a bounded queue drained by ``concurrency`` workers."""
        try:
            async with asyncio.TaskGroup() as tasks:
                work = self._start_workers(tasks)
                async for shard in self._shards(_chunks(invitations)):
                    await self._feed(work, shard)
                await self._stop_workers(work)
        except BaseExceptionGroup as group:  # surface a lone programming error as itself
            if len(group.exceptions) == 1:
                first = group.exceptions[0]
                raise first from first.__cause__
            raise
        finally:  # pre-flight checks run outside the task group: never leave one behind
            await self._preflight.close()

    def _start_workers(self, tasks: asyncio.TaskGroup) -> _Work:
        # A fixed pool of workers, each doing one invitation at a time, is what bounds the
        # requests in flight to `concurrency` -- and costs no task per invitation.
        queue: _Work = asyncio.Queue(maxsize=2 * self._concurrency)
        for _ in range(self._concurrency):
            tasks.create_task(self._worker(queue, tasks))
        return queue

    async def _feed(self, work: _Work, shard: Shard) -> None:
        view = self._view(shard.practice_group_id)
        for item in shard.plans:
            # Parked invitations are held in memory: past a bound, read no more input
            # until the outage ends (or max_outage fails them) -- memory stays bounded.
            while self._parked > 10 * self._shard_size:
                await self._wait_drained()
            while work.full():  # wait for half of it to free, then refill it in one go:
                await self._wait_for_room()  # one wake-up per `concurrency` invitations
            work.put_nowait((view, item))

    async def _stop_workers(self, work: _Work) -> None:
        # Only once every key read has its result: a parked invitation goes back on the
        # queue after its wait, and must find workers there.
        while self._pending:
            await self._wait_drained()
        for _ in range(self._concurrency):
            await work.put(None)

    async def _wait_for_room(self) -> None:
        self._room = room = asyncio.Event()
        await room.wait()

    async def _wait_drained(self) -> None:
        self._drained.clear()
        await self._drained.wait()

    async def _worker(self, work: _Work, tasks: asyncio.TaskGroup) -> None:
        preflight = self._preflight
        checked = preflight.checked
        # get_nowait while the feeder keeps the queue full: no coroutine per invitation.
        while (job := work.get_nowait() if work.qsize() else await work.get()) is not None:
            room = self._room
            if room is not None and work.qsize() <= self._concurrency:
                self._room = None
                room.set()
            view, item = job
            group = item.practice_group_id
            try:
                if group in checked:  # the usual case, without a coroutine
                    denied = preflight.denied(group)
                else:
                    denied = await preflight.verdict(view)
                result = await self._run.invite(view, item, denied)
            except Parked as parked:  # the worker is free at once: other groups go on
                self._park(tasks, work, job, parked.seconds)
                continue
            except BaseException:
                self._done(item.key)
                raise
            self._done(item.key)
            self._finish(result)

    def _park(
        self, tasks: asyncio.TaskGroup, work: _Work, job: tuple[Requester, Plan], seconds: float
    ) -> None:
        # One timer per group, not per invitation: they all wait for the same cool-down.
        self._parked += 1
        group = job[1].practice_group_id
        waiting = self._waiting.get(group)
        if waiting is not None:
            waiting.append(job)
            return
        self._waiting[group] = [job]
        tasks.create_task(self._unpark(work, group, seconds))

    async def _unpark(self, work: _Work, group: str, seconds: float) -> None:
        await self._sleep(seconds)
        for job in self._waiting.pop(group):
            await work.put(job)
            self._parked -= 1
            self._drained.set()

    def _done(self, key: str) -> None:
        self._pending.pop(key, None)
        if not self._pending:
            self._drained.set()

    def _view(self, group: str) -> Requester:
        view = self._views.get(group)
        if view is None:
            # The group id was validated by plan(); the view carries the job's own rate cap.
            view = self._views[group] = self._view_for(group, self._limiter)
        return view

    def _finish(self, result: InvitationResult) -> None:
        self.report.add(result)
        if self._on_progress is not None:
            self._on_progress(result)

    async def _shards(self, source: AsyncIterator[list[Invitation]]) -> AsyncIterator[Shard]:
        buffers: dict[str, list[Plan]] = {}
        buffered = 0
        async for chunk in source:
            for invitation in chunk:
                item = self._admit(invitation)
                if item is None:
                    continue
                buffer = buffers.setdefault(item.practice_group_id, [])
                buffer.append(item)
                buffered += 1
                if len(buffer) >= self._shard_size:
                    buffered -= len(buffer)
                    yield Shard(item.practice_group_id, tuple(buffers.pop(item.practice_group_id)))
                elif buffered >= 4 * self._shard_size:  # many small groups: flush them all
                    for group, plans in buffers.items():
                        yield Shard(group, tuple(plans))
                    buffers, buffered = {}, 0
        for group, plans in buffers.items():
            yield Shard(group, tuple(plans))

    def _admit(self, invitation: Invitation) -> Plan | None:
        if not isinstance(invitation, Invitation):
            raise TypeError(f"expected Invitation, got {type(invitation).__name__}")
        try:
            item = plan(invitation)
        except ValidationError as exc:
            self._finish(
                InvitationResult(
                    str(invitation.key),
                    str(invitation.practice_group_id),
                    FAILED,
                    step="validate",
                    error_type="ValidationError",
                    error=str(exc),
                )
            )
            return None
        who = f"{item.practice_group_id}/{item.fingerprint.partition('-')[0]}"
        seen = self._pending.get(item.key)
        if seen is not None and seen != who:
            self._finish(
                InvitationResult(
                    item.key,
                    item.practice_group_id,
                    FAILED,
                    step="validate",
                    error_type="KeyReused",
                    error="the same key is used for a different patient earlier in this input",
                )
            )
            return None
        if seen is not None:
            self._finish(
                InvitationResult(
                    item.key,
                    item.practice_group_id,
                    SKIPPED,
                    error_type="DuplicateKey",
                    error="the same key is already being processed in this run",
                )
            )
            return None
        self._pending[item.key] = who
        return item


async def _chunks(
    items: Iterable[Invitation] | AsyncIterable[Invitation],
) -> AsyncIterator[list[Invitation]]:
    """The input a chunk at a time: an async source item by item (it may trickle), a plain
    one 64 at a time (no step of an async generator per invitation)."""
    if isinstance(items, AsyncIterable):
        async for item in items:
            yield [item]
    else:
        iterator = iter(items)
        while chunk := list(itertools.islice(iterator, 64)):
            yield chunk
