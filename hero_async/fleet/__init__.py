"""Campaigns across a fleet of workers on PostgreSQL and procrastinate (extra ``fleet``)."""

from ._api import Campaign
from ._campaign import Submitted
from ._db import open_pool
from ._ledger import PostgresLedger
from ._ratelimit import PostgresRateLimiter
from ._schema import migrate
from ._shard import run_shard
from ._tokens import PostgresTokenStore
from ._worker import MAX_ATTEMPTS, run_worker

__all__ = [
    "MAX_ATTEMPTS",
    "Campaign",
    "PostgresLedger",
    "PostgresRateLimiter",
    "PostgresTokenStore",
    "Submitted",
    "migrate",
    "open_pool",
    "run_shard",
    "run_worker",
]
