"""hero-async pieces that need no subprocess: argument rules, help text, progress lines
(with an injected clock), the row checker, HERO_BASE_URL and the subcommand seam.
The command itself, on real files, is driven in tests/cli/."""

from __future__ import annotations

import argparse
import io
import math
import subprocess
import sys
from pathlib import Path

import pytest

from hero_async import HeroClient, Invitation, ValidationError
from hero_async.bulk._csv import Row
from hero_async.bulk._report import InvitationResult
from hero_async.cli import _main
from hero_async.cli._check import row_problems
from hero_async.cli._progress import Progress


def test_help_has_defaults_columns_and_exit_codes_and_no_rst(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """invite --help names the defaults, the CSV columns and the exit codes, without RST
    backticks; --version prints the package version."""
    with pytest.raises(SystemExit) as caught:
        _main.main(["invite", "--help"])
    assert caught.value.code == 0
    text = capsys.readouterr().out
    assert "`" not in text
    assert "(default 20)" in text
    assert "required: key, practice_group_id, appointment_type_id, location_id" in text
    assert "130  interrupted" in text
    assert "DD/MM/YYYY" in text
    with pytest.raises(SystemExit):
        _main.main(["--version"])
    assert capsys.readouterr().out.startswith("hero-async ")


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--ledger", "x.db"], "--sandbox with --ledger"),
        (["--base-url", "http://127.0.0.1:1"], "--sandbox and --base-url"),
    ],
)
def test_sandbox_refuses_a_kept_ledger_or_another_url(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], expected: str
) -> None:
    """The sandbox forgets patients and links when it stops: a kept ledger would resume
    against a world that is gone, so the combination is refused (exit 2) before anything."""
    csv = tmp_path / "x.csv"
    csv.write_text("key,practice_group_id,appointment_type_id,location_id\nk,1002,10,20\n")
    assert _main.main(["invite", str(csv), "--sandbox", *extra]) == 2
    err = capsys.readouterr().err
    assert expected in err
    assert "sandbox: fake Hero" not in err


