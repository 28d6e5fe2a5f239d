"""aioresponses 0.7.9 predates aiohttp 3.14, whose ClientResponse needs ``stream_writer``.

Upstream issue pnuckowski/aioresponses#289 is still open; until a release fixes it we hand
aioresponses a ClientResponse subclass that supplies the missing argument. Remove this file
once aioresponses ships the fix.
"""

from __future__ import annotations

from typing import Any
from unittest import mock

import aioresponses.core
from aiohttp import ClientResponse


class CompatClientResponse(ClientResponse):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("stream_writer", mock.Mock(output_size=0))
        super().__init__(*args, **kwargs)


def install() -> None:
    aioresponses.core.ClientResponse = CompatClientResponse  # type: ignore[misc]
