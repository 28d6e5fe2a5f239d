"""How an invitation ends: its report result, built from its ledger row, and the checks the
steps make on the way (a key reused for another patient, the ids a create answer must carry).

Pure functions: no I/O, no ledger writes. ``Done`` carries a final result out of the steps.
"""

from __future__ import annotations

from typing import NoReturn

import attrs

from .._errors import MalformedResponseError
from ._breaker import TROUBLE
from ._claims import LedgerEntry
from ._invitation import Plan
from ._report import FAILED, SENT, SKIPPED, InvitationResult

__all__ = [
    "Done",
    "answer_ids",
    "not_sent",
    "noted",
    "result_of",
    "reuse",
    "skipped",
    "trouble",
]


class Done(Exception):
    """Ends an invitation early with its final result."""

    def __init__(self, result: InvitationResult) -> None:
        self.result = result


def not_sent(entry: LedgerEntry, step: str, error_type: str, error: str) -> NoReturn:
    """Failed before any claim: nothing written (the row, if any, still says what a re-run
    will do, and that is to try again)."""
    failed = entry._replace(step=step, error_type=error_type, error=error)
    raise Done(result_of(failed, FAILED, retryable=True))


def skipped(entry: LedgerEntry, plan: Plan) -> InvitationResult:
    """Already sent: skipped with its ids; a changed template, expiry or appointment type
    does not send again, but is said."""
    result = result_of(entry, SKIPPED)
    if entry.fingerprint is not None and entry.fingerprint != plan.fingerprint:
        return noted(
            result,
            "InputChanged",
            "already sent; the link or message fields changed since, and were not sent again",
        )
    return result


def answer_ids(data: object, id_field: str, link_field: str | None) -> tuple[str, str | None]:
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


def reuse(entry: LedgerEntry, plan: Plan) -> str | None:
    """Why ``entry`` cannot be this plan's progress, if it cannot: another practice group or
    another patient ("who"; entries written before fingerprints are trusted)."""
    if entry.practice_group_id != plan.practice_group_id:
        return f"for practice group {entry.practice_group_id}"
    who = (entry.fingerprint or "").partition("-")[0]
    if who and who != plan.fingerprint.partition("-")[0]:
        return "for a different patient: give each invitation its own key"
    return None


def trouble(result: InvitationResult | None) -> bool | None:
    if result is None:
        return None
    if result.state == SENT:
        return False
    return True if result.error_type in TROUBLE else None


def noted(result: InvitationResult, error_type: str, error: str) -> InvitationResult:
    return attrs.evolve(result, error_type=error_type, error=error)


def result_of(entry: LedgerEntry, state: str, *, retryable: bool = False) -> InvitationResult:
    key, group, _, patient_id, link_id, short_link, message_id, step, error_type, error = entry[:10]
    if state in (SENT, SKIPPED):  # what went wrong before does not belong to these
        step = error_type = error = None
    # Positional, in field order: one of these per invitation, and keywords cost a third more.
    return InvitationResult(
        key, group, state, step, patient_id, link_id, short_link, message_id, error_type, error,
        retryable,
    )  # fmt: skip
