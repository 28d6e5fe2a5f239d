"""Hostile input at the edges of the wire: header injection, base_url policy, TLS verification.

Every refusal must happen before a byte is sent, so each test also checks that the fake saw no
request at all.
"""

from __future__ import annotations

import asyncio
import inspect
import shutil
import ssl
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from reliability_support import API_KEY, HOME, TYPE_ID, acquired_connections, template

from hero_async import HeroClient, Invitation, TransportError, ValidationError
from hero_async.testing import FakeHero

INJECTIONS = ("1002\r\nX-Injected: 1", "1002\nX-Injected: 1", "1002\r", "1002\x00", "1002\x85")
NON_ASCII = ("１００２", "1002é", "10\u20280", "\u202e1002")  # fullwidth, accent, LS, RLO


# -- header injection -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "api_key", ["sk-9f8e\r\nX-Injected: 1", "sk-9f8e\n", "sk-9f8é", "sk-9f8e\x00", " sk-9f8e"]
)
def test_api_key_with_crlf_or_non_ascii_is_refused(api_key: str) -> None:
    """An API key that would break the x-api-key header is refused when the client is built."""
    with pytest.raises(ValidationError) as caught:
        HeroClient(api_key, HOME, base_url="https://api.example.com")
    assert caught.value.field == "api_key"
    assert "sk-9f8" not in str(caught.value)  # the key itself is never echoed


@pytest.mark.parametrize("group", INJECTIONS + NON_ASCII)
def test_home_practice_group_with_crlf_or_non_ascii_is_refused(group: str) -> None:
    with pytest.raises(ValidationError) as caught:
        HeroClient(API_KEY, group, base_url="https://api.example.com")
    assert caught.value.field == "practice_group_id"


@pytest.mark.parametrize("group", INJECTIONS + NON_ASCII)
async def test_practice_group_view_with_crlf_or_non_ascii_is_refused(
    hero: HeroClient, network: FakeHero, group: str
) -> None:
    """hero.practice_group(id) refuses an id that would become a second header line."""
    with pytest.raises(ValidationError) as caught:
        hero.practice_group(group)
    assert caught.value.field == "practice_group_id"
    assert network.count() == 0


Call = Callable[[HeroClient, str], Awaitable[Any]]

PATH_ID_CALLS: dict[str, tuple[str, Call]] = {
    "booking_links.get": ("booking_link_id", lambda h, x: h.booking_links.get(x)),
    "booking_links.update": (
        "booking_link_id",
        lambda h, x: h.booking_links.update(x, maximum_use_count=2),
    ),
    "patients.get": ("patient_id", lambda h, x: h.patients.get(x)),
    "slots.get": ("slot_id", lambda h, x: h.slots.get(x)),
    "batch_messages.get": ("batch_id", lambda h, x: h.batch_messages.get(x)),
    "batch_messages.send": ("batch_id", lambda h, x: h.batch_messages.send(x)),
    "webhooks.delete": ("webhook_id", lambda h, x: h.webhooks.delete(x)),
}


@pytest.mark.parametrize("value", ["5\r\nX-Injected: 1", "5\n", "5\x00", "5/../6", "5?x=1"])
@pytest.mark.parametrize("call", sorted(PATH_ID_CALLS))
async def test_ids_in_paths_with_crlf_or_path_syntax_are_refused(
    hero: HeroClient, network: FakeHero, call: str, value: str
) -> None:
    field, invoke = PATH_ID_CALLS[call]
    with pytest.raises(ValidationError) as caught:
        await invoke(hero, value)
    assert caught.value.field == field
    assert network.count() == 0


@pytest.mark.parametrize("call", sorted(PATH_ID_CALLS))
async def test_ids_with_non_ascii_are_refused_before_sending(
    hero: HeroClient, network: FakeHero, call: str
) -> None:
    """The issue's rule: ids containing non-ASCII are refused before sending.

    Hero ids are digits and the opaque ones (batch, webhook) are UUIDs, so nothing real is lost;
    a look-alike id (fullwidth digits, a right-to-left override) is a mistake or an attack.
    """
    field, invoke = PATH_ID_CALLS[call]
    sent = []
    for value in NON_ASCII:
        try:
            await invoke(hero, value)
        except ValidationError as exc:
            assert exc.field == field
        except Exception:
            sent.append(value)
        else:
            sent.append(value)
    assert sent == [], f"{call} sent non-ASCII ids {sent!r} ({network.count()} requests)"
    assert network.count() == 0


