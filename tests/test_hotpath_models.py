"""The per-invitation objects built the quick way behave exactly as the slow way did:
``quick_init`` classes as attrs' own frozen classes, ``Plan``'s "who" text as ``repr``."""

from __future__ import annotations

import inspect
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hero_async import Invitation, InvitationResult, RawResponse
from hero_async._frozen import quick_init
from hero_async.bulk._invitation import _who, plan

VALUES = st.one_of(st.none(), st.text(max_size=8), st.integers(), st.booleans())


def _twin(cls: type[Any]) -> type[Any]:
    """The same fields as ``cls`` in a frozen attrs class with attrs' own ``__init__``."""
    these = {
        f.name: attrs.field(default=f.default, repr=f.repr, eq=f.eq, type=f.type)
        for f in attrs.fields(cls)
    }
    return attrs.frozen(these=these)(type(cls.__name__, (), {}))


@pytest.mark.parametrize("cls", [Invitation, InvitationResult])
@given(data=st.data())
def test_a_quick_init_class_stores_what_attrs_own_init_stores(
    cls: type[Any], data: st.DataObject
) -> None:
    fields = attrs.fields(cls)
    required = [f.name for f in fields if f.default is attrs.NOTHING]
    optional = [f.name for f in fields if f.default is not attrs.NOTHING]
    chosen = data.draw(st.lists(st.sampled_from(optional), unique=True))
    kwargs = {name: data.draw(VALUES) for name in [*required, *chosen]}
    positional = data.draw(st.booleans())
    twin = _twin(cls)
    quick = quick_init(_twin(cls))  # made here, where a mutation test can reach quick_init
    for made_by in (cls, quick):
        if positional:  # as result_of() builds a result: every field, in order
            args = [kwargs.get(f.name, f.default) for f in fields]
            made, expected = made_by(*args), twin(*args)
        else:
            made, expected = made_by(**kwargs), twin(**kwargs)
        assert attrs.astuple(made) == attrs.astuple(expected)
        assert repr(made) == repr(expected)
        assert made == attrs.evolve(made)
        assert hash(made) == hash(attrs.evolve(made))


@pytest.mark.parametrize("cls", [Invitation, InvitationResult])
def test_a_quick_init_class_keeps_attrs_signature_and_stays_frozen(cls: type[Any]) -> None:
    quick = quick_init(_twin(cls))
    assert inspect.signature(cls) == inspect.signature(quick) == inspect.signature(_twin(cls))
    assert quick.__init__.__qualname__ == f"{cls.__name__}.__init__"
    assert quick.__init__.__doc__ == _twin(cls).__init__.__doc__
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        quick(*[None] * len(attrs.fields(cls))).key = "other"
    made = cls(*[f"v{i}" for i, f in enumerate(attrs.fields(cls)) if f.default is attrs.NOTHING])
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        made.key = "other"
    with pytest.raises(TypeError, match="patient_idd"):  # a typo never becomes a field
        Invitation(key="k", practice_group_id="1", appointment_type_id="1", location_id="1",
                   patient_idd="5")  # type: ignore[call-arg]  # fmt: skip
    with pytest.raises(TypeError, match="location_id"):
        Invitation(key="k", practice_group_id="1", appointment_type_id="1")  # type: ignore[call-arg]


def _refused(**field: Any) -> type[Any]:
    return attrs.frozen(these={"a": attrs.field(**field)})(type("C", (), {}))


@pytest.mark.parametrize(
    "cls",
    [
        _refused(validator=attrs.validators.instance_of(str)),
        _refused(converter=str),
        _refused(default=attrs.Factory(list)),
        _refused(kw_only=True),
        _refused(init=False, default=None),
        _refused(alias="b"),
        attrs.frozen(slots=False, these={"a": attrs.field()})(type("D", (), {})),
        attrs.frozen(these={"b": attrs.field()})(type("E", (_refused(),), {})),
    ],
    ids=[
        "validator",
        "converter",
        "factory",
        "kw_only",
        "no-init",
        "alias",
        "no-slots",
        "inherited",
    ],
)
def test_quick_init_refuses_a_field_its_init_would_not_honour(cls: type[Any]) -> None:
    with pytest.raises(TypeError, match="quick_init"):
        quick_init(cls)


def test_a_raw_response_is_built_and_read_as_before() -> None:
    raw = RawResponse(200, {"x-request-id": "r-1"}, b"{}")
    assert (raw.status, raw.headers, raw.body) == (200, {"x-request-id": "r-1"}, b"{}")
    assert RawResponse(status=503, headers={}, body=b"") == RawResponse(503, {}, b"")
    with pytest.raises(AttributeError):
        raw.status = 500  # type: ignore[misc]


@given(st.one_of(st.text(alphabet="0123456789", min_size=1), st.text(), st.none()))
def test_the_who_text_is_the_repr_it_stands_for(patient_id: str | None) -> None:
    """The "who" half of a fingerprint is a hash of this text, kept in ledgers: any change to
    it would make every re-run see its own keys as another patient's."""
    assert _who(patient_id, None) == repr((patient_id, None))
    pds = {"nhs_number": "9434765919", "date_of_birth": "1990-01-01"}
    assert _who(patient_id, pds) == repr((patient_id, pds))


def test_a_plan_reads_as_the_attrs_class_it_replaced() -> None:
    """``Plan`` became a named tuple: its repr is still attrs' shape, with the same masks."""
    made = plan(
        Invitation(
            key="k-1", practice_group_id="1002", appointment_type_id="10", location_id="20",
            nhs_number="9434765919", dob="1990-01-01", recipient_contact_detail="07700900461",
        )
    )  # fmt: skip
    assert repr(made) == (
        "Plan(key='k-1', practice_group_id='1002', patient_id=None, pds='***', "
        "link={'appointment_type_id': '10', 'location_id': '20'}, message_type='sms', "
        f"template='***', recipient_contact_detail='***', fingerprint={made.fingerprint!r})"
    )
