"""Practice group configuration: appointment types, locations, and the group itself."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .. import _validate as v
from .._errors import ValidationError
from ..models import AppointmentType, Capabilities, Configuration, Location, Page, PracticeGroup
from ._base import Resource, body, optional, query


class AppointmentTypes(Resource):
    """``/v1/appointment_types``: what the practice group offers for booking."""

    __slots__ = ()

    async def list(
        self, *, location_ids: Iterable[str] | None = None, has_availability: bool | None = None
    ) -> Page[AppointmentType]:
        """``GET /v1/appointment_types``: the bookable types, as a page of AppointmentType
        (with live ``slot_count``). ``location_ids`` go as repeated keys (UNVERIFIED)."""
        ids = None if location_ids is None else [v.hero_id(i, "location_ids") for i in location_ids]
        params = query(
            location_ids=ids,
            has_availability=optional(v.boolean, has_availability, "has_availability"),
        )
        return await self._page("/v1/appointment_types", AppointmentType, params)


class Locations(Resource):
    """``/v1/locations``: the practice group's sites."""

    __slots__ = ()

    async def list(self) -> Page[Location]:
        """``GET /v1/locations``: the sites configured for online booking, as a page of
        Location (fields beyond id and name were not captured: see ``raw``)."""
        return await self._page("/v1/locations", Location, [])


class PracticeGroupInfo(Resource):
    """``/v1/me``: the practice group this scope acts for."""

    __slots__ = ()

    async def me(self) -> PracticeGroup:
        """``GET /v1/me``: the practice group this scope acts for, as a PracticeGroup."""
        return await self._call("GET", "/v1/me", PracticeGroup)

    async def update(
        self,
        *,
        name: str | None = None,
        sector: str | None = None,
        address: Mapping[str, str] | None = None,
    ) -> PracticeGroup:
        """``PATCH /v1/me``: change the fields given (at least one) and return the updated
        PracticeGroup. The body was not captured (UNVERIFIED): these are the fields of the
        guide's illustrative practice group (``address``: line_1, line_2, town, county,
        postcode)."""
        fields = body(
            name=optional(v.text, name, "name"),
            sector=optional(v.text, sector, "sector"),
            address=None if address is None else _address(address),
        )
        if not fields:
            raise ValidationError("practice_group", "nothing to update")
        return await self._call("PATCH", "/v1/me", PracticeGroup, json=fields)

    async def capabilities(self) -> Capabilities:
        """``GET /v1/me/capabilities``: what the practice group can do (shape in ``raw``)."""
        return await self._call("GET", "/v1/me/capabilities", Capabilities)

    async def configuration(self) -> Configuration:
        """``GET /v1/me/configuration``: the group's settings (shape in ``raw``)."""
        return await self._call("GET", "/v1/me/configuration", Configuration)


def _address(address: Mapping[str, str]) -> dict[str, str]:
    out = {
        v.text(key, "address"): v.text(value, f"address.{key}") for key, value in address.items()
    }
    if not out:
        raise ValidationError("address", "empty; leave it out instead")
    return out
