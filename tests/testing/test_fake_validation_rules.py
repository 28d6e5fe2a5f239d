"""Each rule of the fake's request validation, one at a time: the exact issue it records.

The fake must be at least as strict as Hero and answer 400 with Hero's documented body
(reference §6): ``{"error": true, "statusCode": 400, "message": [{code, expected, path}]}``.
Most rules are checked by calling ``Fields`` directly (the issue list is what the 400 carries);
a few go through HTTP to show the body on the wire.
"""

from __future__ import annotations

import datetime as dt
import pickle
from typing import Any

import pytest
from fakehero_support import DOB, NHS, Caller

from hero_async.testing._rules import MISSING_REFERENCE_STATUS, NOT_FOUND_MESSAGE
from hero_async.testing._validation import (
    Fields,
    Reject,
    bad_request,
    error_body,
    issue,
    nhs_number_ok,
    parse_date,
    parse_datetime,
    require,
)

UTC = dt.UTC


def _item(path: list[Any], code: str, expected: str) -> dict[str, Any]:
    return {"code": code, "expected": expected, "path": path}


# -- the error answer and its pieces ------------------------------------------------------


def test_reject_keeps_status_and_message_and_defaults_to_not_found() -> None:
    plain = Reject(404)
    assert (plain.status, plain.message) == (404, NOT_FOUND_MESSAGE)
    told = Reject(409, "taken")
    assert (told.status, told.message, str(told)) == (409, "taken", "(409, 'taken')")


def test_reject_survives_a_pickle_round_trip() -> None:
    """Exception args rebuild the object: both status and message must be in them."""
    back = pickle.loads(pickle.dumps(Reject(409, ["taken"])))  # noqa: S301 - our own bytes
    assert (back.status, back.message) == (409, ["taken"])


def test_error_body_is_heros_shape() -> None:
    assert error_body(400, ["x"]) == {"error": True, "statusCode": 400, "message": ["x"]}
    assert error_body(404, "Not found")["error"] is True


def test_issue_has_exactly_code_expected_and_a_list_path() -> None:
    item = issue(("recipients", 0, "dob"), "invalid_date", "ISO 8601 date (YYYY-MM-DD)")
    assert item == _item(["recipients", 0, "dob"], "invalid_date", "ISO 8601 date (YYYY-MM-DD)")
    assert type(item["path"]) is list


def test_bad_request_is_a_one_issue_400() -> None:
    reject = bad_request(["start_time"], "custom", "a free slot")
    assert reject.status == 400
    assert reject.message == [_item(["start_time"], "custom", "a free slot")]


def test_require_answers_the_missing_reference_status_naming_what_is_missing() -> None:
    require({"7": object()}, "7", "Patient")  # present: nothing raised
    with pytest.raises(Reject) as caught:
        require({"7": object()}, "8", "Patient")
    assert caught.value.status == MISSING_REFERENCE_STATUS
    assert caught.value.message == "Patient 8 not found"


# -- NHS numbers and dates ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (NHS, True),
        ("9000000009", True),
        # weighted sum 11 * 4: check value 11 means check digit 0
        ("0000000140", True),
        ("0000000141", False),
        # weighted sum 12: check value 10, so no check digit is valid
        *((f"000000006{d}", False) for d in range(10)),
        ("943476591", False),
        ("94347659190", False),
        ("943476591X", False),
        ("", False),
    ],
)
def test_nhs_number_ok(value: str, ok: bool) -> None:
    assert nhs_number_ok(value) is ok


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-06-16", dt.datetime(2025, 6, 16, tzinfo=UTC)),
        ("2025-06-16T09:30", dt.datetime(2025, 6, 16, 9, 30, tzinfo=UTC)),
        ("2025-06-16T09:30:15", dt.datetime(2025, 6, 16, 9, 30, 15, tzinfo=UTC)),
        ("2025-06-16T09:30:15.5Z", dt.datetime(2025, 6, 16, 9, 30, 15, 500000, tzinfo=UTC)),
        ("2025-06-16T09:30:15.123456Z", dt.datetime(2025, 6, 16, 9, 30, 15, 123456, tzinfo=UTC)),
        (
            "2025-06-16T09:30:00+01:00",
            dt.datetime(2025, 6, 16, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=1))),
        ),
        (
            "2025-06-16T09:30:00-05:30",
            dt.datetime(2025, 6, 16, 9, 30, tzinfo=dt.timezone(-dt.timedelta(hours=5, minutes=30))),
        ),
    ],
)
def test_parse_datetime_reads_iso_and_naive_is_utc(value: str, expected: dt.datetime) -> None:
    parsed = parse_datetime(value)
    assert parsed == expected
    assert parsed is not None
    assert parsed.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize(
    "value",
    [
        "2025-02-30",
        "2025-13-01",
        "2025-06-16T25:00",
        "2025-6-16",
        "16/06/2025",
        "20250616",
        "2025-06-16 09:30",
        "2025-06-16T09",
        "2025-06-16T09:30:15.1234567Z",
        "2025-06-16T09:30+0100",
        "2025-06-16\n",
        "x2025-06-16",
        "",
    ],
)
def test_parse_datetime_refuses_anything_else(value: str) -> None:
    assert parse_datetime(value) is None
    assert parse_date(value) is None


