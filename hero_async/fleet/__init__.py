"""Campaigns across a fleet of workers: PostgreSQL holds the ledger, the shared rate budget
and the shared token store (``pip install 'hero-async[fleet]'``). Nothing in the core package
imports this one."""

from ._db import open_pool
from ._ledger import PostgresLedger
from ._ratelimit import PostgresRateLimiter
from ._schema import migrate
from ._tokens import PostgresTokenStore

__all__ = ["PostgresLedger", "PostgresRateLimiter", "PostgresTokenStore", "migrate", "open_pool"]
