"""Semantic diff of two ClusterSpecs: what changes for the cluster, by area, with severity and consequence.

deepdiff finds the differences on plain data (spec.to_dict); the rules in mappings/diff.yaml say what each
means. Keyed collections (nodes, etcd members, registry mirrors) are compared by name, set-like lists
ignore order, and secret-named values never leave this module: they become "changed (redacted)".
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from deepdiff import DeepDiff

from migrate.mapping import DiffRule as Rule
from migrate.mapping import absent_means, control_plane_implies, match_path
from migrate.mapping import diff_rule_for as rule_for
from migrate.mapping import diff_rules as rules  # noqa: F401  (part of this module's surface: tests list the rules)
from migrate.redact import REDACTED, is_secret_name, redact
from migrate.spec import ROLE_CONTROL_PLANE, ROLE_WORKER, ClusterSpec, to_dict

SEVERITIES = ("breaking", "risky", "cosmetic")  # worst first
FAIL_ON = ("breaking", "risky", "any", "unexplained")  # what `fails` may be asked about
AREAS = ("network", "DNS", "control plane", "kubelet", "etcd", "runtime", "identity", "nodes")
ADDED, REMOVED, CHANGED = "added", "removed", "changed"
# plan verdicts that account for a difference: changed on purpose, gone (no Talos equivalent), or left
# to an operator (the report says what to do); only `kept` claims the value stays the same
EXPLAINING = ("changed", "dropped", "manual")
IGNORE = "ignore"  # an added/removed severity: the field has no counterpart on the other side

# lists compared by an item field instead of by position: path → the field that names an item
KEYED = {("nodes",): "name", ("etcd", "members"): "name", ("runtime", "mirrors"): "registry"}
# lists whose order means something (primary address family, resolver order); all others are sets
ORDERED = {
    ("network", "pod_subnets"),
    ("network", "service_subnets"),
    ("network", "cluster_dns"),
    ("network", "upstream_dns_servers"),
    ("host", "nameservers"),
    ("host", "search_domains"),
    ("control_plane", "authorization_modes"),
    ("runtime", "mirrors", "*", "endpoints"),
}
_MISSING = object()


@dataclass(frozen=True)
class Change:
    path: tuple[str, ...]
    kind: str  # added | removed | changed
    area: str
    severity: str
    consequence: str
    before: Any = None  # None for a secret, or when the value is absent on that side
    after: Any = None
    secret: bool = False
    settings: tuple[str, ...] = ()  # Kubespray variables that decide this field
    # plan verdicts that explain it, "setting (verdict)"; None when not matched against a plan report
    explained_by: tuple[str, ...] | None = None

    @property
    def intended(self) -> bool | None:
        return None if self.explained_by is None else bool(self.explained_by)

    @property
    def where(self) -> str:
        return format_path(self.path)

    def describe_values(self) -> tuple[str, str]:
        """before / after as short text; a secret shows only that it changed."""
        if self.secret:
            return ("", "changed (redacted)")
        if isinstance(self.before, list) and isinstance(self.after, list) and not _ordered(self.path):
            gone = [f"-{_show(v)}" for v in self.before if v not in self.after]
            new = [f"+{_show(v)}" for v in self.after if v not in self.before]
            return (", ".join(gone) or "—", ", ".join(new) or "—")
        return (_show(self.before), _show(self.after))

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "path": self.where,
            "kind": self.kind,
            "area": self.area,
            "severity": self.severity,
            "consequence": self.consequence,
        }
        if self.secret:
            data["value"] = "changed (redacted)"
        else:
            data["before"], data["after"] = self.before, self.after
        if self.explained_by is not None:
            data["intended"] = self.intended
            data["explained_by"] = list(self.explained_by)
        return data


def diff_specs(before: ClusterSpec, after: ClusterSpec) -> list[Change]:
    """Every difference that matters between two specs, worst first, then by area and path."""
    a, b = normalize(before), normalize(after)
    found = DeepDiff(a, b, view="tree", verbose_level=2)
    paths: dict[tuple[str, ...], None] = {}
    for report in found.values():
        for level in report:
            paths[_reported_path(level.path(output_format="list"))] = None
    return ordered([c for p in _expand(paths, a, b) if (c := _change(p, a, b)) is not None])


def ordered(changes: Iterable[Change]) -> list[Change]:
    """Worst first, then by area and path."""
    return sorted(changes, key=lambda c: (SEVERITIES.index(c.severity), AREAS.index(c.area), c.path))


SECRETS = ("identity", "secrets")  # where secret items sit: they are compared beside the spec, which holds none
NOT_JOINABLE = "cluster_ca_not_running"  # the plan was generated without the running cluster's PKI


def secret_changes(items: Iterable[str]) -> list[Change]:
    """A "changed (redacted)" change per secret item that differs (names from migrate.fingerprint.Fingerprints.differing);
    no value, digest or hash of it is ever carried, only the item's name."""
    changes = []
    for item in items:
        path = (*SECRETS, item)
        rule = rule_for(path)
        changes.append(Change(path=path, kind=CHANGED, area=rule.area, severity=rule.severity,
                              consequence=_consequence(rule, path), secret=True, settings=_settings(rule, path)))
    return ordered(changes)


