"""The narrow view of Kubernetes the migration needs, as a protocol with plain result types.

`KubeCluster` (kube.py) implements it with the official client; the twin serves the same API over HTTP,
so one implementation covers both. Results are small frozen dataclasses, never raw client objects.
"""
# exercised by tests/cluster/test_kube.py

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
WATCH_SECONDS = 300  # one watch's timeoutSeconds before the server ends it (client-go's reflectors ask 5-10 min)


@dataclass(frozen=True)
class Taint:
    key: str
    effect: str  # NoSchedule | PreferNoSchedule | NoExecute
    value: str = ""

    def to_api(self) -> dict[str, str]:
        return {"key": self.key, "effect": self.effect, **({"value": self.value} if self.value else {})}


@dataclass(frozen=True)
class Condition:
    type: str
    status: str  # True | False | Unknown
    reason: str = ""
    message: str = ""


@dataclass(frozen=True)
class Node:
    name: str
    uid: str
    labels: Mapping[str, str] = field(default_factory=dict)
    taints: tuple[Taint, ...] = ()
    unschedulable: bool = False
    conditions: tuple[Condition, ...] = ()
    addresses: Mapping[str, str] = field(default_factory=dict)  # InternalIP -> 10.0.10.21, Hostname -> w1
    kubelet_version: str = ""
    os_image: str = ""

    @property
    def ready(self) -> bool:
        return any(c.type == "Ready" and c.status == "True" for c in self.conditions)

    @property
    def internal_ip(self) -> str | None:
        return self.addresses.get("InternalIP")


@dataclass(frozen=True)
class OwnerRef:
    kind: str
    name: str
    uid: str
    api_version: str = ""


@dataclass(frozen=True)
class Pod:
    namespace: str
    name: str
    uid: str
    node_name: str | None = None
    phase: str = "Pending"
    ready: bool = False
    labels: Mapping[str, str] = field(default_factory=dict)
    owner: OwnerRef | None = None  # the controlling owner
    terminating: bool = False
    mirror: bool = False  # a static pod's API mirror: cannot be evicted
    uses_emptydir: bool = False
    termination_grace_seconds: int = 30

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def finished(self) -> bool:
        return self.phase in ("Succeeded", "Failed")


class EvictionOutcome(enum.Enum):
    EVICTED = "evicted"
    BLOCKED_BY_PDB = "blocked-by-pdb"  # 429: retry later
    MULTIPLE_PDBS = "multiple-pdbs"  # 500: the API will never evict it; a person must fix the budgets
    NOT_FOUND = "not-found"  # already gone: as good as evicted
    REFUSED = "refused"  # anything else (namespace terminating, forbidden)


@dataclass(frozen=True)
class EvictionResult:
    pod: str  # namespace/name
    outcome: EvictionOutcome
    pdb: str | None = None
    message: str = ""

    @property
    def gone_or_going(self) -> bool:
        return self.outcome in (EvictionOutcome.EVICTED, EvictionOutcome.NOT_FOUND)


@dataclass(frozen=True)
class DisruptionBudget:
    namespace: str
    name: str
    selector: Mapping[str, Any] | None
    min_available: int | str | None = None
    max_unavailable: int | str | None = None
    unhealthy_pod_eviction_policy: str = "IfHealthyBudget"
    disruptions_allowed: int = 0
    current_healthy: int = 0
    desired_healthy: int = 0
    expected_pods: int = 0
    up_to_date: bool = True  # status.observedGeneration has caught up with metadata.generation


@dataclass(frozen=True)
class ConfigMap:
    namespace: str
    name: str
    data: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BootstrapToken:
    """A kubeadm bootstrap token (kube-system/bootstrap-token-<id>); the secret half never prints."""

    token_id: str
    secret: str = field(repr=False)
    expiration: str | None = None  # RFC 3339
    description: str = ""
    groups: tuple[str, ...] = ("system:bootstrappers:kubeadm:default-node-token",)

    @property
    def secret_name(self) -> str:
        return f"bootstrap-token-{self.token_id}"


@dataclass(frozen=True)
class ObjectRef:
    """Which object: `ConfigMap kube-system/kube-proxy`, `ClusterRoleBinding kubeadm:kubelet-bootstrap`."""

    kind: str  # ConfigMap | Secret | DaemonSet | ClusterRoleBinding
    name: str
    namespace: str = ""  # "" for a cluster-scoped object

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"


