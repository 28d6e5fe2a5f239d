"""Input checks in hero_async._validate: what passes, what is normalised, what is refused."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from hero_async import _validate as v
from hero_async._errors import ValidationError

TODAY = dt.date(2024, 9, 2)


def _nhs_check_digit(nine: str) -> int:
    total = sum(int(d) * w for d, w in zip(nine, range(10, 1, -1), strict=True))
    return (11 - total % 11) % 11


@st.composite
def valid_nhs_numbers(draw: st.DrawFn) -> str:
    nine = draw(st.text(alphabet="0123456789", min_size=9, max_size=9))
    check = _nhs_check_digit(nine)
    assume(check != 10)  # no valid number starts with these nine digits
    return nine + str(check)


def _rejects(func: Callable[..., Any], value: object, *args: Any, **kwargs: Any) -> str:
    """Call a validator expecting a ValidationError for field "f"; return its message."""
    with pytest.raises(ValidationError) as info:
        func(value, "f", *args, **kwargs)
    assert info.value.field == "f"
    assert str(info.value).startswith("f: ")
    return info.value.problem


# --- NHS number -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given_", "sent"),
    [("9434765919", "9434765919"), ("943 476 5919", "9434765919"), (" 9434765919 ", "9434765919")],
)
def test_nhs_number_accepts_digits_with_spaces_and_sends_bare_digits(
    given_: str, sent: str
) -> None:
    assert v.nhs_number(given_) == sent


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("943-476-5919", "10 digits"),
        ("943.476.5919", "10 digits"),
        ("943476591", "10 digits"),
        ("94347659190", "10 digits"),
        ("٩٤٣٤٧٦٥٩١٩", "10 digits"),  # Arabic-Indic digits are digits to str.isdigit()
        ("9434765918", "check digit"),
        ("1000000010", "check digit"),  # check digit would be 10: no such NHS number
        (9434765919, "string"),
        (None, "string"),
    ],
)
def test_nhs_number_rejects(value: object, problem: str) -> None:
    message = _rejects(v.nhs_number, value)
    assert problem in message
    assert "9434765919" not in message  # patient identifiers never echoed


def test_nhs_number_default_field_name() -> None:
    with pytest.raises(ValidationError) as info:
        v.nhs_number("123")
    assert info.value.field == "nhs_number"


@given(valid_nhs_numbers())
def test_nhs_number_valid_check_digit_always_passes(number: str) -> None:
    assert v.nhs_number(number) == number
    assert v.nhs_number(f"{number[:3]} {number[3:6]} {number[6:]}") == number


@given(valid_nhs_numbers(), st.integers(0, 9), st.integers(1, 9))
def test_nhs_number_any_single_digit_change_fails(number: str, position: int, delta: int) -> None:
    changed = str((int(number[position]) + delta) % 10)
    mutated = number[:position] + changed + number[position + 1 :]
    _rejects(v.nhs_number, mutated)


# --- ids and header values -------------------------------------------------------------


@pytest.mark.parametrize(("value", "sent"), [("156", "156"), ("0", "0"), (156, "156"), (0, "0")])
def test_hero_id_accepts_digit_strings_and_non_negative_ints(value: object, sent: str) -> None:
    assert v.hero_id(value, "patient_id") == sent


def test_hero_id_sends_a_str_subclass_as_plain_text() -> None:
    """An ORM's or CSV library's str subclass must reach the JSON body as a plain str."""

    class Column(str):
        pass

    sent = v.hero_id(Column("156"), "patient_id")
    assert (sent, type(sent)) == ("156", str)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "12a",
        " 12",
        "12\n",
        "12\r\n",
        "²",
        "١٢٣",
        "\uff11\uff12",
        "-1",
        "1.5",
        -1,
        True,
        1.0,
        None,
    ],
)
def test_hero_id_rejects_non_ascii_digits_controls_and_wrong_types(value: object) -> None:
    _rejects(v.hero_id, value)


@pytest.mark.parametrize("value", ["batch-7f3a", "wh_01HZX3", "abc 123"])
def test_opaque_id_accepts_any_printable_id(value: str) -> None:
    assert v.opaque_id(value, "batch_id") == value


@pytest.mark.parametrize(
    "value", ["", "   ", "a\r\nb", "a\nb", "a\x00b", "a\x85b", "../x", "a/b", "a?b", "a#b", ".", 5]
)
def test_opaque_id_rejects_blank_control_and_path_changing_values(value: object) -> None:
    _rejects(v.opaque_id, value)


@pytest.mark.parametrize("value", ["key_live_abc123", "a", "x-y.z~!"])
def test_header_value_accepts_printable_ascii(value: str) -> None:
    assert v.header_value(value, "api_key") == value


@pytest.mark.parametrize(
    "value", ["", "secret\n", "sec\r\nret", "sécret", "secret\x00", " secret", "secret ", b"k", 1]
)
def test_header_value_rejects_and_never_echoes(value: object) -> None:
    message = _rejects(v.header_value, value)
    if isinstance(value, str) and value.strip():
        assert value.strip() not in message


_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


@given(
    st.text(alphabet=_ALNUM, min_size=12, max_size=40),
    st.sampled_from(["\n", "\r", "\r\n", "\x00", "\t", "é", "\u2028"]),
    st.text(alphabet=_ALNUM, max_size=20),
    st.booleans(),
)
def test_header_value_error_never_contains_the_secret(
    head: str, bad: str, tail: str, bad_at_end: bool
) -> None:
    secret = head + tail + bad if bad_at_end else head + bad + tail
    message = str(_rejects(v.header_value, secret))
    assert head not in message
    assert secret not in message


@pytest.mark.parametrize(("value", "sent"), [("156", "156"), (156, "156"), ("pg-abc", "pg-abc")])
def test_practice_group_id_uses_header_rules(value: object, sent: str) -> None:
    assert v.practice_group_id(value) == sent


@pytest.mark.parametrize("value", ["", "15\n6", "156\r\n", None, True])
def test_practice_group_id_rejects_empty_and_control_characters(value: object) -> None:
    with pytest.raises(ValidationError) as info:
        v.practice_group_id(value)
    assert info.value.field == "practice_group_id"


# --- dates -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "sent"),
    [
        ("2024-02-29", "2024-02-29"),
        (dt.date(1992, 1, 1), "1992-01-01"),
        ("1900-01-01", "1900-01-01"),
    ],
)
def test_date_accepts_real_calendar_dates(value: object, sent: str) -> None:
    assert v.date(value, "expiry_date") == sent


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("2023-02-30", "real calendar date"),
        ("2023-02-29", "real calendar date"),
        ("2023-13-01", "real calendar date"),
        ("20230529", "YYYY-MM-DD"),
        ("2023-5-29", "YYYY-MM-DD"),
        ("2023-05-29T00:00:00", "YYYY-MM-DD"),
        ("29/05/2023", "YYYY-MM-DD"),
        (dt.datetime(2023, 5, 29, 10, 0), "got a datetime"),
        ("1899-12-31", "not plausible"),
        (20230529, "YYYY-MM-DD"),
    ],
)
def test_date_rejects(value: object, problem: str) -> None:
    assert problem in _rejects(v.date, value)


def test_date_not_future_allows_today_and_refuses_tomorrow() -> None:
    assert v.date(TODAY, "dob", not_future=True, today=TODAY) == "2024-09-02"
    tomorrow = TODAY + dt.timedelta(days=1)
    assert "future" in _rejects(v.date, tomorrow, not_future=True, today=TODAY)
    assert v.date(tomorrow, "expiry_date", today=TODAY) == "2024-09-03"  # only when asked


@pytest.mark.parametrize(
    ("value", "sent"),
    [
        ("2024-05-01T09:30:00Z", "2024-05-01T09:30:00Z"),
        ("2024-05-01T10:30:00+01:00", "2024-05-01T09:30:00Z"),
        ("2024-05-01T09:30:00.250Z", "2024-05-01T09:30:00.250000Z"),
        (dt.datetime(2024, 5, 1, 9, 30, tzinfo=dt.UTC), "2024-05-01T09:30:00Z"),
        (
            dt.datetime(2024, 5, 1, 10, 30, tzinfo=dt.timezone(dt.timedelta(hours=1))),
            "2024-05-01T09:30:00Z",
        ),
    ],
)
def test_datetime_sends_utc_with_z(value: object, sent: str) -> None:
    assert v.datetime_(value, "send_at") == sent


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("2024-05-01T09:30:00", "time zone"),
        (dt.datetime(2024, 5, 1, 9, 30), "time zone"),
        ("2024-05-01", "needs a time"),
        (dt.date(2024, 5, 1), "aware datetime"),
        ("tomorrow", "ISO 8601"),
        ("\uff12\uff10\uff12\uff14-05-01T09:30:00Z", "aware datetime"),
        (1714555800, "aware datetime"),
    ],
)
def test_datetime_rejects(value: object, problem: str) -> None:
    assert problem in _rejects(v.datetime_, value)


# --- scalars and enums -----------------------------------------------------------------


def test_text_returns_value_unchanged_and_refuses_blank_or_nul() -> None:
    assert v.text("  Hello\nthere ", "message_string") == "  Hello\nthere "
    for bad in ["", "   \n", "a\x00b", None]:
        _rejects(v.text, bad)


def test_choice_lists_allowed_values() -> None:
    assert v.choice("sms", "message_type", v.MESSAGE_TYPES) == "sms"
    message = _rejects(v.choice, "SMS", v.MESSAGE_TYPES)
    assert "hero, sms, email, nhs_app" in message
    _rejects(v.choice, None, v.MESSAGE_TYPES)


def test_positive_int_and_boolean_refuse_lookalikes() -> None:
    assert v.positive_int(3, "maximum_use_count") == 3
    for bad in [0, -1, True, 1.0, "1"]:
        _rejects(v.positive_int, bad)
    assert v.boolean(False, "write_to_record") is False
    for bad in [0, 1, "true", None]:
        _rejects(v.boolean, bad)


def test_enum_constants_match_the_reference() -> None:
    assert len(v.WEBHOOK_EVENT_TYPES) == 8
    assert {"write-to-record.succeeded", "write-to-record.failed"} <= set(v.WEBHOOK_EVENT_TYPES)
    assert set(v.FALLBACK_MESSAGE_TYPES) <= set(v.MESSAGE_TYPES)
    assert v.BATCH_CHANNELS == ("SMS", "EMAIL", "NHS_APP")
    assert v.ASSIGNEE_TYPES == ("Admin", "AdminTeam")


# --- contact details and URLs ----------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["07700900123", "07700 900123", "07700-900-123", "+447700900123", "+44 7700 900123",
     "447700900123", "00447700900123"],
)  # fmt: skip
def test_sms_contact_is_normalised_to_uk_national_form(value: str) -> None:
    assert v.contact_detail(value, "recipient_contact_detail", "sms") == "07700900123"


@pytest.mark.parametrize(
    "value",
    ["01632960000", "0770090012", "077009001234", "+17700900123", "07700/900123",
     "ada@example.org", "", "+44 07700 900123"],
)  # fmt: skip
def test_sms_contact_rejects_non_mobiles_without_echoing(value: str) -> None:
    message = _rejects(v.contact_detail, value, "sms")
    assert "UK mobile" in message
    if value:
        assert value not in message


@pytest.mark.parametrize(
    "value",
    ["ada", "ada@example", "ada@@example.org", "a da@example.org", "ada@example..org",
     "@example.org", "a" * 250 + "@example.org", "07700900123"],
)  # fmt: skip
def test_email_contact_rejects_implausible_addresses(value: str) -> None:
    assert "e-mail" in _rejects(v.contact_detail, value, "email")


def test_hero_and_nhs_app_accept_either_shape_and_unknown_type_names_message_type() -> None:
    assert v.contact_detail(" ada@example.org ", "f", "email") == "ada@example.org"
    assert v.contact_detail("ada@example.org", "f", "hero") == "ada@example.org"
    assert v.contact_detail("+44 7700 900123", "f", "nhs_app") == "07700900123"
    _rejects(v.contact_detail, "not a contact", "hero")
    with pytest.raises(ValidationError) as info:
        v.contact_detail("07700900123", "f", "fax")
    assert info.value.field == "message_type"


@pytest.mark.parametrize(
    "value",
    ["https://partner.example.com/hook", "https://x.example:8443/a?b=1", "http://localhost:8080/h",
     "http://127.0.0.5/h", "http://[::1]:9000/h"],
)  # fmt: skip
def test_url_accepts_https_and_loopback_http(value: str) -> None:
    assert v.url(value, "url") == value


@pytest.mark.parametrize(
    "value",
    ["http://example.com/h", "http://10.0.0.1/h", "example.com/h", "https://", "ftp://x.example",
     "https://x.example/a b", "https://x.example/\r\nX: y", "https://x.example:99999/",
     "http://[::1", "/relative", None],
)  # fmt: skip
def test_url_rejects_relative_insecure_and_malformed(value: object) -> None:
    _rejects(v.url, value)


# --- robustness: nothing but ValidationError ever escapes --------------------------------

_ANYTHING = st.one_of(
    st.text(), st.integers(), st.none(), st.booleans(), st.floats(), st.binary(), st.dates()
)
_VALIDATORS: list[Callable[[object, str], object]] = [
    v.nhs_number, v.hero_id, v.opaque_id, v.header_value, v.practice_group_id, v.text,
    v.positive_int, v.boolean, v.url, v.datetime_,
    lambda value, field: v.date(value, field, not_future=True, today=TODAY),
    lambda value, field: v.choice(value, field, v.MESSAGE_TYPES),
    lambda value, field: v.contact_detail(value, field, "hero"),
]  # fmt: skip


@pytest.mark.parametrize("validator", _VALIDATORS)
@given(value=_ANYTHING)
def test_random_input_passes_or_raises_validation_error_naming_the_field(
    validator: Callable[[object, str], object], value: object
) -> None:
    error: ValidationError | None = None
    try:
        validator(value, "the_field")
    except ValidationError as exc:
        error = exc
    assert error is None or error.field == "the_field"
