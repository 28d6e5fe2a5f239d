"""The one place Hero's JSON becomes models: two cattrs converters with the same hooks.

``load`` runs the fast one (generated code, no per-field bookkeeping); only on failure does the
detailed one run, to name the bad field. The happy path pays nothing for good messages.

Reading rules (Hero's docs disagree with themselves, §6 and §14.17):
* date and date-time fields accept both ``2023-05-29`` and ``2023-05-29T10:00:00.000Z``; a
  date-only value for a date-time is midnight UTC, a naive date-time is UTC (Hero says all
  timestamps are UTC), and an aware date-time for a date field is read in Europe/London, so a
  date of birth stored as local midnight (``...T23:00:00Z`` in summer) keeps its day;
* unknown keys are ignored; ids sent as JSON numbers become strings; ``null`` lists become ();
* booleans must be JSON booleans (``bool("false")`` is True; we refuse to guess);
* a value that breaks these rules in a field with a default is read as the default and kept
  in ``raw``; only required fields (ids) and non-objects make an answer unreadable.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, override
from cattrs.v import format_exception

from hero_async import models as m

__all__ = ["ConversionError", "load", "load_page", "load_pds"]

T = TypeVar("T")
_log = logging.getLogger("hero_async")

try:
    _LONDON: dt.tzinfo = ZoneInfo("Europe/London")
except ZoneInfoNotFoundError:  # pragma: no cover - Windows without the tzdata package
    _LONDON = dt.UTC


class ConversionError(ValueError):
    """Hero's JSON did not fit the model; ``errors`` are ``"problem @ $.path"`` strings."""

    def __init__(self, type_name: str, errors: Sequence[str]) -> None:
        super().__init__(f"cannot read {type_name}: {'; '.join(errors)}")
        self.type_name = type_name
        self.errors = tuple(errors)


class _BadValue(ValueError):
    """A hook's own complaint. Its text names the expected type, never the value."""