def normalize(spec: ClusterSpec) -> dict[str, Any]:
    """Plain data fit for comparison: keyed lists become maps by name, set-like lists are sorted,
    fields left out take the value the component uses then (mappings/diff.yaml `absent_means`)."""
    data = to_dict(spec)
    for dotted, defaults in absent_means().items():
        *parents, leaf = dotted.split(".")
        holder = _lookup(data, tuple(parents))
        if isinstance(holder, dict) and isinstance(holder.get(leaf), dict):
            holder[leaf] = {**defaults, **holder[leaf]}
    implied = control_plane_implies()
    for node in data["nodes"]:
        if ROLE_CONTROL_PLANE in node["roles"]:
            node["labels"] = {**implied.labels, **node["labels"]}
            if ROLE_WORKER not in node["roles"]:
                node["taints"] = list(dict.fromkeys([*node["taints"], *implied.taints_unless_worker]))
    cp = data["control_plane"]
    if not cp["api_audiences"]:  # kube-apiserver's default audience is the first issuer
        cp["api_audiences"] = [cp["service_account_issuer"]]
    if not cp.get("accepted_issuers"):  # a spec naming no other issuer accepts only the one it signs with
        cp["accepted_issuers"] = [cp["service_account_issuer"]]
    normalized: dict[str, Any] = _normalize(data, ())
    return normalized


def format_path(path: tuple[str, ...]) -> str:
    """Dotted path; a segment that itself has dots or slashes (a label key) goes in brackets."""
    text = ""
    for part in path:
        text += f"[{part}]" if any(ch in part for ch in "./ ") else (f".{part}" if text else part)
    return text


def worst(changes: list[Change]) -> str | None:
    return min((c.severity for c in changes), key=SEVERITIES.index, default=None)


def fails(changes: list[Change], fail_on: str) -> bool:
    """Whether changes at or above `fail_on` (breaking | risky | any) are present, or (unexplained) changes
    no plan verdict explains."""
    if fail_on == "unexplained":
        return bool(unexplained(changes))
    if fail_on == "any":
        return bool(changes)
    limit = SEVERITIES.index(fail_on)
    return any(SEVERITIES.index(c.severity) <= limit for c in changes)


def unexplained(changes: list[Change]) -> list[Change]:
    """Changes no plan verdict explains: without a plan report to match (plan vs plan, --live), every one."""
    return [c for c in changes if c.intended is not True]


def report_verdicts(report: Any) -> dict[str, str]:
    """setting → verdict from a plan report, wherever its findings sit (any dict with setting + verdict).

    A setting reported twice (a kubelet field kept cluster-wide but dropped on some nodes) keeps the explaining one."""
    found: dict[str, str] = {}
    stack = [report]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            setting, verdict = item.get("setting"), item.get("verdict")
            if isinstance(setting, str) and isinstance(verdict, str) and found.get(setting) not in EXPLAINING:
                found[setting] = verdict
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def explain(changes: list[Change], verdicts: dict[str, str]) -> list[Change]:
    """Mark each change with the plan verdicts that account for it; a change none accounts for is unexplained."""
    return [
        replace(c, explained_by=tuple(f"{s} ({verdicts[s]})" for s in c.settings if verdicts.get(s) in EXPLAINING))
        for c in changes
    ]


# --- internals -----------------------------------------------------------------------------------


def _normalize(value: Any, path: tuple[str, ...]) -> Any:
    if isinstance(value, dict):
        return {str(k): _normalize(v, (*path, str(k))) for k, v in value.items()}
    if isinstance(value, list):
        key = KEYED.get(path)
        if key is not None:
            return {str(item[key]): _normalize(item, (*path, str(item[key]))) for item in value}
        items = [_normalize(v, path) for v in value]
        if _ordered(path):
            return items
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True, default=str))
    return value


def _ordered(path: tuple[str, ...]) -> bool:
    return any(match_path(p, path) for p in ORDERED)


def _reported_path(raw: list[Any]) -> tuple[str, ...]:
    """deepdiff's path cut at the first list index: lists are compared (and shown) whole."""
    path: list[str] = []
    for part in raw:
        if isinstance(part, int):
            break
        path.append(str(part))
    return tuple(path)


def _expand(paths: Iterable[tuple[str, ...]], a: dict[str, Any], b: dict[str, Any]) -> list[tuple[str, ...]]:
    """Paths where both sides hold a map are split per key, so a change names what changed, not its parent."""
    out: list[tuple[str, ...]] = []
    for path in paths:
        old, new = _lookup(a, path), _lookup(b, path)
        if isinstance(old, dict) and isinstance(new, dict):
            out += _expand([(*path, k) for k in dict.fromkeys([*old, *new])], a, b)
        else:
            out.append(path)
    return out


