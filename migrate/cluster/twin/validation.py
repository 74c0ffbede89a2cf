"""Field validation as pkg/apis/*/validation does it, for the fields the twin's actors read.

Each check returns causes (field, reason, message) worded as the API server words them, so a client sees
the same 422 it would see from a real server, and nothing a controller cannot handle is ever stored.
"""
# exercised by tests/cluster/twin/test_admission.py

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Any

from migrate.cluster.quantity import parse_quantity

Cause = tuple[str, str, str]
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_NAME_PART = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_PERCENT = re.compile(r"^[0-9]+%$")
PERCENT_HELP = ("a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', "
                "regex used for validation is '[0-9]+%')")
LABEL_VALUE_HELP = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
                    "and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or "
                    "'12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")
NAME_HELP = ("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
             "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
             "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")
DNS_LABEL_HELP = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
                  "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
                  "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
TAINT_EFFECTS = ("NoExecute", "NoSchedule", "PreferNoSchedule")


def _q(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else str(value)


def supported(path: str, value: Any, allowed: tuple[str, ...]) -> list[Cause]:
    if value in allowed:
        return []
    shown = ", ".join(f'"{a}"' for a in allowed)
    return [(path, "FieldValueNotSupported", f"Unsupported value: {_q(value)}: supported values: {shown}")]


def non_negative(path: str, value: Any) -> list[Cause]:
    if value is None or value >= 0:
        return []
    return [(path, "FieldValueInvalid", f"Invalid value: {value}: must be greater than or equal to 0")]


def int_or_percent(path: str, value: Any, *, at_most_100: bool = True) -> list[Cause]:
    """ValidatePositiveIntOrPercent (+ IsNotMoreThan100Percent); the value prints as the Go struct does."""
    if value is None:
        return []
    if isinstance(value, int):
        return non_negative(path, value)
    shown = f'intstr.IntOrString{{Type:1, IntVal:0, StrVal:"{value}"}}'
    if not _PERCENT.match(value):
        return [(path, "FieldValueInvalid", f"Invalid value: {shown}: {PERCENT_HELP}")]
    if at_most_100 and int(value[:-1]) > 100:
        return [(path, "FieldValueInvalid", f"Invalid value: {shown}: must not be greater than 100%")]
    return []


def qualified_name(path: str, key: str) -> list[Cause]:
    """IsQualifiedName: an optional DNS-subdomain prefix and a name part of at most 63 characters."""
    prefix, _, name = key.rpartition("/")
    problems = []
    if not name:
        problems.append("name part must be non-empty")
    elif len(name) > 63:
        problems.append("name part must be no more than 63 characters")
    elif not _NAME_PART.match(name):
        problems.append(NAME_HELP)
    if "/" in key and (not prefix or not _DNS_SUBDOMAIN.match(prefix) or len(prefix) > 253):
        problems.append("prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                        "characters, '-' or '.', and must start and end with an alphanumeric character")
    return [(path, "FieldValueInvalid", f'Invalid value: "{key}": {p}') for p in problems]


def labels(path: str, value: dict[str, str] | None) -> list[Cause]:
    causes: list[Cause] = []
    for key, text in (value or {}).items():
        causes += qualified_name(path, key)
        if len(text) > 63:
            causes.append((path, "FieldValueInvalid", f'Invalid value: "{text}": must be no more than 63 characters'))
        elif not _LABEL_VALUE.match(text):
            causes.append((path, "FieldValueInvalid", f'Invalid value: "{text}": {LABEL_VALUE_HELP}'))
    return causes


def label_selector(path: str, selector: dict[str, Any] | None) -> list[Cause]:
    if selector is None:
        return []
    causes = labels(f"{path}.matchLabels", selector.get("matchLabels"))
    for i, expr in enumerate(selector.get("matchExpressions") or []):
        where = f"{path}.matchExpressions[{i}]"
        op, values = expr.get("operator"), expr.get("values") or []
        causes += qualified_name(f"{where}.key", expr.get("key", ""))
        causes += supported(f"{where}.operator", op, ("In", "NotIn", "Exists", "DoesNotExist"))
        if op in ("In", "NotIn") and not values:
            causes.append((f"{where}.values", "FieldValueRequired",
                           "Required value: must be specified when `operator` is 'In' or 'NotIn'"))
        if op in ("Exists", "DoesNotExist") and values:
            causes.append((f"{where}.values", "FieldValueForbidden",
                           "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
    return causes


def _resources(path: str, resources: dict[str, Any]) -> list[Cause]:
    causes: list[Cause] = []
    for part in ("requests", "limits"):
        for name, value in (resources.get(part) or {}).items():
            if parse_quantity(value) < 0:
                causes.append((f"{path}.{part}[{name}]", "FieldValueInvalid",
                               f"Invalid value: {_q(value)}: must be greater than or equal to 0"))
    return causes


def _container(path: str, c: dict[str, Any], names: set[str]) -> list[Cause]:
    causes: list[Cause] = []
    name = c.get("name", "")
    if not name:
        causes.append((f"{path}.name", "FieldValueRequired", "Required value"))
    elif not _DNS_LABEL.match(name) or len(name) > 63:
        causes.append((f"{path}.name", "FieldValueInvalid", f'Invalid value: "{name}": {DNS_LABEL_HELP}'))
    elif name in names:
        causes.append((f"{path}.name", "FieldValueDuplicate", f'Duplicate value: "{name}"'))
    names.add(name)
    if not c.get("image"):
        causes.append((f"{path}.image", "FieldValueRequired", "Required value"))
    for j, port in enumerate(c.get("ports") or []):
        if not 0 < port.get("containerPort", 0) < 65536:
            causes.append((f"{path}.ports[{j}].containerPort", "FieldValueInvalid",
                           f"Invalid value: {port.get('containerPort', 0)}: must be between 1 and 65535, inclusive"))
    return causes + _resources(f"{path}.resources", c.get("resources") or {})


def tolerations(path: str, items: list[dict[str, Any]]) -> list[Cause]:
    causes: list[Cause] = []
    for i, t in enumerate(items):
        where = f"{path}[{i}]"
        if t.get("key"):
            causes += qualified_name(f"{where}.key", t["key"])
        causes += supported(f"{where}.operator", t.get("operator", "Equal"), ("Equal", "Exists"))
        if t.get("operator") == "Exists" and t.get("value"):
            causes.append((f"{where}.operator", "FieldValueInvalid",
                           f'Invalid value: "{t["value"]}": value must be empty when `operator` is \'Exists\''))
        if not t.get("key") and t.get("operator", "Equal") != "Exists":
            causes.append((f"{where}.operator", "FieldValueInvalid", f'Invalid value: "{t.get("operator", "")}": '
                           "operator must be Exists when `key` is empty, which means \"match all values and all keys\""))
        if t.get("effect"):
            causes += supported(f"{where}.effect", t["effect"], TAINT_EFFECTS)
        if t.get("tolerationSeconds") is not None and t.get("effect") != "NoExecute":
            causes.append((f"{where}.effect", "FieldValueInvalid", f'Invalid value: "{t.get("effect", "")}": '
                           "effect must be 'NoExecute' when `tolerationSeconds` is set"))
    return causes


def pod_spec(path: str, spec: dict[str, Any], restart: tuple[str, ...] = ("Always", "OnFailure", "Never")) -> list[Cause]:
    causes: list[Cause] = []
    if not spec.get("containers"):
        causes.append((f"{path}.containers", "FieldValueRequired", "Required value"))
    names: set[str] = set()
    for key in ("initContainers", "containers"):
        for i, c in enumerate(spec.get(key) or []):
            causes += _container(f"{path}.{key}[{i}]", c, names)
    causes += supported(f"{path}.restartPolicy", spec.get("restartPolicy", restart[0]), restart)
    causes += labels(f"{path}.nodeSelector", spec.get("nodeSelector"))
    causes += tolerations(f"{path}.tolerations", spec.get("tolerations") or [])
    causes += non_negative(f"{path}.terminationGracePeriodSeconds", spec.get("terminationGracePeriodSeconds"))
    return causes


def _template(spec: dict[str, Any], restart: tuple[str, ...]) -> list[Cause]:
    template = spec.get("template") or {}
    return labels("spec.template.metadata.labels", (template.get("metadata") or {}).get("labels")) + \
        pod_spec("spec.template.spec", template.get("spec") or {}, restart)


def _rolling(path: str, rolling: dict[str, Any]) -> list[Cause]:
    causes = int_or_percent(f"{path}.maxUnavailable", rolling.get("maxUnavailable"))
    causes += int_or_percent(f"{path}.maxSurge", rolling.get("maxSurge"), at_most_100=False)
    if rolling.get("maxSurge") in (0, "0%") and rolling.get("maxUnavailable") in (0, "0%"):
        causes.append((f"{path}.maxUnavailable", "FieldValueInvalid",
                       f"Invalid value: {_q(rolling['maxUnavailable'])}: may not be 0 when `maxSurge` is 0"))
    return causes


def workload(kind: str, spec: dict[str, Any]) -> list[Cause]:
    causes = non_negative("spec.replicas", spec.get("replicas"))
    causes += label_selector("spec.selector", spec.get("selector"))
    causes += _template(spec, ("OnFailure", "Never") if kind == "Job" else ("Always",))
    for key in ("minReadySeconds", "revisionHistoryLimit", "parallelism", "completions", "backoffLimit"):
        causes += non_negative(f"spec.{key}", spec.get(key))
    strategy = spec.get("strategy") or spec.get("updateStrategy") or {}
    field = "spec.strategy" if kind == "Deployment" else "spec.updateStrategy"
    if kind == "Deployment":
        causes += supported(f"{field}.type", strategy.get("type", "RollingUpdate"), ("Recreate", "RollingUpdate"))
    elif kind == "StatefulSet":
        causes += supported(f"{field}.type", strategy.get("type", "RollingUpdate"), ("OnDelete", "RollingUpdate"))
        causes += supported("spec.podManagementPolicy", spec.get("podManagementPolicy", "OrderedReady"),
                            ("OrderedReady", "Parallel"))
    elif kind == "DaemonSet":
        causes += supported(f"{field}.type", strategy.get("type", "RollingUpdate"), ("OnDelete", "RollingUpdate"))
    if kind in ("Deployment", "DaemonSet") and strategy.get("rollingUpdate"):
        causes += _rolling(f"{field}.rollingUpdate", strategy["rollingUpdate"])
    return causes


def pdb(spec: dict[str, Any]) -> list[Cause]:
    return int_or_percent("spec.minAvailable", spec.get("minAvailable")) + \
        int_or_percent("spec.maxUnavailable", spec.get("maxUnavailable")) + \
        label_selector("spec.selector", spec.get("selector"))


def node(spec: dict[str, Any]) -> list[Cause]:
    causes: list[Cause] = []
    for i, taint in enumerate(spec.get("taints") or []):
        causes += qualified_name(f"spec.taints[{i}].key", taint.get("key", ""))
        causes += supported(f"spec.taints[{i}].effect", taint.get("effect", ""), TAINT_EFFECTS)
        if taint.get("value") and not _LABEL_VALUE.match(taint["value"]):
            causes.append((f"spec.taints[{i}].value", "FieldValueInvalid",
                           f'Invalid value: "{taint["value"]}": {LABEL_VALUE_HELP}'))
    for i, cidr in enumerate(spec.get("podCIDRs") or ([spec["podCIDR"]] if spec.get("podCIDR") else [])):
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            causes.append((f"spec.podCIDRs[{i}]", "FieldValueInvalid", f'Invalid value: "{cidr}": must be a valid CIDR value'))
    return causes


BY_KIND: dict[str, Callable[[dict[str, Any]], list[Cause]]] = {
    "Pod": lambda spec: pod_spec("spec", spec),
    "PodDisruptionBudget": pdb,
    "Node": node,
    **{k: (lambda kind: lambda spec: workload(kind, spec))(k)
       for k in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job")},
}


def causes_for(kind: str, obj: dict[str, Any]) -> list[Cause]:
    meta = obj.get("metadata") or {}
    causes = labels("metadata.labels", meta.get("labels"))
    check = BY_KIND.get(kind)
    return causes + (check(obj.get("spec") or {}) if check else [])
