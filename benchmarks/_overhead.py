"""The SDK's own layers per request, without sockets: a transport that answers at once.

``send_invitations`` (concurrency 50, asyncio + stdlib json) against a ``Transport`` that
returns the benchmark server's answers without any I/O, so everything above
``Transport.send`` runs (pipeline, steps, ledger, report, Core's retry and rate gates) and
nothing below it (aiohttp, sockets). No I/O means no timing: the event loop runs the same
callbacks in the same order every time, and the instruction count repeats to within a few
hundred instructions per request, where the end-to-end figure (``_instructions.py``) moves
by ±3 % with the machine's load. Used to measure one hot-path change at a time.

    python benchmarks/_overhead.py [n] [sdk,null,ledger]   # instructions/request, printed
    (a name ending in ``+speedups`` runs on uvloop with orjson: ``sdk+speedups``)
    python benchmarks/_overhead.py --run KIND N            # one run (what callgrind runs)
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CONCURRENCY = 50
_TOKEN = base64.urlsafe_b64encode(b'{"exp": 4102444800}').rstrip(b"=").decode()
_ANSWERS = {
    "/v1/access_token": json.dumps({"access_token": f"e30.{_TOKEN}.c2ln"}).encode(),
    "/v1/booking_links": b'{"id":"%d","short_link":"https://hero.sh/b/L%d","active":true}',
    "/v1/messages/send": b'{"message_id":"%d","write_to_record":false}',
}


class AnsweringTransport:
    """Answers every request at once with the benchmark server's shape; no I/O."""

    def __init__(self) -> None:
        self.count = 0

    async def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        data: bytes | None,
        params: list[tuple[str, str]] | None,
        timeouts: Any,
    ) -> Any:
        from hero_async import RawResponse

        self.count += 1
        body = _ANSWERS[url.removeprefix("http://127.0.0.1:9")]
        return RawResponse(200, {}, body.replace(b"%d", b"%d" % self.count))

    async def aclose(self) -> None:
        return None


async def _run(kind: str, n: int) -> int:
    sys.path.insert(0, str(HERE))
    from _workloads import API_KEY, GROUP, invitations

    from hero_async import HeroClient
    from hero_async.bulk import NullLedger

    transport = AnsweringTransport()
    with tempfile.TemporaryDirectory(prefix="hero-overhead-") as folder:
        ledgers = {"sdk": None, "null": NullLedger(), "ledger": Path(folder) / "l.db"}
        ledger: Any = ledgers[kind.removesuffix("+speedups")]
        async with HeroClient(
            API_KEY, GROUP, base_url="http://127.0.0.1:9", transport=transport,
            max_connections=CONCURRENCY,
        ) as hero:  # fmt: skip
            report = await hero.send_invitations(
                invitations(n), concurrency=CONCURRENCY, ledger=ledger
            )
            with report:
                assert report.sent == n, report
    return transport.count


def _total(kind: str, n: int) -> int:
    with tempfile.TemporaryDirectory(prefix="hero-overhead-cg-") as folder:
        out = Path(folder) / "callgrind.out"
        cmd = [
            "valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
            sys.executable, __file__, "--run", kind, str(n),
        ]  # fmt: skip
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        subprocess.run(cmd, check=True, capture_output=True, env=env)  # noqa: S603 - ours
        text = out.read_text()
    return int(text.split("\nsummary:", 1)[1].split()[0])


def per_request(kind: str, n: int) -> float:
    """Instructions per request of the SDK's layers: runs of n and 2n, the difference."""
    return (_total(kind, 2 * n) - _total(kind, n)) / (2 * n)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--run"]:
        run: Any = asyncio.run
        if sys.argv[2].endswith("+speedups"):  # uvloop + orjson, as the speedups extra
            import uvloop

            run = uvloop.run
        else:
            sys.modules["orjson"] = None  # type: ignore[assignment]  # stdlib json, as "plain"
        run(_run(sys.argv[2], int(sys.argv[3])))
    else:
        size = int(sys.argv[1]) if len(sys.argv) > 1 else 200
        for name in (sys.argv[2] if len(sys.argv) > 2 else "sdk,null,ledger").split(","):
            print(f"{name}: {per_request(name, size) / 1000:.1f}k instructions/request")
