"""The fake's request pipeline, answer by answer: auth bodies, its own 429, body reading,
fault answers and what the request log keeps (issue 16: the _dispatch.py mutation survivors).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from fakehero_support import HOME, KEY, Caller, Reply

from hero_async.testing import REQUEST_ID_HEADER, FakeHero, Fault

SEND = "/v1/messages/send"
MESSAGE = {"patient_id": "501", "message_type": "sms", "message_string": "hi"}
NO_KEY = "Unauthorised: missing or unknown x-api-key"
NO_GROUP = "Unauthorised: missing x-practice-group-id"
NO_NETWORK = "Unauthorised: practice group shares no network with the key's practice group"


def hero_error(status: int, message: Any) -> dict[str, Any]:
    return {"error": True, "statusCode": status, "message": message}


def body_issue(expected: str) -> dict[str, Any]:
    """The 400 Hero gives for a request body it cannot use at all (path [] = the body)."""
    return hero_error(400, [{"code": "invalid_type", "expected": expected, "path": []}])


async def raw(hero: Caller, method: str, path: str, data: bytes, content_type: str | None) -> Reply:
    """One request with a body sent byte for byte under ``content_type``."""
    headers = {"x-api-key": KEY, "x-practice-group-id": HOME}
    if content_type is not None:
        headers["Content-Type"] = content_type
    async with hero.session.request(method, path, data=data, headers=headers) as response:
        return Reply(response.status, await response.text(), response.headers)


# -- authentication and authorisation ------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "group", "message"),
    [
        (None, HOME, NO_KEY),
        ("", HOME, NO_KEY),
        ("no-such-key", HOME, NO_KEY),
        ("no-such-key", None, NO_KEY),  # the key is judged first
        ("no-such-key", "9999", NO_KEY),
        (KEY, None, NO_GROUP),
        (KEY, "", NO_GROUP),
    ],
    ids=[
        "missing-key",
        "empty-key",
        "unknown-key",
        "unknown-key-no-group",
        "unknown-key-unknown-group",
        "missing-group",
        "empty-group",
    ],
)
async def test_401_bodies_say_which_header_failed(
    fake: FakeHero, hero: Caller, key: str | None, group: str | None, message: str
) -> None:
    reply = await hero("GET", "/v1/me", key=key, group=group)
    assert (reply.status, reply.body) == (401, hero_error(401, message))
    assert reply.headers["Content-Type"].startswith("application/json")
    record = fake.requests[-1]
    assert (record.status, record.api_key_ok, record.fault) == (401, False, None)


async def test_an_empty_key_header_is_missing_even_if_registered(
    fake: FakeHero, hero: Caller
) -> None:
    """An empty x-api-key is no key at all: it never matches a key, not even one named ""."""
    fake.add_api_key("", practice_group_id=HOME)
    reply = await hero("GET", "/v1/me", key="")
    assert (reply.status, reply.body) == (401, hero_error(401, NO_KEY))


@pytest.mark.parametrize(
    ("key", "group", "path", "message"),
    [
        (KEY, "9999", "/v1/me", "Unauthorised: unknown practice group"),
        (KEY, "2001", "/v1/me", NO_NETWORK),
        ("key-2001", HOME, "/v1/me", NO_NETWORK),
        ("links-only", HOME, SEND, "Unauthorised: key lacks the messaging scope"),
        ("links-only", HOME, "/v1/slots", "Unauthorised: key lacks the booking scope"),
        (KEY, "9999", "/v1/nowhere", "Unauthorised: unknown practice group"),
    ],
    ids=["unknown-group", "cross-org", "cross-org-back", "scope", "scope-2", "unknown-route"],
)
async def test_403_bodies_say_why(
    fake: FakeHero, hero: Caller, key: str, group: str, path: str, message: str
) -> None:
    method = "POST" if path == SEND else "GET"
    body = MESSAGE if path == SEND else None
    reply = await hero(method, path, body, key=key, group=group)
    assert (reply.status, reply.body) == (403, hero_error(403, message))
    assert fake.requests[-1].api_key_ok is False
    assert fake.messages == []


async def test_a_key_with_the_scope_and_an_unscoped_route_pass(hero: Caller) -> None:
    """links-only may call its own routes and the unscoped ones, in its home and network."""
    assert (await hero("GET", "/v1/locations", key="links-only")).status == 200
    assert (await hero("GET", "/v1/webhooks", key="links-only")).status == 200
    me = await hero.ok("GET", "/v1/me", key="links-only", group="1002")
    assert me["id"] == "1002"


async def test_an_unknown_route_is_a_404_after_auth(fake: FakeHero, hero: Caller) -> None:
    """Any known key gets Hero's 404 body, whatever its scopes; no key gets the 401."""
    for key in (KEY, "links-only"):
        reply = await hero("GET", "/v1/nowhere", key=key)
        assert (reply.status, reply.body) == (404, hero_error(404, "Not found"))
        assert fake.requests[-1].api_key_ok is True
    assert (await hero("GET", "/v1/nowhere", key=None)).status == 401
    assert (await hero("GET", "/v1/nowhere", group=None)).status == 401


