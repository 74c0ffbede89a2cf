"""Apply the rules to a resolved cluster: exactly one Finding per Kubespray setting the reader read."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from migrate.mapping.finding import CHANGED, DEFAULT_SEVERITY, DROPPED, MANUAL, SETTING, Finding
from migrate.mapping.rules import Rule, rule_book
from migrate.mapping.transforms import TRANSFORMS, MappingContext, Outcome
from migrate.spec import ClusterSpec

NO_RULE = "no rule yet"
NOT_IN_EFFECT = "Not in effect on this cluster"  # report.md lists these apart from what the plan drops
NOT_SET = "is not set on this cluster, so there is nothing to carry over."
_FALSY_STRINGS = {"", "false", "no", "off", "0", "none", "null", '""'}
_VALUE_LIMIT = 200  # characters of a value shown in the report


class SettingLike(Protocol):
    """One setting as a reader found it (migrate.kubespray.Setting is one); read-only, so frozen dataclasses fit."""

    @property
    def name(self) -> str: ...
    @property
    def value(self) -> Any: ...
    @property
    def origin(self) -> str: ...
    @property
    def secret(self) -> bool: ...


class ReadCluster(Protocol):
    """A cluster as a reader found it (migrate.kubespray.ResolvedCluster is one): what the planner maps, so that
    talos/ never imports kubespray/. Read-only members: a frozen dataclass satisfies them."""

    @property
    def spec(self) -> ClusterSpec: ...
    @property
    def settings(self) -> Mapping[str, SettingLike]: ...
    @property
    def release(self) -> str: ...  # the Kubespray release read, "v2.27"
    @property
    def release_reason(self) -> str: ...  # how it was chosen: a flag, a checkout, or a guess from kube_version
    @property
    def warnings(self) -> Sequence[str]: ...
    @property
    def findings(self) -> Sequence[Finding]: ...  # what the release's own checks say of the inventory

    @property
    def kubespray_ansible(self) -> str | None: ...  # the ansible-core range the release's playbooks assert

    def kubespray_upgrade(self, target: str) -> list[tuple[str, str]]: ...  # (release, Kubernetes) steps up to it


def evaluate(settings: Mapping[str, SettingLike], spec: ClusterSpec, ctx: MappingContext) -> list[Finding]:
    """One Finding per setting, in name order; a setting without a rule is `manual` ("no rule yet"), never skipped."""
    book = rule_book()
    return [_finding(name, settings, book.rule_for(name), spec, ctx) for name in sorted(settings)]


def _finding(name: str, settings: Mapping[str, SettingLike], rule: Rule | None, spec: ClusterSpec,
             ctx: MappingContext) -> Finding:
    setting = settings[name]
    secret = bool(getattr(setting, "secret", False))
    shown = None if secret else _display(setting.value)
    if rule is None:
        return Finding(name, MANUAL, None, NO_RULE, "warning", shown, "unmapped", SETTING, secret)
    talos_path = rule.talos_path(ctx.talos)
    outcome = _inactive(rule, settings) or _decide(rule, name, setting.value, spec, ctx, talos_path)
    severity = outcome.severity or rule.severity or DEFAULT_SEVERITY[outcome.verdict]
    return Finding(name, outcome.verdict, talos_path, outcome.reason or rule.reason, severity,
                   shown, rule.area, SETTING, secret)


def _decide(rule: Rule, name: str, value: Any, spec: ClusterSpec, ctx: MappingContext,
            talos_path: str | None) -> Outcome:
    verdict = rule.verdict
    if isinstance(verdict, str):
        return Outcome(verdict)
    if "transform" in verdict:
        params = {k: v for k, v in verdict.items() if k != "transform"}
        return TRANSFORMS[verdict["transform"]](value, spec, ctx, params)
    if "if_truthy" in verdict:
        hit = truthy(value)
        chosen, other = (verdict["if_truthy"], verdict["else"]) if hit else (verdict["else"], verdict["if_truthy"])
        unset = f"{name} {NOT_SET}"
        return _branch(chosen, other, None if not hit else _written(talos_path), unset)
    if "if_value" in verdict:
        hit = any(_same(value, candidate) for candidate in verdict["if_value"])
        return _branch(verdict["then"] if hit else verdict["else"], verdict["else"] if hit else verdict["then"])
    if rule.spec is None:  # mappings/talos/settings.yaml: an if_spec verdict names the spec field it reads
        raise ValueError(f"rule {name}: if_spec needs `spec`")
    hit = truthy(spec_value(spec, rule.spec))  # if_spec
    chosen, other = (verdict["if_spec"], verdict["else"]) if hit else (verdict["else"], verdict["if_spec"])
    return _branch(chosen, other, _written(talos_path) if hit else None)


def _written(talos_path: str | None) -> str:
    return f"The cluster's value is written{f' to {talos_path}' if talos_path else ''}, so it stays as it is."


def _inactive(rule: Rule, settings: Mapping[str, SettingLike]) -> Outcome | None:
    """A setting whose feature is off (a Cilium knob on a Calico cluster) shapes nothing: dropped, with why."""
    if rule.when is None or rule.when["setting"] not in settings:
        return None
    gate = rule.when["setting"]
    value = settings[gate].value
    if "in" in rule.when:
        active = any(_same(value, candidate) for candidate in rule.when["in"])
    else:
        active = truthy(value) == bool(rule.when.get("truthy", True))
    if active:
        return None
    return Outcome(DROPPED, f"{NOT_IN_EFFECT} ({gate} {kubespray_value(value)}), so nothing to carry over.")


def kubespray_value(value: Any) -> str:
    """A gate's value as a Kubespray user writes it in group_vars: `is not set`, `is false`, `is calico`."""
    if value is None or value == "":
        return "is not set"
    if isinstance(value, bool):
        return f"is {str(value).lower()}"
    return f"is {value}" if isinstance(value, (str, int, float)) else f"is {value!r}"



