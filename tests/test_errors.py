"""Error mapping: error_from_response, what errors carry, odd bodies, and no secrets in errors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest

from hero_async import (
    APIError,
    AuthenticationError,
    BadRequestError,
    CrossOrganisationDeniedError,
    FieldError,
    HeroClient,
    HeroError,
    MalformedResponseError,
    NotFoundError,
    OutcomeUnknownError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    TransportError,
    ValidationError,
)
from hero_async._errors import error_from_response

if TYPE_CHECKING:
    from conftest import ClientFactory, FakeHero

API = "https://api.test"
API_KEY = "test-key-SECRET"

VALIDATION_BODY = {
    "error": True,
    "statusCode": 400,
    "message": [
        {"code": "invalid_string", "expected": "string", "path": ["nhs_number"]},
        {"code": "invalid_type", "expected": "date", "path": ["recipients", 0, "dob"]},
    ],
}


def _error(status: int, *, group: str = "1001", **kwargs: Any) -> APIError:
    defaults: dict[str, Any] = {
        "method": "GET",
        "path": "/v1/me",
        "practice_group_id": group,
        "home_practice_group_id": "1001",
        "body": None,
    }
    defaults.update(kwargs)
    return error_from_response(status=status, **defaults)


# --- error_from_response ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "group", "expected"),
    [
        (400, "1001", BadRequestError),
        (422, "1001", BadRequestError),
        (401, "1001", AuthenticationError),
        (401, "1002", AuthenticationError),
        (403, "1001", PermissionDeniedError),
        (403, "1002", CrossOrganisationDeniedError),
        (404, "1001", NotFoundError),
        (429, "1001", RateLimitError),
        (500, "1001", ServerError),
        (502, "1001", ServerError),
        (503, "1001", ServerError),
        (599, "1001", ServerError),
        (418, "1001", APIError),
        (409, "1001", APIError),
        (302, "1001", APIError),
    ],
)
def test_error_from_response_table(status: int, group: str, expected: type[APIError]) -> None:
    """Each status maps to its exception class (exactly, not just a subclass)."""
    error = _error(status, group=group)
    assert type(error) is expected
    assert isinstance(error, APIError)
    assert isinstance(error, HeroError)
    assert error.status == status


def test_own_group_403_is_not_cross_organisation() -> None:
    """A 403 for the key's own group is a plain PermissionDeniedError."""
    error = _error(403, group="1001")
    assert not isinstance(error, CrossOrganisationDeniedError)
    assert isinstance(_error(403, group="1002"), PermissionDeniedError)


def test_bad_request_field_errors_use_dotted_paths() -> None:
    """Hero's message[] items become FieldErrors with dotted paths, codes and expectations."""
    error = _error(400, body=VALIDATION_BODY)
    assert isinstance(error, BadRequestError)
    assert error.field_errors == (
        FieldError(path="nhs_number", code="invalid_string", expected="string"),
        FieldError(path="recipients.0.dob", code="invalid_type", expected="date"),
    )
    assert "nhs_number: invalid_string" in str(error)
    assert "recipients.0.dob: invalid_type" in str(error)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (None, ()),
        ("plain text", ()),
        ({"message": "Validation failed"}, ()),
        ({"message": ["not an object"]}, (FieldError(path="", message="not an object"),)),
        (
            {"message": [{"path": "dob", "message": "bad"}]},
            (FieldError(path="dob", message="bad"),),
        ),
        ({"message": [{}]}, (FieldError(path=""),)),
    ],
    ids=["none", "text", "string-message", "non-object-item", "string-path", "empty-item"],
)
def test_field_errors_tolerate_odd_bodies(body: Any, expected: tuple[FieldError, ...]) -> None:
    """field_errors never raises on bodies that differ from the documented shape."""
    error = _error(400, body=body)
    assert isinstance(error, BadRequestError)
    assert error.field_errors == expected
    str(error)


def test_rate_limit_error_carries_retry_after() -> None:
    """429 becomes RateLimitError with retry_after; other statuses ignore it."""
    error = _error(429, retry_after=12.5)
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 12.5
    assert _error(429).retry_after is None


