"""``hero-async`` options, through the real command in a subprocess: help, version, option
values refused before anything starts (exit 2, naming the option), date formats, Excel's
"1.0" counts, --base-url (a loopback fake works; anything else is refused) and the words
used for files that are not what the command expects."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import EXAMPLES, EXCEL_HEADER, Done, arun, excel_row, run, write_excel

from hero_async import __version__
from hero_async.testing import SANDBOX_API_KEY, SANDBOX_PRACTICE_GROUP_ID, FakeHero

CREDENTIALS = {"HERO_API_KEY": SANDBOX_API_KEY, "HERO_PRACTICE_GROUP_ID": SANDBOX_PRACTICE_GROUP_ID}


def _files(folder: Path) -> None:
    write_excel(folder / "good.csv", [excel_row(n) for n in range(2)])
    # ISO dates of birth and an expiry written the UK way: only --date-format auto reads both.
    write_excel(
        folder / "expiry.csv",
        [[*excel_row(n, dob="1980-01-31"), "31/12/2027"] for n in range(2)],
        header=(*EXCEL_HEADER, "Expiry date"),
    )
    write_excel(  # Excel writes a number cell as "1.0"
        folder / "count.csv",
        [[*excel_row(n), "1.0"] for n in range(2)],
        header=(*EXCEL_HEADER, "Maximum use count"),
    )
    (folder / "flu.csv.ledger.db").write_bytes(b"")  # e.g. a file touched by hand


def _output_line(done: Done, stream: str, expected: str) -> str:
    text = done.out if stream == "out" else done.err
    lines = [line for line in text.splitlines() if expected in line]
    assert lines, (expected, done)
    return lines[0]


# (arguments, exit code, stream, a line of it contains)
CASES = {
    "help: CSV columns": (
        ("invite", "--help"),
        0,
        "out",
        "  required: key, practice_group_id, appointment_type_id, location_id",
    ),
    "help: defaults": (("invite", "--help"), 0, "out", "(default 20)"),
    "help: exit codes": (("invite", "--help"), 0, "out", "  130  interrupted"),
    "top-level help: exit codes": (("--help",), 0, "out", "  2    bad usage"),
    "version": (("--version",), 0, "out", f"hero-async {__version__}"),
    "encoding unknown": (
        ("invite", "good.csv", "--sandbox", "--encoding", "bogus"),
        2,
        "err",
        "argument --encoding: unknown encoding 'bogus'",
    ),
    "encoding not for text": (
        ("invite", "good.csv", "--sandbox", "--encoding", "base64"),
        2,
        "err",
        "argument --encoding: 'base64' is not a text encoding",
    ),
    **{
        f"rate-limit {value}": (
            ("invite", "good.csv", "--sandbox", "--rate-limit", value),
            2,
            "err",
            "argument --rate-limit: must be more than 0 (a finite number)",
        )
        for value in ("nan", "inf", "0", "-5")
    },
    **{
        f"worker rate-limit {value}": (
            ("worker", "--database", "postgresql://127.0.0.1:9/none", "--rate-limit", value),
            2,
            "err",
            "--rate-limit must be a finite number above 0",
        )
        for value in ("nan", "inf", "0")
    },
    "max-outage inf": (
        ("invite", "good.csv", "--sandbox", "--max-outage", "inf"),
        2,
        "err",
        "argument --max-outage: must be more than 0 (a finite number)",
    ),
    "sandbox with ledger": (
        ("invite", "good.csv", "--sandbox", "--ledger", "x.db"),
        2,
        "err",
        "hero-async: --sandbox with --ledger: the sandbox forgets",
    ),
    "date-format pinned ISO": (
        ("invite", "expiry.csv", "--sandbox", "--dry-run", "--date-format", "YYYY-MM-DD"),
        1,
        "err",
        "  line 2 (key flu/0): expiry_date: not a date written as YYYY-MM-DD",
    ),
    "date-format auto": (
        ("invite", "expiry.csv", "--sandbox", "--dry-run"),
        0,
        "out",
        "        2  would send",
    ),
    "count 1.0": (
        ("invite", "count.csv", "--sandbox", "--dry-run"),
        0,
        "err",
        "count.csv: 2 invitations, 2 valid, 0 with problems",
    ),
    "base-url not loopback": (
        ("invite", "good.csv", "--base-url", "http://10.0.0.1"),
        2,
        "err",
        "argument --base-url: 'http://10.0.0.1' must be https://",
    ),
    "a folder": (
        ("invite", str(EXAMPLES)),
        2,
        "err",
        f"hero-async: {EXAMPLES} is a folder, not a CSV file",
    ),
    "ledger show of a CSV": (
        ("ledger", "show", "good.csv"),
        2,
        "err",
        "hero-async: good.csv is not a hero-async ledger",
    ),
    "ledger show of an empty file": (
        ("ledger", "show", "flu.csv.ledger.db"),
        2,
        "err",
        "hero-async: flu.csv.ledger.db is not a hero-async ledger",
    ),
}


@pytest.mark.parametrize(("args", "code", "stream", "expected"), CASES.values(), ids=CASES)
def test_option(
    tmp_path: Path, args: tuple[str, ...], code: int, stream: str, expected: str
) -> None:
    """Each runs the real command: the exit code, and a line of output that says why. Refusals
    name the option, start nothing (no sandbox, no ledger, no report) and show no traceback."""
    _files(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    done = run(tmp_path, *args, **CREDENTIALS)
    assert done.code == code, done
    _output_line(done, stream, expected)
    assert "Traceback" not in done.err
    assert "`" not in done.out  # no RST markup in --help
    if code == 2:
        assert "sandbox: fake Hero" not in done.err
        assert sorted(p.name for p in tmp_path.iterdir() if p.name != "state") == before
    if code == 2 and args[0] == "invite":  # the error line is the last; argparse's or ours
        assert done.err.splitlines()[-1].startswith(("hero-async", "hero-async invite: error"))


async def test_base_url_points_at_a_loopback_fake(tmp_path: Path) -> None:
    """--base-url sends to the given loopback fake (served from this test's loop) with the
    keys from the environment; HERO_BASE_URL, set to an unreachable address, loses to it."""
    csv = write_excel(tmp_path / "flu.csv", [excel_row(n) for n in range(3)])
    async with FakeHero(seed_sandbox=True) as fake:
        done = await arun(
            tmp_path,
            "invite",
            str(csv),
            "--base-url",
            fake.url,
            HERO_BASE_URL="https://unreachable.invalid",
            **CREDENTIALS,
        )
        assert done.code == 0, done.err
        assert len(fake.messages) == 3
    assert _output_line(done, "err", "progress: 3/3").startswith("progress: 3/3 (100%)  sent 3")
