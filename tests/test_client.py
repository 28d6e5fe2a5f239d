"""HeroClient: lifecycle, configuration, headers, redirects, and secrets in reprs and logs."""

from __future__ import annotations

import asyncio
import gc
import logging
import warnings
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest

from hero_async import (
    APIError,
    ClientClosedError,
    HeroClient,
    ServerError,
    ValidationError,
)

if TYPE_CHECKING:
    from conftest import ClientFactory, FakeClock, FakeHero, RecordingSleep

API = "https://api.test"
API_KEY = "test-key-SECRET"
ME = {"id": "1001", "name": "Riverside Surgery", "sector": "nhs"}


# --- lifecycle ----------------------------------------------------------------------------


async def test_use_before_async_with_raises_client_closed_with_hint(api: FakeHero) -> None:
    """A request on a never-entered client raises ClientClosedError saying to use async with."""
    hero = HeroClient(API_KEY, "1001", base_url=API)
    with pytest.raises(ClientClosedError, match="async with"):
        await hero.practice_group_info.me()
    with pytest.raises(ClientClosedError, match="async with"):
        await hero.access_token()
    assert api.count() == 0


async def test_use_after_close_raises_client_closed(api: FakeHero) -> None:
    """Requests and token calls after the block exits raise ClientClosedError, sending nothing."""
    api.add("GET", "/v1/me", payload=ME)
    async with HeroClient(API_KEY, "1001", base_url=API) as hero:
        await hero.practice_group_info.me()
    assert hero.closed
    with pytest.raises(ClientClosedError, match="closed"):
        await hero.practice_group_info.me()
    with pytest.raises(ClientClosedError):
        await hero.practice_group("1002").access_token()
    assert api.count() == 1


async def test_aclose_twice_is_harmless() -> None:
    """aclose() may be called again (and after __aexit__) without error."""
    hero = HeroClient(API_KEY, "1001", base_url=API)
    async with hero:
        await hero.aclose()
        await hero.aclose()
    await hero.aclose()
    assert hero.closed


async def test_reentering_a_closed_client_raises() -> None:
    """A closed client cannot be opened again with a second async with."""
    hero = HeroClient(API_KEY, "1001", base_url=API)
    async with hero:
        pass
    with pytest.raises(ClientClosedError, match="closed"):
        async with hero:
            pass


async def test_entering_an_open_client_twice_raises() -> None:
    """Nesting async with on the same open client is refused."""
    async with HeroClient(API_KEY, "1001", base_url=API) as hero:
        with pytest.raises(ClientClosedError):
            await hero.__aenter__()
        assert not hero.closed


async def test_caller_session_is_used_and_not_closed(api: FakeHero) -> None:
    """A session passed in carries the requests and is left open when the client closes."""
    api.add("GET", "/v1/me", payload=ME)
    async with aiohttp.ClientSession(headers={"x-marker": "caller-session"}) as session:
        async with HeroClient(API_KEY, "1001", base_url=API, session=session) as hero:
            await hero.practice_group_info.me()
        assert hero.closed
        assert not session.closed
        [sent] = api.sent("GET", "/v1/me")
        assert sent.headers["x-marker"] == "caller-session"
        assert sent.headers["x-api-key"] == API_KEY


async def test_owned_session_closed_without_unclosed_warnings(api: FakeHero) -> None:
    """After async with, the client's own session is closed: gc finds nothing unclosed."""
    api.add("GET", "/v1/me", payload=ME)
    complaints: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: complaints.append(context))
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            async with HeroClient(API_KEY, "1001", base_url=API) as hero:
                await hero.practice_group_info.me()
            del hero
            gc.collect()
    finally:
        loop.set_exception_handler(previous)
    unclosed = [w for w in caught if issubclass(w.category, ResourceWarning)]
    assert unclosed == []
    assert [c.get("message") for c in complaints] == []


# --- configuration ------------------------------------------------------------------------


def test_missing_api_key_names_the_env_var(no_hero_env: pytest.MonkeyPatch) -> None:
    """No api_key and no HERO_API_KEY: ValidationError naming HERO_API_KEY."""
    with pytest.raises(ValidationError, match="HERO_API_KEY") as info:
        HeroClient(practice_group_id="1001", base_url=API)
    assert info.value.field == "api_key"


