"""What a difference between two specs means (mappings/diff.yaml), as typed rules and path patterns.

The diff (migrate/diff.py) asks this module which rule governs a path and which defaults an absent field
takes; it never reads the mapping data itself.
"""
# exercised by tests/test_diff.py

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from functools import cache
from typing import Any

from migrate.mapping.data import load_mapping


@dataclass(frozen=True)
class DiffRule:
    path: tuple[str, ...]
    area: str = "control plane"
    severity: str = "risky"
    added: str | None = None
    removed: str | None = None
    consequence: str = "{key} changes"
    settings: tuple[str, ...] = ()
    ignore: bool = False
    secret: bool | None = None  # None: decided by the key names along the path

    def matches(self, path: tuple[str, ...]) -> bool:
        return match_path(self.path, path)


@dataclass(frozen=True)
class ControlPlaneImplies:
    """What every control-plane node carries without the spec saying so."""

    labels: dict[str, str]
    taints_unless_worker: tuple[str, ...]


@cache
def diff_rules() -> tuple[DiffRule, ...]:
    """The ordered rules from mappings/diff.yaml (first match wins)."""
    raw = _diff_data()["rules"]
    return tuple(
        DiffRule(**{**r, "path": tuple(r["path"].split(".")), "settings": tuple(r.get("settings") or ())}) for r in raw
    )


def diff_rule_for(path: tuple[str, ...]) -> DiffRule:
    """The first rule whose path matches; a catch-all (risky, control plane) when none does."""
    return next((r for r in diff_rules() if r.matches(path)), DiffRule(path=("**",)))


def absent_means() -> dict[str, dict[str, Any]]:
    """dotted path of a map → the values its absent keys take (what the component uses then)."""
    found: dict[str, dict[str, Any]] = _diff_data()["absent_means"]
    return found


def control_plane_implies() -> ControlPlaneImplies:
    raw = _diff_data()["control_plane_implies"]
    return ControlPlaneImplies(dict(raw["labels"]), tuple(raw["taints_unless_worker"]))


def match_path(pattern: tuple[str, ...], path: tuple[str, ...]) -> bool:
    """fnmatch per segment; `**` matches any number of segments."""
    if not pattern:
        return not path
    if pattern[0] == "**":
        return any(match_path(pattern[1:], path[i:]) for i in range(len(path) + 1)) if len(pattern) > 1 else True
    return bool(path) and fnmatch.fnmatchcase(path[0], pattern[0]) and match_path(pattern[1:], path[1:])


def _diff_data() -> dict[str, Any]:
    data: dict[str, Any] = load_mapping("diff.yaml")
    return data
