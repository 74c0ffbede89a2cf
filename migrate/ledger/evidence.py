"""Evidence as JSON, with every secret removed before it is stored: the ledger is read by auditors, not keepers."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

try:  # the project's one redaction, stdlib-only, once it has moved out of migrate/ui.py
    from migrate.redact import redact as _redact  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # until then: the strict stand-in below (delete it when migrate/redact.py lands)
    _redact = None


def to_json(evidence: Mapping[str, Any] | None) -> str:
    if not evidence:
        return "{}"
    if not isinstance(evidence, Mapping):
        raise TypeError(f"evidence must be a mapping, not {type(evidence).__name__}")
    clean = _redact(dict(evidence)) if _redact is not None else _stand_in(dict(evidence))
    return json.dumps(clean, sort_keys=True, default=str, separators=(",", ":"))


def from_json(text: str | None) -> Mapping[str, Any]:
    return json.loads(text) if text and text != "{}" else {}


_SECRET_WORDS = ("key", "token", "secret", "password", "passwd", "credential", "private", "auth")
_SAFE_NAMES = {"public_key", "key_name", "key_file"}
_PEM_MARK = "PRIVATE KEY-----"


def _stand_in(data: Any) -> Any:
    """Drop values under secret-sounding names and any string holding a private key (errs on hiding too much)."""
    if isinstance(data, Mapping):
        return {str(k): ("<redacted>" if _secret_name(str(k)) and data[k] not in (None, "", True, False)
                         and not isinstance(data[k], (int, float)) else _stand_in(data[k])) for k in data}
    if isinstance(data, (list, tuple)):
        return [_stand_in(v) for v in data]
    if isinstance(data, str) and _PEM_MARK in data:
        return "<redacted>"
    return data


def _secret_name(name: str) -> bool:
    low = name.lower()
    return low not in _SAFE_NAMES and any(low.endswith(w) or low.endswith(w + "s") for w in _SECRET_WORDS)
