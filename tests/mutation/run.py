"""Run mutmut over one promise-keeping module at a time, in a scratch copy of the tree.

``nox -s mutate`` calls this; ``python tests/mutation/run.py retry auth`` runs a subset. Each
module is mutated in its own copy (so ``mutants/`` never lands in the work tree and a run sees
one consistent snapshot) with only the tests that exercise it, which keeps every run short.
The score and wall time per module are printed as a table for tests/MUTATION.md; the exit
status is 1 when a mutant survives that MUTATION.md does not list as equivalent.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Slow (20-50 s each, and mutmut would run them for every mutant): the 2,000-key chaos run
# (tests/test_steps_rules.py asserts its rules key by key) and the two memory bounds of
# tests/test_bulk.py (they check no rule of the mutated modules).
SLOW_BULK = [
    f"--deselect=tests/test_bulk.py::{name}"
    for name in (
        "test_two_thousand_invitations_with_faults_every_key_once_never_twice",
        "test_long_generator_run_keeps_tasks_and_read_ahead_bounded",
        "test_two_hundred_thousand_invitation_generator_keeps_live_tasks_bounded",
    )
]
# module key -> (file to mutate, tests that keep its promises)
TARGETS: dict[str, tuple[str, list[str]]] = {
    "signature": (
        "hero_async/webhooks/_signature.py",
        ["tests/test_webhooks_signature.py"],
    ),
    "retry": ("hero_async/_retry.py", ["tests/test_retry.py"]),
    "auth": ("hero_async/_auth.py", ["tests/test_auth.py"]),
    "errors": ("hero_async/_errors.py", ["tests/test_errors.py"]),
    "validate": (
        "hero_async/_validate.py",
        ["tests/test_validate.py", "tests/test_validate_edges.py"],
    ),
    "fake-rules": (
        "hero_async/testing/_rules.py",
        ["tests/testing", "tests/test_fake_rules_scope.py"],
    ),
    "fake-dispatch": ("hero_async/testing/_dispatch.py", ["tests/testing"]),
    "fake-validation": ("hero_async/testing/_validation.py", ["tests/testing"]),
    "breaker": (
        "hero_async/bulk/_breaker.py",
        ["tests/test_breaker.py", "tests/test_breaker_rules.py"],
    ),
    "claims": (
        "hero_async/bulk/_claims.py",
        [
            "tests/ledger/test_store_contract.py",
            "tests/ledger/test_claims_rules.py",
            "tests/test_hotpath_entries.py",
        ],
    ),
    "sqlite": (
        "hero_async/bulk/_sqlite.py",
        [
            "tests/ledger/test_sqlite_shapes.py",
            "tests/ledger/test_store_contract.py",
            "tests/ledger/test_liveness.py",
            "tests/ledger/test_claims_rules.py",
        ],
    ),
    "ratelimit": (
        "hero_async/_ratelimit.py",
        [
            "tests/test_ratelimit.py",
            "tests/test_ratelimit_starts.py",
            "tests/test_adaptive.py",
            "tests/test_ratelimit_rules.py",
        ],
    ),
    "steps": (
        "hero_async/bulk/_steps.py",
        [
            "tests/test_bulk.py",
            *SLOW_BULK,
            "tests/test_bulk_resume.py",
            "tests/test_ledger.py",
            "tests/test_breaker.py",
            "tests/test_steps_rules.py",
        ],
    ),
    "masking-models": (
        "hero_async/_models_patients.py",
        [
            "tests/test_models.py",
            "tests/reliability/test_secrets.py",
            "tests/test_masking_rules.py",
        ],
    ),
    "masking-invitation": (
        "hero_async/bulk/_invitation.py",
        [
            "tests/test_bulk.py",
            *SLOW_BULK,
            "tests/test_csv.py",
            "tests/reliability/test_secrets.py",
            "tests/test_masking_rules.py",
            "tests/test_hotpath_models.py",
        ],
    ),
    "frozen": ("hero_async/_frozen.py", ["tests/test_hotpath_models.py"]),
    "sqlite-schema": (
        "hero_async/bulk/_sqlite_schema.py",
        [
            "tests/ledger/test_sqlite_shapes.py",
            "tests/ledger/test_store_contract.py",
            "tests/ledger/test_liveness.py",
            "tests/ledger/test_claims_rules.py",
            "tests/ledger/test_read_mark.py",
            "tests/ledger/test_process_marks.py",
        ],
    ),
}
EQUIVALENT = re.compile(r"^\| `(?P<name>[\w.]+__mutmut_\d+)` \|", re.MULTILINE)


def mutmut_config(module: str, tests: list[str]) -> str:
    return (
        "\n[tool.mutmut]\n"
        'source_paths = ["hero_async"]\n'
        f'only_mutate = ["{module}"]\n'
        f"pytest_add_cli_args_test_selection = {tests!r}\n"
        'pytest_add_cli_args = ["-p", "no:cacheprovider", "-q", "-x"]\n'
    ).replace("'", '"')


def copy_tree(scratch: Path, module: str, tests: list[str]) -> None:
    for name in ("hero_async", "tests", "spec"):
        if (ROOT / name).exists():
            shutil.copytree(
                ROOT / name, scratch / name, ignore=shutil.ignore_patterns("__pycache__")
            )
    pyproject = (ROOT / "pyproject.toml").read_text()
    pyproject = re.sub(r"\n\[tool\.mutmut\]\n(?:[^\[].*\n|\n)*", "\n", pyproject)
    (scratch / "pyproject.toml").write_text(pyproject + mutmut_config(module, tests))


def run_one(key: str, mutmut: str, listed: set[str]) -> tuple[str, int, int, list[str], float]:
    module, tests = TARGETS[key]
    with tempfile.TemporaryDirectory(prefix=f"mutate-{key}-") as tmp:
        scratch = Path(tmp)
        copy_tree(scratch, module, tests)
        started = time.monotonic()
        run = [mutmut, "run"]
        subprocess.run(run, cwd=scratch, check=False, stdout=subprocess.DEVNULL)  # noqa: S603
        elapsed = time.monotonic() - started
        listing = subprocess.run(  # noqa: S603 - mutmut, fixed arguments
            [mutmut, "results", "--all", "true"],
            cwd=scratch,
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        statuses = re.findall(r"^\s*([\w.]+__mutmut_\d+): (\w[\w ]*)$", listing, re.MULTILINE)
        # Caught, besides "killed": "timeout" (the tests hung on the mutant, e.g. every ledger
        # write waits for ever), and "suspicious" or "segfault" (the test process itself died,
        # e.g. by the signal a mutant sent it): in each the suite did not pass.
        missed = ("survived", "no tests", "skipped", "not checked")
        survived = [name for name, status in statuses if status in missed]
        for name in survived:
            if name not in listed:  # the diff, so the reader can write the test that kills it
                show = [mutmut, "show", name]
                diff = subprocess.run(  # noqa: S603 - mutmut, a name it printed
                    show, cwd=scratch, capture_output=True, text=True, check=False
                ).stdout
                print(f"SURVIVED {name}:\n{diff}", file=sys.stderr)
    killed = len(statuses) - len(survived)
    return module, killed, len(statuses), survived, elapsed


def main(keys: list[str]) -> int:
    mutmut = shutil.which("mutmut") or str(Path(sys.executable).with_name("mutmut"))
    listed = set(EQUIVALENT.findall((ROOT / "tests" / "MUTATION.md").read_text()))
    unexplained: list[str] = []
    print("| module | killed / mutants | score | equivalent | run time |")
    print("|---|---|---|---|---|")
    for key in keys or list(TARGETS):
        module, killed, total, survived, elapsed = run_one(key, mutmut, listed)
        equivalent = [name for name in survived if name in listed]
        unexplained += [name for name in survived if name not in listed]
        score = 100 * (killed + len(equivalent)) / total if total else 100.0
        print(
            f"| `{module}` | {killed} / {total} | {score:.0f} % | {len(equivalent)} "
            f"| {elapsed:.0f} s |",
            flush=True,
        )
    for name in unexplained:
        print(f"SURVIVED (not listed as equivalent in tests/MUTATION.md): {name}")
    return 1 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
