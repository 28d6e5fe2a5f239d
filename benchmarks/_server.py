"""The benchmark's own Hero stand-in: a raw asyncio HTTP/1.1 server with canned answers.

Why not ``hero_async.testing.FakeHero``: the fake validates and records everything (the right
thing for tests) and would be the bottleneck of a throughput run. This server answers the
reference's response shapes (booking link GET shape, messages/send answer, access token JWT,
appointment types page) with fresh ids, checks only that the API-key and practice-group headers
are present, and does as little else as possible, so the client is what gets measured.

    python benchmarks/_server.py [--latency-ms 50] [--token-latency-ms 50]

prints ``PORT <n>`` once listening on 127.0.0.1. ``GET /_stats`` answers request counts, token
fetches per practice group, the last body and header names seen per route, and the server's
own CPU seconds; ``POST /_reset`` zeroes the counts. ``POST /_latency?ms=N&token_ms=M`` changes
the injected latency. ``POST /_ratelimit?rps=N`` puts a token bucket on the key (N per second,
one second of burst; ``rps=0`` removes it): beyond it every API request answers 429 with a
whole-second ``Retry-After``, as FakeHero does, counted as ``429`` in the stats. Only 127.0.0.1
is ever bound.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import math
import resource
import time
from collections import Counter
from typing import Any

HOST = "127.0.0.1"
_HEAD = b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
_REASONS = {200: b"OK", 201: b"Created", 401: b"Unauthorized", 404: b"Not Found"}
_THROTTLED = (
    b"HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nRetry-After: %d\r\n"
    b'Content-Length: 31\r\n\r\n{"message":"Too Many Requests"}'
)
_LINK = (
    b'{"id":"%d","practice_group_id":"%s","short_link":"https://hero.sh/b/L%d","active":true,'
    b'"expiry_date":null,"maximum_uses":null,"number_of_uses":0,"open_count":0,'
    b'"unlimited_use":true,"meta":{"appointment_type_id":["10"],"location_id":["20"],'
    b'"practitioner_id":[]}}'
)
_MESSAGE = (
    b'{"message_id":"%d","content":"Your GP practice invites you to book an appointment",'
    b'"created_at":"2024-09-02T08:15:30.120Z","write_to_record":false}'
)
_TYPES = json.dumps(
    {
        "data": [
            {"id": "10", "name": "Flu vaccination", "slot_count": 42, "duration": 10},
            {"id": "11", "name": "Skin check", "slot_count": 0, "duration": 20},
        ],
        "count": 2,
    }
).encode()


def _b64(obj: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def _jwt(group: str) -> bytes:
    payload = {"exp": int(time.time()) + 1800, "practice_group_id": group}
    token = f"{_b64({'alg': 'HS256', 'typ': 'JWT'})}.{_b64(payload)}.c2lnbmF0dXJl"
    return json.dumps({"access_token": token}).encode()


class State:
    def __init__(self, latency: float, token_latency: float) -> None:
        self.latency, self.token_latency = latency, token_latency
        self.counts: Counter[str] = Counter()
        self.tokens: Counter[str] = Counter()
        self.samples: dict[str, dict[str, Any]] = {}
        self.next_id = 1000
        self.rps = 0.0  # the key's token bucket: off until /_ratelimit sets it
        self.bucket, self.refilled = 0.0, 0.0

    def throttle(self) -> int | None:
        """None when a token was free, else the whole seconds a client should wait."""
        if not self.rps:
            return None
        now = time.monotonic()
        self.bucket = min(self.rps, self.bucket + (now - self.refilled) * self.rps)
        self.refilled = now
        if self.bucket >= 1:
            self.bucket -= 1
            return None
        return max(1, math.ceil((1 - self.bucket) / self.rps))

    def stats(self) -> bytes:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return json.dumps(
            {
                "counts": self.counts,
                "tokens": self.tokens,
                "samples": self.samples,
                "cpu": usage.ru_utime + usage.ru_stime,
                "maxrss_kb": usage.ru_maxrss,
            }
        ).encode()


class HeroProtocol(asyncio.Protocol):
    """One keep-alive connection: parse requests (Content-Length bodies only), answer each."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.buf = bytearray()
        self.transport: Any = None  # uvloop's transports are not asyncio.Transport subclasses

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        while (end := buf.find(b"\r\n\r\n")) >= 0:
            head = bytes(buf[:end]).lower()
            length = int(_header(head, b"content-length") or 0)
            total = end + 4 + length
            if len(buf) < total:
                return
            body = bytes(buf[end + 4 : total])
            del buf[:total]
            self.answer(head, body)

    def answer(self, head: bytes, body: bytes) -> None:
        line = head[: head.find(b"\r\n")]
        method, target, _ = line.split(b" ", 2)
        path, _, query = target.partition(b"?")
        route = f"{method.decode().upper()} {path.decode()}"
        state = self.state
        state.counts[route] += 1
        group = _header(head, b"x-practice-group-id")
        delay = state.latency
        if route.startswith(("GET /_", "POST /_")):
            status, out, delay = 200, self.control(route, query), 0.0
        elif _header(head, b"x-api-key") is None or group is None:
            status, out = 401, b'{"message":"Unauthorized"}'
        elif (wait := state.throttle()) is not None:
            state.counts[route] -= 1  # "requests" are the ones Hero accepted
            state.counts["429"] += 1
            self._reply(_THROTTLED % wait, delay)
            return
        elif route == "POST /v1/booking_links":
            state.next_id += 1
            status, out = 201, _LINK % (state.next_id, group.encode(), state.next_id)
        elif route == "POST /v1/messages/send":
            state.next_id += 1
            status, out = 201, _MESSAGE % state.next_id
        elif route == "POST /v1/access_token":
            state.tokens[group] += 1
            status, out, delay = 200, _jwt(group), state.token_latency
        elif route == "GET /v1/appointment_types":
            status, out = 200, _TYPES
        else:
            status, out = 404, b'{"message":"Not Found"}'
        if route not in state.samples and status < 300 and body:
            state.samples[route] = {"body": json.loads(body), "headers": _names(head)}
        self._reply(_HEAD % (status, _REASONS[status], len(out)) + out, delay)

    def _reply(self, reply: bytes, delay: float) -> None:
        if delay > 0:
            asyncio.get_running_loop().call_later(delay, self._write, reply)
        else:
            self.transport.write(reply)

    def _write(self, reply: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(reply)

    def control(self, route: str, query: bytes) -> bytes:
        state = self.state
        if route == "POST /_reset":
            state.counts.clear()
            state.tokens.clear()
            state.samples.clear()
        elif route == "POST /_ratelimit":
            params = dict(p.split(b"=", 1) for p in query.split(b"&") if b"=" in p)
            state.rps = state.bucket = float(params.get(b"rps", b"0"))
            state.refilled = time.monotonic()
        elif route == "POST /_latency":
            params = dict(p.split(b"=", 1) for p in query.split(b"&") if b"=" in p)
            state.latency = float(params.get(b"ms", b"0")) / 1000
            state.token_latency = float(params.get(b"token_ms", b"0")) / 1000
        return state.stats()


def _header(head: bytes, name: bytes) -> str | None:
    at = head.find(b"\r\n" + name + b":")
    if at < 0:
        return None
    start = at + len(name) + 3
    end = head.find(b"\r\n", start)
    return head[start : end if end >= 0 else len(head)].strip().decode()


def _names(head: bytes) -> list[str]:
    lines = head.split(b"\r\n")[1:]
    return sorted(line.split(b":", 1)[0].decode() for line in lines)


async def serve(port: int, latency: float, token_latency: float) -> None:
    state = State(latency, token_latency)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: HeroProtocol(state), HOST, port, backlog=1024)
    print("PORT", server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--token-latency-ms", type=float, default=0.0)
    args = parser.parse_args()
    run = asyncio.run
    try:
        import uvloop

        run = uvloop.run
    except ImportError:  # the server is not what is measured; asyncio is fine too
        pass
    run(serve(args.port, args.latency_ms / 1000, args.token_latency_ms / 1000))


if __name__ == "__main__":
    main()
