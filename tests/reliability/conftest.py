"""Fixtures of the reliability suite, and the ``--soak`` switch for the long runs.

``pytest tests/reliability --soak`` (or ``HERO_SOAK=1 pytest``) also runs the tests marked
``soak``: more seeds and more invitations. The option itself is declared in
``tests/conftest.py``, which pytest always loads at start-up, so ``pytest --soak`` works too.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
from collections.abc import AsyncIterator, Iterator

import pytest
from reliability_support import API_KEY, HOME, build_network

from hero_async import HeroClient
from hero_async.testing import FakeHero


def soak_enabled(config: pytest.Config) -> bool:
    return bool(config.getoption("soak", default=False)) or os.environ.get("HERO_SOAK") == "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if soak_enabled(config):
        return
    skip = pytest.mark.skip(reason="long soak: run with --soak or HERO_SOAK=1")
    for item in items:
        if item.get_closest_marker("soak") is not None:
            item.add_marker(skip)


class LoopTrouble(logging.Handler):
    """Collects what asyncio and aiohttp report outside of warnings: unretrieved task
    exceptions, tasks destroyed while pending, unclosed sessions and connectors."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def loop_trouble() -> Iterator[LoopTrouble]:
    """Fails the test if asyncio or aiohttp logged trouble (checked after a gc pass)."""
    handler = LoopTrouble()
    loggers = [logging.getLogger(name) for name in ("asyncio", "aiohttp")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield handler
        gc.collect()
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
    messages = [record.getMessage() for record in handler.records]
    assert not messages, f"asyncio/aiohttp reported: {messages[:5]}"


@pytest.fixture
async def network() -> AsyncIterator[FakeHero]:
    """A running sandbox fake whose network pcn-north has ten groups, 1001-1010."""
    async with FakeHero(seed_sandbox=True) as fake:
        build_network(fake)
        yield fake


@pytest.fixture
async def hero(network: FakeHero) -> AsyncIterator[HeroClient]:
    async with HeroClient(API_KEY, HOME, base_url=network.url) as client:
        yield client
    await asyncio.sleep(0)
