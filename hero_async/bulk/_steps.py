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

import attrs

from .._errors import (
    HeroError,
    MalformedResponseError,
    OutcomeUnknownError,
    RateLimitError,
    ServerError,
    TransportError,
)
from ..models import IdentityCheckRequired
from ..resources import BookingLinks, Patients, Requester
from ..resources.booking_links import PATH as LINKS_PATH
from ..resources.messages import PATH as MESSAGES_PATH
from ._breaker import TROUBLE, Admission, CircuitBreaker
from ._claims import Ledger, LedgerEntry, State
from ._invitation import Plan
from ._report import FAILED, SENT, SKIPPED, UNKNOWN, InvitationResult

T = TypeVar("T")
_RETRYABLE = (RateLimitError, ServerError, TransportError)


class Parked(Exception):
    """The invitation's group is in an outage being waited out: set it aside ``seconds``,
    then try it again. Raised before any ledger write or request."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds


class _Done(Exception):
    """Ends an invitation early with its final result."""

    def __init__(self, result: InvitationResult) -> None:
        self.result = result


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
        entry = await self._ledger.get(plan.key)
        try:
            entry = self._resume(plan, entry)
            if denied is not None:
                _not_sent(entry, "preflight", type(denied).__name__, str(denied))
            return await self._send(view, plan, entry)
        except _Done as done:
            return done.result

    async def _send(self, view: Requester, plan: Plan, entry: LedgerEntry) -> InvitationResult:
        """The live steps, behind the group's circuit breaker (the ledger was read first, so
        finished keys are still skipped while a group is paused)."""
        group = plan.practice_group_id
        admission = self._breaker.allow(group)
        if not admission:
            wait = self._breaker.hold(group, max_outage=self._max_outage)
            if wait is not None:  # an outage is waited out, not failed: nothing written yet
                raise Parked(wait)
            _not_sent(
                entry,
                "circuit",
                "CircuitOpen",
                "this practice group kept failing for longer than max_outage; not sent",
            )
        result = None
        try:
            entry = await self._register(view, plan, entry)
            entry = await self._link(view, plan, entry)
            entry = await self._message(view, plan, entry)
            result = _result(entry, SENT)
        except _Done as done:
            result = done.result
        finally:  # cancelled: result stays None, which says nothing of the group's health
            probe = admission is Admission.PROBE
            self._breaker.record(group, trouble=_trouble(result), probe=probe)
        return result

    def _resume(self, plan: Plan, entry: LedgerEntry | None) -> LedgerEntry:
        """What this run may do with ``plan`` given its ledger row (a snapshot: every claim
        below re-checks it with a compare-and-set on the row's epoch)."""
        if entry is None:
            return LedgerEntry(
                plan.key, plan.practice_group_id, State.REGISTERED, fingerprint=plan.fingerprint
            )
        reused = _reuse(entry, plan)
        if reused:
            raise _Done(
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
            raise _Done(_skipped(entry, plan))
        if entry.state in State.CLAIMS:  # a live run holds it (begin() swept the dead ones)
            raise _Done(
                _noted(
                    _result(entry, SKIPPED),
                    "ClaimedElsewhere",
                    "another run is sending this key now",
                )
            )
        if entry.state == State.UNKNOWN:
            if not self._retry_unknown:
                raise _Done(_result(entry, UNKNOWN))
            if entry.step == "link":  # the caller accepts a possible second link
                entry = entry._replace(link_id=None, short_link=None)
        return entry._replace(fingerprint=plan.fingerprint)

    async def _register(self, view: Requester, plan: Plan, entry: LedgerEntry) -> LedgerEntry:
        # No ledger write: registering creates nothing a re-run could duplicate, so the
        # patient id is stored with the link claim instead (one commit fewer per key).
        if plan.patient_id is not None or entry.patient_id is not None:
            return entry._replace(patient_id=plan.patient_id or entry.patient_id)
        assert plan.pds is not None  # plan() guarantees it when patient_id is absent
        pds = plan.pds
        outcome = await self._step(
            entry, 0, "register", lambda: Patients(view).register_pds(**pds), creates=False
        )
        if isinstance(outcome, IdentityCheckRequired):
            _not_sent(
                entry,
                "register",
                "IdentityCheckRequired",
                "the patient must verify their identity with Hero first",
            )
        return entry._replace(patient_id=outcome.patient_id)

    async def _claim(self, entry: LedgerEntry, state: str, step: str) -> tuple[LedgerEntry, int]:
        """Claim the next POST (committed before it is sent), or end with why not."""
        claim = entry._replace(state=state, step=step, error_type=None, error=None)
        from_unknown = self._retry_unknown
        epoch = await self._ledger.claim(claim, expect_epoch=entry.epoch, from_unknown=from_unknown)
        if epoch is None:  # another run moved the row since we read it
            raise _Done(await self._lost(entry))
        return claim._replace(epoch=epoch), epoch

    async def _lost(self, entry: LedgerEntry) -> InvitationResult:
        now = await self._ledger.get(entry.key)
        if now is None or now.state in State.CLAIMS:
            return _noted(
                _result(entry, SKIPPED), "ClaimedElsewhere", "another run is sending this key now"
            )
        if now.state == State.SENT:
            return _result(now, SKIPPED)
        retryable = now.state == State.FAILED
        return _result(now, UNKNOWN if now.state == State.UNKNOWN else FAILED, retryable=retryable)

    async def _link(self, view: Requester, plan: Plan, entry: LedgerEntry) -> LedgerEntry:
        if entry.link_id is None:
            entry, epoch = await self._claim(entry, State.LINK_CLAIMED, "link")
            fields = {**plan.link, "patient_id": entry.patient_id}
            new_id, short_link = await self._step(
                entry, epoch, "link", lambda: _post(view, LINKS_PATH, fields, "id", "short_link")
            )
            entry = entry._replace(link_id=new_id, short_link=short_link)
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
                _not_sent(
                    entry, "link", "MissingShortLink", "Hero returned the link without a short_link"
                )
            entry = entry._replace(short_link=link.short_link)
        return entry

    async def _message(self, view: Requester, plan: Plan, entry: LedgerEntry) -> LedgerEntry:
        short_link, patient_id = entry.short_link, entry.patient_id
        assert short_link is not None
        assert patient_id is not None
        entry, epoch = await self._claim(entry, State.MESSAGE_CLAIMED, "message")
        body = plan.message_body(patient_id, short_link, entry.link_id)
        message_id, _ = await self._step(
            entry, epoch, "message", lambda: _post(view, MESSAGES_PATH, body, "message_id", None)
        )
        entry = entry._replace(state=State.SENT, message_id=message_id, step=None)
        await self._ledger.settle(entry, epoch=epoch)
        return entry

    async def _step(
        self,
        entry: LedgerEntry,
        epoch: int,
        step: str,
        call: Callable[[], Awaitable[T]],
        *,
        creates: bool = True,
    ) -> T:
        """Run one request (``epoch``: its claim; 0 for a request that needs none).
        ``creates``: a POST that acts on Hero, so an unreadable 2xx answer means Hero DID
        act (the link exists, the SMS went): outcome unknown, never "retry"."""
        try:
            return await call()
        except MalformedResponseError as exc:
            # A readable error status never gets here; an unreadable 2xx or 5xx answer to a POST
            # means Hero did (or may have) act: outcome unknown, never "failed, retry".
            if not (creates and (200 <= exc.status < 300 or exc.status >= 500)):
                self._on_denied(entry.practice_group_id, exc)
                await self._settle(entry, epoch, step, exc, FAILED)
            await self._settle(entry, epoch, step, exc, UNKNOWN)
        except OutcomeUnknownError as exc:
            await self._settle(entry, epoch, step, exc, UNKNOWN)
        except HeroError as exc:
            self._on_denied(entry.practice_group_id, exc)
            await self._settle(entry, epoch, step, exc, FAILED)

    async def _settle(
        self, entry: LedgerEntry, epoch: int, step: str, exc: HeroError, outcome: str
    ) -> NoReturn:
        state = State.UNKNOWN if outcome == UNKNOWN else State.FAILED
        done = entry._replace(state=state, step=step, error_type=type(exc).__name__, error=str(exc))
        if epoch:  # a claimed request: its answer goes to the ledger
            await self._ledger.settle(done, epoch=epoch)
        raise _Done(_result(done, outcome, retryable=outcome == FAILED))


def _not_sent(entry: LedgerEntry, step: str, error_type: str, error: str) -> NoReturn:
    """Failed before any claim: nothing written (the row, if any, still says what a re-run
    will do, and that is to try again)."""
    failed = entry._replace(step=step, error_type=error_type, error=error)
    raise _Done(_result(failed, FAILED, retryable=True))


def _skipped(entry: LedgerEntry, plan: Plan) -> InvitationResult:
    """Already sent: skipped with its ids; a changed template, expiry or appointment type
    does not send again, but is said."""
    result = _result(entry, SKIPPED)
    if entry.fingerprint is not None and entry.fingerprint != plan.fingerprint:
        return _noted(
            result,
            "InputChanged",
            "already sent; the link or message fields changed since, and were not sent again",
        )
    return result


async def _post(
    view: Requester, path: str, body: object, id_field: str, link_field: str | None
) -> tuple[str, str | None]:
    try:
        return _ids(await view.request("POST", path, json=body), id_field, link_field)
    except MalformedResponseError as exc:
        raise exc.at("POST", path, view.practice_group_id) from None


def _ids(data: object, id_field: str, link_field: str | None) -> tuple[str, str | None]:
    """The one id (and short link) a bulk step needs from Hero's answer, type-checked; the
    rest of the answer is not read, so an odd unrelated field cannot fail a send."""
    if isinstance(data, dict):
        found = data.get(id_field)
        link = data.get(link_field) if link_field else None
        if type(found) in (str, int) and found != "" and (link is None or type(link) is str):
            return str(found), link
    raise MalformedResponseError(
        f"unexpected answer shape (no {id_field})", status=200, body=repr(data)[:500]
    )


def _reuse(entry: LedgerEntry, plan: Plan) -> str | None:
    """Why ``entry`` cannot be this plan's progress, if it cannot: another practice group or
    another patient ("who"; entries written before fingerprints are trusted)."""
    if entry.practice_group_id != plan.practice_group_id:
        return f"for practice group {entry.practice_group_id}"
    who = (entry.fingerprint or "").partition("-")[0]
    if who and who != plan.fingerprint.partition("-")[0]:
        return "for a different patient: give each invitation its own key"
    return None


def _trouble(result: InvitationResult | None) -> bool | None:
    if result is None:
        return None
    if result.state == SENT:
        return False
    return True if result.error_type in TROUBLE else None


def _noted(result: InvitationResult, error_type: str, error: str) -> InvitationResult:
    return attrs.evolve(result, error_type=error_type, error=error)


def _result(entry: LedgerEntry, state: str, *, retryable: bool = False) -> InvitationResult:
    return InvitationResult(
        entry.key,
        entry.practice_group_id,
        state,
        step=None if state in (SENT, SKIPPED) else entry.step,
        patient_id=entry.patient_id,
        link_id=entry.link_id,
        short_link=entry.short_link,
        message_id=entry.message_id,
        error_type=None if state in (SENT, SKIPPED) else entry.error_type,
        error=None if state in (SENT, SKIPPED) else entry.error,
        retryable=retryable,
    )
