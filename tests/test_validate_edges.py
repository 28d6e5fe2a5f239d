"""Edges of the input checks that mutation testing found untested (tests/MUTATION.md).

Each test pins a boundary or a message a caller reads: the value just inside passes, the value
just outside fails, and the error names the field and the rule without echoing long input.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

import pytest

from hero_async import ValidationError
from hero_async import _validate as v


def problem(check: Callable[[], object]) -> str:
    with pytest.raises(ValidationError) as info:
        check()
    return info.value.problem


@pytest.mark.parametrize("value", [".", ".."])
def test_dot_ids_are_refused_they_would_walk_the_url_path(value: str) -> None:
    assert "'.' or '..'" in problem(lambda: v.opaque_id(value, "link_id"))


def test_opaque_id_messages() -> None:
    assert problem(lambda: v.opaque_id("", "id")) == "must not be empty"
    assert problem(lambda: v.opaque_id("a\nb", "id")).startswith("must not contain control")
    assert problem(lambda: v.opaque_id("é", "id")) == "must be ASCII"


def test_practice_group_id_int_zero_is_a_group_and_negative_is_not() -> None:
    assert v.practice_group_id(0) == "0"
    with pytest.raises(ValidationError):
        v.practice_group_id(-1)


def test_positive_int_starts_at_one() -> None:
    assert v.positive_int(1, "n") == 1
    assert problem(lambda: v.positive_int(0, "n")) == "must be at least 1"


def test_email_length_limit_is_254_inclusive() -> None:
    local = "a" * 64
    domain = "b" * (254 - 64 - 1 - 4) + ".com"
    at_limit = f"{local}@{domain}"
    assert len(at_limit) == 254
    assert v.contact_detail(at_limit, "to", "email") == at_limit
    assert problem(lambda: v.contact_detail(at_limit[:-4] + "x.com", "to", "email")) == (
        "is not an e-mail address"
    )


def test_contact_detail_says_which_kind_it_wanted() -> None:
    assert problem(lambda: v.contact_detail("x", "to", "sms")) == (
        "is not a UK mobile number (07..., +44 7...)"
    )
    assert problem(lambda: v.contact_detail("x", "to", "nhs_app")) == (
        "is not a UK mobile or an e-mail address"
    )


class _NoOffset(dt.tzinfo):
    """A tzinfo that knows no offset: aware by type, naive in fact."""

    def utcoffset(self, moment: dt.datetime | None) -> dt.timedelta | None:
        return None


def test_datetime_with_a_tzinfo_that_has_no_offset_is_naive() -> None:
    moment = dt.datetime(2024, 5, 1, 9, 30, tzinfo=_NoOffset())
    assert problem(lambda: v.datetime_(moment, "at")) == "has no time zone (give an offset or 'Z')"


def test_datetime_is_sent_in_utc_whatever_the_machine_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Europe/London")
    time.tzset()
    try:
        summer = dt.datetime(2024, 7, 1, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
        assert v.datetime_(summer, "at") == "2024-07-01T09:00:00Z"
    finally:
        monkeypatch.undo()
        time.tzset()


def test_choice_echoes_short_strings_only() -> None:
    allowed = ("sms", "email")
    assert problem(lambda: v.choice("fax", "type", allowed)) == "'fax' is not one of: sms, email"
    forty = "x" * 40
    assert problem(lambda: v.choice(forty, "type", allowed)).startswith(repr(forty))
    long = "y" * 41
    assert problem(lambda: v.choice(long, "type", allowed)) == "value is not one of: sms, email"
    assert problem(lambda: v.choice(7, "type", allowed)) == "value is not one of: sms, email"


def test_nhs_number_messages_tell_the_caller_what_to_fix() -> None:
    assert problem(lambda: v.nhs_number(9434765919)) == (
        "pass the NHS number as a string (an int drops leading 0s)"
    )
    assert problem(lambda: v.nhs_number("12345")) == (
        "must be 10 digits (spaces allowed, nothing else)"
    )
    assert problem(lambda: v.nhs_number("9434765918")) == (
        "check digit does not match (not a valid NHS number)"
    )
    assert problem(lambda: v.nhs_number("\ud800" * 10)) == (
        "contains an unpaired surrogate (not valid Unicode text)"
    )
    assert problem(lambda: v.nhs_number(None)) == "expected a string, got NoneType"


def test_hero_id_messages() -> None:
    assert problem(lambda: v.hero_id(-1, "id")) == "must not be negative"
    assert problem(lambda: v.hero_id("abc", "id")) == (
        "must be a Hero id made of digits 0-9, e.g. '156'"
    )


def test_header_value_message_points_at_a_trailing_newline() -> None:
    assert problem(lambda: v.header_value("1001\n", "group")) == (
        "must be printable ASCII without line breaks (check for a trailing newline)"
    )


MESSAGES = [
    (lambda: v.text(7, "f"), "expected a string, got int"),
    (lambda: v.opaque_id("a\rb", "f"), "must not contain control characters (CR, LF, NUL...)"),
    (lambda: v.opaque_id("a/b", "f"), "must not contain '/', '\\', '?', '#' or be '.' or '..'"),
    (lambda: v.header_value("", "f"), "must not be empty"),
    (lambda: v.header_value(" 1001", "f"), "has leading or trailing spaces (copy-paste slip?)"),
    (lambda: v.date(dt.datetime(2024, 1, 1), "f"), "expected a date, got a datetime (use .date())"),
    (lambda: v.date("2024-02-30", "f"), "is not a real calendar date"),
    (lambda: v.date(20240101, "f"), "expected a datetime.date or a 'YYYY-MM-DD' string"),
    (
        lambda: v.date("2024-01-02", "f", not_future=True, today=dt.date(2024, 1, 1)),
        "must not be in the future",
    ),
    (lambda: v.datetime_("2024-05-01", "f"), "needs a time and zone, e.g. '2024-05-01T09:30:00Z'"),
    (lambda: v.datetime_("2024-05-01Tnoon", "f"), "is not an ISO 8601 date-time"),
    (lambda: v.datetime_(7, "f"), "expected an aware datetime or an ISO 8601 string"),
    (lambda: v.text("", "f"), "must not be empty"),
    (lambda: v.text("a\x00b", "f"), "must not contain NUL characters"),
    (lambda: v.positive_int("3", "f"), "expected an int, got str"),
    (lambda: v.boolean(1, "f"), "expected True or False, got int"),
    (lambda: v.url("https://a b", "f"), "must not contain spaces or control characters"),
    (lambda: v.url("https://h:abc/", "f"), "is not a valid URL"),
    (lambda: v.url("ftp://host/", "f"), "must be an absolute https:// URL"),
    (
        lambda: v.url("http://example.org/", "f"),
        "must use https (http is allowed only for localhost)",
    ),
]


@pytest.mark.parametrize(("check", "expected"), MESSAGES)
def test_each_rule_says_what_to_fix(check: Callable[[], object], expected: str) -> None:
    assert problem(check) == expected


def test_the_error_names_the_field() -> None:
    with pytest.raises(ValidationError) as info:
        v.text("\ud800", "message")
    assert info.value.field == "message"
    assert info.value.problem == "contains an unpaired surrogate (not valid Unicode text)"
