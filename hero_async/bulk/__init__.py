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
from ._csv import (
    COLUMNS,
    DATE_FORMATS,
    REQUIRED_COLUMNS,
    DateFormat,
    Row,
    read_invitations,
    read_rows,
)
from ._fanout import DEFAULT_FAN_OUT_CONCURRENCY, Outcome, fan_out
from ._invitation import DEFAULT_TEMPLATE, Invitation, plan
from ._pipeline import DEFAULT_CONCURRENCY, ViewFor, send_invitations
from ._report import FAILED, BulkReport, InvitationResult
from ._runledger import NullLedger, RunLedger
from ._sqlite import SqliteLedger

__all__ = [
    "COLUMNS",
    "DATE_FORMATS",
    "DEFAULT_CONCURRENCY",
    "DEFAULT_FAN_OUT_CONCURRENCY",
    "DEFAULT_TEMPLATE",
    "FAILED",
    "LEASE_SECONDS",
    "REQUIRED_COLUMNS",
    "BulkReport",
    "Campaign",
    "DateFormat",
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
    "Row",
    "RunInfo",
    "RunLedger",
    "SqliteLedger",
    "State",
    "ViewFor",
    "fan_out",
    "plan",
    "read_invitations",
    "read_rows",
    "send_invitations",
]
