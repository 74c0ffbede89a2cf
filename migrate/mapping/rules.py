"""The Kubespray-setting rules (mappings/talos/settings.yaml) as typed objects, and lookup by variable name."""
# exercised by tests/mapping/test_engine.py

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from migrate.mapping.data import load_mapping
from migrate.mapping.finding import VERDICTS
from migrate.version import require_minor


@dataclass(frozen=True)
class Rule:
    names: tuple[str, ...]  # exact variable names
    patterns: tuple[str, ...]  # shell-style patterns, tried only when no exact rule matches
    area: str
    talos: str | None
    legacy: dict[str, str] = field(default_factory=dict)  # {"1.12": path}: the path used below Talos 1.12
    spec: str | None = None
    verdict: Any = None  # a verdict name or a conditional rule (see settings.yaml header)
    reason: str = ""
    severity: str | None = None
    when: dict[str, Any] | None = None  # {setting: name, in: [...]} or {setting: name, truthy: true}

    def talos_path(self, talos: tuple[int, int]) -> str | None:
        """The path for that Talos minor: the oldest legacy form whose bound lies above it, else the current form."""
        for bound in sorted(self.legacy, key=require_minor):
            if talos < require_minor(bound):
                return self.legacy[bound]
        return self.talos


@dataclass(frozen=True)
class RuleBook:
    exact: dict[str, Rule]
    patterned: tuple[Rule, ...]

    def rule_for(self, name: str) -> Rule | None:
        rule = self.exact.get(name)
        if rule is not None:
            return rule
        for candidate in self.patterned:
            if any(fnmatch.fnmatchcase(name, p) for p in candidate.patterns):
                return candidate
        return None

    @property
    def rules(self) -> tuple[Rule, ...]:
        unique = {id(r): r for r in self.exact.values()}
        return tuple(unique.values()) + self.patterned


@cache
def rule_book() -> RuleBook:
    exact: dict[str, Rule] = {}
    patterned: list[Rule] = []
    for row in load_mapping("talos", "settings.yaml")["rules"]:
        rule = Rule(
            names=tuple(row.get("settings", ())),
            patterns=tuple(row.get("match", ())),
            area=row["area"],
            talos=row.get("talos"),
            legacy=dict(row.get("legacy") or {}),
            spec=row.get("spec"),
            verdict=row["verdict"],
            reason=row.get("reason", ""),
            severity=row.get("severity"),
            when=row.get("when"),
        )
        _check(rule)
        for name in rule.names:
            if name in exact:
                raise ValueError(f"settings.yaml: {name} has two rules")
            exact[name] = rule
        if rule.patterns:
            patterned.append(rule)
    return RuleBook(exact, tuple(patterned))


def _check(rule: Rule) -> None:
    """Fail at load time on a malformed rule rather than when some cluster first hits it."""
    label = (rule.names or rule.patterns)[0]
    verdict = rule.verdict
    if isinstance(verdict, str):
        if verdict not in VERDICTS:
            raise ValueError(f"settings.yaml: {label}: unknown verdict {verdict!r}")
        return
    kinds = {"if_truthy", "if_value", "if_spec", "transform"} & set(verdict)
    if len(kinds) != 1:
        raise ValueError(f"settings.yaml: {label}: verdict needs exactly one of if_truthy/if_value/if_spec/transform")
    if rule.when is not None and "setting" not in rule.when:
        raise ValueError(f"settings.yaml: {label}: when needs a setting")
    if "if_spec" in verdict and not rule.spec:
        raise ValueError(f"settings.yaml: {label}: if_spec needs a spec field")
