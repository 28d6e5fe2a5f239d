"""Shared fixtures for the core-client tests: a mocked Hero, a fake clock, a fake sleep.

* ``http_mock``: aioresponses with the aiohttp 3.14 compat shim installed.
* ``api``: a thin wrapper over ``http_mock`` that speaks Hero paths (``api.add("GET",
  "/v1/me", payload=...)``) and reads back what the client sent (``api.sent("GET", "/v1/me")``).
* ``clock`` / ``sleep``: a settable epoch clock and a sleep that records each delay, moves the
  clock forward by it and returns at once (it refuses to be called in a busy loop).
* ``no_hero_env``: the HERO_* environment variables unset (returns the monkeypatch).
* ``client``: a factory; ``hero = await client()`` is an open HeroClient against
  ``https://api.test`` with the fake clock and sleep, closed at teardown.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from typing import Any

import _aioresponses_compat
import attrs
import pytest
from aioresponses import aioresponses

from hero_async import HeroClient
from hero_async.bulk import _invitation

API = "https://api.test"
API_KEY = "test-key-SECRET"
HOME_GROUP = "1001"
START = 1_700_000_000.0  # a whole second, so HTTP dates built from it are exact


class FakeClock:
    """An epoch clock that moves only when told to."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class RecordingSleep:
    """Records every delay, advances the fake clock by it, returns at once.

    More than ``limit`` calls means the code under test is spinning on a clock this sleep
    cannot move; failing loudly beats hanging the test run.
    """

    def __init__(self, clock: FakeClock, limit: int = 500) -> None:
        self.clock = clock
        self.delays: list[float] = []
        self.limit = limit

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        if len(self.delays) > self.limit:
            raise AssertionError(
                f"sleep called {len(self.delays)} times (busy loop?); first delays "
                f"{self.delays[:3]}"
            )
        self.clock.advance(seconds)
        await asyncio.sleep(0)

    @property
    def total(self) -> float:
        return sum(self.delays)


@attrs.frozen
class Sent:
    """One request the client sent, as aioresponses saw it."""

    method: str
    url: str
    headers: Mapping[str, str]
    params: list[tuple[str, str]] | None
    data: bytes | None

    @property
    def json(self) -> Any:
        return None if self.data is None else json.loads(self.data)


def _body(data: Any) -> bytes | None:
    """The bytes of a request body: the transport hands aiohttp a ready BytesPayload."""
    return data if data is None or isinstance(data, bytes) else data.decode().encode()


def route(path: str, base: str = API) -> re.Pattern[str]:
    """Match ``base + path`` with or without a query string."""
    return re.compile(re.escape(base + path) + r"(\?.*)?$")


class FakeHero:
    """Register answers by method + path; read back what was sent, in order per path."""

    def __init__(self, mock: aioresponses, base: str = API) -> None:
        self.mock = mock
        self.base = base

    def add(self, method: str, path: str, **kwargs: Any) -> None:
        self.mock.add(route(path, self.base), method=method, **kwargs)

    def sent(self, method: str | None = None, path: str | None = None) -> list[Sent]:
        out = []
        for (verb, url), calls in self.mock.requests.items():
            if method is not None and verb != method:
                continue
            if path is not None and url.path != path:
                continue
            for call in calls:
                kwargs = call.kwargs
                out.append(
                    Sent(
                        method=verb,
                        url=str(url),
                        headers=dict(kwargs.get("headers") or {}),
                        params=kwargs.get("params"),
                        data=_body(kwargs.get("data")),
                    )
                )
        return out

    def count(self, method: str | None = None, path: str | None = None) -> int:
        return len(self.sent(method, path))


@pytest.fixture(autouse=True)
def fresh_plan_cache() -> None:
    """plan() validates each distinct set of link fields once per process; every test starts
    with none validated, so each one runs the validators it relies on (mutation testing
    attributes a function to the tests that ran it)."""
    _invitation._group.cache_clear()
    _invitation._what.cache_clear()


@pytest.fixture
def http_mock() -> Iterator[aioresponses]:
    """aioresponses, usable with aiohttp 3.14 (see tests/_aioresponses_compat.py)."""
    _aioresponses_compat.install()
    with aioresponses() as mock:
        yield mock


@pytest.fixture
def api(http_mock: aioresponses) -> FakeHero:
    return FakeHero(http_mock)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sleep(clock: FakeClock) -> RecordingSleep:
    return RecordingSleep(clock)


@pytest.fixture
def no_hero_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Unset HERO_API_KEY / HERO_PRACTICE_GROUP_ID / HERO_ENVIRONMENT for this test."""
    for name in ("HERO_API_KEY", "HERO_PRACTICE_GROUP_ID", "HERO_ENVIRONMENT"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


ClientFactory = Callable[..., Awaitable[HeroClient]]


@pytest.fixture
async def client(
    api: FakeHero, clock: FakeClock, sleep: RecordingSleep
) -> AsyncIterator[ClientFactory]:
    """``await client(**overrides)``: an open HeroClient, closed when the test ends."""
    async with contextlib.AsyncExitStack() as stack:

        async def make(**overrides: Any) -> HeroClient:
            kwargs: dict[str, Any] = {"base_url": API, "clock": clock, "monotonic": clock}
            kwargs["sleep"] = sleep
            kwargs.update(overrides)
            hero = HeroClient(API_KEY, HOME_GROUP, **kwargs)
            return await stack.enter_async_context(hero)

        yield make


def pytest_addoption(parser: pytest.Parser) -> None:
    # Declared here (always loaded) rather than in tests/reliability, so `pytest --soak` works.
    parser.addoption(
        "--soak",
        action="store_true",
        default=False,
        help="also run the long reliability soak (more seeds, more invitations)",
    )
