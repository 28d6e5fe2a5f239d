"""Bulk invitations: the pipeline, its ledger (claims before every POST), report and breaker."""

from ._claims import (
    LEASE_SECONDS,
    Campaign,
    ForeignLedgerError,
    LedgerEntry,
    LedgerError,
    LedgerUnavailableError,
    Resolution,
    RunInfo,
    State,
)
from ._claims import Ledger as ClaimStore
from ._fanout import Outcome, fan_out
from ._invitation import Invitation
from ._ledger import Ledger, NullLedger, RunLedger, SqliteLedger
from ._pipeline import DEFAULT_CONCURRENCY, ViewFor, send_invitations
from ._report import BulkReport, InvitationResult

__all__ = [
    "DEFAULT_CONCURRENCY",
    "LEASE_SECONDS",
    "BulkReport",
    "Campaign",
    "ClaimStore",
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
