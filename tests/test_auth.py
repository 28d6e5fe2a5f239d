"""Access tokens: JWT expiry, the single-flight per-group cache, stores, invalidation."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest
from aioresponses import CallbackResult

from hero_async import (
    AccessToken,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    CrossOrganisationDeniedError,
    InMemoryTokenStore,
    MalformedResponseError,
    PermissionDeniedError,
    ServerError,
)
from hero_async import _constants as C
from hero_async._auth import TokenCache

if TYPE_CHECKING:
    from conftest import ClientFactory, FakeClock, FakeHero

TOKEN_PATH = "/v1/access_token"


def _b64url(data: dict[str, Any]) -> str:
    raw = json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def make_jwt(exp: float | None = None, **claims: Any) -> str:
    """An unsigned JWT carrying ``exp`` (Hero's signature is never checked by the SDK)."""
    payload = dict(claims)
    if exp is not None:
        payload["exp"] = exp
    return f"{_b64url({'alg': 'HS256', 'typ': 'JWT'})}.{_b64url(payload)}.c2lnbmF0dXJl"


def at(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, dt.UTC)


def group_of(kwargs: dict[str, Any]) -> str:
    return str(kwargs["headers"]["x-practice-group-id"])


class HeldTokens:
    """A token endpoint (``callback=held.respond``) whose answers wait for a gate.

    Each group waits on its own gate if ``gate(group)`` made one, else on ``default_gate``.
    """

    def __init__(self, clock: FakeClock, *, lifetime: float = 1800) -> None:
        self.clock = clock
        self.lifetime = lifetime
        self.calls: Counter[str] = Counter()
        self.entered = 0
        self.all_entered = asyncio.Event()
        self.expected_entries = 1
        self.gates: dict[str, asyncio.Event] = {}
        self.default_gate = asyncio.Event()

    def gate(self, group: str) -> asyncio.Event:
        return self.gates.setdefault(group, asyncio.Event())

    async def respond(self, url: Any, **kwargs: Any) -> CallbackResult:
        group = group_of(kwargs)
        self.calls[group] += 1
        self.entered += 1
        if self.entered >= self.expected_entries:
            self.all_entered.set()
        await self.gates.get(group, self.default_gate).wait()
        token = make_jwt(exp=self.clock() + self.lifetime, pg=group, n=self.calls[group])
        return CallbackResult(payload={"access_token": token})


# --- AccessToken --------------------------------------------------------------------------


def test_from_jwt_reads_exp() -> None:
    """A JWT's exp claim becomes expires_at, whatever the issue time."""
    token = AccessToken.from_jwt(make_jwt(exp=1_700_000_600), "1001", issued_at=1_000)
    assert token.expires_at == at(1_700_000_600)
    assert token.practice_group_id == "1001"
    assert token.seconds_left(1_700_000_000) == pytest.approx(600)


@pytest.mark.parametrize(
    "raw",
    [
        "opaque-token",
        "a.b",
        "a.!!!notbase64!!!.c",
        f"{_b64url({'alg': 'none'})}.{_b64url({'sub': 'x'})}.sig",  # no exp
        f"{_b64url({'alg': 'none'})}.{_b64url({'exp': 'soon'})}.sig",  # exp not a number
        f"{_b64url({'alg': 'none'})}.{_b64url({'exp': True})}.sig",  # bool is not a time
        f"{_b64url({'alg': 'none'})}.{base64.urlsafe_b64encode(b'[1,2]').decode()}.sig",
        "x.bm90IGpzb24.y",  # "not json"
    ],
    ids=["opaque", "two-parts", "bad-b64", "no-exp", "str-exp", "bool-exp", "list", "not-json"],
)
def test_from_jwt_falls_back_to_30_minutes(raw: str) -> None:
    """Anything without a readable numeric exp expires 30 minutes after issue."""
    token = AccessToken.from_jwt(raw, "1001", issued_at=1_700_000_000)
    assert token.expires_at == at(1_700_000_000 + 30 * 60)


def _jwt_with_raw_payload(payload: str) -> str:
    encoded = base64.urlsafe_b64encode(payload.encode()).rstrip(b"=").decode()
    return f"{_b64url({'alg': 'HS256'})}.{encoded}.c2ln"


@pytest.mark.parametrize(
    "payload",
    [
        '{"exp": 1e20}',
        '{"exp": -1e20}',
        '{"exp": NaN}',
        '{"exp": Infinity}',
        '{"exp": 1700000000000}',  # milliseconds by mistake: year 55,000
    ],
    ids=["huge", "huge-negative", "nan", "infinity", "milliseconds"],
)
def test_from_jwt_out_of_range_exp_falls_back(payload: str) -> None:
    """An exp no datetime can hold is unreadable: fall back to 30 minutes, never crash."""
    token = AccessToken.from_jwt(_jwt_with_raw_payload(payload), "1001", issued_at=1_700_000_000)
    assert token.expires_at == at(1_700_000_000 + 30 * 60)


def test_access_token_repr_and_str_hide_the_token() -> None:
    """repr() and str() of an AccessToken show the group and expiry, never the JWT."""
    raw = make_jwt(exp=1_700_000_600, secret="TOPSECRET")
    token = AccessToken.from_jwt(raw, "1001", issued_at=0)
    for text in (repr(token), str(token), f"{token}", repr([token])):
        assert raw not in text
        assert raw.split(".")[1] not in text
        assert "***" in text
        assert "1001" in text
    assert token.token == raw


# --- the cache through the client ---------------------------------------------------------


async def test_token_fetched_once_then_cached(
    client: ClientFactory, api: FakeHero, clock: FakeClock
) -> None:
    """A second access_token() call within the lifetime reuses the first token."""
    raw = make_jwt(exp=clock() + 1800)
    api.add("POST", TOKEN_PATH, payload={"access_token": raw})
    hero = await client()
    first = await hero.access_token()
    second = await hero.access_token()
    assert first.token == raw
    assert second is first
    [sent] = api.sent("POST", TOKEN_PATH)
    assert sent.data is None  # no body, as documented
    assert sent.headers["x-practice-group-id"] == "1001"


async def test_non_jwt_token_lives_30_minutes_from_issue(
    client: ClientFactory, api: FakeHero, clock: FakeClock
) -> None:
    """An opaque token expires 30 min after the (injected) clock time it was requested at."""
    api.add("POST", TOKEN_PATH, payload={"access_token": "opaque-token"})
    hero = await client()
    token = await hero.access_token()
    assert token.expires_at == at(clock() + 1800)


async def test_thousand_callers_twenty_groups_twenty_fetches(
    client: ClientFactory, api: FakeHero, clock: FakeClock
) -> None:
    """1,000 concurrent access_token() calls over 20 groups make exactly 20 token requests."""
    held = HeldTokens(clock)
    held.expected_entries = 20
    api.add("POST", TOKEN_PATH, callback=held.respond, repeat=True)
    hero = await client()
    groups = [str(2000 + n) for n in range(20)]
    callers = [
        asyncio.create_task(hero.practice_group(groups[n % 20]).access_token()) for n in range(1000)
    ]
    await held.all_entered.wait()  # every group's fetch is in flight and held
    for _ in range(5):
        await asyncio.sleep(0)  # let any (buggy) extra fetches start
    assert all(not task.done() for task in callers)
    held.default_gate.set()
    tokens = await asyncio.gather(*callers)
    assert api.count("POST", TOKEN_PATH) == 20
    assert held.calls == Counter({group: 1 for group in groups})
    by_group: dict[str, set[str]] = {}
    for n, token in enumerate(tokens):
        assert token.practice_group_id == groups[n % 20]
        by_group.setdefault(token.practice_group_id, set()).add(token.token)
    assert all(len(distinct) == 1 for distinct in by_group.values())
    # and now all of them are cached
    await asyncio.gather(*(hero.practice_group(g).access_token() for g in groups))
    assert api.count("POST", TOKEN_PATH) == 20


async def test_slow_group_does_not_block_other_groups(
    client: ClientFactory, api: FakeHero, clock: FakeClock
) -> None:
    """While group B's token fetch is held, group A's callers get their token."""
    held = HeldTokens(clock)
    held.gate("2002")  # B stays held until we release it
    held.default_gate.set()  # everyone else answers at once
    api.add("POST", TOKEN_PATH, callback=held.respond, repeat=True)
    hero = await client()
    b_task = asyncio.create_task(hero.practice_group("2002").access_token())
    await held.all_entered.wait()  # B's fetch is in flight and held
    async with asyncio.timeout(5):  # a guard only: A must not wait for B
        a_token = await hero.practice_group("2001").access_token()
    assert a_token.practice_group_id == "2001"
    assert not b_task.done()
    held.gate("2002").set()
    b_token = await b_task
    assert b_token.practice_group_id == "2002"


async def test_token_with_too_little_life_left_is_refetched(
    client: ClientFactory, api: FakeHero, clock: FakeClock
) -> None:
    """A token with 4 minutes left is not handed out under the default 5-minute margin."""
    api.add("POST", TOKEN_PATH, payload={"access_token": make_jwt(exp=clock() + 240)})
    api.add("POST", TOKEN_PATH, payload={"access_token": make_jwt(exp=clock() + 1800)})
    hero = await client()
    first = await hero.access_token()
    second = await hero.access_token()
    assert api.count("POST", TOKEN_PATH) == 2
    assert second.seconds_left(clock()) == pytest.approx(1800)
    assert first.token != second.token


async def test_cached_token_refetched_when_clock_reaches_margin(
    client: ClientFactory, api: FakeHero, clock: FakeClock
) -> None:
    """A token is reused until less than min_remaining is left, then fetched again."""
    api.add("POST", TOKEN_PATH, payload={"access_token": make_jwt(exp=clock() + 1800)})
    api.add("POST", TOKEN_PATH, payload={"access_token": make_jwt(exp=clock() + 3600)})
    hero = await client()
    first = await hero.access_token()
    clock.advance(1800 - 300)  # exactly the 5-minute margin left: still fine
    assert await hero.access_token() is first
    clock.advance(1)
    second = await hero.access_token()
    assert second is not first
    assert api.count("POST", TOKEN_PATH) == 2


async def test_custom_min_remaining_respected(
    client: ClientFactory, api: FakeHero, clock: FakeClock
) -> None:
    """token_min_remaining= changes the margin: a 4-minute token is fine with a 1-minute margin."""
    api.add("POST", TOKEN_PATH, payload={"access_token": make_jwt(exp=clock() + 240)})
    hero = await client(token_min_remaining=60)
    first = await hero.access_token()
    assert await hero.access_token() is first
    assert api.count("POST", TOKEN_PATH) == 1


async def test_failed_fetch_reaches_all_waiters_and_is_not_kept(
    client: ClientFactory, api: FakeHero, clock: FakeClock
) -> None:
    """A 400 on the token POST fails every waiter with the same error; the next call refetches."""
    gate = asyncio.Event()
    entered = asyncio.Event()
    calls = 0

    async def refuse(url: Any, **kwargs: Any) -> CallbackResult:
        nonlocal calls
        calls += 1
        entered.set()
        await gate.wait()
        return CallbackResult(
            status=400, payload={"error": True, "statusCode": 400, "message": "nope"}
        )

    api.add("POST", TOKEN_PATH, callback=refuse)
    api.add("POST", TOKEN_PATH, payload={"access_token": make_jwt(exp=clock() + 1800)})
    hero = await client()
    waiters = [asyncio.create_task(hero.access_token()) for _ in range(10)]
    await entered.wait()
    gate.set()
    results = await asyncio.gather(*waiters, return_exceptions=True)
    assert all(isinstance(r, BadRequestError) for r in results)
    assert all(r is results[0] for r in results)
    assert calls == 1
    token = await hero.access_token()
    assert token.practice_group_id == "1001"
    assert api.count("POST", TOKEN_PATH) == 2


async def test_token_post_is_retried_on_5xx(client: ClientFactory, api: FakeHero) -> None:
    """Minting a token is safe to resend, so a 500 on it is retried."""
    api.add("POST", TOKEN_PATH, status=500, body="oops")
    api.add("POST", TOKEN_PATH, payload={"access_token": "opaque-token"})
    hero = await client()
    token = await hero.access_token()
    assert token.token == "opaque-token"
    assert api.count("POST", TOKEN_PATH) == 2


async def test_exhausted_token_retries_fail_then_recover(
    client: ClientFactory, api: FakeHero
) -> None:
    """After retries run out Hero's 503 surfaces as ServerError (status, method, path, no
    secret); nothing is cached from it, so the next call starts a fresh fetch."""
    api.add("POST", TOKEN_PATH, status=503, body="down", repeat=2)
    api.add("POST", TOKEN_PATH, payload={"access_token": "opaque-token"})
    hero = await client(max_retries=1)
    with pytest.raises(ServerError) as info:
        await hero.access_token()
    assert type(info.value) is ServerError
    assert (info.value.status, info.value.method, info.value.path) == (503, "POST", TOKEN_PATH)
    assert "test-key-SECRET" not in repr(info.value) + str(info.value)
    assert api.count("POST", TOKEN_PATH) == 2  # the first try and one retry, no more
    assert (await hero.access_token()).token == "opaque-token"
    assert api.count("POST", TOKEN_PATH) == 3


@pytest.mark.parametrize(
    "payload", [{}, {"access_token": ""}, {"access_token": 123}, ["x"]], ids=str
)
async def test_token_answer_without_token_is_malformed(
    client: ClientFactory, api: FakeHero, payload: Any
) -> None:
    """A 200 without a usable access_token raises MalformedResponseError and caches nothing."""
    api.add("POST", TOKEN_PATH, body=json.dumps(payload))
    api.add("POST", TOKEN_PATH, payload={"access_token": "opaque-token"})
    hero = await client()
    with pytest.raises(MalformedResponseError):
        await hero.access_token()
    assert (await hero.access_token()).token == "opaque-token"


async def test_token_with_absurd_exp_is_still_usable(
    client: ClientFactory, api: FakeHero, clock: FakeClock
) -> None:
    """A token whose exp is out of range (ms by mistake) is handed out, not a raw ValueError."""
    raw = _jwt_with_raw_payload('{"exp": 1700000000000}')
    api.add("POST", TOKEN_PATH, payload={"access_token": raw})
    hero = await client()
    token = await hero.access_token()
    assert token.token == raw
    assert token.practice_group_id == "1001"


async def test_non_json_token_answer_does_not_leak_the_token(
    client: ClientFactory, api: FakeHero
) -> None:
    """A token endpoint answering a bare JWT (not JSON) fails without putting it in the error."""
    raw = make_jwt(exp=1_700_001_800, sub="TOKEN-SECRET-CLAIM")
    api.add("POST", TOKEN_PATH, body=raw, content_type="text/plain")
    hero = await client()
    with pytest.raises(MalformedResponseError) as info:
        await hero.access_token()
    for text in (str(info.value), repr(info.value), repr(vars(info.value))):
        assert raw not in text
        assert raw.split(".")[1] not in text


async def test_cancelled_caller_does_not_break_the_others(
    client: ClientFactory, api: FakeHero, clock: FakeClock
) -> None:
    """Cancelling one waiter leaves the shared fetch running for the rest; still one request."""
    held = HeldTokens(clock)
    api.add("POST", TOKEN_PATH, callback=held.respond, repeat=True)
    hero = await client()
    waiters = [asyncio.create_task(hero.access_token()) for _ in range(3)]
    await held.all_entered.wait()
    waiters[0].cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiters[0]
    held.default_gate.set()
    first, second = await asyncio.gather(waiters[1], waiters[2])
    assert first is second
    assert api.count("POST", TOKEN_PATH) == 1
    assert await hero.access_token() is first


async def test_cancelling_the_only_caller_still_caches_the_token(
    client: ClientFactory, api: FakeHero, clock: FakeClock
) -> None:
    """Even with every waiter cancelled, the fetch completes and the next call uses it."""
    held = HeldTokens(clock)
    api.add("POST", TOKEN_PATH, callback=held.respond, repeat=True)
    hero = await client()
    waiter = asyncio.create_task(hero.access_token())
    await held.all_entered.wait()
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    held.default_gate.set()
    token = await hero.access_token()
    assert token.practice_group_id == "1001"
    assert api.count("POST", TOKEN_PATH) == 1


@pytest.mark.parametrize(
    ("status", "error"), [(401, AuthenticationError), (403, PermissionDeniedError)]
)
async def test_auth_failure_clears_that_groups_token(
    client: ClientFactory, api: FakeHero, status: int, error: type[Exception]
) -> None:
    """A 401/403 on any call drops that group's cached token; other groups keep theirs."""
    api.add("POST", TOKEN_PATH, payload={"access_token": "opaque-token"}, repeat=True)
    api.add("GET", "/v1/me", status=status, payload={"message": "Unauthorised"})
    hero = await client()
    await hero.access_token()
    other = await hero.practice_group("1002").access_token()
    with pytest.raises(error):
        await hero.practice_group_info.me()
    await hero.access_token()
    assert await hero.practice_group("1002").access_token() is other
    groups = [s.headers["x-practice-group-id"] for s in api.sent("POST", TOKEN_PATH)]
    assert groups == ["1001", "1002", "1001"]


async def test_cross_org_403_clears_the_viewed_groups_token(
    client: ClientFactory, api: FakeHero
) -> None:
    """A 403 acting for another group drops only that group's token."""
    api.add("POST", TOKEN_PATH, payload={"access_token": "opaque-token"}, repeat=True)
    api.add("GET", "/v1/me", status=403, payload={"message": "Unauthorised"})
    hero = await client()
    home = await hero.access_token()
    view = hero.practice_group("1002")
    await view.access_token()
    with pytest.raises(CrossOrganisationDeniedError):
        await view.practice_group_info.me()
    await view.access_token()
    assert await hero.access_token() is home
    assert api.count("POST", TOKEN_PATH) == 3


async def test_invalidate_access_token_forces_a_refetch(
    client: ClientFactory, api: FakeHero
) -> None:
    """scope.invalidate_access_token() makes the next access_token() ask Hero again."""
    api.add("POST", TOKEN_PATH, payload={"access_token": "opaque-token"}, repeat=True)
    hero = await client()
    await hero.access_token()
    await hero.invalidate_access_token()
    await hero.access_token()
    assert api.count("POST", TOKEN_PATH) == 2


async def test_access_tokens_create_bypasses_the_cache(
    client: ClientFactory, api: FakeHero
) -> None:
    """hero.access_tokens.create() always mints a new token."""
    api.add("POST", TOKEN_PATH, payload={"access_token": "opaque-token"}, repeat=True)
    hero = await client()
    await hero.access_token()
    minted = await hero.access_tokens.create()
    assert isinstance(minted, AccessToken)
    assert api.count("POST", TOKEN_PATH) == 2


async def test_close_cancels_fetches_in_flight(
    client: ClientFactory, api: FakeHero, clock: FakeClock
) -> None:
    """Closing the client while a token fetch is held ends that fetch; nothing hangs."""
    held = HeldTokens(clock)
    api.add("POST", TOKEN_PATH, callback=held.respond, repeat=True)
    hero = await client()
    waiter = asyncio.create_task(hero.access_token())
    await held.all_entered.wait()
    async with asyncio.timeout(5):  # a guard only
        await hero.aclose()
        with pytest.raises((asyncio.CancelledError, ClientClosedError)):
            await waiter


# --- stores -------------------------------------------------------------------------------


def _token(group: str, expires: float) -> AccessToken:
    return AccessToken(f"tok-{group}", at(expires), group)


async def test_in_memory_store_prunes_expired_past_prune_at(clock: FakeClock) -> None:
    """Growing past prune_at drops expired tokens first and keeps the live ones."""
    store = InMemoryTokenStore(clock=clock, prune_at=3)
    await store.set(_token("a", clock() - 10))
    await store.set(_token("b", clock() + 600))
    await store.set(_token("c", clock() - 1))
    assert len(store) == 3  # at the limit: nothing pruned yet
    await store.set(_token("d", clock() + 600))
    assert len(store) == 2
    assert await store.get("a") is None
    assert await store.get("c") is None
    assert (await store.get("b")) is not None
    assert (await store.get("d")) is not None


async def test_in_memory_store_full_of_live_tokens_drops_oldest(clock: FakeClock) -> None:
    """With only live tokens past prune_at, the oldest entries go so the store stays bounded."""
    store = InMemoryTokenStore(clock=clock, prune_at=3)
    for group in "abcde":
        await store.set(_token(group, clock() + 600))
        assert len(store) <= 3
    assert await store.get("a") is None
    assert await store.get("e") is not None


async def test_in_memory_store_get_set_delete(clock: FakeClock) -> None:
    """The default store returns what was set, replaces per group, and forgets on delete."""
    store = InMemoryTokenStore(clock=clock)
    assert await store.get("1001") is None
    await store.set(_token("1001", clock() + 60))
    newer = AccessToken("tok-new", at(clock() + 600), "1001")
    await store.set(newer)
    assert await store.get("1001") is newer
    await store.delete("1001")
    await store.delete("1001")  # deleting twice is fine
    assert await store.get("1001") is None


class DictStore:
    """A custom TokenStore, as a Redis-backed one would be, recording every call."""

    def __init__(self) -> None:
        self.tokens: dict[str, AccessToken] = {}
        self.log: list[tuple[str, str]] = []

    async def get(self, practice_group_id: str) -> AccessToken | None:
        self.log.append(("get", practice_group_id))
        return self.tokens.get(practice_group_id)

    async def set(self, token: AccessToken) -> None:
        self.log.append(("set", token.practice_group_id))
        self.tokens[token.practice_group_id] = token

    async def delete(self, practice_group_id: str) -> None:
        self.log.append(("delete", practice_group_id))
        self.tokens.pop(practice_group_id, None)


async def test_client_uses_a_custom_token_store(
    client: ClientFactory, api: FakeHero, clock: FakeClock
) -> None:
    """token_store= is read first (a token another worker stored is used) and written on fetch."""
    api.add("POST", TOKEN_PATH, payload={"access_token": "fresh-token"}, repeat=True)
    store = DictStore()
    shared = AccessToken("from-another-worker", at(clock() + 1800), "1001")
    store.tokens["1001"] = shared
    hero = await client(token_store=store)
    assert await hero.access_token() is shared
    fetched = await hero.practice_group("1002").access_token()
    assert fetched.token == "fresh-token"
    assert store.tokens["1002"] is fetched
    assert ("set", "1002") in store.log
    await hero.invalidate_access_token()
    assert "1001" not in store.tokens
    assert api.count("POST", TOKEN_PATH) == 1


async def test_token_cache_with_custom_store_single_flight(clock: FakeClock) -> None:
    """TokenCache over a custom store: concurrent gets share one fetch and store the result."""
    store = DictStore()
    gate = asyncio.Event()
    started = asyncio.Event()
    fetched: list[str] = []

    async def fetch(group: str) -> AccessToken:
        fetched.append(group)
        started.set()
        await gate.wait()
        return AccessToken(f"tok-{group}", at(clock() + 1800), group)

    cache = TokenCache(fetch, store=store, clock=clock)
    waiters = [asyncio.create_task(cache.get("1001")) for _ in range(5)]
    await started.wait()
    gate.set()
    tokens = await asyncio.gather(*waiters)
    assert fetched == ["1001"]
    assert all(t is tokens[0] for t in tokens)
    assert store.tokens["1001"] is tokens[0]
    assert await cache.get("1001") is tokens[0]
    await cache.aclose()


async def test_token_cache_rechecks_store_before_fetching(clock: FakeClock) -> None:
    """A fresh token another process stored while we queued is used instead of fetching."""
    store = DictStore()
    fetched: list[str] = []

    async def fetch(group: str) -> AccessToken:
        fetched.append(group)
        return AccessToken("ours", at(clock() + 1800), group)

    cache = TokenCache(fetch, store=store, clock=clock)
    theirs = AccessToken("theirs", at(clock() + 1800), "1001")
    original_get = store.get
    reads = 0

    async def racing_get(group: str) -> AccessToken | None:
        nonlocal reads
        reads += 1
        if reads == 2:  # between our first look and our fetch, another worker stored one
            store.tokens["1001"] = theirs
        return await original_get(group)

    store.get = racing_get  # type: ignore[method-assign]
    assert await cache.get("1001") is theirs
    assert fetched == []


# -- the cache under wall-clock steps (NTP corrections, a resumed VM, a wrong clock) ------------


class SteppableClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class StepCache:
    """A TokenCache on a wall clock and a monotonic clock that the test moves independently."""

    def __init__(self) -> None:
        self.wall = SteppableClock(1_700_000_000.0)
        self.mono = SteppableClock(1000.0)
        self.issued: list[str] = []
        self.hero_now = self.wall.now  # Hero's clock: the true time, never steps
        self.cache = TokenCache(self.fetch, clock=self.wall, monotonic=self.mono)

    async def fetch(self, group: str) -> AccessToken:
        token = f"tok-{len(self.issued)}"
        self.issued.append(token)
        return AccessToken(token, at(self.hero_now + 1800), group)  # exp from Hero's clock

    def elapse(self, seconds: float) -> None:
        """Real time passes: Hero's clock, our wall clock and our monotonic clock all move."""
        for clock in (self.wall, self.mono):
            clock.advance(seconds)
        self.hero_now += seconds


async def test_wall_clock_step_back_does_not_stretch_a_cached_token() -> None:
    """The hole: after 1,700 s a step back of one hour made the cache believe a token with
    100 s left had 3,700 s, and it handed it out. The monotonic deadline says 100 s: refetch."""
    steps = StepCache()
    assert (await steps.cache.get("1001")).token == "tok-0"
    steps.elapse(1700)
    steps.wall.advance(-3600)
    token = await steps.cache.get("1001")
    assert token.token == "tok-1"
    assert token.seconds_left(steps.hero_now) == 1800


async def test_token_received_on_a_clock_an_hour_slow_is_not_trusted_beyond_30_minutes() -> None:
    """Our wall clock is an hour behind Hero's: exp looks 5,400 s away on arrival. No token
    lives more than 30 minutes, so after 1,600 s (200 s truly left) it is replaced."""
    steps = StepCache()
    steps.wall.advance(-3600)
    assert (await steps.cache.get("1001")).token == "tok-0"
    steps.elapse(1400)
    assert (await steps.cache.get("1001")).token == "tok-0"  # 400 s truly left: still good
    steps.elapse(200)
    assert (await steps.cache.get("1001")).token == "tok-1"


async def test_wall_clock_step_forward_replaces_the_token_early_but_never_late() -> None:
    steps = StepCache()
    await steps.cache.get("1001")
    steps.wall.advance(1600)  # the wall clock jumps; no real time passed
    assert (await steps.cache.get("1001")).token == "tok-1"


async def test_token_from_a_shared_store_is_timed_from_when_this_process_first_saw_it() -> None:
    """Another worker's token: its deadline starts at our first look, and a later wall-clock
    step back cannot revive it either."""
    steps = StepCache()
    store = DictStore()
    cache = TokenCache(steps.fetch, store=store, clock=steps.wall, monotonic=steps.mono)
    store.tokens["1001"] = AccessToken("theirs", at(steps.hero_now + 1800), "1001")
    assert (await cache.get("1001")).token == "theirs"
    steps.elapse(1600)
    steps.wall.advance(-3600)
    assert (await cache.get("1001")).token == "tok-0"
    assert store.tokens["1001"].token == "tok-0"


async def test_a_token_with_less_than_the_minimum_left_is_never_handed_out_twice() -> None:
    """At exactly min_remaining the token is still good; a second less and it is replaced."""
    steps = StepCache()
    await steps.cache.get("1001")
    steps.elapse(1800 - C.TOKEN_MIN_REMAINING_SECONDS)
    assert (await steps.cache.get("1001")).token == "tok-0"
    steps.elapse(1)
    assert (await steps.cache.get("1001")).token == "tok-1"


# -- what mutation testing found untested (tests/MUTATION.md) -----------------------------------


@pytest.mark.parametrize("pad", range(8))
def test_from_jwt_reads_exp_whatever_the_payload_length(pad: int) -> None:
    """JWTs drop base64 padding; every payload length (so every missing padding) reads."""
    token = AccessToken.from_jwt(make_jwt(exp=1_700_000_600, n="x" * pad), "1", issued_at=0)
    assert token.expires_at == at(1_700_000_600)


@pytest.mark.parametrize(
    ("exp", "read"), [(0, False), (1, True), (253402300799, True), (253402300800, False)]
)
def test_from_jwt_exp_range_edges(exp: int, read: bool) -> None:
    """exp from 1 to the last second before year 10000 is read; outside it, 30 minutes."""
    token = AccessToken.from_jwt(make_jwt(exp=exp), "1", issued_at=5_000)
    assert token.expires_at.timestamp() == (exp if read else 5_000 + 1800)


async def test_store_prunes_a_token_at_exactly_zero_seconds_left() -> None:
    wall = SteppableClock(1_700_000_000.0)
    store = InMemoryTokenStore(clock=wall, prune_at=1)
    await store.set(AccessToken("gone", at(wall.now), "1"))
    await store.set(AccessToken("kept", at(wall.now + 0.5), "2"))
    assert await store.get("1") is None
    assert (await store.get("2")) is not None


async def test_cache_for_more_groups_than_the_prune_bound_keeps_serving_and_forgets_locks() -> None:
    """Past TOKEN_CACHE_PRUNE_AT groups the default store (on the cache's clock) and the
    deadlines stay bounded, every group still gets its token, and no lock is left behind."""
    steps = StepCache()
    groups = [str(n) for n in range(C.TOKEN_CACHE_PRUNE_AT + 5)]
    tokens = [await steps.cache.get(group) for group in groups]
    assert [t.practice_group_id for t in tokens] == groups
    assert len(steps.issued) == len(groups)
    assert steps.cache._locks == {}
    assert len(steps.cache._deadlines) <= C.TOKEN_CACHE_PRUNE_AT
    steps.elapse(1800)  # all expired: the next set prunes them on the injected clock
    await steps.cache.get("new")
    assert len(steps.cache._store) <= 2  # type: ignore[arg-type]


async def test_a_cached_token_costs_one_store_read() -> None:
    """A shared store (Redis, PostgreSQL) is a round trip: a hit reads it once, no lock."""
    steps = StepCache()
    store = DictStore()
    store.tokens["1001"] = AccessToken("theirs", at(steps.hero_now + 1800), "1001")
    cache = TokenCache(steps.fetch, store=store, clock=steps.wall, monotonic=steps.mono)
    assert (await cache.get("1001")).token == "theirs"
    assert store.log == [("get", "1001")]


async def test_aclose_mid_fetch_tells_waiters_the_client_closed_and_waits_for_the_fetch() -> None:
    started, cleaned = asyncio.Event(), asyncio.Event()

    async def fetch(group: str) -> AccessToken:
        started.set()
        try:
            await asyncio.Event().wait()  # Hero never answers
        finally:
            cleaned.set()
        raise AssertionError("unreachable")

    cache = TokenCache(fetch)
    waiter = asyncio.create_task(cache.get("1001"))
    await started.wait()
    await cache.aclose()
    assert cleaned.is_set()  # aclose returned only after the fetch had unwound
    with pytest.raises(ClientClosedError) as info:
        await waiter
    assert str(info.value) == "HeroClient closed while fetching a token"


async def test_a_cancelled_caller_gets_cancelled_error_and_the_others_still_get_the_token() -> None:
    gate, started = asyncio.Event(), asyncio.Event()

    async def fetch(group: str) -> AccessToken:
        started.set()
        await gate.wait()
        return AccessToken("tok", at(2_000_000_000), group)

    cache = TokenCache(fetch, clock=lambda: 1_700_000_000.0)
    leaver, stayer = (asyncio.create_task(cache.get("1001")) for _ in range(2))
    await started.wait()
    leaver.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leaver
    gate.set()
    assert (await stayer).token == "tok"
    await cache.aclose()


async def test_aclose_before_the_fetch_started_leaves_no_error_in_the_loop() -> None:
    """The flight is cancelled before it ran (no lock was ever taken): its done callback must
    neither crash nor re-raise; the loop's exception handler hears nothing."""
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    try:
        cache = TokenCache(lambda group: asyncio.Event().wait())  # type: ignore[arg-type, return-value]
        waiter = asyncio.create_task(cache.get("1001"))
        await asyncio.sleep(0)  # one loop turn (not a timed wait): the waiter starts the flight
        await cache.aclose()
        with pytest.raises(ClientClosedError):
            await waiter
        await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(previous)
    assert reported == []


async def test_a_caller_cancelled_while_the_client_closes_gets_cancelled_error() -> None:
    """Its own cancellation wins: it asked to stop, so it is not told the client closed."""
    started = asyncio.Event()

    async def fetch(group: str) -> AccessToken:
        started.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    for turns in range(4):  # the caller's cancel lands before, with, and after the flight's
        started.clear()
        cache = TokenCache(fetch)
        waiter = asyncio.create_task(cache.get("1001"))
        await started.wait()
        closing = asyncio.create_task(cache.aclose())
        for _ in range(turns):
            await asyncio.sleep(0)  # loop turns, not time: moves the cancel along the close
        waiter.cancel()
        await closing
        with pytest.raises(asyncio.CancelledError):
            await waiter
