"""Batch messages (§8.2): create, list, send, the status lifecycle, recipients and messages."""

from __future__ import annotations

from typing import Any

from fakehero_support import DOB, NHS, Caller

from hero_async.testing import FakeHero


def _batch(**extra: Any) -> dict[str, Any]:
    return {
        "name": "Flu 2025",
        "channel": "SMS",
        "content": "Book your flu jab",
        "recipients": [
            {"nhs_number": NHS, "dob": DOB + "T00:00:00.000Z"},
            {"patient_id": "502"},
            {"nhs_number": "9990000034", "dob": None},
        ],
        **extra,
    }


async def test_lifecycle_advances_one_step_per_get(fake: FakeHero, hero: Caller) -> None:
    """CREATED -> (send) PENDING -> SENDING -> COMPLETED, then it stays COMPLETED."""
    batch = await hero.ok("POST", "/v1/batch_message", _batch())
    assert set(batch) == {"id", "name", "status", "channel", "content"}  # SMS: no subject key
    path = f"/v1/batch_message/{batch['id']}"
    assert (await hero.ok("GET", path))["status"] == "CREATED"
    assert (await hero.ok("PATCH", f"{path}/send"))["status"] == "PENDING"
    statuses = [(await hero.ok("GET", path))["status"] for _ in range(3)]
    assert statuses == ["SENDING", "COMPLETED", "COMPLETED"]
    assert (await hero("PATCH", f"{path}/send")).status == 400


async def test_recipients_are_traced_and_messages_sent(fake: FakeHero, hero: Caller) -> None:
    """501 has a mobile (QUEUED); 502 has none and 9990000034 is not on PDS (errors)."""
    batch = await hero.ok("POST", "/v1/batch_message", _batch())
    path = f"/v1/batch_message/{batch['id']}"
    await hero.ok("PATCH", f"{path}/send")
    fake.advance_batches()
    rows = (await hero.ok("GET", f"{path}/recipients"))["data"]
    assert [(r["patient_id"], r["status"]) for r in rows] == [
        ("501", "QUEUED"),
        ("502", "ENRICHMENT_ERROR"),
        (None, "ENRICHMENT_ERROR"),
    ]
    [message] = fake.messages
    assert (message.batch_id, message.patient_id, message.message_type) == (
        batch["id"],
        "501",
        "sms",
    )
    sent = await hero.ok("GET", f"{path}/messages")
    assert (sent["count"], sent["data"][0]["message_id"]) == (1, message.message_id)
    queued = await hero.ok("GET", f"{path}/recipients", params={"status": "QUEUED"})
    assert queued["count"] == 1


async def test_advance_is_manual_when_auto_advance_is_off(fake: FakeHero, hero: Caller) -> None:
    fake.batch_auto_advance = False
    batch = await hero.ok("POST", "/v1/batch_message", _batch())
    path = f"/v1/batch_message/{batch['id']}"
    await hero.ok("PATCH", f"{path}/send")
    assert (await hero.ok("GET", path))["status"] == "PENDING"
    fake.advance_batches()
    fake.advance_batches()
    assert (await hero.ok("GET", path))["status"] == "COMPLETED"


async def test_batch_validation(hero: Caller) -> None:
    """EMAIL needs a subject; channels are upper case; recipients are checked item by item."""
    email = await hero("POST", "/v1/batch_message", _batch(channel="EMAIL"))
    assert [i["path"] for i in email.body["message"]] == [["subject"]]
    lower = await hero("POST", "/v1/batch_message", _batch(channel="sms"))
    assert lower.body["message"][0]["code"] == "invalid_enum_value"
    bad_item = await hero(
        "POST",
        "/v1/batch_message",
        _batch(recipients=[{"nhs_number": "9434765918", "dob": DOB + "T00:00:00Z"}]),
    )
    assert bad_item.body["message"][0]["path"] == ["recipients", 0, "nhs_number"]
    empty = await hero("POST", "/v1/batch_message", _batch(recipients=[]))
    assert empty.status == 400


async def test_batches_list_in_an_envelope_per_group(hero: Caller) -> None:
    await hero.ok("POST", "/v1/batch_message", _batch())
    await hero.ok("POST", "/v1/batch_message", _batch(name="Second"))
    listed = await hero.ok("GET", "/v1/batch_message", params={"page_size": 1})
    assert (listed["count"], [b["name"] for b in listed["data"]]) == (2, ["Flu 2025"])
    assert (await hero.ok("GET", "/v1/batch_message", group="1002"))["count"] == 0
    assert (await hero("GET", "/v1/batch_message/not-a-batch")).status == 404
