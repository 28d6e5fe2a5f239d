"""Sessions: ``nox`` runs lint, typing and tests (what CI runs); ``nox -s bench`` benchmarks.

Dependency lists live once, in pyproject.toml's [dependency-groups]; nox reads them.
"""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "typing", "tests"]
nox.options.reuse_existing_virtualenvs = True
PYPROJECT = nox.project.load_toml("pyproject.toml")


@nox.session
def lint(session: nox.Session) -> None:
    session.install(*nox.project.dependency_groups(PYPROJECT, "lint"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    # Imports run one way (contracts in pyproject.toml [tool.importlinter]).
    session.install("-e", ".")
    session.run("lint-imports")


@nox.session
def typing(session: nox.Session) -> None:
    # speedups too, so mypy sees orjson's types (the optional fast JSON path)
    session.install(
        "-e", ".[cli,speedups,fleet]", *nox.project.dependency_groups(PYPROJECT, "typing")
    )
    session.run("mypy", "--strict", "hero_async")


@nox.session
def tests(session: nox.Session) -> None:
    # fleet: the PostgreSQL tests (tests/fleet) need psycopg and procrastinate
    session.install("-e", ".[cli,fleet]", *nox.project.dependency_groups(PYPROJECT, "test"))
    if session.posargs:
        session.run("pytest", *session.posargs)
        return
    # Two workers (pytest-xdist): CI has two cores, and the suite waits on subprocesses,
    # fsyncs and PostgreSQL as much as it computes.
    session.run("pytest", "-n", "2", "--ignore=tests/reliability")
    # The reliability suite runs with every core kept busy by a CPU hog: a test there that
    # decides anything by a real sleep or a real timeout fails here (issues 15 and 16).
    hog = "tests/reliability/cpu_hog.py"
    session.run("python", hog, "python", "-m", "pytest", "-n", "2", "tests/reliability")


@nox.session
def bench(session: nox.Session) -> None:
    """Throughput, CPU/request, memory and token-cache figures; see benchmarks/README.md."""
    # test: benchmarks/fleet.py drives the fleet through the CLI test helpers (pytest)
    session.install(
        "-e",
        ".[cli,speedups,fleet]",
        *nox.project.dependency_groups(PYPROJECT, "bench"),
        *nox.project.dependency_groups(PYPROJECT, "test"),
    )
    session.run("python", "benchmarks/run.py", *session.posargs)
    # Fleet: 1/2/4 workers against a key limit, claim cost PostgreSQL vs SQLite (~4 min).
    session.run("python", "benchmarks/fleet.py")


@nox.session
def conformance(session: nox.Session) -> None:
    """Schemathesis against ``python -m hero_async.testing`` with spec/openapi.yaml: fails on
    5xx, response-schema violations and invalid requests accepted (fixed seed, bounded)."""
    session.install("-e", ".", *nox.project.dependency_groups(PYPROJECT, "conformance"))
    session.run("python", "tests/contract/conformance.py", *session.posargs)


@nox.session
def mutate(session: nox.Session) -> None:
    """mutmut over the promise-keeping modules, one module per scratch copy with its own tests;
    fails when a mutant survives that tests/MUTATION.md does not list as equivalent.
    ``nox -s mutate -- retry auth`` runs a subset (keys in tests/mutation/run.py)."""
    session.install("-e", ".[cli]", *nox.project.dependency_groups(PYPROJECT, "mutate"))
    session.run("python", "tests/mutation/run.py", *session.posargs)
