"""A per-pass view of the store that controllers share: pods by owner, node and namespace."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from migrate.cluster.twin.resources import NODES, PODS
from migrate.cluster.twin.store import Store


def controller_ref(obj: dict[str, Any]) -> dict[str, Any] | None:
    return next((r for r in obj["metadata"].get("ownerReferences") or [] if r.get("controller")), None)


def is_active(pod: dict[str, Any]) -> bool:
    """Counts toward a controller's replicas: not terminating and not finished."""
    return not pod["metadata"].get("deletionTimestamp") and (pod.get("status") or {}).get("phase") not in (
        "Succeeded",
        "Failed",
    )


def is_ready(obj: dict[str, Any]) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (obj.get("status") or {}).get("conditions") or []
    )


@dataclass
class ClusterIndex:
    by_owner: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    by_node: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    by_namespace: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def build(cls, store: Store) -> ClusterIndex:
        index = cls()
        for pod in store.objects(PODS):
            ref = controller_ref(pod)
            if ref:
                index.by_owner[ref["uid"]].append(pod)
            if pod["spec"].get("nodeName"):
                index.by_node[pod["spec"]["nodeName"]].append(pod)
            index.by_namespace[pod["metadata"]["namespace"]].append(pod)
        index.nodes = {n["metadata"]["name"]: n for n in store.objects(NODES)}
        return index
