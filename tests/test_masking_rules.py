"""Masked reprs, field by field: what a log line shows of a patient, a capability URL, an
invitation and its plan. Unset fields read ``None`` (so a log still tells "missing" from
"present"), set ones ``'***'``, URLs their scheme and host only, whatever the value.

Written for the mutation runs of ``hero_async/_models_patients.py`` and
``hero_async/bulk/_invitation.py`` (tests/MUTATION.md).
"""

from __future__ import annotations

import gc
import re
from typing import Any

import pytest
import yarl

from hero_async import Invitation, ValidationError
from hero_async import models as m
from hero_async.bulk._invitation import MAX_KEY_LENGTH, plan

SECRET = "s3cr3t-value"
PATIENT_MASKED = (
    "dob",
    "first_name",
    "last_name",
    "nhs_number",
    "email",
    "emails",
    "mobile",
    "address_line_1",
    "address_line_2",
    "address_line_3",
    "postcode",
    "notes",
    "verification_credentials",
)
SUMMARY_MASKED = ("dob", "first_name", "last_name", "nhs_number")
NHS = "9434765919"
DOB = "1980-01-31"


def _secret_for(name: str) -> Any:
    return (SECRET,) if name in ("emails", "verification_credentials") else SECRET


@pytest.mark.parametrize(
    ("model", "fields"), [(m.Patient, PATIENT_MASKED), (m.PatientSummary, SUMMARY_MASKED)]
)
def test_identifying_fields_show_stars_when_set_and_none_when_not(
    model: Any, fields: tuple[str, ...]
) -> None:
    unset = repr(model(id="156"))
    shown = repr(model(id="156", **{name: _secret_for(name) for name in fields}))
    assert "id='156'" in shown
    assert SECRET not in shown
    for name in fields:
        assert f"{name}='***'" in shown
        if name not in ("emails", "verification_credentials"):  # these default to ()
            assert f"{name}=None" in unset


def test_empty_lists_of_a_patient_are_masked_too() -> None:
    """Only None reads None: an empty tuple shows stars like a full one."""
    shown = repr(m.Patient(id="156"))
    assert "emails='***'" in shown
    assert "verification_credentials='***'" in shown


def test_unset_secrets_of_a_sent_message_show_none() -> None:
    shown = repr(m.SentMessage("m-1"))
    assert "content=None" in shown
    assert "auth_token=None" in shown
    assert "confirm_write_to_record_url=None" in shown


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://files.herohealth.net/a/secret-path", "'https://files.herohealth.net/***'"),
        ("https://files.herohealth.net:8443/a?token=x", "'https://files.herohealth.net:8443/***'"),
        (
            "https://user:pw@files.herohealth.net/a/secret-path",
            "'https://files.herohealth.net/***'",
        ),
        ("files.herohealth.net/a/secret-path", "'***'"),  # no host to show: nothing
        ("", "'***'"),
        ("https://[oops/secret-path", "'***'"),  # urlsplit raises: the repr must not
        (
            yarl.URL("https://files.herohealth.net/a/secret-path"),
            "'https://files.herohealth.net/***'",
        ),
        (None, "None"),
    ],
)
def test_capability_urls_show_scheme_and_host_only(url: Any, shown: str) -> None:
    """Whatever the value (text, a URL object, broken, missing), the path never shows."""
    link = repr(m.AttachmentLink(url))
    assert link == f"AttachmentLink(attachment_link={shown}, attachment_uuid=None, raw={{}})"
    check = repr(m.IdentityCheckRequired(url, "verify"))
    assert check == f"IdentityCheckRequired(login_url={shown}, message='verify')"


# -- invitations and their plans ----------------------------------------------------------------


def _invitation(**fields: Any) -> Invitation:
    values: dict[str, Any] = {
        "key": "flu-2026/1",
        "practice_group_id": "1002",
        "appointment_type_id": "10",
        "location_id": "20",
        "nhs_number": NHS,
        "dob": DOB,
        "message_template": "Please book: {link}",
        "recipient_contact_detail": "07700900461",
    }
    values.update(fields)
    return Invitation(**values)


def test_an_invitation_shows_stars_for_patient_data_and_none_when_unset() -> None:
    shown = repr(_invitation())
    for name in ("nhs_number", "dob", "message_template", "recipient_contact_detail"):
        assert f"{name}='***'" in shown
    assert "key='flu-2026/1'" in shown
    for secret in (NHS, DOB, "Please book", "07700900461"):
        assert secret not in shown
    by_id = repr(
        _invitation(patient_id="156", nhs_number=None, dob=None, recipient_contact_detail=None)
    )
    for name in ("nhs_number", "dob", "recipient_contact_detail"):
        assert f"{name}=None" in by_id
    assert "patient_id='156'" in by_id


