"""Evidence as JSON, with every secret removed before it is stored: the ledger is read by auditors, not keepers."""
# exercised by tests/ledger/test_journal.py

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from migrate.redact import redact


def to_json(evidence: Mapping[str, Any] | None) -> str:
    if not evidence:
        return "{}"
    if not isinstance(evidence, Mapping):
        raise TypeError(f"evidence must be a mapping, not {type(evidence).__name__}")
    clean = redact(dict(evidence))
    return json.dumps(clean, sort_keys=True, default=str, separators=(",", ":"))


def from_json(text: str | None) -> Mapping[str, Any]:
    return json.loads(text) if text and text != "{}" else {}
