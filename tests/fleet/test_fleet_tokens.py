"""The fleet-wide token store: one POST /v1/access_token per group per lifetime, fleet-wide."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator

import pytest
from psycopg_pool import AsyncConnectionPool

from hero_async import AccessToken
from hero_async._auth import TokenCache
from hero_async.fleet import PostgresTokenStore, open_pool

KEY = "key-SECRET-1"


@pytest.fixture
async def pools(database_url: str) -> AsyncIterator[list[AsyncConnectionPool]]:
    opened = [await open_pool(database_url, max_size=2) for _ in range(4)]
    yield opened
    for pool in opened:
        await pool.close()


class Hero:
    """Counts token fetches; each waits for ``release`` so the others arrive meanwhile."""

    def __init__(self, lifetime: float = 1800.0) -> None:
        self.fetches: list[str] = []
        self.release = asyncio.Event()
        self.lifetime = lifetime

    async def fetch(self, group: str) -> AccessToken:
        self.fetches.append(group)
        await self.release.wait()
        expires = dt.datetime.fromtimestamp(time.time() + self.lifetime, dt.UTC)
        return AccessToken(f"jwt-{len(self.fetches)}", expires, group)


async def test_one_fetch_per_group_across_processes(pools: list[AsyncConnectionPool]) -> None:
    hero = Hero()
    caches = [TokenCache(hero.fetch, store=PostgresTokenStore(p, KEY)) for p in pools]
    asks = [asyncio.ensure_future(c.get(g)) for c in caches for g in ("1002", "1003")]
    while len(hero.fetches) < 2:  # both groups' fetches started, by whichever process
        await asyncio.sleep(0)
    hero.release.set()
    tokens = await asyncio.gather(*asks)
    assert sorted(hero.fetches) == ["1002", "1003"]
    for group in ("1002", "1003"):  # every process got the one token fetched for the group
        assert len({t.token for t in tokens if t.practice_group_id == group}) == 1
    for cache in caches:
        await cache.aclose()


async def test_a_token_near_its_end_is_refreshed_once(pools: list[AsyncConnectionPool]) -> None:
    hero = Hero(lifetime=100.0)  # under min_remaining + refresh_early: due for refresh
    hero.release.set()
    stores = [PostgresTokenStore(p, KEY) for p in pools]
    first = await TokenCache(hero.fetch, store=stores[0]).get("1002")
    assert first.token == "jwt-1"
    again = await TokenCache(hero.fetch, store=stores[1]).get("1002")
    assert (again.token, len(hero.fetches)) == ("jwt-2", 2)  # stale by the store: refetched
    hero.lifetime = 1800.0
    await stores[2].delete("1002")  # e.g. after a 401: the next caller fetches
    assert (await TokenCache(hero.fetch, store=stores[3]).get("1002")).token == "jwt-3"
    assert (await TokenCache(hero.fetch, store=stores[0]).get("1002")).token == "jwt-3"


async def test_another_api_key_never_sees_the_token(pools: list[AsyncConnectionPool]) -> None:
    hero = Hero()
    hero.release.set()
    await TokenCache(hero.fetch, store=PostgresTokenStore(pools[0], KEY)).get("1002")
    assert await PostgresTokenStore(pools[1], "other-key").get("1002") is None
    async with pools[0].connection() as conn:
        rows = await (await conn.execute("SELECT key_id FROM hero_fleet.tokens")).fetchall()
    assert all(KEY not in row[0] for row in rows)  # the key is never stored
