"""Practice group configuration: appointment types, locations, and the group itself."""

from __future__ import annotations

from collections.abc import Iterable

from .. import _validate as v
from ..models import AppointmentType, Capabilities, Configuration, Location, Page, PracticeGroup
from ._base import Resource, optional, query


class AppointmentTypes(Resource):
    __slots__ = ()

    async def list(
        self, *, location_ids: Iterable[str] | None = None, has_availability: bool | None = None
    ) -> Page[AppointmentType]:
        """``GET /v1/appointment_types``. ``location_ids`` go as repeated keys (UNVERIFIED)."""
        ids = None if location_ids is None else [v.hero_id(i, "location_ids") for i in location_ids]
        params = query(
            location_ids=ids,
            has_availability=optional(v.boolean, has_availability, "has_availability"),
        )
        return await self._page("/v1/appointment_types", AppointmentType, params)


class Locations(Resource):
    __slots__ = ()

    async def list(self) -> Page[Location]:
        """``GET /v1/locations`` (item fields beyond id and name were not captured)."""
        return await self._page("/v1/locations", Location, [])


class PracticeGroupInfo(Resource):
    """``/v1/me``: the practice group this scope acts for."""

    __slots__ = ()

    async def me(self) -> PracticeGroup:
        return await self._call("GET", "/v1/me", PracticeGroup)

    async def capabilities(self) -> Capabilities:
        return await self._call("GET", "/v1/me/capabilities", Capabilities)

    async def configuration(self) -> Configuration:
        return await self._call("GET", "/v1/me/configuration", Configuration)