async def test_a_handler_refusal_keeps_its_status_and_message(fake: FakeHero, hero: Caller) -> None:
    reply = await hero("POST", SEND, {**MESSAGE, "patient_id": "999"})
    assert (reply.status, reply.body) == (404, hero_error(404, "Patient 999 not found"))
    record = fake.requests[-1]
    assert (record.status, record.api_key_ok, record.fault) == (404, True, None)


async def test_a_call_acts_for_the_practice_group_in_the_header(
    fake: FakeHero, hero: Caller
) -> None:
    await hero.ok("POST", SEND, {**MESSAGE, "patient_id": "601"}, group="1002")
    assert [m.practice_group_id for m in fake.messages] == ["1002"]


# -- the fake's own rate limit --------------------------------------------------------------


async def test_rate_limit_429_body_headers_and_record(fake: FakeHero, hero: Caller) -> None:
    fake.set_rate_limit(per_second=0.5)
    assert (await hero("POST", SEND, MESSAGE)).status == 200
    reply = await hero("POST", SEND, MESSAGE)
    assert (reply.status, reply.body) == (429, hero_error(429, "Too Many Requests"))
    assert reply.headers["Retry-After"] == "2"
    assert reply.headers[REQUEST_ID_HEADER] == fake.requests[-1].request_id
    record = fake.requests[-1]
    assert (record.status, record.api_key_ok, record.fault) == (429, True, "rate_limit")
    assert record.body == MESSAGE
    assert len(fake.messages) == 1


async def test_rate_limit_counts_per_key(fake: FakeHero, hero: Caller) -> None:
    fake.set_rate_limit(per_second=1)
    assert (await hero("GET", "/v1/me")).status == 200
    assert (await hero("GET", "/v1/me", key="key-2001", group="2001")).status == 200
    assert (await hero("GET", "/v1/me", key="links-only")).status == 200
    assert (await hero("GET", "/v1/me")).status == 429


async def test_refused_requests_spend_no_rate_limit_token(fake: FakeHero, hero: Caller) -> None:
    """Only requests Hero would accept count: 401s and 403s leave the bucket full."""
    fake.set_rate_limit(per_second=1)
    refused = [
        await hero("GET", "/v1/me", key=None),
        await hero("GET", "/v1/me", key="no-such-key"),
        await hero("GET", "/v1/me", group=None),
        await hero("GET", "/v1/me", group="2001"),
        await hero("GET", "/v1/slots", key="links-only"),
    ]
    assert [r.status for r in refused] == [401, 401, 401, 403, 403]
    assert (await hero("GET", "/v1/me")).status == 200


async def test_without_a_rate_limit_nothing_is_throttled(fake: FakeHero, hero: Caller) -> None:
    replies = [await hero("GET", "/v1/me") for _ in range(12)]
    assert [r.status for r in replies] == [200] * 12
    assert all("Retry-After" not in r.headers for r in replies)
    assert {r.fault for r in fake.requests} == {None}


# -- reading the request body ---------------------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
async def test_bodies_are_read_for_methods_that_carry_one(
    fake: FakeHero, hero: Caller, method: str
) -> None:
    reply = await hero(method, "/v1/nowhere", {"a": 1})
    assert reply.status == 404
    assert fake.requests[-1].body == {"a": 1}


