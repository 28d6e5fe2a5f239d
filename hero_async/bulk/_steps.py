"""One invitation's steps against the ledger: register → link → message, each claimed first.

The rule that keeps patients from getting two messages: before a request that could create
a link or send a message, a claim is committed to the ledger; after it, the result. A claim
found without a result (a crash in between) or an OutcomeUnknownError is reported
outcome-unknown and never resent unless the caller asks (``retry_unknown=True``). A failure
where Hero provably did not act (4xx, 429, connection never made) is recorded as failed, and
a re-run simply tries again, reusing whatever the earlier run already obtained.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import NoReturn, TypeVar

from .._errors import HeroError, MalformedResponseError, OutcomeUnknownError
from ..models import IdentityCheckRequired
from ..resources import BookingLinks, Patients, Requester
from ..resources.booking_links import PATH as LINKS_PATH
from ..resources.messages import PATH as MESSAGES_PATH
from ._breaker import Admission, CircuitBreaker
from ._claims import Ledger, LedgerEntry, State
from ._invitation import Plan
from ._outcomes import (
    Done,
    answer_ids,
    not_sent,
    noted,
    result_of,
    reuse,
    skipped,
    trouble,
)
from ._report import FAILED, SENT, SKIPPED, UNKNOWN, InvitationResult

T = TypeVar("T")


class Parked(Exception):
    """The invitation's group is in an outage being waited out: set it aside ``seconds``,
    then try it again. Raised before any ledger write or request."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds


