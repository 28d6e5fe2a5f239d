"""Campaigns across a fleet of workers (``pip install 'hero-async[fleet]'``): PostgreSQL holds
the campaign, its ledger, the shared rate budget and the shared token store; procrastinate
runs one job per shard. Nothing in the core package imports this one."""

from ._api import Campaign
from ._campaign import Submitted
from ._db import open_pool
from ._ledger import PostgresLedger
from ._ratelimit import PostgresRateLimiter
from ._schema import migrate
from ._tokens import PostgresTokenStore
from ._worker import run_worker

__all__ = [
    "Campaign",
    "PostgresLedger",
    "PostgresRateLimiter",
    "PostgresTokenStore",
    "Submitted",
    "migrate",
    "open_pool",
    "run_worker",
]
