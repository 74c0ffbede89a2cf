"""API objects (plain JSON dicts) read into the result types of base.py."""
# exercised by tests/cluster/test_observe.py

from __future__ import annotations

import base64
import time
from typing import Any

from migrate.clock import parse_rfc3339, rfc3339
from migrate.cluster.base import (
    MIRROR_ANNOTATION,
    BootstrapToken,
    Condition,
    ConfigMap,
    DisruptionBudget,
    Lease,
    Node,
    OwnerRef,
    Pod,
    Taint,
)

BOOTSTRAP_TOKEN_TYPE = "bootstrap.kubernetes.io/token"


def node_from(obj: dict[str, Any]) -> Node:
    meta, spec, status = obj["metadata"], obj.get("spec") or {}, obj.get("status") or {}
    return Node(
        name=meta["name"], uid=meta.get("uid", ""), labels=dict(meta.get("labels") or {}),
        taints=tuple(Taint(t["key"], t.get("effect", ""), t.get("value") or "") for t in spec.get("taints") or []),
        unschedulable=bool(spec.get("unschedulable")),
        conditions=tuple(Condition(c["type"], c.get("status", "Unknown"), c.get("reason") or "", c.get("message") or "")
                         for c in status.get("conditions") or []),
        addresses={a["type"]: a["address"] for a in status.get("addresses") or []},
        kubelet_version=(status.get("nodeInfo") or {}).get("kubeletVersion", ""),
        os_image=(status.get("nodeInfo") or {}).get("osImage", ""),
    )


def pod_from(obj: dict[str, Any]) -> Pod:
    meta, spec, status = obj["metadata"], obj.get("spec") or {}, obj.get("status") or {}
    ref = next((r for r in meta.get("ownerReferences") or [] if r.get("controller")), None)
    return Pod(
        namespace=meta.get("namespace", ""), name=meta["name"], uid=meta.get("uid", ""),
        node_name=spec.get("nodeName"), phase=status.get("phase", "Pending"),
        ready=any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or []),
        labels=dict(meta.get("labels") or {}),
        owner=OwnerRef(ref["kind"], ref["name"], ref.get("uid", ""), ref.get("apiVersion", "")) if ref else None,
        terminating=bool(meta.get("deletionTimestamp")),
        mirror=MIRROR_ANNOTATION in (meta.get("annotations") or {}),
        uses_emptydir=any("emptyDir" in v for v in spec.get("volumes") or []),
        termination_grace_seconds=int(spec.get("terminationGracePeriodSeconds", 30)),
    )


def pdb_from(obj: dict[str, Any]) -> DisruptionBudget:
    meta, spec, status = obj["metadata"], obj.get("spec") or {}, obj.get("status") or {}
    return DisruptionBudget(
        namespace=meta.get("namespace", ""), name=meta["name"], selector=spec.get("selector"),
        min_available=spec.get("minAvailable"), max_unavailable=spec.get("maxUnavailable"),
        unhealthy_pod_eviction_policy=spec.get("unhealthyPodEvictionPolicy") or "IfHealthyBudget",
        disruptions_allowed=int(status.get("disruptionsAllowed", 0)), current_healthy=int(status.get("currentHealthy", 0)),
        desired_healthy=int(status.get("desiredHealthy", 0)), expected_pods=int(status.get("expectedPods", 0)),
        up_to_date=int(status.get("observedGeneration", 0)) >= int(meta.get("generation", 1)),
    )


def configmap_from(obj: dict[str, Any]) -> ConfigMap:
    return ConfigMap(obj["metadata"].get("namespace", ""), obj["metadata"]["name"], dict(obj.get("data") or {}))


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def bootstrap_token_secret(token: BootstrapToken) -> dict[str, Any]:
    data = {"token-id": token.token_id, "token-secret": token.secret, "usage-bootstrap-authentication": "true",
            "usage-bootstrap-signing": "true", "auth-extra-groups": ",".join(token.groups)}
    if token.expiration:
        data["expiration"] = token.expiration
    if token.description:
        data["description"] = token.description
    return {"apiVersion": "v1", "kind": "Secret", "type": BOOTSTRAP_TOKEN_TYPE,
            "metadata": {"name": token.secret_name, "namespace": "kube-system"},
            "data": {k: _b64(v) for k, v in data.items()}}


def bootstrap_token_from(obj: dict[str, Any]) -> BootstrapToken:
    data = {k: base64.b64decode(v).decode() for k, v in (obj.get("data") or {}).items()}
    return BootstrapToken(token_id=data.get("token-id", ""), secret=data.get("token-secret", ""),
                          expiration=data.get("expiration"), description=data.get("description", ""),
                          groups=tuple(g for g in data.get("auth-extra-groups", "").split(",") if g))


def lease_from(obj: dict[str, Any]) -> Lease:
    meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
    renew = spec.get("renewTime") or spec.get("acquireTime")
    return Lease(namespace=meta.get("namespace", ""), name=meta.get("name", ""), holder=spec.get("holderIdentity") or "",
                 duration_seconds=int(spec.get("leaseDurationSeconds") or 0),
                 renew_time=parse_rfc3339(renew) if renew else 0.0, resource_version=meta.get("resourceVersion", ""))


def event_body(namespace: str, involved: Node | Pod, reason: str, message: str, type_: str, now: float) -> dict[str, Any]:
    """A core/v1 Event about a Node or a Pod, as kubectl drain's recorder writes one."""
    stamp = rfc3339(now)
    return {"apiVersion": "v1", "kind": "Event", "metadata": {"generateName": f"{involved.name}.", "namespace": namespace},
            "involvedObject": {"kind": "Node" if isinstance(involved, Node) else "Pod", "name": involved.name,
                               "uid": involved.uid, **({"namespace": involved.namespace} if isinstance(involved, Pod) else {})},
            "reason": reason, "message": message, "type": type_, "source": {"component": "kubespray2talos"},
            "firstTimestamp": stamp, "lastTimestamp": stamp, "count": 1}


def lease_body(lease: Lease) -> dict[str, Any]:
    """MicroTime fields carry microseconds, as the API server requires for renewTime/acquireTime."""
    micros = int(lease.renew_time % 1 * 1e6)
    # the official client re-encodes the body through datetime.isoformat(), which drops a zero fraction and the
    # API server then refuses the MicroTime ("cannot parse ... as .000000"): never send a whole second
    micros = micros or 1
    when = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(lease.renew_time)) + f".{micros:06d}Z"
    meta: dict[str, Any] = {"name": lease.name, "namespace": lease.namespace}
    if lease.resource_version:
        meta["resourceVersion"] = lease.resource_version
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": meta,
            "spec": {"holderIdentity": lease.holder, "leaseDurationSeconds": lease.duration_seconds, "renewTime": when}}