@pytest.mark.parametrize(
    ("headers", "field"),
    [
        ({"X-Receiver-Token\r\nX-Injected": "1"}, "headers"),
        ({"X-Receiver-Token": "abc\r\nX-Injected: 1"}, "headers[X-Receiver-Token]"),
        ({"X-Receiver-Token": "ünïcode"}, "headers[X-Receiver-Token]"),
    ],
)
async def test_webhook_delivery_headers_with_crlf_or_non_ascii_are_refused(
    hero: HeroClient, network: FakeHero, headers: dict[str, str], field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        await hero.webhooks.create(
            event_type="appointment.confirmed", url="https://example.com/hook", headers=headers
        )
    assert caught.value.field == field
    assert network.count() == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"key": "flu/1\r\nX-Injected: 1"}, "key"),
        ({"key": "flu/1\n"}, "key"),
        ({"practice_group_id": "1002\r\nX-Injected: 1"}, "practice_group_id"),
        ({"practice_group_id": "１００２"}, "practice_group_id"),
        ({"patient_id": "5\r\n"}, "patient_id"),
        ({"appointment_type_id": "10\n"}, "appointment_type_id"),
        ({"location_id": "２０"}, "location_id"),
    ],
)
async def test_bulk_rows_with_crlf_or_non_ascii_ids_fail_validation_and_send_nothing(
    hero: HeroClient, network: FakeHero, change: dict[str, str], field: str
) -> None:
    """In a bulk job the bad row is reported failed, naming the field; the good row is sent."""
    base: dict[str, Any] = {
        "key": "flu/0",
        "practice_group_id": "1002",
        "nhs_number": "9434765919",
        "dob": "1980-01-31",
        "appointment_type_id": TYPE_ID,
        "location_id": "20",
        "message_template": template("flu/0"),
    }
    bad = Invitation(**{**base, "message_template": template("flu/1"), **change})
    with await hero.send_invitations([bad, Invitation(**base)]) as report:
        results = {r.state: r for r in report.results()}
    assert report.failed == 1
    assert report.sent == 1
    failed = results["failed"]
    assert failed.step == "validate"
    assert failed.error_type == "ValidationError"
    assert failed.error is not None
    assert failed.error.startswith(f"{field}:")
    assert [m.message_string.split("]")[0] for m in network.messages] == ["[flu/0"]
    assert {r.practice_group_id for r in network.requests} == {"1002"}
    assert not [r for r in network.requests if "Injected" in repr(r.body)]


# -- base_url policy --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://api.herohealth.net",
        "https://api.example.com:8443/",
        "http://127.0.0.1:8080",
        "http://127.9.9.9",
        "http://localhost:1234",
        "http://LOCALHOST:1234",
        "http://[::1]:8080",
    ],
)
def test_base_url_https_or_loopback_http_is_accepted(url: str) -> None:
    HeroClient(API_KEY, HOME, base_url=url)


@pytest.mark.parametrize(
    "url",
    [
        "http://api.herohealth.net",
        "http://10.0.0.1",
        "http://192.168.1.10:8080",
        "http://0.0.0.0:8080",
        "http://localhost.evil.example",
        "http://127.0.0.1.nip.io",
        "http://[::ffff:10.0.0.1]",
        "HTTP://api.herohealth.net",
        "ftp://127.0.0.1",
        "ws://127.0.0.1",
        "https://",
        "https:///v1",
        "api.herohealth.net",
        "//api.herohealth.net",
        "",
    ],
)
def test_base_url_plain_http_to_a_non_loopback_host_is_refused(url: str) -> None:
    with pytest.raises(ValidationError) as caught:
        HeroClient(API_KEY, HOME, base_url=url)
    assert caught.value.field == "base_url"


@pytest.mark.parametrize(
    "url", ["http://example.com/hook", "http://10.0.0.1/hook", "ftp://127.0.0.1/x", "hook"]
)
async def test_webhook_urls_follow_the_same_https_rule(
    hero: HeroClient, network: FakeHero, url: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        await hero.webhooks.create(event_type="appointment.confirmed", url=url)
    assert caught.value.field == "url"
    assert network.count() == 0


# -- TLS verification -------------------------------------------------------------------------


def test_the_client_offers_no_switch_to_turn_tls_verification_off() -> None:
    """No keyword argument or environment variable of the SDK disables certificate checks; the
    only way is passing your own aiohttp session, which is explicit, not silent."""
    names = set(inspect.signature(HeroClient).parameters)
    assert not {n for n in names if any(w in n for w in ("ssl", "verify", "insecure", "tls"))}


async def test_the_pool_verifies_certificates(network: FakeHero) -> None:
    async with HeroClient(API_KEY, HOME, base_url=network.url) as hero:
        await hero.practice_group_info.me()  # the pool is made on the first request
        session = hero._core.transport.session  # type: ignore[attr-defined]
        assert session is not None
        connector = session.connector
        assert isinstance(connector, aiohttp.TCPConnector)
        assert connector._ssl is True  # aiohttp's default: verify with the system trust store
        assert session.trust_env is False  # no proxy or netrc picked up from the environment


def _self_signed(folder: Path) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    assert openssl, "openssl is needed to make a throwaway certificate"
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(  # noqa: S603 - fixed arguments, a throwaway self-signed certificate
        [
            openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


async def test_a_self_signed_certificate_is_refused_even_with_env_overrides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server with a certificate nobody trusts gets no request, whatever the environment
    says (PYTHONHTTPSVERIFY=0 only affects urllib; curl-style variables are ignored)."""
    cert, key = _self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    seen: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(request.path)
        return web.json_response({"id": HOME})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    port = runner.addresses[0][1]
    for name, value in (
        ("PYTHONHTTPSVERIFY", "0"),
        ("CURL_CA_BUNDLE", ""),
        ("REQUESTS_CA_BUNDLE", ""),
        ("NODE_TLS_REJECT_UNAUTHORIZED", "0"),
        ("HERO_INSECURE", "1"),
        ("HERO_VERIFY_SSL", "false"),
    ):
        monkeypatch.setenv(name, value)
    try:
        for host in ("127.0.0.1", "localhost"):
            async with HeroClient(
                API_KEY, HOME, base_url=f"https://{host}:{port}", max_retries=0
            ) as hero:
                with pytest.raises(TransportError) as caught:
                    await hero.practice_group_info.me()
                assert isinstance(caught.value.__cause__, aiohttp.ClientSSLError)
                assert acquired_connections(hero) == 0
    finally:
        await runner.cleanup()
    assert seen == []
    await asyncio.sleep(0)
