"""The README's complete programs (client, web apps, testing, webhooks) compile and use no
undefined name (issue 13: the webhook snippet used ``hero`` and ``signing_key`` undefined).
Fragments elsewhere (one-liners that assume a ``hero``) are not programs and are skipped."""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys

import pytest

README = pathlib.Path(__file__).resolve().parents[2] / "README.md"
PROGRAM_SECTIONS = (
    "Using the client",
    "In a web app",
    "Testing your integration",
    "Receiving webhooks",
)


def _programs() -> list[str]:
    found = []
    for section in re.split(r"^#{2,3} ", README.read_text(encoding="utf-8"), flags=re.M):
        if section.startswith(PROGRAM_SECTIONS):
            found += re.findall(r"```python\n(.*?)```", section, re.S)
    return found


SNIPPETS = _programs()


def test_the_readme_has_the_web_app_and_webhook_snippets() -> None:
    joined = "\n".join(SNIPPETS)
    assert "FastAPI(lifespan=lifespan)" in joined
    assert "app.cleanup_ctx.append(hero_client)" in joined
    assert "webhook_app(" in joined


@pytest.mark.parametrize("code", SNIPPETS, ids=[f"snippet{n}" for n in range(len(SNIPPETS))])
def test_snippet_compiles_with_no_undefined_names(code: str, tmp_path: pathlib.Path) -> None:
    compile(code, "README.md", "exec")
    snippet = tmp_path / "snippet.py"
    snippet.write_text(code, encoding="utf-8")
    result = subprocess.run(  # noqa: S603 - the venv's ruff on a file we just wrote
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--no-cache",
            "--isolated",
            "--select",
            "F821,F822,F823",
            str(snippet),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout
