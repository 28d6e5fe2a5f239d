"""A 2xx is a success whatever an unneeded part of its body looks like (issue 12).

Each test scripts Hero's answers with a transport double (``HeroClient(transport=...)``), so
the exact bytes and status reach the SDK: an Express ``OK`` in text/plain, a 204, an empty
page object. Nothing leaves the process.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from transport_support import ScriptedTransport

from hero_async import (
    Appointment,
    HeroClient,
    MalformedResponseError,
    NotFoundError,
    Page,
    PatientSummary,
    RawResponse,
)

API = "https://api.test"
Call = Callable[[HeroClient], Awaitable[Any]]


def _text(status: int, body: bytes, content_type: str = "text/plain") -> RawResponse:
    return RawResponse(status, {"content-type": content_type}, body)


def _json(body: bytes, status: int = 200) -> RawResponse:
    return RawResponse(status, {"content-type": "application/json"}, body)


async def _run(call: Call, *answers: RawResponse | Exception) -> tuple[Any, ScriptedTransport]:
    transport = ScriptedTransport(*answers)
    async with HeroClient("k", "1001", base_url=API, transport=transport, max_retries=0) as hero:
        result = await call(hero)
    return result, transport


# --- operations documented with no body -----------------------------------------------------

NO_BODY: list[tuple[str, Call, str, str]] = [
    (
        "appointments.cancel",
        lambda h: h.appointments.cancel("300", suppress_mail=True),
        "PATCH",
        "/v1/appointments/300/cancel",
    ),
    (
        "batch_messages.send",
        lambda h: h.batch_messages.send("b-77"),
        "PATCH",
        "/v1/batch_message/b-77/send",
    ),
    ("webhooks.delete", lambda h: h.webhooks.delete("wh_1"), "DELETE", "/v1/webhooks/wh_1"),
]
NO_BODY_IDS = [name for name, *_ in NO_BODY]

UNREADABLE_2XX = [
    _text(200, b"OK"),  # Express's res.sendStatus(200)
    _text(200, b"OK", "application/json"),  # the same, mislabelled
    _text(201, b"Created"),
    _text(202, b"<html><body>Accepted</body></html>", "text/html"),
    _text(204, b""),
    _json(b"[]"),
    _json(b'"done"'),
    _json(b"null"),
]


@pytest.mark.parametrize(("name", "call", "method", "path"), NO_BODY, ids=NO_BODY_IDS)
@pytest.mark.parametrize("answer", UNREADABLE_2XX, ids=lambda r: f"{r.status}-{r.body[:8]!r}")
async def test_a_no_body_operation_succeeds_on_any_2xx(
    name: str, call: Call, method: str, path: str, answer: RawResponse
) -> None:
    """Hero has acted: the call returns None, sent exactly once (an error would invite a
    resend, and a resent batch send is a second mass send)."""
    result, transport = await _run(call, answer)
    assert result is None
    assert [sent[:2] for sent in transport.sent] == [(method, API + path)]


@pytest.mark.parametrize(("name", "call", "method", "path"), NO_BODY, ids=NO_BODY_IDS)
async def test_a_no_body_operation_succeeds_when_its_2xx_body_is_too_large(
    name: str, call: Call, method: str, path: str
) -> None:
    """The transport refuses an oversized 2xx body (MalformedResponseError, status 200)."""
    oversized = MalformedResponseError("response larger than allowed", status=200, body="")
    result, transport = await _run(call, oversized)
    assert result is None
    assert len(transport.sent) == 1


@pytest.mark.parametrize(("name", "call", "method", "path"), NO_BODY, ids=NO_BODY_IDS)
async def test_a_no_body_operation_still_fails_on_an_error_status(
    name: str, call: Call, method: str, path: str
) -> None:
    """Only 2xx answers are forgiven: a 404 with a text body is still NotFoundError."""
    with pytest.raises(NotFoundError) as caught:
        await _run(call, _text(404, b"Not Found"))
    assert (caught.value.method, caught.value.path) == (method, path)


async def test_cancel_still_returns_the_appointment_when_hero_sends_one() -> None:
    result, _ = await _run(
        lambda h: h.appointments.cancel("300"), _json(b'{"id": "300", "can_be_cancelled": false}')
    )
    assert isinstance(result, Appointment)
    assert result.id == "300"
    assert result.can_be_cancelled is False


async def test_an_operation_that_answers_data_still_refuses_a_text_body() -> None:
    """The tolerance is for answers nobody reads: ``get`` needs the batch, so ``OK`` fails."""
    with pytest.raises(MalformedResponseError) as caught:
        await _run(lambda h: h.batch_messages.get("b-77"), _text(200, b"OK"))
    assert (caught.value.method, caught.value.path) == ("GET", "/v1/batch_message/b-77")


# --- lists answered without their "data" ------------------------------------------------------

LISTS: list[tuple[str, Call]] = [
    ("locations.list", lambda h: h.locations.list()),
    ("messages.list", lambda h: h.messages.list()),
    ("batch_messages.list", lambda h: h.batch_messages.list()),
    ("batch_messages.recipients", lambda h: h.batch_messages.recipients("b-77")),
    ("batch_messages.messages", lambda h: h.batch_messages.messages("b-77")),
    ("patients.attachments", lambda h: h.patients.attachments("156")),
    ("slots.list", lambda h: h.slots.list()),
    ("webhooks.list", lambda h: h.webhooks.list()),
]


@pytest.mark.parametrize(("name", "call"), LISTS, ids=[name for name, _ in LISTS])
@pytest.mark.parametrize("body", [b"{}", b'{"count": 0}', b'{"message": "nothing here"}'])
async def test_a_list_answered_without_data_is_an_empty_page(
    name: str, call: Call, body: bytes
) -> None:
    """The description does not require ``data`` on these lists: ``{}`` is a valid, empty page."""
    page, _ = await _run(call, _json(body))
    assert isinstance(page, Page)
    assert page.data == ()


async def test_iterating_a_list_answered_without_data_yields_nothing_after_one_request() -> None:
    async def walk(hero: HeroClient) -> list[Any]:
        return [slot async for slot in hero.slots.iterate(page_size=10)]

    slots, transport = await _run(walk, _json(b"{}"))
    assert slots == []
    assert len(transport.sent) == 1


async def test_a_single_object_where_a_list_was_expected_is_still_unreadable() -> None:
    """An object with an ``id`` is one record (the bare batch of §14.13), never a page."""
    batch = b'{"id": "b-77", "name": "Flu", "status": "CREATED"}'
    with pytest.raises(MalformedResponseError, match="'data' list"):
        await _run(lambda h: h.batch_messages.list(), _json(batch))


# --- free-form lookup items -------------------------------------------------------------------


async def test_lookup_reads_a_description_valid_page_of_free_form_items() -> None:
    """``GET /v1/patients`` items are free-form objects: ``{}`` is valid and has no id."""
    page, transport = await _run(
        lambda h: h.patients.lookup(field="emis_id", search="E1"),
        _json(b'{"data": [{}, {"id": 7, "first_name": "Jane", "mystery": [1]}], "count": 0}'),
    )
    assert page.count == 0
    assert [type(p) for p in page.data] == [PatientSummary, PatientSummary]
    assert [p.id for p in page.data] == [None, "7"]
    assert page.data[1].first_name == "Jane"
    assert page.data[1].raw["mystery"] == [1]
    assert transport.sent[0][:2] == ("GET", f"{API}/v1/patients")