def test_missing_practice_group_names_the_env_var(no_hero_env: pytest.MonkeyPatch) -> None:
    """No practice_group_id and no HERO_PRACTICE_GROUP_ID: ValidationError naming the variable."""
    with pytest.raises(ValidationError, match="HERO_PRACTICE_GROUP_ID") as info:
        HeroClient(API_KEY, base_url=API)
    assert info.value.field == "practice_group_id"


async def test_env_vars_are_picked_up(no_hero_env: pytest.MonkeyPatch, api: FakeHero) -> None:
    """HERO_API_KEY and HERO_PRACTICE_GROUP_ID fill in for missing arguments."""
    no_hero_env.setenv("HERO_API_KEY", "env-key-SECRET")
    no_hero_env.setenv("HERO_PRACTICE_GROUP_ID", "2002")
    api.add("GET", "/v1/me", payload=ME)
    async with HeroClient(base_url=API) as hero:
        assert hero.home_practice_group_id == "2002"
        await hero.practice_group_info.me()
    [sent] = api.sent("GET", "/v1/me")
    assert sent.headers["x-api-key"] == "env-key-SECRET"
    assert sent.headers["x-practice-group-id"] == "2002"


@pytest.mark.parametrize(
    ("environment", "env_var", "expected"),
    [
        ("staging", None, "https://api.staging.htech.app"),
        (None, "staging", "https://api.staging.htech.app"),
        ("production", None, "https://api.herohealth.net"),
        (None, None, "https://api.herohealth.net"),
    ],
    ids=["arg-staging", "env-staging", "arg-production", "default-production"],
)
async def test_environment_selects_base_url(
    no_hero_env: pytest.MonkeyPatch,
    api: FakeHero,
    environment: str | None,
    env_var: str | None,
    expected: str,
) -> None:
    """environment= (or HERO_ENVIRONMENT) picks the documented base URL the request goes to."""
    if env_var is not None:
        no_hero_env.setenv("HERO_ENVIRONMENT", env_var)
    api.mock.get(expected + "/v1/me", payload=ME)
    async with HeroClient(API_KEY, "1001", environment=environment) as hero:
        await hero.practice_group_info.me()
    assert [s.url for s in api.sent()] == [expected + "/v1/me"]


@pytest.mark.parametrize("environment", ["prod", "Staging", "dev"])
def test_unknown_environment_rejected(no_hero_env: pytest.MonkeyPatch, environment: str) -> None:
    """An environment name outside production/staging is a ValidationError."""
    with pytest.raises(ValidationError) as info:
        HeroClient(API_KEY, "1001", environment=environment)
    assert info.value.field == "environment"


@pytest.mark.parametrize(
    "base_url",
    ["http://example.com", "http://api.herohealth.net", "ftp://x", "api.test", "https://"],
)
def test_insecure_or_malformed_base_url_refused(base_url: str) -> None:
    """Plain http to a non-loopback host (or no https host at all) is refused."""
    with pytest.raises(ValidationError) as info:
        HeroClient(API_KEY, "1001", base_url=base_url)
    assert info.value.field == "base_url"


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://localhost:9000/", "http://localhost:9000"),
        ("http://[::1]:8080", "http://[::1]:8080"),
        ("https://x", "https://x"),
        ("https://api.test/", "https://api.test"),
    ],
)
async def test_loopback_http_and_any_https_accepted(
    api: FakeHero, base_url: str, expected: str
) -> None:
    """http:// to loopback and any https:// host are accepted; the trailing slash is dropped."""
    api.mock.get(expected + "/v1/me", payload=ME)
    async with HeroClient(API_KEY, "1001", base_url=base_url) as hero:
        await hero.practice_group_info.me()
    assert [s.url for s in api.sent()] == [expected + "/v1/me"]


