"""Where a pod may run, as kube-scheduler's filters judge it: tolerations against taints, nodeSelector, and
what it requests. Shared by the twin's scheduler and the migration's capacity check, so both judge alike."""
# exercised by tests/cluster/twin/test_scheduler.py and tests/migration/test_capacity.py

from __future__ import annotations

from collections import defaultdict
from typing import Any

from migrate.cluster.quantity import parse_quantity

UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable"


def tolerates(toleration: dict[str, Any], taint: dict[str, Any]) -> bool:
    if toleration.get("effect") and toleration["effect"] != taint.get("effect"):
        return False
    if toleration.get("operator", "Equal") == "Exists":
        return not toleration.get("key") or toleration["key"] == taint.get("key")
    return toleration.get("key") == taint.get("key") and (toleration.get("value") or "") == (taint.get("value") or "")


def untolerated(
    tolerations: list[dict[str, Any]], node: dict[str, Any], effects: tuple[str, ...]
) -> list[dict[str, Any]]:
    return [
        t
        for t in (node.get("spec") or {}).get("taints") or []
        if t.get("effect") in effects and not any(tolerates(tol, t) for tol in tolerations)
    ]


def tolerates_all(tolerations: list[dict[str, Any]], node: dict[str, Any], effects: tuple[str, ...]) -> bool:
    return not untolerated(tolerations, node, effects)


def pod_requests(spec: dict[str, Any]) -> dict[str, float]:
    total: dict[str, float] = defaultdict(float)
    for container in spec.get("containers") or []:
        for name, value in ((container.get("resources") or {}).get("requests") or {}).items():
            total[name] += parse_quantity(value)
    for container in spec.get("initContainers") or []:  # init containers run one at a time: the largest counts
        for name, value in ((container.get("resources") or {}).get("requests") or {}).items():
            total[name] = max(total[name], parse_quantity(value))
    total["pods"] = 1
    return dict(total)


def node_selector_matches(pod_spec: dict[str, Any], node: dict[str, Any]) -> bool:
    labels = node["metadata"].get("labels") or {}
    return all(labels.get(k) == v for k, v in (pod_spec.get("nodeSelector") or {}).items())
