"""Fixtures of the fleet suite: a real PostgreSQL server, and a fresh database per test.

``HERO_TEST_DATABASE_URL`` (set by .ci/run) names a server to use; otherwise the session
starts its own throwaway cluster (see pgcluster.py). Without a server the tests are skipped,
unless ``CI`` is set: there a missing database is a failure, never a silent skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pgcluster
import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A URL of a PostgreSQL server on which the test user may create databases."""
    url = os.environ.get("HERO_TEST_DATABASE_URL")
    if url:
        yield url
        return
    try:
        cluster = pgcluster.start()
    except (RuntimeError, OSError) as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but no PostgreSQL could be started: {exc}")
        pytest.skip(f"no PostgreSQL server: {exc}")
    try:
        yield cluster.url
    finally:
        cluster.stop()


def with_dbname(url: str, dbname: str) -> str:
    return make_conninfo(**{**conninfo_to_dict(url), "dbname": dbname})


@pytest.fixture
def database_url(pg_server: str) -> Iterator[str]:
    """A new, empty database for this test, dropped afterwards (with any connection left)."""
    name = f"hero_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_dbname(pg_server, name)
    finally:
        with psycopg.connect(pg_server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
