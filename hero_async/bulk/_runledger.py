"""In-memory claim stores: RunLedger (the default with ``ledger=None``) and NullLedger.

RunLedger keeps the same compare-and-set semantics as SqliteLedger, in memory (settled rows
spill to a temporary file, see ``_spill``): a key repeated in one run's input is never sent
twice, and several store objects may share one ``world`` (the contract tests use that to
stand for several processes). Nothing outlives the process.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import attrs

from ._claims import (
    LEASE_SECONDS,
    Campaign,
    ForeignLedgerError,
    LedgerEntry,
    LedgerError,
    Resolution,
    RunInfo,
    State,
)
from ._spill import Rows

__all__ = ["NullLedger", "RunLedger", "World", "foreign", "resolved"]

_INTERRUPTED = ("Interrupted", "run stopped after the request may have been sent")


@attrs.define
class World:
    """What a ledger holds: rows, runs (owner -> lease end, or None once ended), campaign."""

    rows: Rows = attrs.Factory(Rows)
    runs: dict[str, float | None] = attrs.Factory(dict)
    campaign: Campaign | None = None


def foreign(recorded: Campaign, asked: Campaign) -> ForeignLedgerError:
    return ForeignLedgerError(
        f"this ledger belongs to campaign {recorded.name!r} (keys {recorded.fingerprint}); "
        f"refusing to run {asked.name!r} (keys {asked.fingerprint}) on it: use the ledger "
        "of that job, or a new ledger for a new campaign"
    )


def resolved(entry: LedgerEntry | None, key: str, outcome: Resolution, who: str) -> LedgerEntry:
    """The row a person's resolution makes of ``entry`` (shared by every store)."""
    if entry is None or entry.state != State.UNKNOWN:
        state = "missing" if entry is None else entry.state
        raise LedgerError(f"only an outcome_unknown key can be resolved; this one is {state}")
    note = f"resolved as {outcome} by {who} on {time.strftime('%Y-%m-%d %H:%M:%SZ', time.gmtime())}"
    if outcome == "sent":
        return entry._replace(
            state=State.SENT, error_type="Resolved", error=note, epoch=entry.epoch + 1
        )
    if outcome != "not-sent":
        raise LedgerError("outcome must be 'sent' or 'not-sent'")
    entry = entry._replace(
        state=State.FAILED, error_type="Resolved", error=note, epoch=entry.epoch + 1
    )
    if entry.step == "link":
        entry = entry._replace(link_id=None, short_link=None)
    return entry


class RunLedger:
    """Compare-and-set claims in memory, for one process."""

    def __init__(
        self, world: World | None = None, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._owns_world = world is None
        self._world = World() if world is None else world
        self._clock = clock
        self._owner: str | None = None

    async def begin(self, run: RunInfo, campaign: Campaign | None) -> None:
        world = self._world
        if campaign is not None:
            if world.campaign is not None and world.campaign != campaign:
                raise foreign(world.campaign, campaign)
            world.campaign = campaign
        self._owner = run.owner
        world.runs[run.owner] = self._clock() + LEASE_SECONDS
        await self.sweep()

    async def get(self, key: str) -> LedgerEntry | None:
        return self._world.rows.get(key)

    async def claim(
        self, entry: LedgerEntry, *, expect_epoch: int, from_unknown: bool = False
    ) -> int | None:
        owner = self._owner
        if owner is None:  # no run begun, or ended: nothing is claimed in no one's name
            return None
        rows, key = self._world.rows, entry.key
        row = rows.get(key)
        if (row.epoch if row else 0) != expect_epoch:
            return None
        if row is not None and (
            row.state == State.SENT
            or (entry.state == State.LINK_CLAIMED and row.link_id is not None)
            or (row.state in State.CLAIMS and not _advance(row, entry, owner))
            or (row.state == State.UNKNOWN and not from_unknown)
        ):
            return None
        rows[key] = entry.fenced(expect_epoch + 1, owner)
        return expect_epoch + 1

    async def settle(self, entry: LedgerEntry, *, epoch: int) -> None:
        rows, key = self._world.rows, entry.key
        row = rows.get(key)
        if row is None or row.epoch != epoch:
            return
        if entry.state == State.LINKED and row.step != "link":  # only a link claim's answer
            return
        if (row.state in State.CLAIMS and row.owner == self._owner) or row.state == State.UNKNOWN:
            rows[key] = entry.fenced(epoch, row.owner)

    async def renew(self) -> None:
        if self._owner is not None and self._world.runs.get(self._owner) is not None:
            self._world.runs[self._owner] = self._clock() + LEASE_SECONDS

    async def sweep(self) -> int:
        now, runs = self._clock(), self._world.runs
        dead = {owner for owner, until in runs.items() if until is None or until < now}
        return self._interrupt(lambda owner: owner not in runs or owner in dead)

    def _interrupt(self, orphaned: Callable[[str | None], bool]) -> int:
        rows = self._world.rows
        hit = [e for e in rows.live() if e.state in State.CLAIMS and orphaned(e.owner)]
        for entry in hit:
            error_type, error = _INTERRUPTED
            step = entry.step or ("link" if entry.state == State.LINK_CLAIMED else "message")
            rows[entry.key] = entry._replace(
                state=State.UNKNOWN, step=step, error_type=error_type, error=error
            )
        return len(hit)

    async def entries(self) -> list[LedgerEntry]:
        return [self._world.rows[key] for key in sorted(self._world.rows)]

    async def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(State.ALL, 0)
        for entry in self._world.rows.values():
            counts[entry.state] += 1
        return counts

    async def campaign(self) -> Campaign | None:
        return self._world.campaign

    async def resolve(self, key: str, outcome: Resolution, who: str) -> LedgerEntry:
        entry = resolved(self._world.rows.get(key), key, outcome, who)
        self._world.rows[key] = entry
        return entry

    async def end(self) -> None:
        owner, self._owner = self._owner, None
        if owner is not None:
            self._world.runs[owner] = None
            self._interrupt(lambda row_owner: row_owner == owner)

    async def close(self) -> None:
        await self.end()
        if self._owns_world:
            self._world.rows.close()


def _advance(row: LedgerEntry, entry: LedgerEntry, owner: str | None) -> bool:
    """The one way on from a claim: its owner's link answer plus message claim."""
    return (
        row.owner == owner
        and row.state == State.LINK_CLAIMED
        and entry.state == State.MESSAGE_CLAIMED
    )


class NullLedger:
    """Remembers nothing: every claim wins (benchmarks opt in to skip even in-run
    de-duplication). Never use it for real invitations."""

    async def begin(self, run: RunInfo, campaign: Campaign | None) -> None:
        return None

    async def get(self, key: str) -> LedgerEntry | None:
        return None

    async def claim(
        self, entry: LedgerEntry, *, expect_epoch: int, from_unknown: bool = False
    ) -> int | None:
        return expect_epoch + 1

    async def settle(self, entry: LedgerEntry, *, epoch: int) -> None:
        return None

    async def renew(self) -> None:
        return None

    async def sweep(self) -> int:
        return 0

    async def entries(self) -> list[LedgerEntry]:
        return []

    async def counts(self) -> dict[str, int]:
        return dict.fromkeys(State.ALL, 0)

    async def campaign(self) -> Campaign | None:
        return None

    async def resolve(self, key: str, outcome: Resolution, who: str) -> LedgerEntry:
        raise LedgerError("a NullLedger holds nothing to resolve")

    async def end(self) -> None:
        return None

    async def close(self) -> None:
        return None
