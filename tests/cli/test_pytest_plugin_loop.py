"""The opt-in pytest plugin, used as a project would: a real pytest run in a subprocess on a
small test file. ``hero_fake_session`` serves from the session's event loop; a test on
another loop would wait forever for an answer, so it fails at once saying what to write."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from cli_support import environment

TESTS = """
import aiohttp
import pytest

pytest_plugins = ["hero_async.testing.pytest_plugin"]


async def _me(fake):
    async with aiohttp.ClientSession() as session:
        async with session.get(fake.url + "/v1/me") as answer:
            return answer.status


@pytest.mark.asyncio
async def test_function_loop(hero_fake_session):
    assert await _me(hero_fake_session) == 401


@pytest.mark.asyncio(loop_scope="module")
async def test_module_loop(hero_fake_session):
    assert await _me(hero_fake_session) == 401


def test_sync(hero_fake_session):
    pass


@pytest.mark.asyncio(loop_scope="session")
async def test_session_loop(hero_fake_session):
    assert await _me(hero_fake_session) == 401
"""


def test_session_fixture_on_another_loop_fails_fast_saying_so(tmp_path: Path) -> None:
    (tmp_path / "test_app.py").write_text(TESTS)
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nasyncio_default_fixture_loop_scope = function\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rE", "test_app.py"],
        cwd=tmp_path,
        env=environment(tmp_path / "state", COLUMNS="400"),  # whole summary lines
        capture_output=True,
        text=True,
        timeout=90,  # without the check, the first test never ends
        check=False,
    )
    summary = done.stdout.splitlines()[-1]
    assert "1 passed, 3 errors" in summary, done.stdout
    errors = [line for line in done.stdout.splitlines() if line.startswith("ERROR test_app.py")]
    assert len(errors) == 3
    for line in errors:
        assert 'loop_scope="session"' in line, line
    assert "test_function_loop" in errors[0]
    assert "is run on the function loop" in errors[0]
