"""A Finding: what happens to one Kubespray setting (or one derived fact) on Talos, and why."""
# exercised by tests/mapping/test_engine.py

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

KEPT = "kept"
CHANGED = "changed"
DROPPED = "dropped"
MANUAL = "manual"
VERDICTS = (KEPT, CHANGED, DROPPED, MANUAL)

# blocker: the plan is not safe to apply until a person acts
SEVERITIES = ("info", "notice", "warning", "blocker")
DEFAULT_SEVERITY = {KEPT: "info", DROPPED: "info", CHANGED: "notice", MANUAL: "warning"}

SETTING = "setting"  # one Kubespray variable the reader read
DERIVED = "derived"  # a fact computed from the spec and the Talos target (no single variable)


@dataclass(frozen=True)
class Finding:
    setting: str
    verdict: str
    talos_path: str | None
    reason: str
    severity: str
    value: Any = None  # never set for secret settings
    area: str = ""
    source: str = SETTING
    secret: bool = False

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {self.verdict!r} for {self.setting}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r} for {self.setting}")
        if self.secret and self.value is not None:
            raise ValueError(f"secret setting {self.setting} must not carry its value")

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "setting": self.setting,
            "verdict": self.verdict,
            "severity": self.severity,
            "area": self.area,
            "talos_path": self.talos_path,
            "reason": self.reason,
            "source": self.source,
        }
        if self.secret:
            data["secret"] = True
        elif self.value is not None:
            data["value"] = self.value
        return data


def finding(setting: str, verdict: str, reason: str, *, talos_path: str | None = None, severity: str | None = None,
            area: str = "", source: str = DERIVED) -> Finding:
    """A derived finding with the verdict's default severity unless told otherwise."""
    return Finding(setting, verdict, talos_path, reason, severity or DEFAULT_SEVERITY[verdict], area=area, source=source)


def some_names(names: list[str], shown: int = 5) -> str:
    """A readable list of hosts for a reason text: the first few, then how many more (1,000-node clusters)."""
    rest = len(names) - shown
    return ", ".join(names[:shown]) + (f" and {rest} more" if rest > 0 else "")


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """`1 blocker`, `2 blockers`: a count in words a person reads without stumbling."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"
