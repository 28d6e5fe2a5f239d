from __future__ import annotations

from typing import TYPE_CHECKING

from ._base import Resource

if TYPE_CHECKING:
    from .._auth import AccessToken


class AccessTokens(Resource):
    """``POST /v1/access_token``. Prefer ``await scope.access_token()``, which caches."""

    __slots__ = ()

    async def create(self) -> AccessToken:
        """``POST /v1/access_token``: mint a fresh Hero Elements JWT, bypassing the cache;
        returns an AccessToken (valid 30 minutes). ``await scope.access_token()`` caches."""
        return await self._scope.mint_access_token()
