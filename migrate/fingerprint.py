"""Secret values compared without ever being printable.

Each item (a CA, a token, an encryption secret, a secret inventory setting) is reduced to a keyed digest
whose key is drawn at random when the process starts: two sides compare equal or not within one run, yet
no digest means anything outside it, and none is ever printed, logged or serialized (the repr names only
the items). `diff` reports a differing item as "changed (redacted)".
"""
# exercised by tests/cli/test_diff_inventory_secrets.py and tests/cli/test_diff_secrets.py

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

_PEPPER = secrets.token_bytes(32)  # per process: a digest cannot be matched against anything outside this run
_EMPTY: tuple[object, ...] = (None, "", {}, [])
# a template that only names other variables (`{{ vault_kube_encrypt_token }}`): their values decide it
_REFERENCE = re.compile(r"\{\{\s*([A-Za-z_]\w*)\s*\}\}")


class Fingerprints:
    """item → keyed digest of its value; only ever compared, never shown."""

    __slots__ = ("_digests", "_order", "unreadable")

    def __init__(self, values: Mapping[str, Any], order: Iterable[str] = ()) -> None:
        self._order = tuple(order)
        self._digests: dict[str, bytes] = {}
        unreadable = []
        for name, value in values.items():
            try:
                if not any(value is e or (type(value) is type(e) and value == e) for e in _EMPTY):
                    self._digests[name] = _digest(value)
            except Exception:  # a vaulted value without (or with the wrong) password: cannot be compared
                unreadable.append(name)
        self.unreadable = tuple(unreadable)

    def differing(self, other: Fingerprints) -> list[str]:
        """Items whose value differs, or that only one side has, in a stable order (items neither side could
        read are left out: see `unreadable`)."""
        names = list(dict.fromkeys([*self._order, *other._order, *sorted({*self._digests, *other._digests})]))
        skip = {*self.unreadable, *other.unreadable}
        return [
            n for n in names
            if n not in skip and not hmac.compare_digest(self._digests.get(n, b""), other._digests.get(n, b""))
        ]

    def __repr__(self) -> str:
        return f"Fingerprints({', '.join(self._digests)})"

    __str__ = __repr__

    def __reduce__(self) -> tuple[object, ...]:  # never pickled (nor copied into a report) by accident
        raise TypeError("Fingerprints are not serializable")


def settings_fingerprints(variables: Mapping[str, Any], names: Iterable[str]) -> Fingerprints:
    """Secret inventory settings by their unrendered value (vaulted values decrypted by str()); a value that
    only refers to other variables is taken together with theirs, so editing the vault file shows."""
    values = {name: _with_references(variables, variables.get(name), depth=3) for name in names}
    return Fingerprints({k: v for k, v in values.items() if v is not None}, order=sorted(values))


def _with_references(variables: Mapping[str, Any], value: Any, depth: int) -> Any:
    if value is None or depth == 0 or not isinstance(value, str):
        return value
    refs = _REFERENCE.findall(value)
    if not refs:
        return value
    return [value, *(_with_references(variables, variables.get(r), depth - 1) for r in refs)]


def _digest(value: Any) -> bytes:
    return hmac.new(_PEPPER, json.dumps(value, sort_keys=True, default=str).encode(), hashlib.sha256).digest()
