"""The claim-store protocol: what any ledger (SQLite, in-memory, PostgreSQL) must guarantee.

A ledger row per invitation key says how far that key got and who is working on it. Before a
request that could create a booking link or text a patient, the pipeline *claims* the key
with a compare-and-set on the row's ``epoch``: exactly one caller wins, across tasks,
processes and machines, and the claim is durable before the request goes out. The answer is
*settled* onto the row, fenced by the claim's epoch, so a late answer from a dead run can
never overwrite someone else's claim.

State machine (``epoch`` grows by one on every claim and every ``resolve``; nothing else
changes it)::

    (no row) ─┐                      ┌──────────────── settle ───────────────┐
    failed ───┼─ claim ─▶ link_claimed ── claim ─▶ message_claimed ── settle ─▶ sent
    linked ───┘     │         │  (link answer + message claim: one write)      │
                    │         └─ settle ─▶ linked / failed / outcome_unknown   ▼
                    │                                                      (final)
    outcome_unknown ┘ (only with from_unknown=True: the caller accepts a duplicate)

    link_claimed / message_claimed ── sweep (owner's lease over) ─▶ outcome_unknown

A claimed row is never claimed again; only ``sweep`` (owner dead) or its owner's ``settle``
moves it on, and never to a state that could POST without a new claim.

Rows hold no patient data: keys, group ids, Hero ids, error text and a short fingerprint.
"""

from __future__ import annotations

import hashlib
import os
import socket
import time
import uuid
from collections.abc import Iterable
from typing import Literal, NamedTuple, Protocol

import attrs

__all__ = [
    "LEASE_SECONDS",
    "Campaign",
    "ForeignLedgerError",
    "Ledger",
    "LedgerEntry",
    "LedgerError",
    "LedgerUnavailableError",
    "Resolution",
    "RunInfo",
    "State",
]

Resolution = Literal["sent", "not-sent"]
LEASE_SECONDS = 30.0  # a run's claims outlive a silent owner by this much (renewed every 1/3)


class State:
    """Row states. Plain strings, so any store can keep them as they are."""

    REGISTERED = "registered"  # patient_id known, nothing created (older ledgers only)
    LINK_CLAIMED = "link_claimed"  # POST /v1/booking_links may be in flight
    LINKED = "linked"  # link_id + short_link known, no message claimed
    MESSAGE_CLAIMED = "message_claimed"  # POST /v1/messages/send may be in flight
    SENT = "sent"  # message_id known (or resolved as sent by a person): final
    FAILED = "failed"  # Hero provably did not act on the last step: a re-run claims again
    UNKNOWN = "outcome_unknown"  # Hero may have acted: claimed again only with from_unknown

    CLAIMS = frozenset({LINK_CLAIMED, MESSAGE_CLAIMED})
    SETTLED = frozenset({LINKED, SENT, FAILED, UNKNOWN})
    ALL = (REGISTERED, LINK_CLAIMED, LINKED, MESSAGE_CLAIMED, SENT, FAILED, UNKNOWN)


_new = tuple.__new__


class LedgerEntry(NamedTuple):
    """One key's row. A NamedTuple: the pipeline derives a new one per step, and
    ``_replace`` is many times cheaper than ``attrs.evolve`` on that hot path."""

    key: str
    practice_group_id: str
    state: str
    patient_id: str | None = None
    link_id: str | None = None
    short_link: str | None = None
    message_id: str | None = None
    step: str | None = None  # the step an error or unknown outcome belongs to
    error_type: str | None = None
    error: str | None = None
    # "who-what" (see Plan.fingerprint): who = patient + group, what = link and message
    # fields. Too short to identify a patient. None in rows written before fingerprints.
    fingerprint: str | None = None
    epoch: int = 0  # 0 only for a row that does not exist yet
    owner: str | None = None  # RunInfo.owner of the run that last claimed the row

    # The steps of every invitation derive a new row several times: these build it as one
    # tuple, where ``_replace`` (a dict pop per field) costs two to three times as much, and
    # with ``tuple.__new__`` itself (``_make`` is a Python call around it that re-counts).
    def fenced(self, epoch: int, owner: str | None) -> LedgerEntry:
        """With a store's ``epoch`` and ``owner``: what every claim and settle stores."""
        return _new(LedgerEntry, self[:11] + (epoch, owner))  # noqa: RUF005 - quicker than *

    def claimed(self, state: str, step: str, epoch: int) -> LedgerEntry:
        """The claim of ``step``: the error of an earlier attempt cleared."""
        return _new(
            LedgerEntry, (*self[:2], state, *self[3:7], step, None, None, self[10], epoch, self[12])
        )

    def linked(self, link_id: str, short_link: str | None) -> LedgerEntry:
        return _new(LedgerEntry, (*self[:4], link_id, short_link, *self[6:]))

    def sent(self, message_id: str) -> LedgerEntry:
        return _new(LedgerEntry, (*self[:2], State.SENT, *self[3:6], message_id, None, *self[8:]))


@attrs.frozen
class RunInfo:
    """One run of a job, as recorded by ``begin``. ``owner`` is unique per run."""

    owner: str
    host: str
    pid: int
    started: float  # epoch seconds

    @classmethod
    def here(cls) -> RunInfo:
        return cls(uuid.uuid4().hex, socket.gethostname(), os.getpid(), time.time())


