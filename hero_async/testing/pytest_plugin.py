"""Opt-in pytest plugin: ``pytest_plugins = ["hero_async.testing.pytest_plugin"]``.

Gives the async fixture ``hero_fake``: a started ``FakeHero`` seeded with the sandbox world
(key ``"sandbox-key"``, home group ``"1001"``; see ``hero_async.testing``). Needs
pytest-asyncio. Deliberately not registered as an automatic ``pytest11`` entry point.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from hero_async.testing._fake import FakeHero


@pytest_asyncio.fixture
async def hero_fake() -> AsyncIterator[FakeHero]:
    """A running sandbox ``FakeHero``, closed (deliveries awaited) after the test."""
    async with FakeHero(seed_sandbox=True) as fake:
        yield fake