@pytest.mark.parametrize("value", ["0", "-1", "abc"])
def test_rate_limit_and_concurrency_must_be_positive(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for option in ("--rate-limit", "--concurrency"):
        with pytest.raises(SystemExit) as caught:
            _main.main(["invite", "x.csv", option, value])
        assert caught.value.code == 2
        assert option in capsys.readouterr().err


def test_plain_progress_prints_every_interval_with_rate_and_eta() -> None:
    """Off a terminal: a line at most every interval (by the injected clock), with done/total,
    percent, rate and ETA; nothing in between."""
    now = [0.0]
    out = io.StringIO()
    tracker = Progress(100, clock=lambda: now[0], stream=out, interval=5.0)
    sent = InvitationResult("k", "1002", "sent")
    for _ in range(10):
        now[0] += 0.1
        tracker.advance(sent)
    assert out.getvalue() == ""  # 1 s in: too soon
    now[0] = 5.0
    tracker.advance(sent)
    assert (
        out.getvalue()
        == "progress: 11/100 (11%)  sent 11  failed 0  unknown 0  skipped 0  2/s  ETA 40s\n"
    )
    tracker.tick()
    assert out.getvalue().count("\n") == 1
    now[0] = 10.0
    tracker.tick()  # the ticker prints while nothing finishes (an outage)
    assert out.getvalue().count("\n") == 2


def test_row_problems_names_every_bad_field() -> None:
    """Each bad field is named once, including ones validation finds only after the first."""
    row = Row(
        7,
        Invitation(
            key="k",
            practice_group_id="1002",
            appointment_type_id="ten",
            location_id="x",
            nhs_number="123",
            dob="1980-01-31",
            message_template="no link here",
        ),
        ("dob: not a date written as YYYY-MM-DD or DD/MM/YYYY",),
    )
    fields = [problem.split(":")[0] for problem in row_problems(row)]
    assert fields == ["dob", "nhs_number", "appointment_type_id", "location_id", "message_template"]


def test_hero_base_url_follows_the_base_url_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    """HERO_BASE_URL points the client at a fake or proxy: https, or http on loopback only;
    base_url= and environment= arguments still win over it."""
    monkeypatch.setenv("HERO_BASE_URL", "http://127.0.0.1:8080/")
    assert "base_url='http://127.0.0.1:8080'" in repr(HeroClient("k", "1001"))
    assert "api.test" in repr(HeroClient("k", "1001", base_url="https://api.test"))
    assert "127.0.0.1" not in repr(HeroClient("k", "1001", environment="staging"))
    monkeypatch.setenv("HERO_BASE_URL", "http://proxy.example.com")
    with pytest.raises(ValidationError, match="HERO_BASE_URL must be https://"):
        HeroClient("k", "1001")


def test_a_subcommand_is_one_row(monkeypatch: pytest.MonkeyPatch) -> None:
    """The seam other helpers use: a Command row adds a subcommand with its exit code."""

    def add(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--n", type=int, default=3)

    row = _main.Command("echo", "test command", add, lambda args: args.n)
    monkeypatch.setattr(_main, "COMMANDS", (*_main.COMMANDS, row))
    assert _main.main(["echo", "--n", "7"]) == 7


def test_interrupt_exits_130_saying_how_to_resume(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(args: argparse.Namespace) -> int:
        raise KeyboardInterrupt

    row = _main.Command("slow", "interrupted command", lambda parser: None, interrupted)
    monkeypatch.setattr(_main, "COMMANDS", (*_main.COMMANDS, row))
    assert _main.main(["slow"]) == 130
    assert "run the same command to resume" in capsys.readouterr().err


def test_port_in_use_is_one_line() -> None:
    """python -m hero_async.testing on a taken port: one line saying so, exit 1."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        done = subprocess.run(  # noqa: S603 - our own command, fixed arguments
            [sys.executable, "-m", "hero_async.testing", "--port", port],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr


def test_without_credentials_exits_two_before_any_ledger(
    no_hero_env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No --sandbox and no HERO_API_KEY: exit 2 naming the variable; no ledger, no report."""
    no_hero_env.delenv("HERO_BASE_URL", raising=False)
    no_hero_env.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    no_hero_env.chdir(tmp_path)
    csv = tmp_path / "x.csv"
    csv.write_text(
        "key,practice_group_id,appointment_type_id,location_id,patient_id\nk,1,10,20,5\n"
    )
    assert _main.main(["invite", str(csv)]) == 2
    assert "HERO_API_KEY" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state", "x.csv"]


def test_a_row_added_after_the_check_is_not_sent(tmp_path: Path) -> None:
    """The file is streamed twice (check, then send): a key the check never saw is failed,
    not sent."""
    from hero_async.cli._check import check_file, valid_invitations

    csv = tmp_path / "x.csv"
    header = "key,practice_group_id,appointment_type_id,location_id,patient_id\n"
    csv.write_text(header + "a,1,10,20,5\n")
    check = check_file(csv, "auto", "utf-8")
    csv.write_text(header + "a,1,10,20,5\nb,1,10,20,6\n")
    rejected: list[InvitationResult] = []
    sent = list(valid_invitations(csv, "auto", "utf-8", rejected, keys=check.keys))
    assert [item.key for item in sent] == ["a"]
    assert [(r.key, r.state) for r in rejected] == [("b", "failed")]


def test_dry_run_is_a_summary_that_flags_repeated_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--dry-run prints counts, not one line per row; a repeated key and a bad row are named
    with their lines; exit 1 because a row would fail; nothing is written."""
    csv = tmp_path / "x.csv"
    header = "key,practice_group_id,appointment_type_id,location_id,patient_id\n"
    rows = "".join(f"k{n},1002,10,20,{n + 1}\n" for n in range(50))
    csv.write_text(header + rows + "k3,1002,10,20,4\nbad,1002,ten,20,5\n")
    assert _main.main(["invite", str(csv), "--dry-run", "--sandbox"]) == 1
    out, err = capsys.readouterr()
    assert "line 52 (key k3): key: used by an earlier row too" in err
    assert "line 53 (key bad): appointment_type_id:" in err
    assert "     50  would send" in out  # the summary is data: stdout
    assert "      1  would skip (key repeated in the file)" in out
    assert "      1  would fail" in out
    assert "would send" not in err
    assert len(out.splitlines()) + len(err.splitlines()) < 15
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.csv"]


BAD_NUMBERS = [math.nan, math.inf, -math.inf, 0, -5]


@pytest.mark.parametrize("value", BAD_NUMBERS)
def test_client_refuses_rates_and_timeouts_that_are_not_finite_and_positive(
    value: float,
) -> None:
    """rate_limit=nan would space requests by nan seconds, inf by none at all (no cap):
    refused at construction, naming the field, before a connection exists."""
    for field in ("rate_limit", "timeout", "connect_timeout"):
        with pytest.raises(ValidationError) as caught:
            HeroClient("k", "1001", base_url="https://api.test", **{field: value})
        assert caught.value.field == field
        assert "finite" in caught.value.problem


# 0 is left out: send_invitations reads rate_limit=0 as "no cap" (bulk/_pipeline.py).
@pytest.mark.parametrize("value", [v for v in BAD_NUMBERS if v != 0])
async def test_a_jobs_rate_limit_is_refused_before_anything_is_sent(value: float) -> None:
    from hero_async.testing import SANDBOX_API_KEY, SANDBOX_PRACTICE_GROUP_ID, FakeHero

    invitation = Invitation(
        key="k", practice_group_id="1002", appointment_type_id="10", location_id="20",
        patient_id="5",
    )  # fmt: skip
    async with (
        FakeHero(seed_sandbox=True) as fake,
        HeroClient(SANDBOX_API_KEY, SANDBOX_PRACTICE_GROUP_ID, base_url=fake.url) as hero,
    ):
        with pytest.raises(ValidationError) as caught:
            await hero.send_invitations([invitation], rate_limit=value)
        assert caught.value.field == "rate_limit"
        assert fake.count() == 0
