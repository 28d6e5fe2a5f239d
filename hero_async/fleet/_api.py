"""``Campaign``: the Python API for services that embed the fleet (the CLI is built on it)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable
from typing import Any

from psycopg_pool import AsyncConnectionPool

from ..bulk import BulkReport, Invitation, InvitationResult, LedgerEntry, Resolution
from . import _manage, _status
from ._campaign import SHARD_SIZE, Submitted, submit
from ._db import open_pool
from ._jobs import build_app
from ._ledger import PostgresLedger

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
        self,
        invitations: Iterable[Invitation],
        *,
        shard_size: int = SHARD_SIZE,
        rejected: Iterable[InvitationResult] = (),
    ) -> Submitted:
        """Validate, load, shard and enqueue, all in one transaction (see ``submit``).
        ``rejected``: rows the caller already found bad (e.g. with line numbers), read after
        ``invitations`` is consumed; they are failed in the results like invalid rows."""
        if shard_size < 1:
            raise ValueError("shard_size must be at least 1")
        app = build_app(self.url)
        async with self._pool() as pool, app.open_async():
            return await submit(
                pool, app, self.name, invitations, shard_size=shard_size, rejected=rejected
            )

    async def retry(self) -> tuple[int, int]:
        """Re-open the shards that still hold retryable failures, keys no run reached or
        shards given up after MAX_ATTEMPTS runs, and queue their jobs again: returns
        (shards re-opened, of them newly queued). Nothing sent or unknown is sent again."""
        app = build_app(self.url)
        async with self._pool() as pool, app.open_async():
            await _status.total(pool, self.name)
            return await _manage.retry(pool, app, self.name)

    async def unknown(self) -> list[LedgerEntry]:
        """The keys whose outcome is unknown (Hero may have acted): settle each with
        ``resolve`` after checking with the practice or Hero's dashboard."""
        async with self._pool() as pool:
            await _status.total(pool, self.name)
            return await PostgresLedger(pool, self.name).unknown()

    async def resolve(self, key: str, outcome: Resolution, who: str) -> LedgerEntry:
        """Record whether an outcome_unknown key was sent (``"sent"``) or not
        (``"not-sent"``: ``retry`` then sends it); ``who`` (and when) is kept."""
        async with self._pool() as pool:
            await _status.total(pool, self.name)
            return await _manage.resolve(pool, self.name, key, outcome, who)

    async def given_up(self) -> list[int]:
        """Shards run MAX_ATTEMPTS times without finishing (``retry`` re-opens them)."""
        async with self._pool() as pool:
            return [shard for _, shard in await _manage.given_up(pool, self.name)]

    async def status(self) -> dict[str, Any]:
        async with self._pool() as pool:
            return await _status.status(pool, self.name)

    async def report(self) -> BulkReport:
        async with self._pool() as pool:
            return await _status.report(pool, self.name)

    def __repr__(self) -> str:
        return f"Campaign(name={self.name!r})"