def _change(path: tuple[str, ...], a: dict[str, Any], b: dict[str, Any]) -> Change | None:
    rule = rule_for(path)
    if rule.ignore:
        return None
    old, new = _lookup(a, path), _lookup(b, path)
    if old == new:
        return None
    kind = ADDED if old is _MISSING or old is None else REMOVED if new is _MISSING or new is None else CHANGED
    if kind == CHANGED and _only_grows(old, new):
        kind_for_severity = ADDED
    elif kind == CHANGED and _only_grows(new, old):
        kind_for_severity = REMOVED
    else:
        kind_for_severity = kind
    severity = {ADDED: rule.added, REMOVED: rule.removed}.get(kind_for_severity) or rule.severity
    if severity == IGNORE:
        return None
    secret = rule.secret if rule.secret is not None else any(is_secret_name(p) for p in path)
    return Change(
        path=path,
        kind=kind,
        area=rule.area,
        severity=severity,
        consequence=_consequence(rule, path),
        # a node field one side leaves to the cluster shows the cluster's value: what that node runs
        before=None if secret else _plain(_effective(a, path)),
        after=None if secret else _plain(_effective(b, path)),
        secret=secret,
        settings=_settings(rule, path),
    )


def _lookup(data: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(data, dict) or part not in data:
            return _MISSING
        data = data[part]
    return data


def _effective(data: dict[str, Any], path: tuple[str, ...]) -> Any:
    """The value at `path`; for a node field the node leaves to the cluster, the cluster's (what the node runs)."""
    value = _lookup(data, path)
    if value is not _MISSING and value is not None or path[:1] != ("nodes",) or _lookup(data, path[:2]) is _MISSING:
        return value
    fallback = _cluster_field(path[2:])
    return value if fallback is None else _lookup(data, fallback)


def _cluster_field(field: tuple[str, ...]) -> tuple[str, ...] | None:
    """Where the cluster keeps what a node field overrides."""
    match field:
        case ("kubelet_config", "clusterDNS"):
            return ("network", "cluster_dns")
        case ("kubelet_config", "featureGates", *rest):
            return ("kubelet", "feature_gates", *rest)
        case ("kubelet_config", key, *rest):
            return ("kubelet", "config", key, *rest)
        case ("kubernetes_version",):
            return ("kubernetes_version",)
        case ("overrides", dotted, *rest):
            return (*dotted.split("."), *rest)
    return None


def _only_grows(small: Any, big: Any) -> bool:
    """True when `big` keeps everything in `small` and adds to it (list items, map keys, a port range)."""
    if isinstance(small, str) and isinstance(big, str) and (inner := _port_range(small)) and (outer := _port_range(big)):
        return outer[0] <= inner[0] and inner[1] <= outer[1]
    if isinstance(small, list) and isinstance(big, list):
        return set(map(_hashable, small)) < set(map(_hashable, big))
    if isinstance(small, dict) and isinstance(big, dict):
        return small.items() <= big.items() if _all_hashable(small) and _all_hashable(big) else False
    return False


def _port_range(text: str) -> tuple[int, int] | None:
    low, sep, high = text.partition("-")
    return (int(low), int(high)) if sep and low.strip().isdigit() and high.strip().isdigit() else None


def _hashable(value: Any) -> Any:
    return json.dumps(value, sort_keys=True, default=str)


def _all_hashable(data: dict[str, Any]) -> bool:
    return all(isinstance(v, (str, int, float, bool, type(None))) for v in data.values())


def _plain(value: Any) -> Any:
    return None if value is _MISSING else redact(value)


def _consequence(rule: Rule, path: tuple[str, ...]) -> str:
    item = _item(path)
    node = path[1] if len(path) > 1 and path[0] == "nodes" else item
    return rule.consequence.format(key=path[-1] if path else "", node=node, item=item or node)


def _item(path: tuple[str, ...]) -> str:
    """The member or registry a path is about (a keyed collection's name), "" when none."""
    return path[2] if len(path) > 2 and path[:2] in (("etcd", "members"), ("runtime", "mirrors")) else ""


def _settings(rule: Rule, path: tuple[str, ...]) -> tuple[str, ...]:
    """The rule's settings, `{field}` naming the first segment its `**` matched (a plan's "kubelet maxPods"),
    `{item}` the member or registry (a plan's "registry mirror docker.io")."""
    at = rule.path.index("**") if "**" in rule.path else len(path) - 1
    field = path[min(at, len(path) - 1)] if path else ""
    return tuple(s.replace("{field}", field).replace("{item}", _item(path)) for s in rule.settings)


def _show(value: Any) -> str:
    """Short text for a value; None is a value absent on that side."""
    if value is None:
        return "—"
    if value == REDACTED:
        return "changed (redacted)"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)