@pytest.mark.parametrize(
    "bad_key",
    ["test-key-SECRET\r\n", "test-key-SECRET\n", "test\r\nkey-SECRET", " test-key-SECRET"],
)
def test_api_key_with_line_breaks_refused_without_echo(bad_key: str) -> None:
    """An API key with CR/LF (or stray spaces) is refused and the error never shows the key."""
    with pytest.raises(ValidationError) as info:
        HeroClient(bad_key, "1001", base_url=API)
    assert info.value.field == "api_key"
    for text in (str(info.value), repr(info.value)):
        assert "SECRET" not in text
        assert "key-" not in text


def test_practice_group_id_with_newline_refused() -> None:
    """A practice group id that would break the header is refused up front."""
    with pytest.raises(ValidationError):
        HeroClient(API_KEY, "1001\r\nx-evil: 1", base_url=API)


async def test_practice_group_view_refuses_bad_ids(client: ClientFactory) -> None:
    """hero.practice_group() validates the id before any request."""
    hero = await client()
    with pytest.raises(ValidationError):
        hero.practice_group("10\n02")
    with pytest.raises(ValidationError):
        hero.practice_group("")


# --- headers and redirects ----------------------------------------------------------------


async def test_every_request_carries_key_and_group_headers(
    client: ClientFactory, api: FakeHero
) -> None:
    """Token, GET and POST requests all send x-api-key and the home x-practice-group-id."""
    api.add("POST", "/v1/access_token", payload={"access_token": "opaque-token"})
    api.add("GET", "/v1/me", payload=ME)
    api.add("POST", "/v1/messages/send", payload={"message_id": "m1"})
    hero = await client()
    await hero.access_token()
    await hero.practice_group_info.me()
    await hero.messages.send(patient_id="156", message_type="hero", message_string="Hi")
    sent = api.sent()
    assert len(sent) == 3
    for request in sent:
        assert request.headers["x-api-key"] == API_KEY
        assert request.headers["x-practice-group-id"] == "1001"
        assert request.headers["accept"] == "application/json"


async def test_practice_group_view_sends_its_group(client: ClientFactory, api: FakeHero) -> None:
    """hero.practice_group("1002") sends x-practice-group-id 1002; the home scope still 1001."""
    api.add("GET", "/v1/me", payload=ME, repeat=True)
    hero = await client()
    view = hero.practice_group("1002")
    assert view.practice_group_id == "1002"
    assert repr(view) == "PracticeGroupView(practice_group_id='1002')"
    await view.practice_group_info.me()
    await hero.practice_group_info.me()
    await view.practice_group("1003").practice_group_info.me()
    groups = [s.headers["x-practice-group-id"] for s in api.sent("GET", "/v1/me")]
    assert groups == ["1002", "1001", "1003"]
    assert all(s.headers["x-api-key"] == API_KEY for s in api.sent())


async def test_with_options_keeps_group_and_sets_timeout(
    client: ClientFactory, api: FakeHero
) -> None:
    """with_options() acts for the same group and passes its own per-call timeout."""
    api.add("GET", "/v1/me", payload=ME)
    hero = await client()
    scoped = hero.practice_group("1002").with_options(timeout=2.5, connect_timeout=1.0)
    await scoped.practice_group_info.me()
    [call] = api.mock.requests[next(iter(api.mock.requests))]
    assert call.kwargs["headers"]["x-practice-group-id"] == "1002"
    assert call.kwargs["timeout"] == aiohttp.ClientTimeout(total=2.5, connect=1.0)


@pytest.mark.parametrize("status", [301, 302, 307, 308])
async def test_redirects_are_not_followed(
    client: ClientFactory, api: FakeHero, status: int
) -> None:
    """A 3xx answer becomes an APIError; the Location is never requested (no key leak)."""
    api.add(
        "GET",
        "/v1/me",
        status=status,
        headers={"Location": "https://evil.example/steal"},
        body="",
    )
    api.mock.get("https://evil.example/steal", payload=ME)
    hero = await client()
    with pytest.raises(APIError) as info:
        await hero.practice_group_info.me()
    assert info.value.status == status
    assert [s.url for s in api.sent()] == [API + "/v1/me"]
    [call] = api.mock.requests[next(iter(api.mock.requests))]
    assert call.kwargs["allow_redirects"] is False


