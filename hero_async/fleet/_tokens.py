"""PostgresTokenStore: Hero Elements tokens shared by a fleet, one fetch per group per lifetime.

A :class:`hero_async.TokenStore` (the client's in-process single-flight cache stays in
front of it). Single flight across processes is a lease on the group's row: the first
process to find no usable token takes ``fetcher``/``fetching_until`` in one upsert and gets
None back (so its cache fetches, then ``set`` stores the token and frees the lease); the
others keep using the current token while it lasts, or wait for the new one. A fetcher that
dies or fails only holds the others back until its lease ends.

Tokens are secrets: they sit in the table as Hero issued them (30-minute JWTs), so the
database's access control is theirs. The API key itself is never stored (see ``key_id``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from psycopg_pool import AsyncConnectionPool

from .._auth import AccessToken
from .._constants import TOKEN_MIN_REMAINING_SECONDS
from ._db import key_id, unavailable

__all__ = ["PostgresTokenStore"]

_TAKE = b"""INSERT INTO hero_fleet.tokens AS t (key_id, practice_group_id, fetcher, fetching_until)
VALUES (%(k)s, %(g)s, %(me)s, clock_timestamp() + make_interval(secs => %(lease)s))
ON CONFLICT (key_id, practice_group_id) DO UPDATE
SET fetcher = %(me)s, fetching_until = clock_timestamp() + make_interval(secs => %(lease)s)
WHERE (t.token IS NULL OR t.expires_at < clock_timestamp() + make_interval(secs => %(early)s))
  AND (t.fetching_until IS NULL OR t.fetching_until < clock_timestamp() OR t.fetcher = %(me)s)
RETURNING 1"""
_READ = b"""SELECT token, expires_at FROM hero_fleet.tokens
WHERE key_id = %(k)s AND practice_group_id = %(g)s
  AND expires_at >= clock_timestamp() + make_interval(secs => %(fresh)s)"""
_SET = b"""INSERT INTO hero_fleet.tokens AS t (key_id, practice_group_id, token, expires_at)
VALUES (%(k)s, %(g)s, %(token)s, %(exp)s)
ON CONFLICT (key_id, practice_group_id) DO UPDATE
SET token = excluded.token, expires_at = excluded.expires_at, fetcher = NULL,
    fetching_until = NULL"""
_DELETE = b"""UPDATE hero_fleet.tokens SET token = NULL, expires_at = NULL
WHERE key_id = %(k)s AND practice_group_id = %(g)s"""


class PostgresTokenStore:
    """Pass to ``HeroClient(token_store=...)`` on every worker using the same API key.

    ``min_remaining`` must match the client's ``token_min_remaining``; a token is refreshed
    ``refresh_early`` seconds before that point, while the old one still serves the others.
    """

    def __init__(
        self,
        pool: AsyncConnectionPool[Any],
        api_key: str,
        *,
        min_remaining: float = TOKEN_MIN_REMAINING_SECONDS,
        refresh_early: float = 60.0,
        fetch_lease: float = 15.0,
        poll: float = 0.05,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._pool = pool
        self._key = key_id(api_key)
        self._me = uuid.uuid4().hex
        self._fresh = min_remaining
        self._early = min_remaining + refresh_early
        self._lease = fetch_lease
        self._poll = poll
        self._sleep = sleep

    async def get(self, practice_group_id: str) -> AccessToken | None:
        """A usable token, or None when this process should fetch one (it holds the lease)."""
        args = {
            "k": self._key,
            "g": practice_group_id,
            "me": self._me,
            "lease": self._lease,
            "early": self._early,
            "fresh": self._fresh,
        }
        while True:
            with unavailable():
                async with self._pool.connection() as conn:
                    if await (await conn.execute(_TAKE, args)).fetchone() is not None:
                        return None
                    row = await (await conn.execute(_READ, args)).fetchone()
            if row is not None:
                return AccessToken(row[0], row[1], practice_group_id)
            await self._sleep(self._poll)  # another worker is fetching; its lease bounds this

    async def set(self, token: AccessToken) -> None:
        with unavailable():
            async with self._pool.connection() as conn:
                await conn.execute(
                    _SET,
                    {
                        "k": self._key,
                        "g": token.practice_group_id,
                        "token": token.token,
                        "exp": token.expires_at.astimezone(dt.UTC),
                    },
                )

    async def delete(self, practice_group_id: str) -> None:
        with unavailable():
            async with self._pool.connection() as conn:
                await conn.execute(_DELETE, {"k": self._key, "g": practice_group_id})