def test_parse_date_takes_the_calendar_date_even_from_a_date_time() -> None:
    assert parse_date("2025-06-16") == dt.date(2025, 6, 16)
    assert parse_date("2025-06-16T23:30:00-05:00") == dt.date(2025, 6, 16)
    assert type(parse_date("2025-06-16")) is dt.date


# -- Fields: the object itself ------------------------------------------------------------


@pytest.mark.parametrize("body", [None, [1], "text", 3])
def test_a_body_that_is_not_an_object_is_one_issue_at_its_own_path(body: Any) -> None:
    fields = Fields(body)
    assert fields.issues == [_item([], "invalid_type", "object")]
    assert fields.body == {}
    nested = Fields(body, [], ("recipients", 2))
    assert nested.issues == [_item(["recipients", 2], "invalid_type", "object")]


def test_nested_fields_share_the_parent_issue_list_and_prefix_their_paths() -> None:
    parent = Fields({})
    child = Fields({"dob": 5}, parent.issues, ("recipients", 1))
    child.text("dob")
    assert child.issues is parent.issues
    assert parent.issues == [_item(["recipients", 1, "dob"], "invalid_type", "string")]


def test_done_raises_a_400_carrying_every_issue_and_is_silent_without_any() -> None:
    fields = Fields({"a": 1, "b": 2})
    fields.done()
    fields.text("a")
    fields.text("b")
    with pytest.raises(Reject) as caught:
        fields.done()
    assert caught.value.status == 400
    assert caught.value.message == [
        _item(["a"], "invalid_type", "string"),
        _item(["b"], "invalid_type", "string"),
    ]


# -- Fields: presence and null -------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "required", "nullable", "issues"),
    [
        ({}, False, False, []),
        ({}, True, False, [_item(["k"], "invalid_type", "string")]),
        ({}, True, True, [_item(["k"], "invalid_type", "string")]),
        ({"k": None}, False, False, [_item(["k"], "invalid_type", "string")]),
        ({"k": None}, True, False, [_item(["k"], "invalid_type", "string")]),
        ({"k": None}, False, True, []),
        ({"k": None}, True, True, []),
    ],
)
def test_absent_and_null(
    body: dict[str, Any], required: bool, nullable: bool, issues: list[Any]
) -> None:
    """An optional field may be left out; null only where the field is nullable."""
    fields = Fields(body)
    assert fields.text("k", required=required, nullable=nullable) is None
    assert fields.issues == issues


@pytest.mark.parametrize(
    ("call", "value", "expected"),
    [
        ("text", 5, "string"),
        ("text", True, "string"),
        ("flag", "true", "boolean"),
        ("flag", 1, "boolean"),
        ("flag", 0, "boolean"),
        ("number", "5", "number"),
        ("number", True, "number"),
        ("number", False, "number"),
        ("array", {"a": 1}, "array"),
        ("array", "ab", "array"),
        ("string_map", ["a"], "object"),
        ("string_map", "a", "object"),
    ],
)
def test_wrong_types_are_invalid_type_naming_the_expected_type(
    call: str, value: Any, expected: str
) -> None:
    """A JSON boolean is not a number (though Python's bool is an int)."""
    fields = Fields({"k": value})
    assert getattr(fields, call)("k") is None
    assert fields.issues == [_item(["k"], "invalid_type", expected)]


@pytest.mark.parametrize(
    ("call", "value"),
    [
        ("text", "hi"),
        ("text", ""),
        ("flag", True),
        ("flag", False),
        ("number", 0),
        ("number", 2.5),
        ("array", []),
        ("array", [1, "a"]),
        ("string_map", {}),
        ("string_map", {"a": "b"}),
    ],
)
def test_right_types_come_back_unchanged(call: str, value: Any) -> None:
    fields = Fields({"k": value})
    assert getattr(fields, call)("k") == value
    assert type(getattr(fields, call)("k")) is type(value)
    assert fields.issues == []