class InvitationRun:
    def __init__(
        self,
        ledger: Ledger,
        *,
        retry_unknown: bool,
        on_denied: Callable[[str, HeroError], None],
        breaker: CircuitBreaker,
        max_outage: float,
    ) -> None:
        self._breaker = breaker
        self._max_outage = max_outage
        self._ledger = ledger
        self._retry_unknown = retry_unknown
        self._on_denied = on_denied

    async def invite(
        self, view: Requester, plan: Plan, denied: HeroError | None
    ) -> InvitationResult:
        """One invitation, in one coroutine. The live steps run behind the group's circuit
        breaker; the ledger is read first, so finished keys are still skipped while a group
        is paused."""
        entry = await self._ledger.get(plan.key)
        group = plan.practice_group_id
        try:
            entry = self._resume(plan, entry)
            if denied is not None:
                not_sent(entry, "preflight", type(denied).__name__, str(denied))
            admission = self._breaker.allow(group)
            if not admission:
                wait = self._breaker.hold(group, max_outage=self._max_outage)
                if wait is not None:  # an outage is waited out, not failed: nothing written yet
                    raise Parked(wait)
                not_sent(
                    entry,
                    "circuit",
                    "CircuitOpen",
                    "this practice group kept failing for longer than max_outage; not sent",
                )
        except Done as done:
            return done.result
        result = None
        try:
            # No ledger write for the patient: registering creates nothing a re-run could
            # duplicate, so the patient id is stored with the link claim (one commit fewer).
            if plan.patient_id is None and entry.patient_id is None:
                entry = await self._register(view, plan, entry)
            elif plan.patient_id is not None and plan.patient_id != entry.patient_id:
                entry = entry._replace(patient_id=plan.patient_id)
            entry = await self._link(view, plan, entry)
            entry = await self._message(view, plan, entry)
            result = result_of(entry, SENT)
        except Done as done:
            result = done.result
        finally:  # cancelled: result stays None, which says nothing of the group's health
            probe = admission is Admission.PROBE
            self._breaker.record(group, trouble=trouble(result), probe=probe)
        return result

    def _resume(self, plan: Plan, entry: LedgerEntry | None) -> LedgerEntry:
        """What this run may do with ``plan`` given its ledger row (a snapshot: every claim
        below re-checks it with a compare-and-set on the row's epoch)."""
        if entry is None:
            return LedgerEntry(
                plan.key,
                plan.practice_group_id,
                State.REGISTERED,
                patient_id=plan.patient_id,
                fingerprint=plan.fingerprint,
            )
        reused = reuse(entry, plan)
        if reused:
            raise Done(
                InvitationResult(
                    plan.key,
                    plan.practice_group_id,
                    FAILED,
                    step="ledger",
                    error_type="KeyReused",
                    error=f"the ledger has this key {reused}",
                )
            )
        if entry.state == State.SENT:
            raise Done(skipped(entry, plan))
        if entry.state in State.CLAIMS:  # a live run holds it (begin() swept the dead ones)
            raise Done(
                noted(
                    result_of(entry, SKIPPED),
                    "ClaimedElsewhere",
                    "another run is sending this key now",
                )
            )
        if entry.state == State.UNKNOWN:
            if not self._retry_unknown:
                raise Done(result_of(entry, UNKNOWN))
            if entry.step == "link":  # the caller accepts a possible second link
                entry = entry._replace(link_id=None, short_link=None)
        if entry.fingerprint == plan.fingerprint:
            return entry
        return entry._replace(fingerprint=plan.fingerprint)

    async def _register(self, view: Requester, plan: Plan, entry: LedgerEntry) -> LedgerEntry:
        """PDS registration, for an invitation without a patient id (none in the ledger)."""
        assert plan.pds is not None  # plan() guarantees it when patient_id is absent
        pds = plan.pds
        outcome = await self._step(
            entry, 0, "register", lambda: Patients(view).register_pds(**pds), creates=False
        )
        if isinstance(outcome, IdentityCheckRequired):
            not_sent(
                entry,
                "register",
                "IdentityCheckRequired",
                "the patient must verify their identity with Hero first",
            )
        return entry._replace(patient_id=outcome.patient_id)

    async def _lost(self, entry: LedgerEntry) -> InvitationResult:
        now = await self._ledger.get(entry.key)
        if now is None or now.state in State.CLAIMS:
            return noted(
                result_of(entry, SKIPPED), "ClaimedElsewhere", "another run is sending this key now"
            )
        if now.state == State.SENT:
            return result_of(now, SKIPPED)
        retryable = now.state == State.FAILED
        return result_of(
            now, UNKNOWN if now.state == State.UNKNOWN else FAILED, retryable=retryable
        )

    async def _link(self, view: Requester, plan: Plan, entry: LedgerEntry) -> LedgerEntry:
        if entry.link_id is None:
            fields = {**plan.link, "patient_id": entry.patient_id}
            entry, epoch, new_id, short_link = await self._act(
                view, entry, State.LINK_CLAIMED, "link", LINKS_PATH, fields, "id", "short_link"
            )
            entry = entry.linked(new_id, short_link)
            if short_link is not None:
                return entry  # the message claim records the link: one write, not two
            await self._ledger.settle(entry._replace(state=State.LINKED), epoch=epoch)
            entry = entry._replace(state=State.LINKED)
        if entry.short_link is None:  # the create answer's shape is UNVERIFIED: ask again
            link_id = entry.link_id
            assert link_id is not None
            link = await self._step(
                entry, 0, "link", lambda: BookingLinks(view).get(link_id), creates=False
            )
            if link.short_link is None:
                not_sent(
                    entry, "link", "MissingShortLink", "Hero returned the link without a short_link"
                )
            entry = entry._replace(short_link=link.short_link)
        return entry

    async def _message(self, view: Requester, plan: Plan, entry: LedgerEntry) -> LedgerEntry:
        short_link, patient_id = entry.short_link, entry.patient_id
        assert short_link is not None
        assert patient_id is not None
        body = plan.message_body(patient_id, short_link, entry.link_id)
        entry, epoch, message_id, _ = await self._act(
            view, entry, State.MESSAGE_CLAIMED, "message", MESSAGES_PATH, body, "message_id", None
        )
        entry = entry.sent(message_id)
        await self._ledger.settle(entry, epoch=epoch)
        return entry

    async def _act(
        self,
        view: Requester,
        entry: LedgerEntry,
        state: str,
        step: str,
        path: str,
        body: object,
        id_field: str,
        link_field: str | None,
    ) -> tuple[LedgerEntry, int, str, str | None]:
        """Claim the next POST (committed before it is sent), send it and read the one id (and
        short link) the steps need from the answer; or end with why not. Claim and POST in
        one coroutine, no closure: it runs twice per invitation."""
        expect = entry.epoch
        # The epoch a claim usually gets, set at once (one new row, not two); a store may
        # ignore the entry's epoch and answer its own, which then wins.
        claim = entry.claimed(state, step, expect + 1)
        from_unknown = self._retry_unknown
        epoch = await self._ledger.claim(claim, expect_epoch=expect, from_unknown=from_unknown)
        if epoch is None:  # another run moved the row since we read it
            raise Done(await self._lost(entry))
        if epoch != claim.epoch:
            claim = claim._replace(epoch=epoch)
        try:
            answer = await view.request("POST", path, json=body)
            return (claim, epoch, *answer_ids(answer, id_field, link_field))
        except HeroError as exc:
            if isinstance(exc, MalformedResponseError):
                exc.at("POST", path, view.practice_group_id)
            await self._failed(claim, epoch, step, exc, creates=True)

    async def _step(
        self,
        entry: LedgerEntry,
        epoch: int,
        step: str,
        call: Callable[[], Awaitable[T]],
        *,
        creates: bool = True,
    ) -> T:
        """Run one other request (``epoch``: its claim; 0 for a request that needs none)."""
        try:
            return await call()
        except HeroError as exc:
            await self._failed(entry, epoch, step, exc, creates=creates)

    async def _failed(
        self, entry: LedgerEntry, epoch: int, step: str, exc: HeroError, *, creates: bool
    ) -> NoReturn:
        """``creates``: a POST that acts on Hero, so an unreadable 2xx answer means Hero DID
        act (the link exists, the SMS went): outcome unknown, never "retry"."""
        if isinstance(exc, MalformedResponseError):
            # A readable error status never gets here; an unreadable 2xx or 5xx answer to a POST
            # means Hero did (or may have) act: outcome unknown, never "failed, retry".
            if not (creates and (200 <= exc.status < 300 or exc.status >= 500)):
                self._on_denied(entry.practice_group_id, exc)
                await self._settle(entry, epoch, step, exc, FAILED)
            await self._settle(entry, epoch, step, exc, UNKNOWN)
        if isinstance(exc, OutcomeUnknownError):
            await self._settle(entry, epoch, step, exc, UNKNOWN)
        self._on_denied(entry.practice_group_id, exc)
        await self._settle(entry, epoch, step, exc, FAILED)

    async def _settle(
        self, entry: LedgerEntry, epoch: int, step: str, exc: HeroError, outcome: str
    ) -> NoReturn:
        state = State.UNKNOWN if outcome == UNKNOWN else State.FAILED
        done = entry._replace(state=state, step=step, error_type=type(exc).__name__, error=str(exc))
        if epoch:  # a claimed request: its answer goes to the ledger
            await self._ledger.settle(done, epoch=epoch)
        raise Done(result_of(done, outcome, retryable=outcome == FAILED))
