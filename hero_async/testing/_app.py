"""The aiohttp application: every route of the reference, bound to loopback only.

Each route is registered with its scope (from ``_rules.SCOPE_BY_PREFIX``); a catch-all route
sends everything else through the same pipeline, so unknown paths still get auth, the
request log and Hero's 404 body.
"""

from __future__ import annotations

import functools
import ipaddress
import socket

from aiohttp import web

from hero_async.testing._dispatch import Dispatcher, Route
from hero_async.testing._rules import scope_for
from hero_async.testing.handlers import (
    _appointments,
    _batches,
    _links,
    _messages,
    _patients,
    _practice,
    _slots,
    _webhooks,
)

# Order matters where paths overlap: /v1/slots/count is registered before /v1/slots/{id}.
_ROUTE_TABLES = (
    _practice.ROUTES,
    _links.ROUTES,
    _messages.ROUTES,
    _batches.ROUTES,
    _patients.ROUTES,
    _slots.ROUTES,
    _appointments.ROUTES,
    _webhooks.ROUTES,
)
ROUTES = tuple(Route(m, t, h, scope_for(t)) for table in _ROUTE_TABLES for m, t, h in table)
SHUTDOWN_TIMEOUT = 0.5  # seconds granted to in-flight handlers (e.g. a latency fault) on close


def build_app(dispatcher: Dispatcher) -> web.Application:
    app = web.Application()
    for route in ROUTES:
        handler = functools.partial(dispatcher.handle, route)
        app.router.add_route(route.method, route.template, handler)
    app.router.add_route("*", "/{tail:.*}", functools.partial(dispatcher.handle, None))
    return app


def loopback_host(host: str) -> str:
    """The address to bind, refusing anything but loopback: the fake is never exposed."""
    if host == "localhost":
        return "127.0.0.1"
    try:
        if ipaddress.ip_address(host).is_loopback:
            return host
    except ValueError:
        pass
    raise ValueError(f"FakeHero binds loopback only, not {host!r}")


def bind(host: str, port: int) -> tuple[socket.socket, str]:
    """A listening-ready socket on a loopback address, and the base URL it serves."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((loopback_host(host), port))
    except OSError:
        sock.close()
        raise
    shown = f"[{host}]" if family == socket.AF_INET6 else host
    return sock, f"http://{shown}:{sock.getsockname()[1]}"


async def serve(app: web.Application, sock: socket.socket) -> web.AppRunner:
    """Start serving ``app`` on ``sock``; the caller owns the returned runner."""
    runner = web.AppRunner(
        app, access_log=None, handle_signals=False, shutdown_timeout=SHUTDOWN_TIMEOUT
    )
    await runner.setup()
    try:
        await web.SockSite(runner, sock).start()
    except BaseException:
        await runner.cleanup()
        sock.close()
        raise
    return runner