@runtime_checkable
class ObjectWriter(Protocol):
    """Whole objects read and written as JSON (`prepare`'s ConfigMaps, Secrets, DaemonSets and RBAC). A write that
    names a resourceVersion answers None when another writer got there first (409), as a Lease update does."""

    def read_object(self, ref: ObjectRef) -> dict[str, Any] | None: ...
    def create_object(self, ref: ObjectRef, body: dict[str, Any]) -> dict[str, Any] | None: ...
    def replace_object(self, ref: ObjectRef, body: dict[str, Any]) -> dict[str, Any] | None: ...
    def delete_object(self, ref: ObjectRef) -> bool: ...


@runtime_checkable
class RawLister(Protocol):
    """A connection that can also list objects as plain JSON (the official client's KubeCluster can): observe reads
    the static pods' command lines through it; a Cluster without it leaves those fields to the baseline."""

    def list_raw(self, group: str, version: str, plural: str, namespace: str | None = None) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class Lease:
    """A coordination.k8s.io Lease: who holds it, until when (renew time + duration), and its resourceVersion."""

    namespace: str
    name: str
    holder: str
    duration_seconds: int
    renew_time: float  # epoch seconds
    resource_version: str = ""

    def expired(self, now: float) -> bool:
        return not self.holder or now > self.renew_time + self.duration_seconds


PodsHold = Callable[[Sequence[Pod]], bool]  # over the pods a wait watches, as they are now
NodeHolds = Callable[["Node | None"], bool]  # over one node as it is now (None: it does not exist)


@runtime_checkable
class Cluster(Protocol):
    """What the migration asks of a Kubernetes API. Missing objects read as None, not as errors."""

    server: str

    def list_nodes(self, label_selector: str | None = None) -> list[Node]: ...
    def get_node(self, name: str) -> Node | None: ...
    def cordon(self, name: str) -> Node: ...
    def uncordon(self, name: str) -> Node: ...
    def set_labels(self, name: str, labels: Mapping[str, str | None]) -> Node: ...
    def set_taints(self, name: str, taints: Sequence[Taint]) -> Node: ...
    def delete_node(self, name: str) -> bool: ...

    def list_pods(
        self, node_name: str | None = None, namespace: str | None = None, label_selector: str | None = None
    ) -> list[Pod]: ...
    def get_pod(self, namespace: str, name: str) -> Pod | None: ...
    def evict_pod(
        self, namespace: str, name: str, grace_period_seconds: int | None = None, dry_run: bool = False
    ) -> EvictionResult: ...
    def delete_pod(self, namespace: str, name: str, grace_period_seconds: int | None = None) -> bool: ...
    def wait_pods_gone(self, pods: Sequence[Pod], timeout: float, interval: float = 1.0) -> list[Pod]: ...
    # waits that watch instead of polling: list once, follow the changes until `until` holds or `timeout` passes,
    # and answer what was last seen (the caller reads from it whether the wait held)
    def wait_pods(self, until: PodsHold, timeout: float, *, node_name: str | None = None,
                  namespace: str | None = None) -> list[Pod]: ...
    def wait_node(self, name: str, until: NodeHolds, timeout: float) -> Node | None: ...
    def daemonset_exists(self, namespace: str, name: str) -> bool: ...

    def list_pdbs(self, namespace: str | None = None) -> list[DisruptionBudget]: ...
    def get_configmap(self, namespace: str, name: str) -> ConfigMap | None: ...

    def create_bootstrap_token(self, token: BootstrapToken) -> None: ...
    def get_bootstrap_token(self, token_id: str) -> BootstrapToken | None: ...
    def delete_bootstrap_token(self, token_id: str) -> bool: ...

    def record_event(
        self, namespace: str, involved: Node | Pod, reason: str, message: str, type_: str = "Normal"
    ) -> None: ...

    # a Lease is written only against the resourceVersion read: None means another writer won (409/exists)
    def get_lease(self, namespace: str, name: str) -> Lease | None: ...
    def create_lease(self, lease: Lease) -> Lease | None: ...
    def update_lease(self, lease: Lease) -> Lease | None: ...
