"""JSON encode/decode: orjson when the ``speedups`` extra is installed, else the stdlib."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

dumps: Callable[[Any], bytes]
loads: Callable[[bytes | str], Any]

try:
    import orjson
except ImportError:  # pragma: no cover - depends on the environment

    def _std_dumps(obj: Any) -> bytes:
        return json.dumps(obj, separators=(",", ":")).encode()

    dumps = _std_dumps
    loads = json.loads
    FAST = False
else:
    dumps = orjson.dumps
    loads = orjson.loads
    FAST = True

DecodeError: tuple[type[Exception], ...] = (ValueError, UnicodeDecodeError)
