"""HeroClient(transport=...): the I/O seam is one small protocol a test can replace."""

from __future__ import annotations

from typing import Any

import pytest
from transport_support import ScriptedTransport

from hero_async import (
    ClientClosedError,
    HeroClient,
    MalformedResponseError,
    OutcomeUnknownError,
    RawResponse,
    ServerError,
    Timeouts,
    TransportError,
    ValidationError,
)

API = "https://api.test"


async def _no_sleep(seconds: float) -> None:
    pass


def _ok(body: bytes) -> RawResponse:
    return RawResponse(200, {"content-type": "application/json"}, body)


async def test_requests_go_through_the_injected_transport_with_headers_and_timeouts() -> None:
    transport = ScriptedTransport(_ok(b'{"message_id": "m-1"}'))
    async with HeroClient("k-1", "1001", base_url=API, transport=transport) as hero:
        view = hero.practice_group("1002").with_options(timeout=2.5, connect_timeout=1.0)
        sent = await view.messages.send(patient_id="7", message_type="sms", message_string="Hi")
    assert sent.message_id == "m-1"
    ((method, url, headers, data, timeouts),) = transport.sent
    assert (method, url) == ("POST", f"{API}/v1/messages/send")
    assert headers["x-api-key"] == "k-1"
    assert headers["x-practice-group-id"] == "1002"
    assert data is not None
    assert b'"patient_id"' in data
    assert timeouts == Timeouts(2.5, 1.0)
    assert transport.closed is False  # the caller owns a transport it passed in


async def test_a_transport_cannot_change_the_headers_of_later_requests() -> None:
    """A practice group's headers are made once and shared by its requests: read-only, so a
    transport that edits them cannot send a later request to another group or with another
    key."""
    answer = b'{"message_id": "m-1"}'
    transport = ScriptedTransport(_ok(answer), _ok(answer))
    async with HeroClient("k-1", "1001", base_url=API, transport=transport) as hero:
        for _ in range(2):
            await hero.messages.send(patient_id="7", message_type="sms", message_string="Hi")
            headers: Any = transport.sent[-1][2]
            with pytest.raises(TypeError):
                headers["x-practice-group-id"] = "1002"
            assert dict(headers) == {
                "x-api-key": "k-1",
                "x-practice-group-id": "1001",
                "content-type": "application/json",
                "accept": "application/json",
                "user-agent": headers["user-agent"],
            }


async def test_a_get_is_retried_on_503_through_the_transport() -> None:
    transport = ScriptedTransport(RawResponse(503, {}, b""), _ok(b'{"id": "1001"}'))
    async with HeroClient("k", "1001", base_url=API, transport=transport, sleep=_no_sleep) as hero:
        assert await hero.request("GET", "/v1/me") == {"id": "1001"}
    assert len(transport.sent) == 2


async def test_a_post_that_may_have_arrived_is_outcome_unknown_not_resent() -> None:
    transport = ScriptedTransport(TransportError("reset", reached_server=True))
    async with HeroClient("k", "1001", base_url=API, transport=transport, sleep=_no_sleep) as hero:
        with pytest.raises(OutcomeUnknownError) as caught:
            await hero.request("POST", "/v1/messages/send", json={})
    assert len(transport.sent) == 1
    assert caught.value.practice_group_id == "1001"


async def test_a_post_5xx_is_never_resent() -> None:
    transport = ScriptedTransport(RawResponse(500, {}, b""))
    async with HeroClient("k", "1001", base_url=API, transport=transport, sleep=_no_sleep) as hero:
        with pytest.raises(OutcomeUnknownError) as caught:
            await hero.request("POST", "/v1/booking_links", json={})
    assert isinstance(caught.value.__cause__, ServerError)
    assert len(transport.sent) == 1


async def test_malformed_answer_names_method_path_and_group() -> None:
    transport = ScriptedTransport(_ok(b"<html>"))
    async with HeroClient("k", "1001", base_url=API, transport=transport) as hero:
        with pytest.raises(MalformedResponseError) as caught:
            await hero.practice_group("1003").request("GET", "/v1/me")
    error = caught.value
    assert (error.method, error.path, error.practice_group_id) == ("GET", "/v1/me", "1003")


def test_session_and_transport_together_are_refused() -> None:
    session: Any = object()  # never used: the arguments are refused first
    with pytest.raises(ValidationError, match="session"):
        HeroClient("k", "1001", base_url=API, transport=ScriptedTransport(), session=session)


async def test_use_after_close_is_refused_before_the_transport_is_touched() -> None:
    transport = ScriptedTransport()
    hero = HeroClient("k", "1001", base_url=API, transport=transport)
    async with hero:
        pass
    with pytest.raises(ClientClosedError, match="closed"):
        await hero.request("GET", "/v1/me")
    assert transport.sent == []


async def test_a_wrong_shaped_resource_answer_names_method_path_and_group() -> None:
    transport = ScriptedTransport(_ok(b"[1, 2]"))
    async with HeroClient("k", "1001", base_url=API, transport=transport) as hero:
        with pytest.raises(MalformedResponseError) as caught:
            await hero.practice_group("1004").messages.send(
                patient_id="7", message_type="sms", message_string="Hi"
            )
    error = caught.value
    assert (error.method, error.path, error.practice_group_id) == (
        "POST",
        "/v1/messages/send",
        "1004",
    )


@pytest.mark.parametrize("answer", [b"not json", b'{"expires_in": 1800}'])
async def test_an_unreadable_token_answer_names_the_token_request(answer: bytes) -> None:
    transport = ScriptedTransport(_ok(answer))
    async with HeroClient("k", "1001", base_url=API, transport=transport) as hero:
        with pytest.raises(MalformedResponseError) as caught:
            await hero.practice_group("1002").mint_access_token()
    error = caught.value
    assert (error.method, error.path, error.practice_group_id) == (
        "POST",
        "/v1/access_token",
        "1002",
    )
    assert error.body == ""  # the answer may be the token itself
