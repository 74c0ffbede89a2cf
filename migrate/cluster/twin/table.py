"""Server-side printing (`as=Table`), what `kubectl get` shows: the columns of the real printers for the types drain touches."""
# exercised by tests/cluster/test_kubectl.py

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from migrate.clock import parse_rfc3339
from migrate.cluster.twin.resources import ResourceType

Column = tuple[str, str, int, Callable[[dict[str, Any], float], Any]]  # (name, type, priority, cell)


def human_duration(seconds: float) -> str:
    """k8s.io/apimachinery/pkg/util/duration.HumanDuration."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m{s % 60}s" if s % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d{hours % 24}h" if hours % 24 else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        return f"{hours // (24 * 365)}y{(hours // 24) % 365}d"
    return f"{hours // (24 * 365)}y"


def _age(obj: dict[str, Any], now: float) -> str:
    created = obj["metadata"].get("creationTimestamp")
    return human_duration(now - parse_rfc3339(created)) if created else "<unknown>"


def _status(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("status") or {}


def _node_status(node: dict[str, Any], _: float) -> str:
    ready = next((c.get("status") for c in _status(node).get("conditions") or [] if c.get("type") == "Ready"), None)
    text = {"True": "Ready", "False": "NotReady"}.get(ready or "", "Unknown")
    return text + (",SchedulingDisabled" if (node.get("spec") or {}).get("unschedulable") else "")


def _roles(node: dict[str, Any], _: float) -> str:
    labels = node["metadata"].get("labels") or {}
    roles = sorted(
        {k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/") and "/" in k}
        | ({labels["kubernetes.io/role"]} if labels.get("kubernetes.io/role") else set())
    )
    return ",".join(roles) or "<none>"


def _address(kind: str) -> Callable[[dict[str, Any], float], str]:
    return lambda node, _: next(
        (a["address"] for a in _status(node).get("addresses") or [] if a.get("type") == kind), "<none>"
    )


def _info(key: str) -> Callable[[dict[str, Any], float], str]:
    return lambda obj, _: (_status(obj).get("nodeInfo") or {}).get(key, "<unknown>")


def _pod_ready(pod: dict[str, Any], _: float) -> str:
    containers = (pod.get("spec") or {}).get("containers") or []
    ready = sum(1 for c in _status(pod).get("containerStatuses") or [] if c.get("ready"))
    return f"{ready}/{len(containers)}"


def _pod_phase(pod: dict[str, Any], _: float) -> str:
    if pod["metadata"].get("deletionTimestamp"):
        return "Terminating"
    return _status(pod).get("reason") or _status(pod).get("phase") or "Unknown"


def _restarts(pod: dict[str, Any], _: float) -> int:
    return sum(c.get("restartCount", 0) for c in _status(pod).get("containerStatuses") or [])


def _field(*path: str, default: Any = "<none>") -> Callable[[dict[str, Any], float], Any]:
    def get(obj: dict[str, Any], _: float) -> Any:
        cur: Any = obj
        for p in path:
            cur = cur.get(p) if isinstance(cur, dict) else None
        return default if cur is None else cur

    return get


def _ports(svc: dict[str, Any], _: float) -> str:
    """"443/TCP", "80:30080/TCP" for a NodePort, joined by commas."""
    ports = (svc.get("spec") or {}).get("ports") or []
    return ",".join(f"{p['port']}{':' + str(p['nodePort']) if p.get('nodePort') else ''}/{p.get('protocol', 'TCP')}"
                    for p in ports) or "<none>"


def _external_ip(svc: dict[str, Any], _: float) -> str:
    spec = svc.get("spec") or {}
    if spec.get("type") == "ExternalName":
        return str(spec.get("externalName") or "<none>")
    ingress = [i.get("ip") or i.get("hostname") for i in ((_status(svc).get("loadBalancer") or {}).get("ingress") or [])]
    addresses = [*(a for a in ingress if a), *(spec.get("externalIPs") or [])]
    if addresses:
        return ",".join(addresses)
    return "<pending>" if spec.get("type") == "LoadBalancer" else "<none>"


def _selector(*path: str) -> Callable[[dict[str, Any], float], str]:
    def get(obj: dict[str, Any], _: float) -> str:
        value = _field(*path, default={})(obj, 0)  # a LabelSelector, or a Service's plain map
        selector = "matchLabels" in value or "matchExpressions" in value
        labels = (value.get("matchLabels") or {}) if selector else value
        return ",".join(f"{k}={v}" for k, v in sorted(labels.items())) or "<none>"

    return get


def _template(key: str) -> Callable[[dict[str, Any], float], str]:
    """The pod template's containers' names or images, comma-separated (the wide CONTAINERS/IMAGES columns)."""
    def get(obj: dict[str, Any], _: float) -> str:
        return ",".join(c.get(key, "") for c in _field("spec", "template", "spec", "containers", default=[])(obj, 0))

    return get


NAME: Column = ("Name", "string", 0, lambda o, _: o["metadata"]["name"])
AGE: Column = ("Age", "string", 0, _age)
COLUMNS: dict[str, list[Column]] = {
    "Node": [
        NAME,
        ("Status", "string", 0, _node_status),
        ("Roles", "string", 0, _roles),
        AGE,
        ("Version", "string", 0, _info("kubeletVersion")),
        ("Internal-IP", "string", 1, _address("InternalIP")),
        ("External-IP", "string", 1, _address("ExternalIP")),
        ("OS-Image", "string", 1, _info("osImage")),
        ("Kernel-Version", "string", 1, _info("kernelVersion")),
        ("Container-Runtime", "string", 1, _info("containerRuntimeVersion")),
    ],
    "Pod": [
        NAME,
        ("Ready", "string", 0, _pod_ready),
        ("Status", "string", 0, _pod_phase),
        ("Restarts", "string", 0, _restarts),
        AGE,
        ("IP", "string", 1, _field("status", "podIP")),
        ("Node", "string", 1, _field("spec", "nodeName")),
        ("Nominated Node", "string", 1, _field("status", "nominatedNodeName")),
        ("Readiness Gates", "string", 1, lambda o, _: "<none>"),
    ],
    "Deployment": [
        NAME,
        ("Ready", "string", 0, lambda o, _: f"{_status(o).get('readyReplicas', 0)}/{o['spec'].get('replicas', 1)}"),
        ("Up-to-date", "integer", 0, _field("status", "updatedReplicas", default=0)),
        ("Available", "integer", 0, _field("status", "availableReplicas", default=0)),
        AGE,
    ],
    # the rest as kubectl's printers (pkg/printers/internalversion) define their columns
    "Service": [
        NAME,
        ("Type", "string", 0, _field("spec", "type", default="ClusterIP")),
        ("Cluster-IP", "string", 0, _field("spec", "clusterIP", default="<none>")),
        ("External-IP", "string", 0, _external_ip),
        ("Port(s)", "string", 0, _ports),
        AGE,
        ("Selector", "string", 1, _selector("spec", "selector")),
    ],
    "ReplicaSet": [
        NAME,
        ("Desired", "integer", 0, _field("spec", "replicas", default=1)),
        ("Current", "integer", 0, _field("status", "replicas", default=0)),
        ("Ready", "integer", 0, _field("status", "readyReplicas", default=0)),
        AGE,
        ("Containers", "string", 1, _template("name")),
        ("Images", "string", 1, _template("image")),
        ("Selector", "string", 1, _selector("spec", "selector")),
    ],
    "StatefulSet": [
        NAME,
        ("Ready", "string", 0, lambda o, _: f"{_status(o).get('readyReplicas', 0)}/{o['spec'].get('replicas', 1)}"),
        AGE,
        ("Containers", "string", 1, _template("name")),
        ("Images", "string", 1, _template("image")),
    ],
    "DaemonSet": [
        NAME,
        ("Desired", "integer", 0, _field("status", "desiredNumberScheduled", default=0)),
        ("Current", "integer", 0, _field("status", "currentNumberScheduled", default=0)),
        ("Ready", "integer", 0, _field("status", "numberReady", default=0)),
        ("Up-to-date", "integer", 0, _field("status", "updatedNumberScheduled", default=0)),
        ("Available", "integer", 0, _field("status", "numberAvailable", default=0)),
        ("Node Selector", "string", 0, _selector("spec", "template", "spec", "nodeSelector")),
        AGE,
        ("Containers", "string", 1, _template("name")),
        ("Images", "string", 1, _template("image")),
        ("Selector", "string", 1, _selector("spec", "selector")),
    ],
    "Namespace": [NAME, ("Status", "string", 0, _field("status", "phase", default="Active")), AGE],
    "ConfigMap": [NAME, ("Data", "integer", 0, lambda o, _: len(o.get("data") or {}) + len(o.get("binaryData") or {})),
                  AGE],
    "Lease": [NAME, ("Holder", "string", 0, _field("spec", "holderIdentity", default="")), AGE],
    "PodDisruptionBudget": [
        NAME,
        ("Min Available", "string", 0, _field("spec", "minAvailable", default="N/A")),
        ("Max Unavailable", "string", 0, _field("spec", "maxUnavailable", default="N/A")),
        ("Allowed Disruptions", "integer", 0, _field("status", "disruptionsAllowed", default=0)),
        AGE,
    ],
}


def to_table(
    rt: ResourceType,
    items: list[dict[str, Any]],
    now: float,
    resource_version: str,
    include_object: str = "Metadata",
    continue_token: str | None = None,
) -> dict[str, Any]:
    columns = COLUMNS.get(rt.kind, [NAME, AGE])
    rows = []
    for obj in items:
        if include_object == "Object":
            embedded = obj
        elif include_object == "None":
            embedded = None
        else:
            embedded = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]}
        rows.append({"cells": [cell(obj, now) for _, _, _, cell in columns], "object": embedded})
    meta: dict[str, Any] = {"resourceVersion": resource_version}
    if continue_token:
        meta["continue"] = continue_token
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": meta,
        "columnDefinitions": [
            {"name": n, "type": t, "format": "name" if n == "Name" else "", "description": "", "priority": p}
            for n, t, p, _ in columns
        ],
        "rows": rows,
    }
