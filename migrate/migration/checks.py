"""What a preflight check says: pass, warn or fail, with the reason and the fix, and the exit status of many."""
# exercised by tests/migration/test_preflight.py

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

PASS, WARN, FAIL = "pass", "warn", "fail"


@dataclass(frozen=True)
class Check:
    name: str
    result: str  # pass | warn | fail
    reason: str
    fix: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.name, "result": self.result, "reason": self.reason, "fix": self.fix}


def worst(checks: Sequence[Check]) -> int:
    """The exit status: 0 all pass, 1 a warning, 2 a failure."""
    results = {c.result for c in checks}
    return 2 if FAIL in results else 1 if WARN in results else 0