async def test_post_redirect_is_not_resent(client: ClientFactory, api: FakeHero) -> None:
    """A 302 on a POST is one request and an APIError, never a second send."""
    api.add("POST", "/v1/messages/send", status=302, headers={"Location": API + "/v1/other"})
    hero = await client()
    with pytest.raises(APIError) as info:
        await hero.messages.send(patient_id="156", message_type="hero", message_string="Hi")
    assert info.value.status == 302
    assert api.count() == 1


# --- secrets in reprs and logs ------------------------------------------------------------


async def test_repr_hides_the_api_key(client: ClientFactory) -> None:
    """repr/str of an open, unopened or closed client show the group, never the key."""
    unopened = HeroClient(API_KEY, "1001", base_url=API)
    hero = await client()
    for text in (repr(unopened), str(unopened), repr(hero), str(hero)):
        assert API_KEY not in text
        assert "SECRET" not in text
    assert "1001" in repr(hero)
    assert "open" in repr(hero)
    await hero.aclose()
    assert "closed" in repr(hero)
    assert API_KEY not in repr(hero)


async def test_debug_logs_never_contain_key_or_token(
    client: ClientFactory,
    api: FakeHero,
    clock: FakeClock,
    sleep: RecordingSleep,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A run with tokens, retries, 429s and errors logs at DEBUG without the key or a token."""
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.TOKEN-SECRET-SIGNATURE"
    api.add("POST", "/v1/access_token", status=500, body="boom")
    api.add("POST", "/v1/access_token", payload={"access_token": token})
    api.add("GET", "/v1/me", exception=aiohttp.ServerDisconnectedError())
    api.add("GET", "/v1/me", status=429, headers={"Retry-After": "1"})
    api.add("GET", "/v1/me", payload=ME)
    api.add("GET", "/v1/locations", status=500, repeat=True, body="down")
    api.add("GET", "/v1/patients/9", status=401, payload={"message": "Unauthorised"})
    hero = await client(max_retries=2)
    with caplog.at_level(logging.DEBUG):
        got = await hero.access_token()
        await hero.practice_group_info.me()
        with pytest.raises(ServerError):
            await hero.locations.list()
        with pytest.raises(APIError):
            await hero.patients.get("9")
        logging.getLogger("hero_async").debug("token is %s", got)  # what a user might log
    records = [r for r in caplog.records if r.name.startswith("hero_async")]
    assert len(records) >= 8  # one trace line per attempt
    for record in caplog.records:
        text = record.getMessage() + repr(record.args)
        assert API_KEY not in text
        assert token not in text
        assert "TOKEN-SECRET" not in text


async def test_with_options_keeps_unset_timeouts_from_the_client(
    client: ClientFactory, api: FakeHero
) -> None:
    """with_options(connect_timeout=...) keeps the client's total timeout (never 'no limit')."""
    api.add("GET", "/v1/me", payload=ME, repeat=True)
    hero = await client(timeout=30.0, connect_timeout=5.0)
    await hero.with_options(connect_timeout=1.0).practice_group_info.me()
    await hero.with_options().practice_group_info.me()
    [(_, calls)] = api.mock.requests.items()
    connect_only, no_args = (call.kwargs["timeout"] for call in calls)
    assert connect_only.connect == 1.0
    assert connect_only.total == 30.0
    assert no_args.total == 30.0
    assert no_args.connect == 5.0


async def test_request_in_backoff_when_client_closes_raises_client_closed(
    api: FakeHero, clock: FakeClock
) -> None:
    """A retry due after aclose() raises ClientClosedError, not aiohttp's raw RuntimeError."""
    api.add("GET", "/v1/me", status=503, repeat=True)
    in_backoff = asyncio.Event()
    release = asyncio.Event()

    async def held_sleep(seconds: float) -> None:
        in_backoff.set()
        await release.wait()

    async with HeroClient(API_KEY, "1001", base_url=API, clock=clock, sleep=held_sleep) as hero:
        call = asyncio.create_task(hero.practice_group_info.me())
        await in_backoff.wait()
    release.set()
    with pytest.raises(ClientClosedError):
        await call
    assert api.count() == 1
