"""JSON encode/decode: orjson when the ``speedups`` extra is installed, else the stdlib."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

__all__ = ["FAST", "DecodeError", "dumps", "loads", "std_dumps", "std_loads"]

# One encoder and one decoder for every body: json.dumps with ``separators`` builds a new
# encoder per call.
_encode = json.JSONEncoder(separators=(",", ":")).encode
_decode = json.JSONDecoder().decode


def std_dumps(obj: Any) -> bytes:
    return _encode(obj).encode()


def std_loads(data: bytes | str) -> Any:
    # JSON between systems is UTF-8 (RFC 8259), all orjson reads too: decoded as such at
    # once. json.loads(bytes) first sniffs for UTF-16 and UTF-32, which costs as much as
    # decoding a small answer. A UTF-8 byte order mark is skipped, as json.loads does.
    if not isinstance(data, str):
        data = data.decode().removeprefix("\ufeff")
    return _decode(data)


dumps: Callable[[Any], bytes]
loads: Callable[[bytes | str], Any]

try:
    import orjson
except ImportError:  # pragma: no cover - depends on the environment
    dumps, loads, FAST = std_dumps, std_loads, False
else:
    dumps, loads, FAST = orjson.dumps, orjson.loads, True

DecodeError: tuple[type[Exception], ...] = (ValueError, UnicodeDecodeError)