def test_a_plan_shows_stars_for_the_pds_body_message_and_contact() -> None:
    shown = repr(plan(_invitation()))
    for name in ("pds", "template", "recipient_contact_detail"):
        assert f"{name}='***'" in shown
    for secret in (NHS, DOB, "Please book", "07700900461"):
        assert secret not in shown
    by_id = repr(plan(_invitation(patient_id="156", recipient_contact_detail=None)))
    assert "pds=None" in by_id
    assert "recipient_contact_detail=None" in by_id
    assert "patient_id='156'" in by_id


def test_a_plan_keeps_every_validated_field() -> None:
    planned = plan(
        _invitation(
            practitioner_id="30",
            from_date="2026-01-05",
            to_date="2026-01-09",
            expiry_date="2026-02-01",
            maximum_use_count=2,
            message_type="email",
            recipient_contact_detail="ada@example.org",
        )
    )
    assert (planned.key, planned.practice_group_id, planned.patient_id) == (
        "flu-2026/1",
        "1002",
        None,
    )
    assert planned.pds == {"nhs_number": NHS, "dob": DOB}
    assert planned.link == {
        "appointment_type_id": "10",
        "location_id": "20",
        "practitioner_id": "30",
        "from_date": "2026-01-05",
        "to_date": "2026-01-09",
        "expiry_date": "2026-02-01",
        "maximum_use_count": 2,
    }
    assert (planned.message_type, planned.template) == ("email", "Please book: {link}")
    assert planned.recipient_contact_detail == "ada@example.org"
    by_id = plan(_invitation(patient_id="156", nhs_number=None, dob=None))
    assert (by_id.patient_id, by_id.pds) == ("156", None)


def test_the_message_body_fills_every_link_placeholder_and_nothing_else() -> None:
    planned = plan(_invitation(message_template="Hi {name}, book: {link} ({link})"))
    assert planned.message_body("156", "https://hero.test/s/x", "l-1") == {
        "patient_id": "156",
        "message_type": "sms",
        "message_string": "Hi {name}, book: https://hero.test/s/x (https://hero.test/s/x)",
        "short_link_id": "l-1",
        "recipient_contact_detail": "07700900461",
    }
    no_contact = plan(_invitation(recipient_contact_detail=None))
    assert no_contact.message_body("156", "https://hero.test/s/x", None) == {
        "patient_id": "156",
        "message_type": "sms",
        "message_string": "Please book: https://hero.test/s/x",
        "short_link_id": None,
    }


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("k" * MAX_KEY_LENGTH, None),
        ("k" * (MAX_KEY_LENGTH + 1), "must be printable text of at most 200 chars"),
        ("flu\n1", "must be printable text of at most 200 chars"),
        ("flu\u200b1", "must be printable text of at most 200 chars"),  # zero-width space
        ("", "must not be empty"),
        ("   ", "must not be empty"),
        ("flu\udcff", "contains an unpaired surrogate (not valid Unicode text)"),
        (7, "expected a string, got int"),
    ],
)
def test_keys_are_printable_text_of_at_most_200_characters(key: Any, problem: str | None) -> None:
    if problem is None:
        assert plan(_invitation(key=key)).key == key
        return
    with pytest.raises(ValidationError) as caught:
        plan(_invitation(key=key))
    assert (caught.value.field, caught.value.problem) == ("key", problem)


@pytest.mark.parametrize(
    ("fields", "field", "problem"),
    [
        ({"nhs_number": None}, "patient_id", "give patient_id, or nhs_number and dob"),
        ({"dob": None}, "patient_id", "give patient_id, or nhs_number and dob"),
        ({"nhs_number": None, "dob": None}, "patient_id", "give patient_id, or nhs_number and dob"),
        ({"patient_id": ""}, "patient_id", None),
        ({"message_type": "fax"}, "message_type", None),
        ({"message_template": 7}, "message_template", None),
        ({"message_template": "Please book"}, "message_template", "must contain {link}"),
        ({"recipient_contact_detail": "07700"}, "recipient_contact_detail", None),
        # the contact is checked for the invitation's own message type
        ({"message_type": "email"}, "recipient_contact_detail", None),
    ],
)
def test_each_bad_field_is_named(fields: dict[str, Any], field: str, problem: str | None) -> None:
    with pytest.raises(ValidationError) as caught:
        plan(_invitation(**fields))
    assert caught.value.field == field
    if problem is not None:
        assert caught.value.problem == problem


def _parts(**fields: Any) -> tuple[str, str]:
    who, _, what = plan(_invitation(**fields)).fingerprint.partition("-")
    return who, what


