"""Bulk invitations: the pipeline, its ledger (claims before every POST), report and breaker."""

from ._claims import (
    LEASE_SECONDS,
    Campaign,
    ForeignLedgerError,
    Ledger,
    LedgerEntry,
    LedgerError,
    LedgerUnavailableError,
    Resolution,
    RunInfo,
    State,
)
from ._fanout import Outcome, fan_out
from ._invitation import Invitation
from ._pipeline import DEFAULT_CONCURRENCY, ViewFor, send_invitations
from ._report import BulkReport, InvitationResult
from ._runledger import NullLedger, RunLedger
from ._sqlite import SqliteLedger

__all__ = [
    "DEFAULT_CONCURRENCY",
    "LEASE_SECONDS",
    "BulkReport",
    "Campaign",
    "ForeignLedgerError",
    "Invitation",
    "InvitationResult",
    "Ledger",
    "LedgerEntry",
    "LedgerError",
    "LedgerUnavailableError",
    "NullLedger",
    "Outcome",
    "Resolution",
    "RunInfo",
    "RunLedger",
    "SqliteLedger",
    "State",
    "ViewFor",
    "fan_out",
    "send_invitations",
]
