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
from ._invitation import Plan
from ._ledger import Ledger, LedgerEntry, State
from ._report import FAILED, SENT, SKIPPED, UNKNOWN, InvitationResult

T = TypeVar("T")
_RETRYABLE = (RateLimitError, ServerError, TransportError)


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
    ) -> None:
        self._breaker = breaker
        self._ledger = ledger
        self._retry_unknown = retry_unknown
        self._on_denied = on_denied

    async def invite(
        self, view: Requester, plan: Plan, denied: HeroError | None
    ) -> InvitationResult:
        entry = await self._ledger.get(plan.key)
        try:
            entry = await self._resume(plan, entry)
            if denied is not None:
                await self._fail(entry, "preflight", denied)
            return await self._send(view, plan, entry)
        except _Done as done:
            return done.result

    async def _send(self, view: Requester, plan: Plan, entry: LedgerEntry) -> InvitationResult:
        """The live steps, behind the group's circuit breaker (the ledger was read first, so
        finished keys are still skipped while a group is paused)."""
        group = plan.practice_group_id
        admission = self._breaker.allow(group)
        if not admission:
            raise _Done(
                _result(
                    entry._replace(
                        step="circuit",
                        error_type="CircuitOpen",
                        error="paused after repeated errors from this practice group; not sent",
                    ),
                    FAILED,
                    retryable=True,
                )
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

    async def _resume(self, plan: Plan, entry: LedgerEntry | None) -> LedgerEntry:
        if entry is None:
            return LedgerEntry(
                plan.key, plan.practice_group_id, State.NEW, fingerprint=plan.fingerprint
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
            raise _Done(_result(entry, SKIPPED))
        if entry.state in State.CLAIMS or entry.state == State.UNKNOWN:
            step = entry.step or ("link" if entry.state == State.LINK_CLAIMED else "message")
            if not self._retry_unknown:
                if entry.state in State.CLAIMS:  # crashed between claim and result
                    entry = entry._replace(
                        state=State.UNKNOWN,
                        step=step,
                        error_type="Interrupted",
                        error="run stopped after the request may have been sent",
                    )
                    await self._ledger.put(entry)
                raise _Done(_result(entry, UNKNOWN))
            if step == "link":  # the caller accepts a possible second link
                entry = entry._replace(link_id=None, short_link=None)
        return entry

    async def _register(self, view: Requester, plan: Plan, entry: LedgerEntry) -> LedgerEntry:
        if plan.patient_id is not None or entry.patient_id is not None:
            return entry._replace(patient_id=plan.patient_id or entry.patient_id)
        assert plan.pds is not None  # plan() guarantees it when patient_id is absent
        pds = plan.pds
        outcome = await self._step(
            entry, "register", lambda: Patients(view).register_pds(**pds), creates=False
        )
        if isinstance(outcome, IdentityCheckRequired):
            await self._put_failed(
                entry,
                "register",
                "IdentityCheckRequired",
                "the patient must verify their identity with Hero first",
            )
        entry = entry._replace(state=State.REGISTERED, patient_id=outcome.patient_id)
        await self._ledger.put(entry)
        return entry

    async def _link(self, view: Requester, plan: Plan, entry: LedgerEntry) -> LedgerEntry:
        if entry.link_id is None:
            entry = entry._replace(
                state=State.LINK_CLAIMED, step="link", error_type=None, error=None
            )
            await self._ledger.put(entry)
            fields = {**plan.link, "patient_id": entry.patient_id}
            new_id, short_link = await self._step(
                entry, "link", lambda: _post(view, LINKS_PATH, fields, "id", "short_link")
            )
            entry = entry._replace(state=State.LINKED, link_id=new_id, short_link=short_link)
            await self._ledger.put(entry)
        if entry.short_link is None:  # the create answer's shape is UNVERIFIED: ask again
            link_id = entry.link_id
            assert link_id is not None
            link = await self._step(
                entry, "link", lambda: BookingLinks(view).get(link_id), creates=False
            )
            if link.short_link is None:
                await self._put_failed(
                    entry, "link", "MissingShortLink", "Hero returned the link without a short_link"
                )
            entry = entry._replace(state=State.LINKED, short_link=link.short_link)
            await self._ledger.put(entry)
        return entry

    async def _message(self, view: Requester, plan: Plan, entry: LedgerEntry) -> LedgerEntry:
        short_link, patient_id = entry.short_link, entry.patient_id
        assert short_link is not None
        assert patient_id is not None
        entry = entry._replace(
            state=State.MESSAGE_CLAIMED, step="message", error_type=None, error=None
        )
        await self._ledger.put(entry)
        body = plan.message_body(patient_id, short_link, entry.link_id)
        message_id, _ = await self._step(
            entry, "message", lambda: _post(view, MESSAGES_PATH, body, "message_id", None)
        )
        entry = entry._replace(state=State.SENT, message_id=message_id, step=None)
        await self._ledger.put(entry)
        return entry

    async def _step(
        self,
        entry: LedgerEntry,
        step: str,
        call: Callable[[], Awaitable[T]],
        *,
        creates: bool = True,
    ) -> T:
        """Run one request. ``creates``: a POST that acts on Hero, so an unreadable 2xx answer
        means Hero DID act (the link exists, the SMS went): outcome unknown, never "retry"."""
        try:
            return await call()
        except MalformedResponseError as exc:
            # A readable error status never gets here; an unreadable 2xx or 5xx answer to a POST
            # means Hero did (or may have) act: outcome unknown, never "failed, retry".
            if not (creates and (200 <= exc.status < 300 or exc.status >= 500)):
                self._on_denied(entry.practice_group_id, exc)
                await self._fail(entry, step, exc)
            await self._unknown(entry, step, exc)
        except OutcomeUnknownError as exc:
            await self._unknown(entry, step, exc)
        except HeroError as exc:
            self._on_denied(entry.practice_group_id, exc)
            await self._fail(entry, step, exc)

    async def _unknown(self, entry: LedgerEntry, step: str, exc: HeroError) -> NoReturn:
        unknown = entry._replace(
            state=State.UNKNOWN, step=step, error_type=type(exc).__name__, error=str(exc)
        )
        await self._ledger.put(unknown)
        raise _Done(_result(unknown, UNKNOWN)) from None

    async def _fail(self, entry: LedgerEntry, step: str, exc: HeroError) -> NoReturn:
        await self._put_failed(
            entry, step, type(exc).__name__, str(exc), retryable=isinstance(exc, _RETRYABLE)
        )

    async def _put_failed(
        self, entry: LedgerEntry, step: str, error_type: str, error: str, *, retryable: bool = False
    ) -> NoReturn:
        failed = entry._replace(state=State.FAILED, step=step, error_type=error_type, error=error)
        await self._ledger.put(failed)
        raise _Done(_result(failed, FAILED, retryable=retryable))


async def _post(
    view: Requester, path: str, body: object, id_field: str, link_field: str | None
) -> tuple[str, str | None]:
    return _ids(await view.request("POST", path, json=body), id_field, link_field)


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
    """Why ``entry`` cannot be this plan's progress, if it cannot: another practice group, or
    another patient / link / message (entries written before fingerprints are trusted)."""
    if entry.practice_group_id != plan.practice_group_id:
        return f"for practice group {entry.practice_group_id}"
    if entry.fingerprint is not None and entry.fingerprint != plan.fingerprint:
        return "for a different patient, link or message: give each invitation its own key"
    return None


def _trouble(result: InvitationResult | None) -> bool | None:
    if result is None:
        return None
    if result.state == SENT:
        return False
    return True if result.error_type in TROUBLE else None


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
