"""Protobuf request bodies: DeleteOptions decoded from the envelope kubectl sends, every other type a 415."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from migrate.cluster.twin import protobuf
from migrate.cluster.twin.status import ApiError


def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def _field(number: int, value: int | bytes) -> bytes:
    if isinstance(value, int):
        return _varint(number << 3) + _varint(value)
    return _varint(number << 3 | 2) + _varint(len(value)) + value


def _envelope(kind: str, raw: bytes) -> bytes:
    type_meta = _field(1, b"v1") + _field(2, kind.encode())
    return protobuf.MAGIC + _field(1, type_meta) + _field(2, raw)


def test_delete_options_are_read_from_the_envelope() -> None:
    raw = (_field(1, 7) + _field(2, _field(1, b"uid-1") + _field(2, b"42")) + _field(4, b"Foreground")
           + _field(5, b"All"))
    assert protobuf.decode(_envelope("DeleteOptions", raw)) == {
        "kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 7,
        "preconditions": {"uid": "uid-1", "resourceVersion": "42"}, "propagationPolicy": "Foreground", "dryRun": ["All"]}
    assert protobuf.decode(_envelope("DeleteOptions", _field(1, -1)))["gracePeriodSeconds"] == -1


def test_other_types_get_the_api_servers_415() -> None:
    with pytest.raises(ApiError) as refused:
        protobuf.decode(_envelope("Deployment", _field(1, b"\x0a\x03web")))
    assert refused.value.code == 415 and refused.value.reason == "UnsupportedMediaType"
    assert refused.value.message == ("the body of the request was in an unknown format - accepted media types include: "
                                     "application/json, application/yaml")


@given(st.binary(max_size=64))
def test_any_bytes_give_an_answer_not_a_crash(body: bytes) -> None:
    try:
        protobuf.decode(protobuf.MAGIC + body)
    except ApiError as err:
        assert err.code in (400, 415)
