"""Defaulting and validation on create/update, the part of admission the migration can observe."""
# exercised by tests/cluster/twin/test_http.py

from __future__ import annotations

import base64
import re
from typing import Any

from migrate.cluster.twin import validation
from migrate.cluster.twin.resources import ResourceType
from migrate.cluster.twin.selectors import from_label_selector
from migrate.cluster.twin.services import default_service
from migrate.cluster.twin.status import invalid

_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_SUBDOMAIN_HELP = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
# the DefaultTolerationSeconds admission plugin: ride out a short node outage before being evicted
_DEFAULT_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
]
_WORKLOADS = ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job")
# status counters without omitempty in the Go types: a real server always writes them, if only as 0,
# and the typed Python client requires them
_ZERO_STATUS = {
    "DaemonSet": ("currentNumberScheduled", "numberMisscheduled", "desiredNumberScheduled", "numberReady"),
    "ReplicaSet": ("replicas",),
    "ReplicationController": ("replicas",),
    "StatefulSet": ("replicas", "availableReplicas"),
    "PodDisruptionBudget": ("disruptionsAllowed", "currentHealthy", "desiredHealthy", "expectedPods"),
}
_STRUCT_SPEC = (*_WORKLOADS, "ReplicationController", "Pod", "Node", "Service", "PodDisruptionBudget", "Namespace", "Lease")


def default_pod_spec(spec: dict[str, Any]) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("securityContext", {})
    spec.setdefault("enableServiceLinks", True)
    for container in spec.get("containers") or []:
        image = container.get("image", "")
        container.setdefault(
            "imagePullPolicy",
            "Always" if image.endswith(":latest") or ":" not in image.rsplit("/", 1)[-1] else "IfNotPresent",
        )
        container.setdefault("terminationMessagePath", "/dev/termination-log")
        container.setdefault("terminationMessagePolicy", "File")
        container.setdefault("resources", {})