def test_error_carries_request_context() -> None:
    """Every APIError keeps status, method, path, group, request id and body; str shows them."""
    error = _error(
        404,
        method="GET",
        path="/v1/patients/9",
        group="1002",
        request_id="req-123",
        body={"message": "No patient found"},
    )
    assert (error.status, error.method, error.path) == (404, "GET", "/v1/patients/9")
    assert (error.practice_group_id, error.request_id) == ("1002", "req-123")
    assert error.body == {"message": "No patient found"}
    text = str(error)
    for part in ("404", "NotFoundError", "GET /v1/patients/9", "1002", "req-123"):
        assert part in text
    # Hero's free text can echo patient data: it stays in .body, out of the message.
    assert "No patient" not in text


@pytest.mark.parametrize(
    "body", ["x" * 10_000, {"message": "y" * 10_000}], ids=["text-body", "json-message"]
)
def test_long_error_bodies_truncated_in_message(body: Any) -> None:
    """A huge error body shows at most 500 characters of it in the message."""
    error = _error(500, body=body)
    assert len(str(error)) < 700


# --- through the client -------------------------------------------------------------------


async def test_client_error_attributes(client: ClientFactory, api: FakeHero) -> None:
    """A 404 through the client carries status, x-request-id, group, method and path."""
    api.add(
        "GET",
        "/v1/patients/9",
        status=404,
        payload={"message": "No patient found"},
        headers={"x-request-id": "req-abc"},
    )
    hero = await client()
    with pytest.raises(NotFoundError) as info:
        await hero.practice_group("1002").patients.get("9")
    error = info.value
    assert error.status == 404
    assert error.request_id == "req-abc"
    assert error.practice_group_id == "1002"
    assert (error.method, error.path) == ("GET", "/v1/patients/9")
    assert error.body == {"message": "No patient found"}


async def test_request_id_falls_back_to_other_headers(client: ClientFactory, api: FakeHero) -> None:
    """Without x-request-id, x-amzn-requestid is reported; with none, request_id is None."""
    api.add("GET", "/v1/me", status=404, headers={"x-amzn-requestid": "amzn-1"})
    api.add("GET", "/v1/me", status=404)
    hero = await client()
    with pytest.raises(NotFoundError) as first:
        await hero.practice_group_info.me()
    with pytest.raises(NotFoundError) as second:
        await hero.practice_group_info.me()
    assert first.value.request_id == "amzn-1"
    assert second.value.request_id is None


async def test_client_validation_error_body_parsed(client: ClientFactory, api: FakeHero) -> None:
    """Hero's 400 body arrives as BadRequestError.field_errors with dotted paths."""
    api.add("POST", "/v1/patients/register_pds", status=400, payload=VALIDATION_BODY)
    hero = await client()
    with pytest.raises(BadRequestError) as info:
        await hero.patients.register_pds(nhs_number="943 476 5919", dob="1950-01-01")
    assert [f.path for f in info.value.field_errors] == ["nhs_number", "recipients.0.dob"]
    assert info.value.method == "POST"
    assert api.count() == 1


async def test_cross_org_403_through_client(client: ClientFactory, api: FakeHero) -> None:
    """A 403 acting for another group is CrossOrganisationDeniedError; for home, not."""
    api.add("GET", "/v1/me", status=403, payload={"message": "Unauthorised"}, repeat=True)
    hero = await client()
    with pytest.raises(CrossOrganisationDeniedError) as info:
        await hero.practice_group("1002").practice_group_info.me()
    assert info.value.practice_group_id == "1002"
    with pytest.raises(PermissionDeniedError) as home:
        await hero.practice_group_info.me()
    assert type(home.value) is PermissionDeniedError


async def test_html_error_page_does_not_crash(client: ClientFactory, api: FakeHero) -> None:
    """A proxy's HTML error page becomes an error whose body is the (truncated) text."""
    page = "<html><body>" + "<p>Bad gateway</p>" * 2000 + "</body></html>"
    api.add("GET", "/v1/me", status=404, body=page, content_type="text/html")
    hero = await client()
    with pytest.raises(NotFoundError) as info:
        await hero.practice_group_info.me()
    assert isinstance(info.value.body, str)
    assert info.value.body.startswith("<html>")
    assert len(info.value.body) <= 500
    assert len(str(info.value)) < 700


async def test_html_5xx_on_post_is_outcome_unknown(client: ClientFactory, api: FakeHero) -> None:
    """An HTML 502 on a POST still becomes OutcomeUnknownError, not a decoding crash."""
    api.add("POST", "/v1/messages/send", status=502, body="<html>502</html>")
    hero = await client()
    with pytest.raises(OutcomeUnknownError):
        await hero.messages.send(patient_id="156", message_type="hero", message_string="Hi")


