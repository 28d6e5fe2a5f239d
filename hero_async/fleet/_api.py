"""``Campaign``: the Python API for services that embed the fleet (the CLI is built on it)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable
from typing import Any

from psycopg_pool import AsyncConnectionPool

from ..bulk import BulkReport, Invitation
from . import _status
from ._campaign import SHARD_SIZE, Submitted, submit
from ._db import open_pool
from ._jobs import build_app

__all__ = ["Campaign"]


class Campaign:
    """One named campaign in the database at ``url``:

    await Campaign(url, "flu-2026").submit(read_invitations("flu.csv"))
    # ... workers: hero-async worker --database URL  (or run_worker(url))
    status = await Campaign(url, "flu-2026").status()
    with await Campaign(url, "flu-2026").report() as report: report.write("out.json")
    """

    def __init__(self, url: str, name: str) -> None:
        if not name or not name.isprintable() or len(name) > 200:
            raise ValueError("a campaign name is printable text of at most 200 characters")
        self.url, self.name = url, name

    @contextlib.asynccontextmanager
    async def _pool(self) -> AsyncIterator[AsyncConnectionPool[Any]]:
        pool = await open_pool(self.url, max_size=2)
        try:
            yield pool
        finally:
            await pool.close()

    async def submit(
        self, invitations: Iterable[Invitation], *, shard_size: int = SHARD_SIZE
    ) -> Submitted:
        """Validate, load, shard and enqueue, all in one transaction (see ``submit``)."""
        if shard_size < 1:
            raise ValueError("shard_size must be at least 1")
        app = build_app(self.url)
        async with self._pool() as pool, app.open_async():
            return await submit(pool, app, self.name, invitations, shard_size=shard_size)

    async def status(self) -> dict[str, Any]:
        async with self._pool() as pool:
            return await _status.status(pool, self.name)

    async def report(self) -> BulkReport:
        async with self._pool() as pool:
            return await _status.report(pool, self.name)

    def __repr__(self) -> str:
        return f"Campaign(name={self.name!r})"