async def test_a_get_body_is_ignored(fake: FakeHero, hero: Caller) -> None:
    reply = await raw(hero, "GET", "/v1/me", b"{not json", "text/plain")
    assert reply.status == 200
    assert fake.requests[-1].body is None


@pytest.mark.parametrize("data", [b"", b"  \n\t ", b"null"], ids=["empty", "whitespace", "null"])
async def test_an_absent_required_body_is_a_400_naming_the_body(
    fake: FakeHero, hero: Caller, data: bytes
) -> None:
    reply = await raw(hero, "POST", SEND, data, "application/json")
    assert (reply.status, reply.body) == (400, body_issue("object"))
    assert fake.requests[-1].body is None
    assert fake.messages == []


async def test_no_body_at_all_is_a_400_where_one_is_required(fake: FakeHero, hero: Caller) -> None:
    reply = await hero("PATCH", "/v1/me")
    assert (reply.status, reply.body) == (400, body_issue("object"))
    assert fake.requests[-1].body is None


async def test_an_optional_body_may_be_left_out(fake: FakeHero, hero: Caller) -> None:
    """POST /v1/access_token takes no body: empty and whitespace bodies are fine too."""
    assert (await hero("POST", "/v1/access_token")).status == 200
    assert (await raw(hero, "POST", "/v1/access_token", b"  ", "text/plain")).status == 200
    assert [r.body for r in fake.requests] == [None, None]


async def test_a_body_under_another_content_type_is_refused_unread(
    fake: FakeHero, hero: Caller
) -> None:
    data = json.dumps(MESSAGE).encode()
    reply = await raw(hero, "POST", SEND, data, "text/plain")
    assert (reply.status, reply.body) == (400, body_issue("application/json"))
    assert fake.requests[-1].body == data.decode()
    assert fake.messages == []


async def test_json_with_a_charset_parameter_is_json(fake: FakeHero, hero: Caller) -> None:
    data = json.dumps(MESSAGE).encode()
    reply = await raw(hero, "POST", SEND, data, "application/json; charset=utf-8")
    assert reply.status == 200
    assert fake.requests[-1].body == MESSAGE


@pytest.mark.parametrize(
    ("data", "logged"),
    [
        (b'{"patient_id": "501",', '{"patient_id": "501",'),
        (b'{"message_string": "\xff"}', '{"message_string": "\ufffd"}'),
    ],
    ids=["truncated", "not-utf-8"],
)
async def test_unparseable_json_is_a_400_and_logged_as_text(
    fake: FakeHero, hero: Caller, data: bytes, logged: str
) -> None:
    reply = await raw(hero, "POST", SEND, data, "application/json")
    assert (reply.status, reply.body) == (400, body_issue("object"))
    record = fake.requests[-1]
    assert (record.body, record.status, record.api_key_ok) == (logged, 400, True)


async def test_undecodable_bytes_under_another_type_are_replaced(
    fake: FakeHero, hero: Caller
) -> None:
    reply = await raw(hero, "POST", SEND, b"hi \xff", "text/plain")
    assert (reply.status, reply.body) == (400, body_issue("application/json"))
    assert fake.requests[-1].body == "hi \ufffd"


async def test_a_bad_body_to_an_unknown_route_is_still_a_404(fake: FakeHero, hero: Caller) -> None:
    reply = await raw(hero, "POST", "/v1/nowhere", b"{", "application/json")
    assert (reply.status, reply.body) == (404, hero_error(404, "Not found"))


# -- fault answers --------------------------------------------------------------------------


@pytest.mark.parametrize("status", [502, 503, 504])
async def test_gateway_faults_answer_in_html(fake: FakeHero, hero: Caller, status: int) -> None:
    fake.add_fault(Fault(path="/v1/me", status=status))
    reply = await hero("GET", "/v1/me")
    assert reply.status == status
    assert reply.headers["Content-Type"].startswith("text/html")
    assert reply.text == f"<html><body><h1>{status}</h1>upstream unavailable</body></html>"
    assert "Retry-After" not in reply.headers
    assert reply.headers[REQUEST_ID_HEADER] == fake.requests[-1].request_id