def test_the_fingerprint_is_16_bits_of_who_and_48_of_what() -> None:
    """Short on purpose: the "who" half cannot identify a patient."""
    assert re.fullmatch(r"[0-9a-f]{4}-[0-9a-f]{12}", plan(_invitation()).fingerprint)
    assert _parts() == _parts(key="another-key")  # the key is not part of it


@pytest.mark.parametrize(
    "fields",
    [
        {"nhs_number": "9434765870"},
        {"dob": "1980-02-01"},
        {"patient_id": "156", "nhs_number": None, "dob": None},
    ],
)
def test_another_patient_changes_who_not_what(fields: dict[str, Any]) -> None:
    who, what = _parts()
    other_who, other_what = _parts(**fields)
    assert other_who != who
    assert other_what == what
    assert (
        _parts(patient_id="157", nhs_number=None, dob=None)[0]
        != _parts(patient_id="156", nhs_number=None, dob=None)[0]
    )


@pytest.mark.parametrize(
    "fields",
    [
        {"location_id": "21"},
        {"maximum_use_count": 3},
        {"message_type": "hero"},
        {"message_template": "Book now: {link}"},
        {"recipient_contact_detail": "07700900462"},
        {"recipient_contact_detail": None},
    ],
)
def test_another_message_or_link_changes_what_not_who(fields: dict[str, Any]) -> None:
    who, what = _parts()
    other_who, other_what = _parts(**fields)
    assert other_who == who
    assert other_what != what


def test_fingerprints_keep_the_values_durable_ledgers_hold() -> None:
    """A re-run compares the fingerprint in the ledger with the plan's: a changed formula
    would report every key of an old ledger as reused for another invitation."""
    assert plan(_invitation()).fingerprint == "4c26-d8e321b3fd5b"
    by_id = _invitation(patient_id="156", nhs_number=None, dob=None, from_date="2026-01-05")
    assert plan(by_id).fingerprint == "f94d-395a667b3e57"
    assert plan(_invitation(recipient_contact_detail=None)).fingerprint == "4c26-0eb60f0d1bbb"


def test_a_str_subclass_key_has_the_same_200_character_bound() -> None:
    class Cell(str):  # what a CSV or ORM layer may hand over
        pass

    assert plan(_invitation(key=Cell("k" * MAX_KEY_LENGTH))).key == "k" * MAX_KEY_LENGTH
    with pytest.raises(ValidationError) as caught:
        plan(_invitation(key=Cell("k" * (MAX_KEY_LENGTH + 1))))
    assert caught.value.field == "key"


@pytest.mark.parametrize(
    ("field", "valid", "invalid"),
    [
        ("appointment_type_id", 1, True),  # equal (1 == True) and hash alike, not the same
        ("maximum_use_count", 2, 2.0),
        ("location_id", "20", b"20"),
    ],
)
def test_a_valid_value_does_not_vouch_for_an_equal_one_of_another_type(
    field: str, valid: Any, invalid: Any
) -> None:
    """Plans validate each distinct set of link fields once; 1, True and 1.0 are distinct."""
    plan(_invitation(**{field: valid}))
    with pytest.raises(ValidationError) as caught:
        plan(_invitation(**{field: invalid}))
    assert caught.value.field == field


def test_an_unhashable_value_is_a_validation_error_naming_its_field() -> None:
    with pytest.raises(ValidationError) as caught:
        plan(_invitation(appointment_type_id=["10"]))
    assert (caught.value.field, caught.value.problem) == (
        "appointment_type_id",
        "expected a string, got list",
    )
    with pytest.raises(ValidationError) as caught:
        plan(_invitation(recipient_contact_detail={"phone": "07700900461"}))
    assert caught.value.field == "recipient_contact_detail"


def test_each_plan_has_its_own_link_body() -> None:
    first = plan(_invitation(key="a"))
    first.link["location_id"] = "99"  # whatever a caller does to one plan's body
    assert plan(_invitation(key="b")).link["location_id"] == "20"


def test_planning_keeps_no_recipient_after_the_plan_is_gone() -> None:
    """Plans share a cache of validated link fields; a patient's contact is not in it."""
    contact = "".join(["07700", "900987"])  # made at run time: no constant holds it
    planned = plan(_invitation(recipient_contact_detail=contact))
    assert planned.recipient_contact_detail == contact
    del planned
    gc.collect()
    holders = [
        type(held).__name__
        for held in gc.get_objects()
        if isinstance(held, tuple | list) and any(item == contact for item in held)
    ]
    assert holders == []


def test_an_unhashable_practice_group_is_a_validation_error_naming_it() -> None:
    with pytest.raises(ValidationError) as caught:
        plan(_invitation(practice_group_id=["1002"]))
    assert (caught.value.field, caught.value.problem) == (
        "practice_group_id",
        "expected a string, got list",
    )
