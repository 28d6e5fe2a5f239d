"""Bulk invitations: the pipeline, its ledger (claims before every POST), report and breaker."""

from ._fanout import Outcome, fan_out
from ._invitation import Invitation
from ._ledger import Ledger, LedgerEntry, NullLedger, RunLedger, SqliteLedger
from ._pipeline import DEFAULT_CONCURRENCY, ViewFor, send_invitations
from ._report import BulkReport, InvitationResult

__all__ = [
    "DEFAULT_CONCURRENCY",
    "BulkReport",
    "Invitation",
    "InvitationResult",
    "Ledger",
    "LedgerEntry",
    "NullLedger",
    "Outcome",
    "RunLedger",
    "SqliteLedger",
    "ViewFor",
    "fan_out",
    "send_invitations",
]
