"""The request pipeline: faults, auth, scope, cross-org rule, rate limit, handler, log.

Order, and why: a fault stands in for the network or a proxy in front of Hero, so it acts
before Hero's own checks; the rate limit counts only keys Hero recognises; a 404 for an
unknown route comes after auth, as an API gateway would answer it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
from collections.abc import Callable
from typing import Any

from aiohttp import web

from hero_async.testing import _rules
from hero_async.testing._faults import Fault, FaultBook, RateLimiter
from hero_async.testing._log import RequestLog
from hero_async.testing._records import RecordedRequest
from hero_async.testing._state import Call, Json, World
from hero_async.testing._validation import Reject, error_body, issue

Handler = Callable[[Call], Json]
_WITH_BODY = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_HTML_STATUSES = frozenset({502, 503, 504})  # proxies in front of APIs answer these in HTML
_UNAUTHORISED = "Unauthorised"


@dataclasses.dataclass(frozen=True, slots=True)
class Route:
    method: str
    template: str
    handler: Handler
    scope: str | None


class Answer(Exception):
    """Short-circuits the pipeline with a finished status and body."""

    def __init__(
        self,
        status: int,
        body: Any,
        fault: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status)
        self.status, self.body, self.fault, self.headers = status, body, fault, headers


class Dispatcher:
    def __init__(
        self, world: World, log: RequestLog, faults: FaultBook, limiter: RateLimiter
    ) -> None:
        self.world, self.log, self.faults, self.limiter = world, log, faults, limiter
        self.in_flight = 0
        self.peak = 0
        self._request_ids = itertools.count(1)

    async def handle(self, route: Route | None, request: web.Request) -> web.StreamResponse:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            return await self._handle(route, request)
        finally:
            self.in_flight -= 1

    async def _handle(self, route: Route | None, request: web.Request) -> web.StreamResponse:
        method, path = request.method, request.path
        group_id = request.headers.get(_rules.PRACTICE_GROUP_HEADER)
        body, bad_json = await _read_json(request) if method in _WITH_BODY else (None, None)
        template = route.template if route is not None else path
        fault = self.faults.take(method, path, template, group_id) if self.faults.handles else None
        answer, key_ok = await self._answer(route, request, body, bad_json, group_id, fault)
        fault_name = answer.fault or (fault.kind if fault is not None else None)
        request_id = f"fake-{next(self._request_ids):08d}"
        response = _respond(answer, request_id, fault, request)
        logged = 0 if fault_name in ("drop_before", "drop_after") else answer.status
        entry = RecordedRequest(
            method,
            path,
            group_id,
            request.query,
            body,
            logged,
            key_ok,
            template,
            request_id,
            fault_name,
        )
        self.log.record(entry)
        return response

    async def _answer(
        self,
        route: Route | None,
        request: web.Request,
        body: Any,
        bad_json: str | None,
        group_id: str | None,
        fault: Fault | None,
    ) -> tuple[Answer, bool]:
        """Hero's answer (or the fault's) and whether the API key was accepted."""
        key_ok = False
        try:
            if fault is not None:
                await _before(fault, request)
            key = self._authorise(request.headers.get(_rules.API_KEY_HEADER), group_id, route)
            key_ok = True
            self._throttle(key)
            if route is None:
                raise Answer(404, error_body(404, _rules.NOT_FOUND_MESSAGE))
            if bad_json is not None:
                raise Answer(400, error_body(400, [issue([], "invalid_type", bad_json)]))
            if body is None and (route.method, route.template) in _rules.BODY_REQUIRED:
                raise Answer(400, error_body(400, [issue([], "invalid_type", "object")]))
            return Answer(200, self._run(route, request, body, group_id)), key_ok
        except Answer as answer:
            return answer, key_ok

    def _authorise(self, key: str | None, group_id: str | None, route: Route | None) -> str:
        api_key = self.world.keys.get(key) if key else None
        if api_key is None or key is None:
            raise Answer(401, error_body(401, f"{_UNAUTHORISED}: missing or unknown x-api-key"))
        if not group_id:
            raise Answer(
                _rules.MISSING_PRACTICE_GROUP_STATUS,
                error_body(
                    _rules.MISSING_PRACTICE_GROUP_STATUS,
                    f"{_UNAUTHORISED}: missing {_rules.PRACTICE_GROUP_HEADER}",
                ),
            )
        if group_id not in self.world.groups:
            raise _forbidden(_rules.UNKNOWN_PRACTICE_GROUP_STATUS, "unknown practice group")
        if not self.world.may_act(api_key.home, group_id):
            raise _forbidden(
                _rules.CROSS_ORG_DENIED_STATUS,
                "practice group shares no network with the key's practice group",
            )
        if route is not None and route.scope is not None and route.scope not in api_key.scopes:
            raise _forbidden(_rules.MISSING_SCOPE_STATUS, f"key lacks the {route.scope} scope")
        return key

    def _throttle(self, key: str) -> None:
        wait = self.limiter.retry_after(key) if self.limiter.per_second else None
        if wait is not None:
            raise Answer(
                429, error_body(429, "Too Many Requests"), "rate_limit", {"Retry-After": str(wait)}
            )

    def _run(self, route: Route, request: web.Request, body: Any, group_id: str | None) -> Json:
        group = self.world.groups[group_id or ""]
        # An absent body reads as {} so that required fields are named in the 400, not "[]".
        body = {} if body is None else body
        call = Call(self.world, group, body, request.query, request.match_info, self.world.clock())
        try:
            return route.handler(call)
        except Reject as reject:
            raise Answer(reject.status, error_body(reject.status, reject.message)) from None


def _forbidden(status: int, why: str) -> Answer:
    return Answer(status, error_body(status, f"{_UNAUTHORISED}: {why}"))


async def _read_json(request: web.Request) -> tuple[Any, str | None]:
    """(parsed body or None, what was expected if it is unusable). Empty bodies are None;
    a body under another Content-Type is refused, not sniffed (text/plain, multipart)."""
    if not request.body_exists:
        return None, None
    raw = await request.read()
    if not raw.strip():
        return None, None
    if request.content_type not in _rules.JSON_CONTENT_TYPES:
        return raw.decode("utf-8", "replace"), "application/json"
    try:
        parsed = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return raw.decode("utf-8", "replace"), "object"
    # A body that is sent must be an object even where one is optional: Hero's strict JSON
    # parser refuses a bare `null` (it is not "no body").
    return parsed, "object" if parsed is None else None


async def _before(fault: Fault, request: web.Request) -> None:
    """The part of a fault that happens before Hero looks at the request."""
    if fault.latency > 0:
        await asyncio.sleep(fault.latency)
    if fault.drop == "before":
        _drop(request)
        raise Answer(0, None, "drop_before")
    if fault.status is not None:
        headers = None
        if fault.retry_after is not None:
            headers = {"Retry-After": f"{fault.retry_after:g}"}
        raise Answer(fault.status, _fault_body(fault.status), "status", headers)


def _fault_body(status: int) -> Any:
    if status in _HTML_STATUSES:
        return f"<html><body><h1>{status}</h1>upstream unavailable</body></html>"
    return error_body(status, "Too Many Requests" if status == 429 else "Unknown error")


def _drop(request: web.Request) -> None:
    # Closing the transport makes aiohttp skip writing the response (it logs at debug only).
    if request.transport is not None:
        request.transport.close()


def _respond(
    answer: Answer, request_id: str, fault: Fault | None, request: web.Request
) -> web.Response:
    headers = {_rules.REQUEST_ID_HEADER: request_id}
    if answer.headers:
        headers.update(answer.headers)
    status = answer.status or 200  # 0 = dropped: nobody will read it
    if isinstance(answer.body, str):
        return web.Response(
            status=status, text=answer.body, content_type="text/html", headers=headers
        )
    raw = json.dumps(answer.body).encode()
    if fault is not None and fault.malformed_json:
        raw = raw[: max(1, len(raw) // 2)]
    elif fault is not None and fault.drop == "after":
        _drop(request)  # the effects are already recorded: the client just never hears
    return web.Response(status=status, body=raw, content_type="application/json", headers=headers)