async def test_non_utf8_error_body_does_not_crash(client: ClientFactory, api: FakeHero) -> None:
    """An error body that is not UTF-8 is decoded leniently."""
    api.add("GET", "/v1/me", status=404, body=b"\xff\xfe\x00bad")
    hero = await client()
    with pytest.raises(NotFoundError) as info:
        await hero.practice_group_info.me()
    assert isinstance(info.value.body, str)


@pytest.mark.parametrize(
    "body", ["<html>maintenance</html>", '{"id": "1001"', "\xff"], ids=["html", "cut", "bad-utf8"]
)
async def test_malformed_success_body(client: ClientFactory, api: FakeHero, body: str) -> None:
    """A 200 whose body is not JSON raises MalformedResponseError carrying the raw body."""
    raw = body.encode("latin-1")
    api.add("GET", "/v1/me", body=raw)
    hero = await client()
    with pytest.raises(MalformedResponseError) as info:
        await hero.practice_group_info.me()
    assert info.value.status == 200
    assert info.value.body == raw.decode("utf-8", "replace")
    assert api.count() == 1  # a bad body is not a reason to resend


async def test_wrong_shape_success_body(client: ClientFactory, api: FakeHero) -> None:
    """Valid JSON of the wrong shape raises MalformedResponseError naming the problem."""
    api.add("GET", "/v1/appointments/300", payload={"practitioner_id": "9"})  # no id
    hero = await client()
    with pytest.raises(MalformedResponseError, match="id"):
        await hero.appointments.get("300")


async def test_empty_success_body_is_none(client: ClientFactory, api: FakeHero) -> None:
    """An empty 200 body (as a DELETE may send) is accepted."""
    api.add("DELETE", "/v1/webhooks/wh-1", body="")
    hero = await client()
    assert await hero.webhooks.delete("wh-1") is None


# --- no secrets in errors -----------------------------------------------------------------

Scenario = Callable[["FakeHero", HeroClient], Awaitable[Any]]


async def _s_401(api: FakeHero, hero: HeroClient) -> Any:
    api.add("GET", "/v1/me", status=401, payload={"message": "Unauthorised"})
    return await hero.practice_group_info.me()


async def _s_403_cross(api: FakeHero, hero: HeroClient) -> Any:
    api.add("GET", "/v1/me", status=403, body="Forbidden")
    return await hero.practice_group("1002").practice_group_info.me()


async def _s_400(api: FakeHero, hero: HeroClient) -> Any:
    api.add("POST", "/v1/messages/send", status=400, payload=VALIDATION_BODY)
    return await hero.messages.send(patient_id="156", message_type="hero", message_string="x")


async def _s_500_get(api: FakeHero, hero: HeroClient) -> Any:
    api.add("GET", "/v1/locations", status=500, body="Unknown error", repeat=True)
    return await hero.locations.list()


async def _s_503_post(api: FakeHero, hero: HeroClient) -> Any:
    api.add("POST", "/v1/booking_links", status=503)
    return await hero.booking_links.create(appointment_type_id="1", location_id="5")


async def _s_disconnect_post(api: FakeHero, hero: HeroClient) -> Any:
    api.add("POST", "/v1/messages/send", exception=aiohttp.ServerDisconnectedError())
    return await hero.messages.send(patient_id="156", message_type="hero", message_string="x")


async def _s_timeout_get(api: FakeHero, hero: HeroClient) -> Any:
    api.add("GET", "/v1/me", exception=aiohttp.SocketTimeoutError("read"), repeat=True)
    return await hero.practice_group_info.me()


async def _s_connection_refused(api: FakeHero, hero: HeroClient) -> Any:
    api.add("GET", "/v1/me", exception=aiohttp.ClientConnectionError("refused"), repeat=True)
    return await hero.practice_group_info.me()


async def _s_429(api: FakeHero, hero: HeroClient) -> Any:
    api.add("GET", "/v1/me", status=429, headers={"Retry-After": "0"}, repeat=True)
    return await hero.practice_group_info.me()


async def _s_malformed(api: FakeHero, hero: HeroClient) -> Any:
    api.add("GET", "/v1/me", body="<html>not json</html>")
    return await hero.practice_group_info.me()


async def _s_token_malformed(api: FakeHero, hero: HeroClient) -> Any:
    api.add("POST", "/v1/access_token", payload={"token": "x"})
    return await hero.access_token()


async def _s_token_401(api: FakeHero, hero: HeroClient) -> Any:
    api.add("POST", "/v1/access_token", status=401, payload={"message": "Unauthorised"})
    return await hero.access_token()


