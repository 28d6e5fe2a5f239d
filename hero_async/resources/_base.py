"""What every resource shares: the scope it acts for, body/query building, loading, paging."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

from .. import _serde
from .._errors import MalformedResponseError
from ..models import Page

if TYPE_CHECKING:
    from .._auth import AccessToken

T = TypeVar("T")
R = TypeVar("R")
Query = list[tuple[str, str]]


class Requester(Protocol):
    """A view that can make requests for one practice group: what resources (and the bulk
    layer) need from the client, defined here so that nothing below the client imports it."""

    @property
    def practice_group_id(self) -> str: ...

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Query | None = None,
        idempotent: bool | None = None,
    ) -> Any: ...

    async def access_token(self) -> AccessToken: ...

    async def mint_access_token(self) -> AccessToken: ...


class Resource:
    """A resource method builds a path and a body, calls the scope, and loads the model."""

    __slots__ = ("_scope",)

    def __init__(self, scope: Requester) -> None:
        self._scope = scope

    async def _call(
        self,
        method: str,
        path: str,
        model: type[T],
        *,
        json: Any = None,
        params: Query | None = None,
    ) -> T:
        data = await self._scope.request(method, path, json=json, params=params)
        try:
            return load(model, data)
        except MalformedResponseError as exc:
            raise exc.at(method, path, self._scope.practice_group_id) from None

    async def _no_body(self, method: str, path: str, *, json: Any = None) -> Any:
        """For operations documented with no body: the decoded answer, or None when a 2xx
        body is not JSON (Express's ``OK``) or too large to read. Hero has acted on any 2xx;
        an error here would invite the caller to resend."""
        try:
            return await self._scope.request(method, path, json=json)
        except MalformedResponseError as exc:
            if 200 <= exc.status < 300:
                return None
            raise

    async def _page(self, path: str, item: type[T], params: Query) -> Page[T]:
        data = await self._scope.request("GET", path, params=params)
        try:
            return cast("Page[T]", _convert(_serde.load_page, item, data))
        except MalformedResponseError as exc:
            raise exc.at("GET", path, self._scope.practice_group_id) from None


def load(model: type[T], data: Any) -> T:
    return cast("T", _convert(_serde.load, model, data))


def _convert(fn: Callable[[Any, Any], Any], model: Any, data: Any) -> Any:
    try:
        return fn(model, data)
    except _serde.ConversionError as exc:
        raise MalformedResponseError(
            f"unexpected answer shape ({exc})", status=200, body=repr(data)
        ) from None


def body(**fields: Any) -> dict[str, Any]:
    """A JSON body from keyword arguments, leaving out the ones not given (None)."""
    return {name: value for name, value in fields.items() if value is not None}


def query(**fields: Any) -> Query:
    """Query parameters: None left out, booleans as true/false, lists as repeated keys."""
    pairs: Query = []
    for name, value in fields.items():
        if value is None:
            continue
        values = value if isinstance(value, list | tuple) else [value]
        for one in values:
            text = ("true" if one else "false") if isinstance(one, bool) else str(one)
            pairs.append((name, text))
    return pairs


async def paginate(fetch: Callable[[int], Awaitable[Page[T]]], page_size: int) -> AsyncIterator[T]:
    """Walk pages from index 0 until a short page or the running total reaches ``count``."""
    index = seen = 0
    while True:
        page = await fetch(index)
        for item in page.data:
            yield item
        seen += len(page.data)
        if len(page.data) < page_size or (page.count is not None and seen >= page.count):
            return
        index += 1


def optional(check: Callable[[object, str], R], value: object, field: str) -> R | None:
    """Run a validator only when the optional argument was given."""
    return None if value is None else check(value, field)
