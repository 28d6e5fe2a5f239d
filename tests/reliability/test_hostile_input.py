"""Property-based tests over every validator, Invitation fields and CSV rows.

The contract: bad input raises ValidationError naming the field (never another exception, never
echoing the value), is never sent, and never stops a bulk job.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from reliability_support import API_KEY, HOME, build_network, nhs_numbers, template

from hero_async import HeroClient, Invitation, ValidationError
from hero_async import _validate as v
from hero_async.bulk._csv import COLUMNS, read_invitations
from hero_async.bulk._invitation import plan
from hero_async.testing import FakeHero

MARK = "Q7x"  # appears in no error message, so an echoed value is easy to spot

NASTY_TEXT = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "\r\n",
        "1001\r\nX-Injected: 1",
        "\ud800",
        "a\udfffb",
        "\u202e1002",
        "１００２",
        "٣٤٥",
        "²",
        "0" * 5000,
        "9" * 5001,
        "../../etc/passwd",
        "%0d%0aX: 1",
        "{link}",
        "{link",
        "' OR 1=1 --",
        "<script>alert(1)</script>",
        "\ufeffkey",
        "NaN",
        "-1",
        "1e9",
        "2023-02-30",
        "2023-13-01",
        "20230529",
        "9999-12-31",
        "0001-01-01",
        "+447700900123\n",
        "a@b",
        "a@@b.com",
        "x" * 300 + "@example.com",
    ]
)
ANY_VALUE = st.one_of(
    NASTY_TEXT,
    st.text(),
    st.text(st.characters(codec="utf-8", categories=["Cc", "Cf", "Zl", "Zp", "Nd", "No"])),
    st.binary(max_size=20),
    st.integers(),
    st.floats(allow_nan=True),
    st.none(),
    st.booleans(),
    st.dates(),
    st.datetimes(),
    st.datetimes(timezones=st.just(dt.UTC)),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.tuples(st.text(max_size=3)),
)

Validator = Callable[[Any, str], Any]
VALIDATORS: dict[str, Validator] = {
    "nhs_number": v.nhs_number,
    "hero_id": v.hero_id,
    "opaque_id": v.opaque_id,
    "header_value": v.header_value,
    "practice_group_id": v.practice_group_id,
    "date": v.date,
    "date_not_future": lambda x, f: v.date(x, f, not_future=True),
    "datetime": v.datetime_,
    "text": v.text,
    "choice": lambda x, f: v.choice(x, f, v.MESSAGE_TYPES),
    "positive_int": v.positive_int,
    "boolean": v.boolean,
    "contact_sms": lambda x, f: v.contact_detail(x, f, "sms"),
    "contact_email": lambda x, f: v.contact_detail(x, f, "email"),
    "contact_any": lambda x, f: v.contact_detail(x, f, "nhs_app"),
    "url": v.url,
}


@pytest.mark.parametrize("name", sorted(VALIDATORS))
@settings(max_examples=150, deadline=None)
@given(value=ANY_VALUE)
def test_every_validator_accepts_or_raises_validation_error_naming_the_field(
    name: str, value: Any
) -> None:
    try:
        VALIDATORS[name](value, "the_field")
    except ValidationError as exc:
        assert exc.field == "the_field"
        assert str(exc).startswith("the_field: ")


@pytest.mark.parametrize("name", sorted(set(VALIDATORS) - {"choice"}))
@settings(max_examples=60, deadline=None)
@given(value=st.text(min_size=4).map(lambda s: MARK + s))
def test_validation_errors_never_echo_the_value(name: str, value: str) -> None:
    """Values may be secrets or patient data; only our own enums are ever quoted."""
    try:
        VALIDATORS[name](value, "the_field")
    except ValidationError as exc:
        assert MARK not in str(exc)
        assert MARK not in repr(exc)


# -- Invitation fields ----------------------------------------------------------------------

BASE: dict[str, Any] = {
    "key": "flu/base",
    "practice_group_id": "1002",
    "nhs_number": "9434765919",
    "dob": "1980-01-31",
    "appointment_type_id": "10",
    "location_id": "20",
    "message_template": template("flu/base"),
}
MUTABLE = tuple(f.name for f in attrs.fields(Invitation))


def mutated(field: str, value: Any, key: str) -> Invitation:
    fields = {**BASE, "key": key, "message_template": template(key)}
    fields[field] = value
    return Invitation(**fields)


def expected_field(invitation: Invitation) -> str | None:
    """The field plan() names, or None when it accepts the row."""
    try:
        plan(invitation)
    except ValidationError as exc:
        return exc.field
    return None


@settings(max_examples=300, deadline=None)
@given(field=st.sampled_from(MUTABLE), value=ANY_VALUE)
def test_a_bad_invitation_field_is_named_by_the_validation_error(field: str, value: Any) -> None:
    invitation = mutated(field, value, "flu/x")
    try:
        plan(invitation)
    except ValidationError as exc:
        if field in ("nhs_number", "dob") and value is None:
            assert exc.field == "patient_id"  # "give patient_id, or nhs_number and dob"
        else:
            assert exc.field == field, (field, value, exc)


def escaped(text: str) -> str:
    """Lone surrogates written as ``\\udXXX`` (idempotent on text already escaped)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