async def _s_validation(api: FakeHero, hero: HeroClient) -> Any:
    return await hero.messages.send(patient_id="abc", message_type="hero", message_string="x")


async def _s_closed(api: FakeHero, hero: HeroClient) -> Any:
    await hero.aclose()
    return await hero.practice_group_info.me()


SCENARIOS: list[Scenario] = [
    _s_401,
    _s_403_cross,
    _s_400,
    _s_500_get,
    _s_503_post,
    _s_disconnect_post,
    _s_timeout_get,
    _s_connection_refused,
    _s_429,
    _s_malformed,
    _s_token_malformed,
    _s_token_401,
    _s_validation,
    _s_closed,
]


def _texts(error: BaseException) -> list[str]:
    out = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        out += [str(current), repr(current), repr(vars(current))]
        current = current.__cause__ or current.__context__
    return out


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.__name__[3:] for s in SCENARIOS])
async def test_errors_never_show_the_api_key(
    client: ClientFactory, api: FakeHero, scenario: Scenario
) -> None:
    """No raised error (nor its cause chain) shows the API key in str, repr or attributes."""
    hero = await client(max_retries=1)
    with pytest.raises(HeroError) as info:
        await scenario(api, hero)
    for text in _texts(info.value):
        assert API_KEY not in text
        assert "SECRET" not in text


def test_error_classes_hierarchy() -> None:
    """The documented hierarchy holds (so except clauses catch what the docs promise)."""
    assert issubclass(ValidationError, ValueError)
    assert issubclass(CrossOrganisationDeniedError, PermissionDeniedError)
    assert issubclass(RateLimitError, APIError)
    assert issubclass(ServerError, APIError)
    assert issubclass(TransportError, HeroError)
    assert not issubclass(OutcomeUnknownError, APIError)
    assert issubclass(MalformedResponseError, HeroError)


# --- what mutation testing found untested (tests/MUTATION.md) ------------------------------


def test_every_error_keeps_what_it_was_built_with() -> None:
    """Callers branch on these attributes (reached_server decides a resend): each is kept."""
    from hero_async import TimeoutError as HeroTimeoutError
    from hero_async import WebhookSignatureError

    invalid = ValidationError("nhs_number", "must be 10 digits")
    assert (str(invalid), invalid.field, invalid.problem) == (
        "nhs_number: must be 10 digits",
        "nhs_number",
        "must be 10 digits",
    )
    for cls in (TransportError, HeroTimeoutError):
        sent = cls("reset", reached_server=True, method="POST", path="/v1/x", practice_group_id="7")
        assert (str(sent), sent.reached_server, sent.method, sent.path) == (
            "reset",
            True,
            "POST",
            "/v1/x",
        )
        assert sent.practice_group_id == "7"
        bare = cls("refused", reached_server=False)
        assert (bare.reached_server, bare.method, bare.path, bare.practice_group_id) == (
            False,
            "",
            "",
            None,
        )
    unknown = OutcomeUnknownError(method="POST", path="/v1/x", practice_group_id="7", cause="reset")
    assert str(unknown) == (
        "POST /v1/x for practice group 7 may have reached Hero (reset); not resent automatically"
    )
    assert (unknown.method, unknown.path, unknown.practice_group_id, unknown.cause) == (
        "POST",
        "/v1/x",
        "7",
        "reset",
    )
    malformed = MalformedResponseError("not JSON", status=200, body="<html>")
    assert str(malformed) == "not JSON (status 200, 6 characters; see .body)"
    assert (malformed.method, malformed.path, malformed.practice_group_id) == ("", "", None)
    located = MalformedResponseError(
        "x", status=200, body="", method="GET", path="/v1/y", practice_group_id="9"
    )
    assert (located.method, located.path, located.practice_group_id) == ("GET", "/v1/y", "9")
    signature = WebhookSignatureError("webhook signature does not match", reason="mismatch")
    assert (str(signature), signature.reason) == ("webhook signature does not match", "mismatch")


def test_message_without_field_errors_has_no_trailing_detail() -> None:
    assert str(_error(404)) == "404 NotFoundError on GET /v1/me for practice group 1001"


def test_field_errors_are_joined_and_a_code_without_a_path_still_counts() -> None:
    body = {"message": [{"code": "too_big"}, {"path": ["a", 0], "code": "invalid"}, {}]}
    assert str(_error(400, body=body)).endswith(": : too_big; a.0: invalid")
