"""Practice Group tag: access token, /v1/me*, appointment types, locations (§4, §10)."""

from __future__ import annotations

from hero_async.testing import _jwt
from hero_async.testing._query import Query
from hero_async.testing._state import Call, Group, Json, iso_utc, slot_is_free
from hero_async.testing._validation import Fields


def create_access_token(call: Call) -> Json:
    """No body is read: Hero documents none, and a client that sends one is not refused."""
    token_id = call.world.uuid()
    token = _jwt.access_token(call.group.id, call.now, call.world.jwt_secret, token_id)
    return {"access_token": token}


def get_me(call: Call) -> Json:
    return call.group.profile


def update_me(call: Call) -> Json:
    """Body not captured (UNVERIFIED): known profile fields are type-checked and stored."""
    fields = Fields(call.body)
    name = fields.text("name", nonempty=True)
    sector = fields.text("sector", nonempty=True)
    address = fields.string_map("address")
    fields.done()
    profile = call.group.profile
    for key, value in (("name", name), ("sector", sector)):
        if value is not None:
            profile[key] = value
    if address is not None:
        profile["address"] = {**profile.get("address", {}), **address}
    return profile


def get_capabilities(call: Call) -> Json:
    return call.group.capabilities


def get_configuration(call: Call) -> Json:
    return call.group.configuration


def list_appointment_types(call: Call) -> Json:
    query = Query(call.query)
    location_ids = set(query.many("location_ids"))
    has_availability = query.flag("has_availability")
    query.done()
    group = call.group
    data = []
    for type_id in group.appointment_types:
        allowed = group.type_locations.get(type_id)
        if location_ids and allowed is not None and not location_ids & allowed:
            continue
        item = render_appointment_type(group, type_id, call.now, location_ids)
        if has_availability and not item["slot_count"]:
            continue
        data.append(item)
    return {"data": data, "count": len(data)}


def render_appointment_type(
    group: Group, type_id: str, now: float, location_ids: set[str] | None = None
) -> Json:
    """The stored type plus live ``slot_count`` and ``next_available_at`` from free slots."""
    starts = sorted(
        slot.start
        for slot in group.slots.values()
        if slot.appointment_type_id == type_id
        and (not location_ids or slot.location_id in location_ids)
        and slot.start.timestamp() > now
        and slot_is_free(group, slot, now)
    )
    item = dict(group.appointment_types[type_id])
    item["slot_count"] = len(starts)
    item["next_available_at"] = iso_utc(starts[0].timestamp()) if starts else None
    return item


def list_locations(call: Call) -> Json:
    data = list(call.group.locations.values())
    return {"data": data, "count": len(data)}


ROUTES = (
    ("POST", "/v1/access_token", create_access_token),
    ("GET", "/v1/me", get_me),
    ("PATCH", "/v1/me", update_me),
    ("GET", "/v1/me/capabilities", get_capabilities),
    ("GET", "/v1/me/configuration", get_configuration),
    ("GET", "/v1/appointment_types", list_appointment_types),
    ("GET", "/v1/locations", list_locations),
)
