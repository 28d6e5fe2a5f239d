"""``python -m hero_async.testing``: run the fake standalone, seeded with the sandbox.

Loopback only: a non-loopback ``--host`` is refused. Stop it with Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Sequence

from hero_async.testing._app import loopback_host
from hero_async.testing._fake import FakeHero
from hero_async.testing._sandbox import SANDBOX_API_KEY, SANDBOX_PRACTICE_GROUP_ID


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m hero_async.testing",
        description="Run the fake Hero API (sandbox world) on a loopback address.",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="loopback address (default %(default)s)"
    )
    parser.add_argument(
        "--port", type=int, default=8080, help="port (default %(default)s; 0 = any)"
    )
    parser.add_argument("--seed", type=int, default=0, help="RNG seed for ids and faults")
    parser.add_argument(
        "--log-limit",
        type=int,
        default=1000,
        help="requests kept in the log (counters keep counting; default %(default)s)",
    )
    parser.add_argument(
        "--fast",
        action="store_true",
        help="benchmark mode: no request log, no message records (counters only)",
    )
    return parser


async def _serve(args: argparse.Namespace) -> None:
    log_limit = 0 if args.fast else args.log_limit  # --fast wins over the default bound
    fake = FakeHero(
        seed_sandbox=True,
        host=args.host,
        port=args.port,
        seed=args.seed,
        log_limit=log_limit,
        fast=args.fast,
    )
    async with fake:
        print(f"Hero fake (sandbox) listening on {fake.url}", flush=True)
        print(
            f"API key: {SANDBOX_API_KEY}  practice group: {SANDBOX_PRACTICE_GROUP_ID}", flush=True
        )
        await asyncio.Event().wait()  # serve until interrupted


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        loopback_host(args.host)
    except ValueError as exc:
        parser.error(str(exc))
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_serve(args))
    except OSError as exc:  # the port is taken (or not ours to bind): say so, in one line
        reason = exc.strerror or str(exc)
        print(f"{parser.prog}: cannot listen on {args.host}:{args.port}: {reason}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
