from __future__ import annotations

from typing import TYPE_CHECKING

from ._base import Resource

if TYPE_CHECKING:
    from .._auth import AccessToken


class AccessTokens(Resource):
    """``POST /v1/access_token``. Prefer ``await scope.access_token()``, which caches."""

    __slots__ = ()

    async def create(self) -> AccessToken:
        """Mint a fresh Hero Elements token, bypassing the cache."""
        return await self._scope.mint_access_token()