@attrs.frozen
class Campaign:
    """Which job a ledger belongs to: a name and a fingerprint of its input's keys."""

    name: str
    fingerprint: str

    @classmethod
    def of(cls, name: str, keys: Iterable[str]) -> Campaign:
        """The fingerprint of the *set* of keys: row order and repeated rows do not count."""
        digest = hashlib.sha256()
        for key in sorted(set(keys)):
            digest.update(key.encode("utf-8", "surrogatepass") + b"\0")
        return cls(name, digest.hexdigest()[:20])


class LedgerError(Exception):
    """The ledger cannot be used as asked. Never carries patient data."""


class ForeignLedgerError(LedgerError):
    """The ledger belongs to another campaign (or another job's keys)."""


class LedgerUnavailableError(LedgerError):
    """A write could not be made durable (disk full, read-only file, database locked): the
    job must stop before anything further is sent."""


class Ledger(Protocol):
    """A claim store. All methods are coroutines; a store serves one run at a time
    (``begin`` … ``end``), and may be reused for another run afterwards.

    Errors: a write that cannot be made durable raises :class:`LedgerUnavailableError` from
    the call that needed it (``claim``, ``begin``, ``resolve``) or, for a ``settle`` whose
    write was deferred, from the next call of any kind. Nothing may be reported as done
    that is not durable.
    """

    async def begin(self, run: RunInfo, campaign: Campaign | None) -> None:
        """Register ``run`` as the live owner (its lease starts now) and check the campaign.

        Campaign rules: a ledger with no campaign recorded adopts ``campaign`` (None records
        nothing). A recorded campaign with another name or fingerprint raises
        :class:`ForeignLedgerError` naming both names (never keys), and writes nothing.
        ``campaign=None`` on a ledger with a campaign is allowed (library callers that do not
        say). Other runs may be live on the same ledger at once: they share the work, the
        claims keep each key to one sender. Then sweeps (see ``sweep``)."""

    async def get(self, key: str) -> LedgerEntry | None:
        """The committed row for ``key`` (or None). A snapshot: decisions made from it are
        only safe through ``claim``'s ``expect_epoch``."""

    async def claim(
        self, entry: LedgerEntry, *, expect_epoch: int, from_unknown: bool = False
    ) -> int | None:
        """Compare-and-set ``entry`` (whose state is link_claimed or message_claimed) onto its
        key, owned by this run. Succeeds only if the stored row's epoch equals
        ``expect_epoch`` (0: no row exists) and the stored state is

        * not sent (final),
        * not a claim, or this run's link claim when ``entry`` is the message claim (the
          link answer + message claim write; no other claim is ever claimed again),
        * not outcome_unknown, unless ``from_unknown``,
        * for a link claim: holding no link_id (a made link is never made again).

        On success the row becomes ``entry`` with ``epoch = expect_epoch + 1`` and
        ``owner = run.owner``, durably committed before this returns the new epoch. Otherwise
        nothing is written and it returns None. Exactly one of any number of concurrent
        callers with the same ``expect_epoch`` wins."""

    async def settle(self, entry: LedgerEntry, *, epoch: int) -> None:
        """Record Hero's answer (state linked, sent, failed or outcome_unknown). Applied only
        if the stored epoch equals ``epoch`` and the row is this run's claim, or an
        outcome_unknown left by sweeping that claim (a late answer upgrades its own unknown);
        otherwise ignored. Leaves the epoch and owner as they are. May return before the
        write is durable, provided it is durable before the next ``claim`` of this store
        returns and before ``end`` returns."""

    async def renew(self) -> None:
        """Extend this run's lease (every claim it holds). The pipeline calls it every
        ``LEASE_SECONDS / 3`` while the run is live, then ``sweep``; if either raises, the
        job stops (LedgerUnavailableError) rather than go on claiming without a lease."""

    async def sweep(self) -> int:
        """Turn every claim whose owner's lease is over (by the store's clock) or whose run
        has ended into outcome_unknown, keeping step, ids and epoch, error_type
        ``Interrupted``. Never touches a live owner's claim. A store that can tell a run of
        its own machine by its process goes by that instead of the lease: a dead one (pid
        gone or reused) is swept at once, a live one (the very process that began it, even
        stopped, even with the wall clock stepped) never. Returns how many rows it changed."""

    async def entries(self) -> list[LedgerEntry]:
        """Every row, ordered by key (for reports, audits, ``ledger show``)."""

    async def counts(self) -> dict[str, int]:
        """Rows per state: every name in ``State.ALL``, zero included."""

    async def campaign(self) -> Campaign | None:
        """The campaign recorded in this ledger, if any."""

    async def resolve(self, key: str, outcome: Resolution, who: str) -> LedgerEntry:
        """A person's answer for an outcome_unknown row after checking Hero: ``sent`` makes
        it final (never sent again), ``not-sent`` makes it failed (a re-run claims it again;
        for the link step the link ids are cleared). Bumps the epoch (a late answer of the
        old claim is then ignored) and records ``who`` in the row's error text. Raises
        :class:`LedgerError` if the key is missing or not outcome_unknown."""

    async def end(self) -> None:
        """End this run: claims it still holds (a cancelled request) become outcome_unknown,
        deferred writes are made durable, the run is marked ended. Idempotent."""

    async def close(self) -> None:
        """Release the store (connections, files). Ends a run left open."""