@pytest.mark.parametrize("call", ["flag", "number", "array", "string_map", "date", "when"])
def test_every_kind_may_be_left_out_unless_required(call: str) -> None:
    fields = Fields({})
    assert getattr(fields, call)("k") is None
    assert fields.issues == []


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        ("number", "number"),
        ("array", "array"),
        ("date", "string"),
        ("when", "string"),
        ("nhs_number", "string"),
    ],
)
def test_a_required_field_left_out_is_invalid_type(call: str, expected: str) -> None:
    fields = Fields({})
    assert getattr(fields, call)("k", required=True) is None
    assert fields.issues == [_item(["k"], "invalid_type", expected)]


@pytest.mark.parametrize("call", ["flag", "number", "array", "string_map"])
def test_null_is_refused_where_the_field_is_not_nullable(call: str) -> None:
    fields = Fields({"k": None})
    assert getattr(fields, call)("k") is None
    assert [item["code"] for item in fields.issues] == ["invalid_type"]


# -- Fields: text rules --------------------------------------------------------------------


def test_enum_issue_lists_every_choice_quoted() -> None:
    fields = Fields({"k": "fax"})
    assert fields.text("k", choices=("sms", "email")) is None
    assert fields.issues == [_item(["k"], "invalid_enum_value", "'sms' | 'email'")]
    assert Fields({"k": "sms"}).text("k", choices=("sms", "email")) == "sms"


def test_enum_check_comes_first_one_issue_per_field() -> None:
    fields = Fields({"k": ""})
    assert fields.text("k", choices=("1",), digits=True, nonempty=True) is None
    assert fields.issues == [_item(["k"], "invalid_enum_value", "'1'")]


@pytest.mark.parametrize("value", ["", "12a", " 12", "12 ", "-1", "1.5", "501\n", "٥٠١", "²"])
def test_digits_rule_is_heros_ascii_pattern(value: str) -> None:
    """Hero's ``^\\d+$`` is a JavaScript pattern: ASCII digits only, no trailing newline."""
    fields = Fields({"k": value})
    assert fields.text("k", digits=True) is None
    assert fields.issues == [_item(["k"], "invalid_string", r"^\d+$")]


def test_digits_rule_takes_digits() -> None:
    fields = Fields({"k": "0123456789"})
    assert fields.text("k", digits=True) == "0123456789"
    assert fields.issues == []


def test_nonempty_rule() -> None:
    fields = Fields({"k": "", "j": " "})
    assert fields.text("k", nonempty=True) is None
    assert fields.text("j", nonempty=True) == " "
    assert fields.issues == [_item(["k"], "too_small", "non-empty string")]


# -- Fields: numbers and arrays ------------------------------------------------------------


@pytest.mark.parametrize(
    ("minimum", "value", "expected"),
    [(1, 0, ">= 1"), (1, 0.5, ">= 1"), (1, -3, ">= 1"), (0.5, 0.25, ">= 0.5"), (0, -1, ">= 0")],
)
def test_number_below_its_minimum_is_too_small(minimum: float, value: float, expected: str) -> None:
    fields = Fields({"k": value})
    assert fields.number("k", minimum=minimum) is None
    assert fields.issues == [_item(["k"], "too_small", expected)]


@pytest.mark.parametrize(("minimum", "value"), [(1, 1), (1, 1.0), (1, 7), (0, 0), (None, -5)])
def test_number_at_or_above_its_minimum_is_taken(minimum: float | None, value: float) -> None:
    fields = Fields({"k": value})
    assert fields.number("k", minimum=minimum) == value
    assert fields.issues == []


def test_array_min_items() -> None:
    fields = Fields({"short": [1], "ok": [1, 2], "none": []})
    assert fields.array("short", min_items=2) is None
    assert fields.array("ok", min_items=2) == [1, 2]
    assert fields.array("none") == []
    assert fields.issues == [_item(["short"], "too_small", ">= 2 items")]


# -- Fields: dates, date-times, NHS numbers, string maps -----------------------------------


def test_date_field() -> None:
    fields = Fields({"ok": "2025-06-16", "bad": "2025-02-30", "num": 20250616, "nul": None})
    assert fields.date("ok") == dt.date(2025, 6, 16)
    assert fields.date("bad") is None
    assert fields.date("num") is None
    assert fields.date("nul", nullable=True) is None
    assert fields.issues == [
        _item(["bad"], "invalid_date", "ISO 8601 date (YYYY-MM-DD)"),
        _item(["num"], "invalid_type", "string"),
    ]


