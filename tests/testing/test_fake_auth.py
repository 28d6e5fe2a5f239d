"""Authentication, scopes and the cross-organisational rule (REFERENCE §3, §5)."""

from __future__ import annotations

import pytest
from fakehero_support import KEY, Caller

from hero_async.testing import REQUEST_ID_HEADER, FakeHero


@pytest.mark.parametrize(
    ("key", "group"),
    [(None, "1001"), ("no-such-key", "1001"), (KEY, None)],
    ids=["missing-key", "unknown-key", "missing-practice-group"],
)
async def test_unauthenticated_requests_answer_401(
    hero: Caller, key: str | None, group: str | None
) -> None:
    """A missing/unknown x-api-key or a missing x-practice-group-id is a 401 with Hero's body."""
    reply = await hero("GET", "/v1/me", key=key, group=group)
    assert reply.status == 401
    assert reply.body["error"] is True
    assert reply.body["statusCode"] == 401


async def test_unknown_practice_group_answers_403(hero: Caller) -> None:
    """A practice group Hero does not know is refused."""
    assert (await hero("GET", "/v1/me", group="9999")).status == 403


async def test_key_without_the_scope_answers_403(hero: Caller) -> None:
    """A booking_links-only key may create links but may not send messages or book."""
    link = {"appointment_type_id": "10", "location_id": "20"}
    assert (await hero("POST", "/v1/booking_links", link, key="links-only")).status == 200
    assert (await hero("POST", "/v1/messages/send", {}, key="links-only")).status == 403
    assert (await hero("GET", "/v1/slots", key="links-only")).status == 403
    assert (await hero("GET", "/v1/me", key="links-only")).status == 200  # needs no scope


async def test_cross_org_call_within_a_network_acts_for_the_target(hero: Caller) -> None:
    """key-1 (home 1001) may act for 1002, which shares network pcn; data is 1002's."""
    me = await hero.ok("GET", "/v1/me", group="1002")
    assert me["id"] == "1002"
    link = await hero.ok(
        "POST",
        "/v1/booking_links",
        {"appointment_type_id": "10", "location_id": "20"},
        group="1002",
    )
    assert link["practice_group_id"] == "1002"


async def test_cross_org_call_without_a_network_answers_403(hero: Caller) -> None:
    """1001 and 2001 share no network: 403, both ways."""
    assert (await hero("GET", "/v1/me", group="2001")).status == 403
    assert (await hero("GET", "/v1/me", key="key-2001", group="1001")).status == 403


async def test_leaving_the_network_mid_run_revokes_cross_org_access(
    fake: FakeHero, hero: Caller
) -> None:
    """remove_from_network takes effect on the next request."""
    assert (await hero("GET", "/v1/me", group="1002")).status == 200
    fake.remove_from_network("pcn", "1002")
    assert (await hero("GET", "/v1/me", group="1002")).status == 403


async def test_revoked_key_answers_401(fake: FakeHero, hero: Caller) -> None:
    """A practice can rotate a key at any time; the old one stops working at once."""
    fake.remove_api_key(KEY)
    assert (await hero("GET", "/v1/me")).status == 401


async def test_every_answer_carries_a_request_id(hero: Caller) -> None:
    """Successes, errors and unknown routes all carry x-request-id, unique per request."""
    replies = [
        await hero("GET", "/v1/me"),
        await hero("GET", "/v1/me", key=None),
        await hero("GET", "/v1/nowhere"),
    ]
    ids = [reply.headers[REQUEST_ID_HEADER] for reply in replies]
    assert all(ids)
    assert len(set(ids)) == 3
    assert replies[2].status == 404


async def test_the_request_log_never_holds_the_api_key(fake: FakeHero, hero: Caller) -> None:
    """Records say whether the key was accepted, never what it was."""
    await hero("GET", "/v1/me")
    await hero("GET", "/v1/me", key="wrong-secret")
    assert [r.api_key_ok for r in fake.requests] == [True, False]
    assert KEY not in repr(fake.requests)
    assert "wrong-secret" not in repr(fake.requests)
