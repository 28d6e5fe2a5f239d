"""Booking links, attachment links and single sends (§7, §8.1), observed via fake.messages."""

from __future__ import annotations

from fakehero_support import Caller

from hero_async.testing import FakeHero

LINK = {"appointment_type_id": "10", "location_id": "20", "patient_id": "501"}


async def test_create_booking_link_answers_the_get_shape(hero: Caller) -> None:
    """Create and GET agree, field for field (§7.3)."""
    body = {**LINK, "practitioner_id": "30", "expiry_date": "2025-07-01", "maximum_use_count": 1}
    link = await hero.ok("POST", "/v1/booking_links", body)
    assert set(link) == {
        "id",
        "practice_group_id",
        "short_link",
        "active",
        "expiry_date",
        "maximum_uses",
        "number_of_uses",
        "open_count",
        "unlimited_use",
        "meta",
    }
    assert link["short_link"].startswith("https://hero.sandbox/l/")
    assert link["meta"] == {
        "appointment_type_id": ["10"],
        "location_id": ["20"],
        "practitioner_id": ["30"],
    }
    assert (link["maximum_uses"], link["unlimited_use"], link["active"]) == (1, False, True)
    assert await hero.ok("GET", f"/v1/booking_links/{link['id']}") == link


async def test_booking_link_targets_must_exist_in_the_acting_group(hero: Caller) -> None:
    """Unknown appointment type, location or patient: 404; another group's patient too."""
    for change in ({"appointment_type_id": "99"}, {"location_id": "99"}, {"patient_id": "601"}):
        assert (await hero("POST", "/v1/booking_links", {**LINK, **change})).status == 404


async def test_booking_link_required_fields(hero: Caller) -> None:
    reply = await hero("POST", "/v1/booking_links", {})
    assert [item["path"] for item in reply.body["message"]] == [
        ["appointment_type_id"],
        ["location_id"],
    ]


async def test_patch_booking_link_changes_only_what_is_sent(hero: Caller) -> None:
    link = await hero.ok("POST", "/v1/booking_links", LINK)
    patched = await hero.ok(
        "PATCH", f"/v1/booking_links/{link['id']}", {"location_id": "21", "active": False}
    )
    assert patched["meta"]["location_id"] == ["21"]
    assert patched["meta"]["appointment_type_id"] == ["10"]
    assert patched["active"] is False


async def test_unknown_or_foreign_booking_link_is_404(hero: Caller) -> None:
    link = await hero.ok("POST", "/v1/booking_links", LINK)
    assert (await hero("GET", "/v1/booking_links/424242")).status == 404
    assert (await hero("GET", f"/v1/booking_links/{link['id']}", group="1002")).status == 404


async def test_link_and_message_flow_is_recorded(fake: FakeHero, hero: Caller) -> None:
    """The invitation flow: the message lands in fake.messages with the link and the mobile."""
    link = await hero.ok("POST", "/v1/booking_links", LINK)
    sent = await hero.ok(
        "POST",
        "/v1/messages/send",
        {
            "patient_id": "501",
            "message_type": "sms",
            "message_string": "Book your flu jab",
            "short_link_id": link["id"],
        },
    )
    assert {"message_id", "content", "created_at"} <= set(sent)
    assert sent["content"] == "Book your flu jab"
    assert sent["created_at"] == "2025-06-15T15:06:40.000Z"
    [message] = fake.messages
    assert (message.message_id, message.practice_group_id, message.patient_id) == (
        sent["message_id"],
        "1001",
        "501",
    )
    assert (message.message_type, message.short_link_id) == ("sms", link["id"])
    assert message.recipient_contact_detail == "07700900123"
    assert fake.booking_links == [link]


async def test_explicit_recipient_overrides_the_record(fake: FakeHero, hero: Caller) -> None:
    await hero.ok(
        "POST",
        "/v1/messages/send",
        {
            "patient_id": "502",
            "message_type": "sms",
            "message_string": "hi",
            "recipient_contact_detail": "07700900555",
        },
    )
    assert fake.messages[0].recipient_contact_detail == "07700900555"


async def test_channel_without_a_contact_is_refused(fake: FakeHero, hero: Caller) -> None:
    """Patient 502 has an email but no mobile: sms 400, email fine, hero needs no contact."""
    base = {"patient_id": "502", "message_string": "hi"}
    reply = await hero("POST", "/v1/messages/send", {**base, "message_type": "sms"})
    assert reply.status == 400
    assert reply.body["message"][0]["path"] == ["recipient_contact_detail"]
    await hero.ok("POST", "/v1/messages/send", {**base, "message_type": "email"})
    await hero.ok("POST", "/v1/messages/send", {**base, "message_type": "hero"})
    assert [m.recipient_contact_detail for m in fake.messages] == ["a@example.com", None]


async def test_message_to_a_patient_of_another_group_is_404(fake: FakeHero, hero: Caller) -> None:
    body = {"patient_id": "601", "message_type": "sms", "message_string": "hi"}
    assert (await hero("POST", "/v1/messages/send", body)).status == 404
    assert (await hero("POST", "/v1/messages/send", body, group="1002")).status == 200
    assert [m.practice_group_id for m in fake.messages] == ["1002"]


async def test_short_link_of_another_group_is_404(hero: Caller) -> None:
    foreign = await hero.ok(
        "POST",
        "/v1/booking_links",
        {"appointment_type_id": "10", "location_id": "20"},
        group="1002",
    )
    body = {
        "patient_id": "501",
        "message_type": "sms",
        "message_string": "hi",
        "short_link_id": foreign["id"],
    }
    assert (await hero("POST", "/v1/messages/send", body)).status == 404


async def test_attachment_link_can_be_sent(fake: FakeHero, hero: Caller) -> None:
    """§7.5 then §8.1: the attachment_uuid is accepted by send and recorded."""
    attachment = await hero.ok(
        "POST",
        "/v1/attachment_links",
        {"patient_id": "501", "file_data": "aGVsbG8=", "file_name": "letter.pdf"},
    )
    assert attachment["attachment_link"].endswith(attachment["attachment_uuid"])
    await hero.ok(
        "POST",
        "/v1/messages/send",
        {
            "patient_id": "501",
            "message_type": "sms",
            "message_string": "Your letter",
            "attachment_uuid": attachment["attachment_uuid"],
        },
    )
    assert fake.messages[0].attachment_uuid == attachment["attachment_uuid"]
    missing = await hero("POST", "/v1/attachment_links", {"patient_id": "501"})
    assert missing.body["message"][0]["path"] == ["file_data"]
