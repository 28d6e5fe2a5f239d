"""Opt-in pytest plugin: ``pytest_plugins = ["hero_async.testing.pytest_plugin"]``.

Needs pytest-asyncio (``pip install hero-async[testing]``). Deliberately not registered as
an automatic ``pytest11`` entry point. Two fixtures, both a started ``FakeHero`` seeded with
the sandbox world (key ``"sandbox-key"``, home group ``"1001"``; see ``hero_async.testing``):

* ``hero_fake``: a new fake per test (simplest; about 5 ms each).
* ``hero_fake_session``: one fake for the whole session, ``reset()`` before each test (the
  world as it was at start, an empty request log, no faults). The server lives on the
  session's event loop, so tests that use it must run there too::

      @pytest.mark.asyncio(loop_scope="session")
      async def test_invite(hero_fake_session): ...

  A test on another loop fails at setup saying so (it would otherwise hang).

Drive either with an async client in the same loop (``HeroClient``, ``httpx.AsyncClient``,
``aiohttp``). A sync test client (FastAPI's ``TestClient``) blocks the loop the fake needs
to answer, and the test deadlocks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from hero_async.testing._fake import FakeHero


@pytest_asyncio.fixture
async def hero_fake() -> AsyncIterator[FakeHero]:
    """A running sandbox ``FakeHero``, closed (deliveries awaited) after the test."""
    async with FakeHero(seed_sandbox=True) as fake:
        yield fake


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def _hero_fake_server() -> AsyncIterator[FakeHero]:
    async with FakeHero(seed_sandbox=True) as fake:
        yield fake


@pytest_asyncio.fixture(loop_scope="session")
async def hero_fake_session(
    _hero_fake_server: FakeHero, request: pytest.FixtureRequest
) -> FakeHero:
    """The session's sandbox ``FakeHero``, reset for this test (run it on the session loop).

    A test on any other loop (or a sync test) fails here at once: the fake could not answer
    it while that loop runs, and the test would wait forever."""
    scope = _test_loop_scope(request.node)
    if scope != "session":
        where = "is not async" if scope is None else f"is run on the {scope} loop"
        pytest.fail(
            f"{request.node.name} {where}, but hero_fake_session serves from the session's "
            "event loop: make it an async test marked "
            '@pytest.mark.asyncio(loop_scope="session"), or use hero_fake',
            pytrace=False,
        )
    await _hero_fake_server.wait_deliveries()  # the last test's webhooks finish first
    _hero_fake_server.reset()
    return _hero_fake_server


def _test_loop_scope(item: pytest.Item) -> str | None:
    """The loop pytest-asyncio runs ``item`` on, as it decides it: the closest asyncio
    marker's loop_scope, else the asyncio_default_test_loop_scope setting; None: no marker
    (in auto mode every async test gets one)."""
    marker = item.get_closest_marker("asyncio")
    if marker is None:
        return None
    scope = marker.kwargs.get("loop_scope") or marker.kwargs.get("scope")
    if scope:
        return str(scope)
    try:
        default = item.config.getini("asyncio_default_test_loop_scope")
    except ValueError:  # pytest-asyncio before 0.26 has no such setting
        default = None
    return str(default or "function")