def _branch(choice: Any, other: Any, when_set: str | None = None, when_unset: str | None = None) -> Outcome:
    """The chosen branch's verdict and reason. A rule's own reason explains the branch that acts (changed/manual);
    the quiet branch (kept/dropped) without a reason of its own gets one that matches the value, never that text."""
    if not isinstance(choice, str):
        return Outcome(choice["verdict"], choice.get("reason"), choice.get("severity"))
    if choice in (CHANGED, MANUAL) or not isinstance(other, str) or other not in (CHANGED, MANUAL):
        return Outcome(choice)  # the rule's reason is about this branch (or about both)
    return Outcome(choice, when_set or when_unset)


def truthy(value: Any) -> bool:
    """Set and not false, the way an operator reads an inventory ("false" strings included)."""
    if isinstance(value, str):
        return value.strip().lower() not in _FALSY_STRINGS
    return bool(value)


def _same(value: Any, candidate: Any) -> bool:
    if isinstance(value, str) and isinstance(candidate, str):
        return value.strip().lower() == candidate.lower()
    if isinstance(value, (list, tuple)) and isinstance(candidate, (list, tuple)):
        return list(value) == list(candidate)
    return value == candidate and type(value) is type(candidate)


def spec_value(spec: ClusterSpec, path: str) -> Any:
    """Follow a dotted path through the spec; `nodes[].x` collects x over nodes; dict keys may contain dashes."""
    current: Any = spec
    for part in path.split("."):
        if current is None:
            return None
        if part.endswith("[]"):
            items = getattr(current, part[:-2])
            current = [x for x in items]
            continue
        if isinstance(current, list):
            current = [v for v in (_step(x, part) for x in current) if v not in (None, "", {}, ())]
            continue
        current = _step(current, part)
    return current


def _step(obj: Any, part: str) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(part)
    if dataclasses.is_dataclass(obj):
        return getattr(obj, part, None)
    return None


def _display(value: Any) -> Any:
    """The value as the report shows it: plain data, long text cut."""
    if isinstance(value, str) and len(value) > _VALUE_LIMIT:
        return value[:_VALUE_LIMIT] + "…"
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    text = repr(value)
    if len(text) > _VALUE_LIMIT:
        return text[:_VALUE_LIMIT] + "…"
    return _plain(value)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)
