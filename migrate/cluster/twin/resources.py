"""The resource types the twin serves: one table drives routing, discovery, messages and field selectors."""
# exercised by tests/cluster/twin/test_store.py

from __future__ import annotations

from dataclasses import dataclass

from migrate.cluster.twin.status import ApiError

CRUD = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    # subresource -> (kind, group, version, verbs)
    subresources: tuple[tuple[str, str, str, str, tuple[str, ...]], ...] = ()
    fields: tuple[str, ...] = ("metadata.name", "metadata.namespace")
    categories: tuple[str, ...] = ()
    # the registry strategy's answers (pkg/registry/*/strategy.go): PUT without resourceVersion allowed,
    # PUT to a missing object creates it, metadata.generation kept
    unconditional_update: bool = True
    create_on_update: bool = False
    generation: bool = False
    returns_deleted: bool = False  # DELETE answers with the object even when it went at once (else a Status)

    def __hash__(self) -> int:
        # every store write and index lookup keys a dict by its type: the generated hash walked all 14 fields
        return hash(self.plural)  # equal types share a plural, so this agrees with __eq__

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        """How error messages name it: `pods`, `deployments.apps`."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def qualified_kind(self) -> str:
        """How validation errors name it: `Pod`, `Deployment.apps`, `Lease.coordination.k8s.io`."""
        return f"{self.kind}.{self.group}" if self.group else self.kind

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def has_status(self) -> bool:
        return any(sub[0] == "status" for sub in self.subresources)


def _status(rt_kind: str, group: str = "", version: str = "v1") -> tuple[str, str, str, str, tuple[str, ...]]:
    return ("status", rt_kind, group, version, ("get", "patch", "update"))


def _scale(group: str = "autoscaling", version: str = "v1") -> tuple[str, str, str, str, tuple[str, ...]]:
    return ("scale", "Scale", group, version, ("get", "patch", "update"))


_WORKLOAD = ("all",)


def _scalable_workload(plural: str, kind: str, short: str) -> ResourceType:
    """An apps/v1 workload with status and scale subresources (Deployment, ReplicaSet, StatefulSet)."""
    return ResourceType("apps", "v1", plural, kind, True, (short,), (_status(kind, "apps"), _scale()), categories=_WORKLOAD,
                        generation=True)
RESOURCES: tuple[ResourceType, ...] = (
    ResourceType(
        "", "v1", "namespaces", "Namespace", False, ("ns",), (_status("Namespace"),), ("metadata.name", "status.phase")
    ),
    ResourceType(
        "", "v1", "nodes", "Node", False, ("no",), (_status("Node"),), ("metadata.name", "spec.unschedulable")
    ),
    ResourceType(
        "",
        "v1",
        "pods",
        "Pod",
        True,
        ("po",),
        (
            _status("Pod"),
            ("eviction", "Eviction", "policy", "v1", ("create",)),
            ("binding", "Binding", "", "v1", ("create",)),
        ),
        (
            "metadata.name",
            "metadata.namespace",
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        ),
        _WORKLOAD,
        generation=True,  # PodObservedGenerationTracking (on by default since 1.34)
        returns_deleted=True,
    ),
    ResourceType("", "v1", "configmaps", "ConfigMap", True, ("cm",)),
    ResourceType("", "v1", "serviceaccounts", "ServiceAccount", True, ("sa",)),
    ResourceType("", "v1", "replicationcontrollers", "ReplicationController", True, ("rc",),
                 (_status("ReplicationController"), _scale()), categories=_WORKLOAD, generation=True),
    ResourceType("", "v1", "secrets", "Secret", True, (), (), ("metadata.name", "metadata.namespace", "type")),
    ResourceType("", "v1", "services", "Service", True, ("svc",), (_status("Service"),), categories=_WORKLOAD,
                 create_on_update=True, returns_deleted=True),
    ResourceType(
        "",
        "v1",
        "events",
        "Event",
        True,
        ("ev",),
        (),
        (
            "metadata.name",
            "metadata.namespace",
            "involvedObject.kind",
            "involvedObject.name",
            "involvedObject.namespace",
            "involvedObject.uid",
            "reason",
            "type",
        ),
        create_on_update=True,
    ),
    _scalable_workload("deployments", "Deployment", "deploy"),
    _scalable_workload("replicasets", "ReplicaSet", "rs"),
    _scalable_workload("statefulsets", "StatefulSet", "sts"),
    ResourceType(
        "apps", "v1", "daemonsets", "DaemonSet", True, ("ds",), (_status("DaemonSet", "apps"),), categories=_WORKLOAD,
        generation=True,
    ),
    ResourceType("batch", "v1", "jobs", "Job", True, (), (_status("Job", "batch"),), categories=_WORKLOAD,
                 generation=True),
    ResourceType(
        "policy",
        "v1",
        "poddisruptionbudgets",
        "PodDisruptionBudget",
        True,
        ("pdb",),
        (_status("PodDisruptionBudget", "policy"),),
        generation=True,
    ),
    ResourceType("coordination.k8s.io", "v1", "leases", "Lease", True, unconditional_update=False,
                 create_on_update=True),
    # what `prepare` may add: kubeadm's bindings for bootstrap-token groups
    ResourceType("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False),
)

_BY_PATH = {(rt.group, rt.version, rt.plural): rt for rt in RESOURCES}
_BY_KIND = {(rt.api_version, rt.kind): rt for rt in RESOURCES}
GROUPS: dict[str, list[ResourceType]] = {}
for _rt in RESOURCES:
    GROUPS.setdefault(_rt.group, []).append(_rt)

NODES = _BY_PATH[("", "v1", "nodes")]
PODS = _BY_PATH[("", "v1", "pods")]
NAMESPACES = _BY_PATH[("", "v1", "namespaces")]
CONFIGMAPS = _BY_PATH[("", "v1", "configmaps")]
SECRETS = _BY_PATH[("", "v1", "secrets")]
SERVICES = _BY_PATH[("", "v1", "services")]
SERVICEACCOUNTS = _BY_PATH[("", "v1", "serviceaccounts")]
REPLICATIONCONTROLLERS = _BY_PATH[("", "v1", "replicationcontrollers")]
EVENTS = _BY_PATH[("", "v1", "events")]
DEPLOYMENTS = _BY_PATH[("apps", "v1", "deployments")]
REPLICASETS = _BY_PATH[("apps", "v1", "replicasets")]
STATEFULSETS = _BY_PATH[("apps", "v1", "statefulsets")]
DAEMONSETS = _BY_PATH[("apps", "v1", "daemonsets")]
JOBS = _BY_PATH[("batch", "v1", "jobs")]
PDBS = _BY_PATH[("policy", "v1", "poddisruptionbudgets")]
LEASES = _BY_PATH[("coordination.k8s.io", "v1", "leases")]
CLUSTERROLEBINDINGS = _BY_PATH[("rbac.authorization.k8s.io", "v1", "clusterrolebindings")]


def by_path(group: str, version: str, plural: str) -> ResourceType:
    rt = _BY_PATH.get((group, version, plural))
    if rt is None:
        raise ApiError(404, "NotFound", "the server could not find the requested resource")
    return rt


def by_kind(api_version: str, kind: str) -> ResourceType | None:
    return _BY_KIND.get((api_version, kind))