def test_date_field_null_where_not_nullable() -> None:
    fields = Fields({"k": None})
    assert fields.date("k", required=True) is None
    assert fields.issues == [_item(["k"], "invalid_type", "string")]


def test_when_field() -> None:
    fields = Fields(
        {"naive": "2025-06-16T09:30", "day": "2025-06-16", "bad": "2025-06-16T9:30", "nul": None}
    )
    assert fields.when("naive") == dt.datetime(2025, 6, 16, 9, 30, tzinfo=UTC)
    assert fields.when("day") == dt.datetime(2025, 6, 16, tzinfo=UTC)
    assert fields.when("bad") is None
    assert fields.when("nul", required=True, nullable=True) is None
    assert fields.issues == [_item(["bad"], "invalid_date", "ISO 8601 date-time")]


def test_when_field_with_time_required_refuses_a_bare_date() -> None:
    fields = Fields({"day": "2025-06-16", "full": "2025-06-16T00:00:00Z"})
    fields.when("day", time_required=True)
    assert fields.when("full", time_required=True) == dt.datetime(2025, 6, 16, tzinfo=UTC)
    assert fields.issues == [_item(["day"], "invalid_date", "ISO 8601 date-time")]


def test_when_field_null_where_not_nullable() -> None:
    fields = Fields({"k": None})
    assert fields.when("k", required=True) is None
    assert fields.issues == [_item(["k"], "invalid_type", "string")]


def test_nhs_number_field() -> None:
    fields = Fields({"spaced": "943 476 5919", "bad": "9434765918", "num": 9434765919})
    assert fields.nhs_number("spaced") == NHS
    assert fields.nhs_number("bad") is None
    assert fields.nhs_number("num") is None
    assert fields.nhs_number("absent") is None
    assert fields.issues == [
        _item(["bad"], "custom", "valid NHS number (10 digits, mod-11 check digit)"),
        _item(["num"], "invalid_type", "string"),
    ]


def test_string_map_names_each_value_that_is_not_a_string() -> None:
    fields = Fields({"headers": {"ok": "1", "n": 2, "z": None}}, [], ("hook",))
    assert fields.string_map("headers") == {"ok": "1", "n": 2, "z": None}
    assert fields.issues == [
        _item(["hook", "headers", "n"], "invalid_type", "string"),
        _item(["hook", "headers", "z"], "invalid_type", "string"),
    ]


# -- the same rules on the wire -----------------------------------------------------------


async def test_booking_link_maximum_use_count_below_one_is_a_400(hero: Caller) -> None:
    body = {"appointment_type_id": "10", "location_id": "20", "maximum_use_count": 0}
    reply = await hero("POST", "/v1/booking_links", body)
    assert (reply.status, reply.body) == (
        400,
        {
            "error": True,
            "statusCode": 400,
            "message": [_item(["maximum_use_count"], "too_small", ">= 1")],
        },
    )
    ok = await hero("POST", "/v1/booking_links", {**body, "maximum_use_count": 1})
    assert ok.status == 200


async def test_webhook_header_values_must_be_strings(hero: Caller) -> None:
    body = {"event_type": "write-to-record.failed", "url": "http://127.0.0.1:9/hook"}
    reply = await hero("POST", "/v1/webhooks", {**body, "headers": {"X-Token": 5}})
    assert reply.status == 400
    assert reply.body["message"] == [_item(["headers", "X-Token"], "invalid_type", "string")]


@pytest.mark.parametrize("nhs_number", ["٩٤٣٤٧٦٥٩١٩", "943476591²", "9434765919\n"])
async def test_register_pds_refuses_non_ascii_digit_nhs_numbers(
    hero: Caller, nhs_number: str
) -> None:
    """Unicode digits are not an NHS number (and once crashed the fake with a 500)."""
    reply = await hero("POST", "/v1/patients/register_pds", {"nhs_number": nhs_number, "dob": DOB})
    assert reply.status == 400
    assert reply.body["message"] == [
        _item(["nhs_number"], "custom", "valid NHS number (10 digits, mod-11 check digit)")
    ]


@pytest.mark.parametrize("size", ["²", "٣", "1٣"])
async def test_a_page_size_of_non_ascii_digits_is_a_400_not_a_crash(
    hero: Caller, size: str
) -> None:
    reply = await hero("GET", "/v1/messages", params={"page_size": size})
    assert reply.status == 400
    assert reply.body["message"] == [
        {"code": "invalid_type", "expected": "integer", "path": ["page_size"]}
    ]
