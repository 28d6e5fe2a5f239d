"""Connections: one psycopg async pool per process, autocommit, schema migrated on open."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from typing import Any

import psycopg
import psycopg_pool

from ..bulk import LedgerUnavailableError
from ._schema import migrate

__all__ = ["key_id", "open_pool", "unavailable"]


async def open_pool(url: str, *, max_size: int = 10) -> psycopg_pool.AsyncConnectionPool[Any]:
    """An open pool on ``url`` (a postgresql:// URL or a libpq conninfo string), the schema
    migrated. A database that cannot be reached fails at once (one direct connection first),
    not after the pool's retries."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await migrate(conn)
    pool: psycopg_pool.AsyncConnectionPool[Any] = psycopg_pool.AsyncConnectionPool(
        url,
        min_size=1,
        max_size=max_size,
        open=False,
        kwargs={"autocommit": True},
        check=psycopg_pool.AsyncConnectionPool.check_connection,
    )
    try:
        await pool.open(wait=True, timeout=30)
    except BaseException:
        await pool.close()
        raise
    return pool


def key_id(api_key: str) -> str:
    """Which API key a shared row belongs to, without storing the key (a one-way hash)."""
    return hashlib.sha256(b"hero-async fleet\0" + api_key.encode()).hexdigest()[:24]


@contextlib.contextmanager
def unavailable() -> Iterator[None]:
    """A database that cannot answer means nothing can be made durable: stop the job."""
    try:
        yield
    except (psycopg.OperationalError, psycopg.InterfaceError, psycopg_pool.PoolTimeout) as exc:
        raise LedgerUnavailableError(f"PostgreSQL unavailable: {type(exc).__name__}") from exc