def default(rt: ResourceType, obj: dict[str, Any]) -> None:
    """Fill what the API server fills on create (a subset: the fields controllers and drain read)."""
    if rt.kind in _STRUCT_SPEC:  # non-pointer structs: a real server always writes them back, if only as {}
        obj.setdefault("spec", {})
        if rt.kind != "Lease":
            obj.setdefault("status", {})
    spec = obj.get("spec")
    if rt.kind == "Pod":
        spec = obj.setdefault("spec", {})
        default_pod_spec(spec)
        spec.setdefault("serviceAccountName", "default")
        tolerations = spec.setdefault("tolerations", [])
        for tol in _DEFAULT_TOLERATIONS:
            if not any(t.get("key") == tol["key"] and t.get("effect") == tol["effect"] for t in tolerations):
                tolerations.append(dict(tol))
        status = obj.setdefault("status", {})
        status.setdefault("phase", "Pending")
        status.setdefault("qosClass", _qos_class(spec))
    elif rt.kind in _WORKLOADS and isinstance(spec, dict):
        default_pod_spec(spec.setdefault("template", {}).setdefault("spec", {}))
        if rt.kind in ("Deployment", "ReplicaSet", "StatefulSet"):
            spec.setdefault("replicas", 1)
        if rt.kind == "Deployment":
            spec.setdefault(
                "strategy", {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}
            )
            spec.setdefault("revisionHistoryLimit", 10)
            spec.setdefault("progressDeadlineSeconds", 600)
        if rt.kind == "StatefulSet":
            spec.setdefault("podManagementPolicy", "OrderedReady")
            spec.setdefault("updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
        if rt.kind == "DaemonSet":
            spec.setdefault(
                "updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}
            )
        if rt.kind == "Job":
            spec.setdefault("parallelism", 1)
            spec.setdefault("completions", 1)
            spec.setdefault("backoffLimit", 6)
        obj.setdefault("status", {})
    elif rt.kind == "Namespace":
        obj.setdefault("spec", {"finalizers": ["kubernetes"]})
        obj.setdefault("status", {"phase": "Active"})
    elif rt.kind == "Secret" and obj.get("stringData"):
        data = obj.setdefault("data", {})
        for key, value in obj.pop("stringData").items():  # write-only convenience field, stored base64 in data
            data[key] = base64.b64encode(str(value).encode()).decode()
    elif rt.kind == "Service":
        default_service(obj)
    elif rt.kind == "ReplicationController" and isinstance(spec, dict):
        template = spec.setdefault("template", {})
        default_pod_spec(template.setdefault("spec", {}))
        spec.setdefault("replicas", 1)
        spec.setdefault("minReadySeconds", 0)
        labels = (template.get("metadata") or {}).get("labels") or {}
        if not spec.get("selector") and labels:
            spec["selector"] = dict(labels)  # SetDefaults_ReplicationController
    for key in _ZERO_STATUS.get(rt.kind, ()):
        obj.setdefault("status", {}).setdefault(key, 0)


def _qos_class(spec: dict[str, Any]) -> str:
    resources = [c.get("resources") or {} for c in spec.get("containers") or []]
    if not any(r.get("requests") or r.get("limits") for r in resources):
        return "BestEffort"
    guaranteed = all(
        r.get("limits")
        and all(r.get("limits", {}).get(k) == (r.get("requests") or r.get("limits") or {}).get(k) for k in ("cpu", "memory"))
        and {"cpu", "memory"} <= set(r["limits"])
        for r in resources
    )
    return "Guaranteed" if guaranteed else "Burstable"


def validate(rt: ResourceType, obj: dict[str, Any]) -> None:
    meta = obj.get("metadata") or {}
    name = meta.get("name") or meta.get("generateName") or ""
    causes: list[tuple[str, str, str]] = []
    if not meta.get("name"):
        causes.append(("metadata.name", "FieldValueRequired", "Required value: name or generateName is required"))
    elif rt.group == "rbac.authorization.k8s.io":  # RBAC names are path segments: `kubeadm:kubelet-bootstrap`
        if meta["name"] in (".", "..") or "/" in meta["name"] or "%" in meta["name"]:
            causes.append(("metadata.name", "FieldValueInvalid", f'Invalid value: "{meta["name"]}": may not contain'
                                                                 ' "/" or "%" and may not be "." or ".."'))
    elif not _DNS_SUBDOMAIN.match(meta["name"]) or len(meta["name"]) > 253:
        causes.append(("metadata.name", "FieldValueInvalid", f'Invalid value: "{meta["name"]}": {_SUBDOMAIN_HELP}'))
    spec = obj.get("spec") or {}
    if rt.kind in _WORKLOADS and rt.kind != "Job":
        selector = spec.get("selector")
        labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        if not selector:
            causes.append(("spec.selector", "FieldValueRequired", "Required value"))
        elif not validation.label_selector("spec.selector", selector) and \
                not from_label_selector(selector).matches(labels):
            shown = "map[string]string{" + ", ".join(f'"{k}":"{v}"' for k, v in sorted(labels.items())) + "}"
            causes.append(
                (
                    "spec.template.metadata.labels",
                    "FieldValueInvalid",
                    f"Invalid value: {shown}: `selector` does not match template `labels`",
                )
            )
    if rt.kind == "ReplicationController":
        selector = spec.get("selector") or ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        if not selector:
            causes.append(("spec.selector", "FieldValueRequired", "Required value"))
        elif any(labels.get(k) != v for k, v in selector.items()):
            shown = "map[string]string{" + ", ".join(f'"{k}":"{v}"' for k, v in sorted(labels.items())) + "}"
            causes.append(("spec.template.metadata.labels", "FieldValueInvalid",
                           f"Invalid value: {shown}: `selector` does not match template `labels`"))
    if (
        rt.kind == "PodDisruptionBudget"
        and spec.get("minAvailable") is not None
        and spec.get("maxUnavailable") is not None
    ):
        causes.append(
            (
                "spec",
                "FieldValueInvalid",
                "Invalid value: policy.PodDisruptionBudgetSpec: minAvailable and maxUnavailable cannot be both set",
            )
        )
    if rt.kind == "PodDisruptionBudget" and spec.get("unhealthyPodEvictionPolicy") not in (
        None,
        "IfHealthyBudget",
        "AlwaysAllow",
    ):
        causes.append(
            (
                "spec.unhealthyPodEvictionPolicy",
                "FieldValueNotSupported",
                f'Unsupported value: "{spec["unhealthyPodEvictionPolicy"]}": supported values: "AlwaysAllow", "IfHealthyBudget"',
            )
        )
    if rt.kind == "Lease":
        causes += _lease(spec)
    causes += validation.causes_for(rt.kind, obj)
    if causes:
        raise invalid(rt.kind, name, causes, rt.group)


def _lease(spec: dict[str, Any]) -> list[tuple[str, str, str]]:
    """pkg/apis/coordination/validation: positive duration, non-negative transitions, preferredHolder needs a strategy."""
    causes = []
    if spec.get("leaseDurationSeconds") is not None and spec["leaseDurationSeconds"] <= 0:
        causes.append(("spec.leaseDurationSeconds", "FieldValueInvalid",
                       f"Invalid value: {spec['leaseDurationSeconds']}: must be greater than 0"))
    if spec.get("leaseTransitions") is not None and spec["leaseTransitions"] < 0:
        causes.append(("spec.leaseTransitions", "FieldValueInvalid",
                       f"Invalid value: {spec['leaseTransitions']}: must be greater than or equal to 0"))
    if spec.get("strategy") not in (None, "", "OldestEmulationVersion"):
        causes.append(("spec.strategy", "FieldValueNotSupported",
                       f'Unsupported value: "{spec["strategy"]}": supported values: "OldestEmulationVersion"'))
    if spec.get("preferredHolder") and not spec.get("strategy"):
        causes.append(("spec.preferredHolder", "FieldValueForbidden",
                       "Forbidden: may only be specified if `strategy` is defined"))
    return causes


def validate_update(rt: ResourceType, old: dict[str, Any], new: dict[str, Any]) -> None:
    """apps/v1 selectors are immutable (why a relabelled kube-proxy DaemonSet is deleted and created anew)."""
    if rt.group == "apps" and (old.get("spec") or {}).get("selector") != (new.get("spec") or {}).get("selector"):
        shown = (new.get("spec") or {}).get("selector")
        raise invalid(rt.kind, old["metadata"]["name"], [("spec.selector", "FieldValueInvalid",
                                                          f"Invalid value: {shown}: field is immutable")], rt.group)
