"""Request bodies in Kubernetes' protobuf encoding: the envelope, and the one type the twin reads from it.

kubectl sends protobuf for typed calls: `drain --disable-eviction` deletes pods with a DeleteOptions body, and
generator commands (`create deployment`, `run`) post whole objects. The twin decodes DeleteOptions (a handful
of scalar fields) and answers every other protobuf body as kube-apiserver answers a body it has no decoder
for (a custom resource's, say): 415 UnsupportedMediaType listing the media types it does accept.

Wire format: the 4-byte magic `k8s\\0`, then a runtime.Unknown message {1: TypeMeta{1: apiVersion,
2: kind}, 2: raw, 3: contentEncoding, 4: contentType}; `raw` is the object's own message.
"""
# exercised by tests/cluster/twin/test_protobuf.py

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from migrate.cluster.twin.status import ApiError, bad_request

MAGIC = b"k8s\x00"
ACCEPTED = ("application/json", "application/yaml")
Field = tuple[int, int, Any]  # (number, wire type, int or bytes)


def unsupported_media_type() -> ApiError:
    """negotiation.NewUnsupportedMediaTypeError, as the API server sends it for a body it cannot decode."""
    return ApiError(415, "UnsupportedMediaType",
                    "the body of the request was in an unknown format - accepted media types include: " + ", ".join(ACCEPTED))


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if at >= len(data) or shift > 63:
            raise ValueError("truncated varint")
        byte = data[at]
        value |= (byte & 0x7F) << shift
        at, shift = at + 1, shift + 7
        if not byte & 0x80:
            return value, at


def fields(data: Any) -> Iterator[Field]:
    if not isinstance(data, bytes):
        raise ValueError("a message field is not length-delimited")
    at = 0
    while at < len(data):
        key, at = _varint(data, at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, at = _varint(data, at)
            yield number, wire, value
        elif wire == 2:
            size, at = _varint(data, at)
            if at + size > len(data):
                raise ValueError("truncated field")
            yield number, wire, data[at:at + size]
            at += size
        elif wire in (1, 5):
            width = 8 if wire == 1 else 4
            if at + width > len(data):
                raise ValueError("truncated field")
            yield number, wire, int.from_bytes(data[at:at + width], "little")
            at += width
        else:
            raise ValueError(f"wire type {wire}")


def _int(value: Any) -> int:
    if not isinstance(value, int):
        raise ValueError("a scalar field is length-delimited")
    return value


def _signed(value: Any) -> int:
    number = int(_int(value))
    return number - (1 << 64) if number >= 1 << 63 else number


def _text(value: Any) -> str:
    if not isinstance(value, bytes):
        raise ValueError("a string field is not length-delimited")
    return value.decode()


def _delete_options(raw: bytes) -> dict[str, Any]:
    options: dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1"}
    for number, _, value in fields(raw):
        if number == 1:
            options["gracePeriodSeconds"] = _signed(value)
        elif number == 2:
            options["preconditions"] = {("uid" if n == 1 else "resourceVersion"): _text(v)
                                        for n, _, v in fields(value) if n in (1, 2)}
        elif number == 3:
            options["orphanDependents"] = bool(_int(value))
        elif number == 4:
            options["propagationPolicy"] = _text(value)
        elif number == 5:
            options.setdefault("dryRun", []).append(_text(value))
    return options


def decode(body: bytes) -> dict[str, Any]:
    """The object a protobuf request body holds; 415 for any type but DeleteOptions, 400 when malformed."""
    if not body.startswith(MAGIC):
        raise unsupported_media_type()
    try:
        unknown = {number: value for number, _, value in fields(body[len(MAGIC):])}
        type_meta = {number: _text(value) for number, _, value in fields(unknown.get(1, b""))}
        if type_meta.get(2) != "DeleteOptions" or unknown.get(3):  # a content encoding (gzip) is not expected
            raise unsupported_media_type()
        return _delete_options(unknown.get(2, b""))
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request(f"the body of the request could not be decoded: {exc}") from None