@pytest.mark.parametrize(
    ("status", "message"),
    [(500, "Unknown error"), (501, "Unknown error"), (505, "Unknown error"), (429, None)],
)
async def test_other_status_faults_answer_hero_json(
    fake: FakeHero, hero: Caller, status: int, message: str | None
) -> None:
    fake.add_fault(Fault(path="/v1/me", status=status))
    reply = await hero("GET", "/v1/me")
    assert reply.status == status
    assert reply.headers["Content-Type"].startswith("application/json")
    assert reply.body == hero_error(status, message or "Too Many Requests")
    assert "Retry-After" not in reply.headers


@pytest.mark.parametrize(("after", "header"), [(2.5, "2.5"), (3.0, "3"), (0, "0")])
async def test_a_status_fault_carries_retry_after_as_given(
    fake: FakeHero, hero: Caller, after: float, header: str
) -> None:
    fake.add_fault(Fault(path="/v1/me", status=429, retry_after=after))
    reply = await hero("GET", "/v1/me")
    assert (reply.status, reply.headers["Retry-After"]) == (429, header)
    assert reply.headers[REQUEST_ID_HEADER].startswith("fake-")


async def test_a_status_fault_acts_before_auth(fake: FakeHero, hero: Caller) -> None:
    """It stands in for a proxy: even a request without a key gets the fault's answer."""
    fake.set_rate_limit(per_second=1)
    fake.add_fault(Fault(path=SEND, status=500, times=2))
    assert (await hero("POST", SEND, MESSAGE, key=None)).status == 500
    assert (await hero("POST", SEND, MESSAGE)).status == 500
    record = fake.requests[-1]
    assert (record.status, record.api_key_ok, record.fault, record.body) == (
        500,
        False,
        "status",
        MESSAGE,
    )
    assert (await hero("POST", SEND, MESSAGE)).status == 200  # no token was spent
    assert len(fake.messages) == 1


async def test_a_latency_fault_answers_normally_and_is_named(fake: FakeHero, hero: Caller) -> None:
    fake.add_fault(Fault(path="/v1/me", latency=0.001))
    reply = await hero("GET", "/v1/me")
    assert (reply.status, reply.body["id"]) == (200, HOME)
    assert (fake.requests[-1].status, fake.requests[-1].fault) == (200, "latency")


