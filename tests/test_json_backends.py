"""The stdlib JSON path (``hero_async/_json.py``, used without the speedups extra) reads what
``json.loads`` reads of UTF-8 and nothing that orjson, the other path, would refuse."""

from __future__ import annotations

import codecs
import json

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from hero_async._json import DecodeError, std_dumps, std_loads

_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
    max_leaves=20,
)


@given(_values)
def test_utf8_answers_read_as_json_loads_reads_them(value: object) -> None:
    body = json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")
    assume(_is_utf8(body))  # a lone surrogate is not UTF-8: refused, see below
    assert std_loads(body) == json.loads(body)
    assert std_loads(body.decode()) == json.loads(body.decode())
    assert std_loads(std_dumps(value)) == value


def test_a_utf8_byte_order_mark_is_skipped_as_json_loads_skips_it() -> None:
    body = codecs.BOM_UTF8 + b'{"id": "12", "name": "S\xc3\xa9"}'
    assert std_loads(body) == json.loads(body) == {"id": "12", "name": "Sé"}


@pytest.mark.parametrize(
    "body",
    [
        '{"id": "12"}'.encode("utf-16"),  # JSON between systems is UTF-8 (RFC 8259)
        '{"id": "12"}'.encode("utf-32-le"),
        b'{"id": "\xff"}',  # not UTF-8 at all
        b"",
        b"<html>Bad gateway</html>",
    ],
)
def test_anything_but_utf8_json_is_a_decode_error(body: bytes) -> None:
    with pytest.raises(DecodeError):
        std_loads(body)


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode()
    except UnicodeDecodeError:
        return False
    return True
