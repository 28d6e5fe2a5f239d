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
    # One encoder for every body: json.dumps with ``separators`` builds a new one per call.
    _encode = json.JSONEncoder(separators=(",", ":")).encode

    def _std_dumps(obj: Any) -> bytes:
        return _encode(obj).encode()

    dumps = _std_dumps
    loads = json.loads
    FAST = False
else:
    dumps = orjson.dumps
    loads = orjson.loads
    FAST = True

DecodeError: tuple[type[Exception], ...] = (ValueError, UnicodeDecodeError)
