"""Scope: the resources, bound to one practice group. HeroClient is the key's own scope;
``PracticeGroupView`` is the cheap view ``hero.practice_group(id)`` returns.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

import aiohttp

from ._auth import AccessToken
from ._ratelimit import RateLimiter
from .resources import (
    AccessTokens,
    Appointments,
    AppointmentTypes,
    AttachmentLinks,
    BatchMessages,
    BookingLinks,
    Locations,
    Messages,
    Patients,
    PracticeGroupInfo,
    Slots,
    Webhooks,
)

if TYPE_CHECKING:
    from ._client import HeroClient

__all__ = ["PracticeGroupView", "Scope"]


class Scope:
    """Everything one practice group can do. Resources are created on first use."""

    def __init__(
        self,
        client: HeroClient,
        practice_group_id: str,
        timeout: aiohttp.ClientTimeout | None,
        extra_limiter: RateLimiter | None = None,  # a bulk job's own rate cap
    ) -> None:
        self._client = client
        self.practice_group_id = practice_group_id
        self._call_timeout = timeout
        self._extra_limiter = extra_limiter

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: list[tuple[str, str]] | None = None,
        idempotent: bool | None = None,
    ) -> Any:
        return await self._client._send(
            method,
            path,
            self.practice_group_id,
            json=json,
            params=params,
            call_timeout=self._call_timeout,
            extra_limiter=self._extra_limiter,
            idempotent=idempotent,
        )

    async def access_token(self) -> AccessToken:
        """A Hero Elements token for this group, from the single-flight cache."""
        self._client._open_session()
        return await self._client._tokens.get(self.practice_group_id)

    async def _mint_access_token(self) -> AccessToken:
        return await self._client._fetch_token(self.practice_group_id)

    async def invalidate_access_token(self) -> None:
        """Drop this group's cached token (e.g. an Element reported it was rejected)."""
        await self._client._tokens.invalidate(self.practice_group_id)

    def with_options(
        self, *, timeout: float | None = None, connect_timeout: float | None = None
    ) -> PracticeGroupView:
        """The same scope with per-call timeouts (seconds), e.g. inside a request handler."""
        client = self._client
        total = client._timeout if timeout is None else timeout
        connect = client._connect_timeout if connect_timeout is None else connect_timeout
        return PracticeGroupView(
            client, self.practice_group_id, aiohttp.ClientTimeout(total=total, connect=connect)
        )

    @cached_property
    def access_tokens(self) -> AccessTokens:
        return AccessTokens(self)

    @cached_property
    def booking_links(self) -> BookingLinks:
        return BookingLinks(self)

    @cached_property
    def attachment_links(self) -> AttachmentLinks:
        return AttachmentLinks(self)

    @cached_property
    def messages(self) -> Messages:
        return Messages(self)

    @cached_property
    def batch_messages(self) -> BatchMessages:
        return BatchMessages(self)

    @cached_property
    def patients(self) -> Patients:
        return Patients(self)

    @cached_property
    def appointment_types(self) -> AppointmentTypes:
        return AppointmentTypes(self)

    @cached_property
    def locations(self) -> Locations:
        return Locations(self)

    @cached_property
    def slots(self) -> Slots:
        return Slots(self)

    @cached_property
    def appointments(self) -> Appointments:
        return Appointments(self)

    @cached_property
    def webhooks(self) -> Webhooks:
        return Webhooks(self)

    @cached_property
    def practice_group_info(self) -> PracticeGroupInfo:
        return PracticeGroupInfo(self)


class PracticeGroupView(Scope):
    """Acts for one practice group through its client's pool, token cache and rate gate."""

    def practice_group(self, practice_group_id: str) -> PracticeGroupView:
        return self._client.practice_group(practice_group_id)

    def __repr__(self) -> str:
        return f"PracticeGroupView(practice_group_id={self.practice_group_id!r})"