def _json_type(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _str(value: Any, _: object) -> str:
    if type(value) is str:
        return value
    if type(value) is int:  # an id sent as a number
        return str(value)
    raise _BadValue(f"expected a string, got {_json_type(value)}")


def _int(value: Any, _: object) -> int:
    if type(value) is int:
        return value
    if type(value) is float and value.is_integer():  # JSON "number": 3.0 is fine, 3.5 is not
        return int(value)
    if type(value) is str and value.isascii() and value.isdigit():
        return int(value)
    raise _BadValue(f"expected a whole number, got {_json_type(value)}")


def _float(value: Any, _: object) -> float:
    if type(value) in (int, float):
        return float(value)
    raise _BadValue(f"expected a number, got {_json_type(value)}")


def _bool(value: Any, _: object) -> bool:
    if type(value) is bool:
        return value
    if value is None:  # only fields whose documented default is false are non-optional bools
        return False
    raise _BadValue(f"expected true or false, got {_json_type(value)}")


def _datetime(value: Any, _: object) -> dt.datetime:
    if type(value) is not str:
        raise _BadValue(f"expected an ISO 8601 string, got {_json_type(value)}")
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise _BadValue("expected an ISO 8601 date or date-time") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _date(value: Any, _: object) -> dt.date:
    if type(value) is str and len(value) == 10:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise _BadValue("expected an ISO 8601 date") from None
    moment = _datetime(value, _)
    return moment.astimezone(_LONDON).date()


def _strings(value: Any, _: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if type(value) is str:  # a lone id where a list was documented
        return (value,)
    if type(value) is not list:
        raise _BadValue(f"expected a list, got {_json_type(value)}")
    return tuple([_str(item, None) for item in value])


def _str_map(value: Any, _: object) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _BadValue(f"expected an object, got {_json_type(value)}")
    return {str(key): _str(item, None) for key, item in value.items()}


# Most fields arrive already in their final type; a fast path for them is ~10% of a load.
_READY: dict[Callable[[Any, object], Any], type] = {_str: str, _int: int, _bool: bool}


def _optional(hook: Callable[[Any, object], T]) -> Callable[[Any, object], T | None]:
    ready = _READY.get(hook)  # JSON type that is already the answer: skip the inner call

    def structure(value: Any, _: object) -> T | None:
        if type(value) is ready:
            return cast("T", value)
        return None if value is None else hook(value, _)

    return structure


def _is(expected: Any) -> Callable[[Any], bool]:
    return lambda tp: bool(tp == expected)


def _object(
    converter: cattrs.Converter, cls: type[T], **overrides: Any
) -> Callable[[Any, object], T]:
    """cattrs' generated hook, refusing non-objects (it would read ``[]`` as ``{}``)."""
    inner = make_dict_structure_fn(cls, converter, **overrides)

    def structure(value: Any, _: object) -> T:
        if type(value) is not dict and not isinstance(value, Mapping):
            raise _BadValue(f"expected an object, got {_json_type(value)}")
        return inner(value, cls)

    return structure


def _has_raw(cls: type[Any]) -> bool:
    return any(field.name == "raw" for field in attrs.fields(cls))


def _with_raw(converter: cattrs.Converter, cls: type[T]) -> Callable[[Any, object], T]:
    """The generated hook, fed the original object as the ``raw`` field."""
    inner = _object(converter, cls, raw=override(struct_hook=lambda v, _: dict(v)))
    return lambda value, _: inner(
        {**value, "raw": value} if isinstance(value, Mapping) else value, _
    )


def _converter(*, detailed: bool) -> cattrs.Converter:
    converter = cattrs.Converter(detailed_validation=detailed, forbid_extra_keys=False)
    for tp, hook in (
        (str, _str), (int, _int), (float, _float), (bool, _bool),
        (dt.datetime, _datetime), (dt.date, _date),
        (tuple[str, ...], _strings), (Mapping[str, str], _str_map),
    ):  # fmt: skip
        if isinstance(tp, type):  # classes go through cattrs' class dispatch, which wins
            converter.register_structure_hook(tp, hook)
        else:  # generics and unions need an exact-type predicate
            converter.register_structure_hook_func(_is(tp), hook)
        converter.register_structure_hook_func(_is(tp | None), _optional(hook))
    converter.register_structure_hook_factory(
        attrs.has,
        lambda cls: _with_raw(converter, cls) if _has_raw(cls) else _object(converter, cls),
    )
    meta = _object(converter, m.BookingLinkMeta)
    converter.register_structure_hook(
        m.BookingLinkMeta, lambda v, t: m.BookingLinkMeta() if v is None else meta(v, t)
    )
    count = _object(converter, m.SlotCount)
    converter.register_structure_hook(  # the shape is UNVERIFIED: also accept a bare number
        m.SlotCount,
        lambda v, t: m.SlotCount(_int(v, t)) if type(v) in (int, float) else count(v, t),
    )
    return converter


_fast = _converter(detailed=False)
_detailed = _converter(detailed=True)


def _format(exc: BaseException, type_: type | None) -> str:
    return str(exc) if isinstance(exc, _BadValue) else format_exception(exc, type_)


def _explain(cls: type[Any], data: Any, path: str = "$") -> ConversionError:
    """Re-run the failed load through the detailed converter to name the failing field."""
    try:
        _detailed.structure(data, cls)
    except Exception as exc:  # whatever the hooks raised, transform_error can describe
        error = ConversionError(cls.__name__, cattrs.transform_error(exc, path, _format))
        error.__cause__ = exc
        return error
    return ConversionError(cls.__name__, [f"unreadable value @ {path}"])  # pragma: no cover


def load(cls: type[T], data: Any) -> T:
    """Build ``cls`` from decoded JSON. A field that does not fit is left at its default (the
    value stays in ``raw``); only a bad or missing required field raises ConversionError."""
    try:
        result: T = _fast_hook(cls)(data, cls)
    except Exception:  # generated code raises KeyError/TypeError/ValueError...; go field by field
        return _lenient(cls, data, "$")
    return result


def _lenient(cls: type[T], data: Any, path: str) -> T:
    """Field by field: the tolerant reading behind every 2xx (issue 12). A 2xx never fails
    because a field the caller may not need changed shape; Hero has already acted."""
    if not attrs.has(cls) or not isinstance(data, Mapping):
        error = _explain(cls, data, path)
        raise error from error.__cause__
    values: dict[str, Any] = {}
    for field in _resolved_fields(cls):
        kind: Any = field.type
        if field.name == "raw":
            values["raw"] = dict(data)
        elif field.name in data:
            try:
                values[field.name] = _fast.structure(data[field.name], kind)
            except Exception:
                if field.default is attrs.NOTHING:  # a required field: the answer is unusable
                    error = _explain(cls, data, path)
                    raise error from error.__cause__
                if attrs.has(kind):  # a nested model: keep what of it is readable
                    values[field.name] = _nested(kind, data[field.name], path, field.name)
                _log.debug("read %s.%s as its default: unexpected shape", cls.__name__, field.name)
        elif field.default is attrs.NOTHING:
            error = _explain(cls, data, path)
            raise error from error.__cause__
    return cast("T", cls(**values))


def _nested(cls: type[Any], data: Any, path: str, name: str) -> Any:
    try:
        return _lenient(cls, data, f"{path}.{name}")
    except ConversionError:
        return cls()


_FIELDS: dict[type[Any], tuple[attrs.Attribute[Any], ...]] = {}


def _resolved_fields(cls: type[Any]) -> tuple[attrs.Attribute[Any], ...]:
    found = _FIELDS.get(cls)
    if found is None:
        found = _FIELDS[cls] = tuple(attrs.fields(attrs.resolve_types(cls)))
    return found


_FAST_HOOKS: dict[type[Any], Callable[[Any, Any], Any]] = {}


def _fast_hook(cls: type[Any]) -> Callable[[Any, Any], Any]:
    """cattrs' own dispatch costs ~0.4 us a call; a plain dict lookup is cheaper."""
    hook = _FAST_HOOKS.get(cls)
    if hook is None:
        hook = _FAST_HOOKS[cls] = _fast.get_structure_hook(cls)
    return hook


def load_page(item_cls: type[T], data: Any) -> m.Page[T]:
    """A ``{data, count}`` list (``count`` optional, ``data: null`` is empty). A bare JSON
    array is accepted too: some list shapes (webhooks) were never captured (§12.1). An object
    with neither ``data`` nor ``id`` (``{}``: the description does not require ``data``) is an
    empty page; one with an ``id`` is a single object (the bare batch of §14.13), never a list.
    """
    name, items, count, prefix = f"Page[{item_cls.__name__}]", data, None, "$"
    if isinstance(data, Mapping):
        if "data" not in data and "id" in data:
            raise ConversionError(name, ["expected an object with a 'data' list @ $"])
        items, count, prefix = data.get("data") or [], data.get("count"), "$.data"
    if not isinstance(items, list):
        raise ConversionError(name, [f"expected a list, got {_json_type(items)} @ {prefix}"])
    hook = _fast_hook(item_cls)
    try:
        loaded = tuple([hook(item, item_cls) for item in items])
    except Exception:  # read item by item, tolerantly; an item without its id still fails
        loaded = tuple(
            [_lenient(item_cls, item, f"{prefix}[{index}]") for index, item in enumerate(items)]
        )
    try:
        return m.Page(loaded, None if count is None else _int(count, None))
    except _BadValue:  # e.g. 1.5 or "many": paging falls back to the short-page rule
        return m.Page(loaded, None)


def load_pds(data: Any) -> m.PdsRegistration:
    """register_pds answers ``{patient_id}`` or, when identity needs checking, ``{message,
    login_url}`` (guide only, §9.1); anything else is unreadable."""
    if isinstance(data, Mapping):
        if data.get("patient_id") is not None:
            return load(m.RegisteredPatient, data)
        if data.get("login_url") is not None:
            return load(m.IdentityCheckRequired, data)
    raise ConversionError("PdsRegistration", ["expected patient_id or login_url @ $"])