async def test_malformed_json_is_the_first_half_of_the_real_body(
    fake: FakeHero, hero: Caller
) -> None:
    whole = (await hero("GET", "/v1/me")).text
    fake.add_fault(Fault(path="/v1/me", malformed_json=True))
    reply = await hero("GET", "/v1/me")
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("application/json")
    assert reply.text == whole[: len(whole) // 2]
    record = fake.requests[-1]
    assert (record.status, record.api_key_ok, record.fault) == (200, True, "malformed_json")


async def test_malformed_json_also_cuts_an_error_answer(fake: FakeHero, hero: Caller) -> None:
    whole = json.dumps(hero_error(401, NO_KEY))
    fake.add_fault(Fault(path="/v1/me", malformed_json=True))
    reply = await hero("GET", "/v1/me", key=None)
    assert (reply.status, reply.text) == (401, whole[: len(whole) // 2])
    assert fake.requests[-1].fault == "malformed_json"


async def test_drop_before_is_logged_as_status_0_without_auth(fake: FakeHero, hero: Caller) -> None:
    fake.add_fault(Fault(method="POST", path=SEND, drop="before"))
    with pytest.raises(aiohttp.ClientConnectionError):
        await hero("POST", SEND, MESSAGE)
    record = fake.requests[-1]
    assert (record.status, record.api_key_ok, record.fault) == (0, False, "drop_before")
    assert record.body == MESSAGE
    assert fake.messages == []


async def test_drop_after_is_logged_as_status_0_with_the_effect_kept(
    fake: FakeHero, hero: Caller
) -> None:
    fake.add_fault(Fault(method="POST", path=SEND, drop="after"))
    with pytest.raises(aiohttp.ClientConnectionError):
        await hero("POST", SEND, MESSAGE)
    record = fake.requests[-1]
    assert (record.status, record.api_key_ok, record.fault) == (0, True, "drop_after")
    assert len(fake.messages) == 1


async def test_a_fault_for_another_request_leaves_this_one_alone(
    fake: FakeHero, hero: Caller
) -> None:
    handle = fake.add_fault(Fault(method="POST", path=SEND, status=500))
    reply = await hero("GET", "/v1/me")
    assert reply.status == 200
    assert fake.requests[-1].fault is None
    assert (handle.hits, handle.active) == (0, True)


# -- the request log, request ids and concurrency ---------------------------------------------


async def test_request_ids_count_from_one_and_are_logged(fake: FakeHero, hero: Caller) -> None:
    replies = [
        await hero("GET", "/v1/me"),
        await hero("GET", "/v1/me", key=None),
        await hero("GET", "/v1/nowhere"),
    ]
    ids = [r.headers[REQUEST_ID_HEADER] for r in replies]
    assert ids == ["fake-00000001", "fake-00000002", "fake-00000003"]
    assert [r.request_id for r in fake.requests] == ids


async def test_a_record_holds_what_was_asked_and_answered(fake: FakeHero, hero: Caller) -> None:
    link = await hero.ok(
        "POST", "/v1/booking_links", {"appointment_type_id": "10", "location_id": "20"}
    )
    path = f"/v1/booking_links/{link['id']}"
    reply = await hero("GET", path, params={"x": "1"})
    record = fake.requests[-1]
    assert (record.method, record.path, record.route) == ("GET", path, "/v1/booking_links/{id}")
    assert (record.practice_group_id, dict(record.query), record.body) == (HOME, {"x": "1"}, None)
    assert (record.status, record.api_key_ok, record.fault) == (reply.status, True, None)
    assert record.request_id == reply.headers[REQUEST_ID_HEADER]
    await hero("GET", "/v1/nowhere/5", group=None)
    unknown = fake.requests[-1]
    assert (unknown.path, unknown.route, unknown.practice_group_id) == (
        "/v1/nowhere/5",
        "/v1/nowhere/5",
        None,
    )


async def test_requests_one_after_another_are_never_concurrent(
    fake: FakeHero, hero: Caller
) -> None:
    for _ in range(3):
        await hero("GET", "/v1/me")
    await hero("GET", "/v1/me", key=None)
    assert fake.max_concurrent_requests == 1


async def test_a_fault_named_by_route_template_fires_on_the_literal_path(
    fake: FakeHero, hero: Caller
) -> None:
    link = await hero.ok(
        "POST", "/v1/booking_links", {"appointment_type_id": "10", "location_id": "20"}
    )
    fake.add_fault(Fault(method="GET", path="/v1/booking_links/{id}", status=500))
    reply = await hero("GET", f"/v1/booking_links/{link['id']}")
    assert (reply.status, fake.requests[-1].fault) == (500, "status")


async def test_no_request_yet_means_no_concurrency(fake: FakeHero) -> None:
    assert fake.max_concurrent_requests == 0


async def test_requests_held_open_together_are_counted_together(
    fake: FakeHero, hero: Caller
) -> None:
    """Two requests whose bodies are still arriving are both in flight; earlier finished
    requests do not count. The bodies are released only once both are seen in flight."""
    await hero("GET", "/v1/me")
    release = asyncio.Event()

    async def slow_body() -> AsyncIterator[bytes]:
        yield b'{"a": '
        await release.wait()
        yield b"1}"

    async def post() -> int:
        headers = {
            "x-api-key": KEY,
            "x-practice-group-id": HOME,
            "Content-Type": "application/json",
        }
        async with hero.session.post("/v1/nowhere", data=slow_body(), headers=headers) as response:
            return response.status

    posts = [asyncio.create_task(post()) for _ in range(2)]
    async with asyncio.timeout(5):
        while fake.max_concurrent_requests < 2:
            await asyncio.sleep(0)  # yields to the server on this loop; no timed wait
    release.set()
    assert await asyncio.gather(*posts) == [404, 404]
    assert [r.body for r in fake.requests[-2:]] == [{"a": 1}, {"a": 1}]
    assert fake.max_concurrent_requests == 2


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/access_token"),
        ("PATCH", "/v1/appointments/8001/book"),
        ("PATCH", "/v1/appointments/8003/cancel"),
    ],
)
async def test_a_null_body_is_a_400_even_where_a_body_is_optional(
    fake: FakeHero, hero: Caller, method: str, path: str
) -> None:
    reply = await raw(hero, method, path, b"null", "application/json")
    assert (reply.status, reply.body) == (400, body_issue("object"))