async def _run_job(rows: list[Invitation]) -> tuple[list[Any], FakeHero]:
    async with FakeHero(seed_sandbox=True) as fake:
        build_network(fake)
        async with HeroClient(API_KEY, HOME, base_url=fake.url) as hero:
            with await hero.send_invitations(rows, concurrency=5) as report:
                results = list(report.results())
                assert report.total == len(rows)
    return results, fake


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(bad=st.lists(st.tuples(st.sampled_from(MUTABLE), ANY_VALUE), min_size=1, max_size=6))
@example(bad=[("key", "bad\ud800key")])
@example(bad=[("practice_group_id", "1002\udc80")])
@example(bad=[("message_template", "[flu/t] \ud83d {link}")])
def test_bad_rows_are_reported_never_sent_and_never_stop_the_job(
    bad: list[tuple[str, Any]],
) -> None:
    numbers = nhs_numbers(600_000_000)
    rows: list[Invitation] = []
    rejected: dict[int, str] = {}
    for n, (field, value) in enumerate(bad):
        invitation = attrs.evolve(mutated(field, value, f"flu/{n}"), nhs_number=next(numbers))
        if field == "nhs_number":
            invitation = attrs.evolve(invitation, nhs_number=value)
        named = expected_field(invitation)
        if named is not None:
            rejected[n] = named
        rows.append(invitation)
    good = Invitation(**{**BASE, "key": "flu/good", "message_template": template("flu/good")})
    results, fake = asyncio.run(_run_job([*rows, good]))

    by_key: dict[str, Any] = {}
    for result in results:  # a key that cannot be encoded may come back escaped
        by_key.setdefault(escaped(result.key), result)
    assert by_key["flu/good"].state == "sent"
    for n, field in rejected.items():
        result = by_key[escaped(str(rows[n].key))]
        assert result.state == "failed"
        assert result.step == "validate"
        assert result.error_type == "ValidationError"
        assert result.error is not None
        assert result.error.startswith(f"{field}:")
    # Nothing of a rejected row reached the fake: no request body carries its NHS number and
    # no message carries its template.
    seen = repr([(r.practice_group_id, r.body) for r in fake.requests])
    for n in rejected:
        number = rows[n].nhs_number
        if isinstance(number, str) and len(number) >= 4:
            assert number not in seen
        assert not [m for m in fake.messages if m.message_string.startswith(f"[flu/{n}]")]
    for n, row in enumerate(rows):
        if n not in rejected:
            assert by_key[escaped(str(row.key))].step != "validate"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("key", "flu/\ud800"),  # a failed row's key goes into the report spool
        ("practice_group_id", "1002\udc80"),
        ("message_template", "[flu/s] \ud83d Book: {link}"),  # valid text until encoded
    ],
)
async def test_a_lone_surrogate_in_a_row_fails_that_row_not_the_job(
    hero: HeroClient, network: FakeHero, field: str, value: str
) -> None:
    """Lone surrogates are what ``json.loads('"\\ud800"')`` or ``surrogateescape`` decoding
    hand you. orjson (the speedups extra) refuses to encode them; that must fail the row
    (ValidationError) instead of escaping the job as a TypeError."""
    bad = mutated(field, value, "flu/s")
    good = Invitation(**{**BASE, "key": "flu/good", "message_template": template("flu/good")})
    with await hero.send_invitations([bad, good]) as report:
        results = {r.key: r for r in report.results()}
    assert report.total == 2
    assert results["flu/good"].state == "sent"
    failed = next(r for k, r in results.items() if k != "flu/good")
    assert failed.state == "failed"
    assert failed.error_type == "ValidationError"
    assert not [m for m in network.messages if "\\ud8" in repr(m.message_string)]


# -- CSV rows -------------------------------------------------------------------------------

CELL = st.one_of(
    NASTY_TEXT.filter(lambda s: "\ud800" not in s and "\udfff" not in s),
    st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=12),
    st.text(st.characters(codec="utf-8"), max_size=12),
    st.integers().map(str),
    st.just(""),
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rows=st.lists(st.fixed_dictionaries({c: CELL for c in COLUMNS}), max_size=5),
    bom=st.booleans(),
)
def test_csv_rows_become_invitations_or_validation_errors_never_a_crash(
    tmp_path: Path, rows: list[dict[str, str]], bom: bool
) -> None:
    """A bad cell goes through as text and the pipeline names it; nothing else raises."""
    path = tmp_path / "rows.csv"
    with open(path, "w", newline="", encoding="utf-8-sig" if bom else "utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    invitations = list(read_invitations(path))
    # Rows of only blank cells are Excel's trailing rows: skipped, not invitations.
    assert len(invitations) == sum(any(c.strip() for c in r.values()) for r in rows)
    for invitation in invitations:
        try:
            plan(invitation)
        except ValidationError as exc:
            assert exc.field in COLUMNS


def test_a_csv_maximum_use_count_with_thousands_of_digits_is_a_validation_error(
    tmp_path: Path,
) -> None:
    """int() refuses strings past 4,300 digits with a plain ValueError: that must not escape
    read_invitations (it would abort the whole job and every row after it)."""
    path = tmp_path / "rows.csv"
    header = "key,practice_group_id,patient_id,appointment_type_id,location_id,maximum_use_count"
    path.write_text(f"{header}\nk1,1001,5,10,20,{'9' * 5000}\nk2,1001,5,10,20,1\n")
    invitations = list(read_invitations(path))
    assert len(invitations) == 2
    with pytest.raises(ValidationError) as caught:
        plan(invitations[0])
    assert caught.value.field == "maximum_use_count"
    plan(invitations[1])
