"""Which pods a drain evicts, in kubectl's order (pkg/drain/filters.go): finished/terminating pods are left,
DaemonSet pods stay (their controller ignores unschedulable), mirror pods cannot be evicted, emptyDir data is
lost, and a pod nothing will recreate is gone for good. Each filter gives a verdict with its reason, and a
refusal names the flag that overrides it."""
# exercised by tests/migration/test_drain.py

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from migrate.cluster.base import Cluster, Pod

EVICT, SKIP, REFUSE = "evict", "skip", "refuse"


@dataclass(frozen=True)
class DrainOptions:
    ignore_daemonsets: bool = True  # the migration always leaves DaemonSet pods: they follow the node away
    delete_emptydir_data: bool = False
    force: bool = False  # evict pods no controller will recreate
    timeout: float = 600.0
    grace_period: int | None = None
    pod_selector: str | None = None


@dataclass(frozen=True)
class PodVerdict:
    pod: Pod
    action: str  # evict | skip | refuse
    reason: str = ""
    flag: str = ""  # the override for a refusal


Filter = Callable[[Pod, DrainOptions, Cluster], PodVerdict | None]


def _finished(pod: Pod, opts: DrainOptions, cluster: Cluster) -> PodVerdict | None:
    if pod.terminating or pod.finished:
        return PodVerdict(pod, SKIP, "already terminating or finished")
    return None


def _daemonset(pod: Pod, opts: DrainOptions, cluster: Cluster) -> PodVerdict | None:
    if pod.owner is None or pod.owner.kind != "DaemonSet":
        return None
    if not cluster.daemonset_exists(pod.namespace, pod.owner.name):
        return PodVerdict(pod, REFUSE, f"its DaemonSet {pod.owner.name} is gone", "--force")
    if not opts.ignore_daemonsets:
        return PodVerdict(pod, REFUSE, "DaemonSet-managed", "--ignore-daemonsets")
    return PodVerdict(pod, SKIP, "DaemonSet-managed: stays until the node goes")


def _mirror(pod: Pod, opts: DrainOptions, cluster: Cluster) -> PodVerdict | None:
    return PodVerdict(pod, SKIP, "static pod (mirror): lives and dies with the kubelet") if pod.mirror else None


def _local_storage(pod: Pod, opts: DrainOptions, cluster: Cluster) -> PodVerdict | None:
    if pod.uses_emptydir and not opts.delete_emptydir_data:
        return PodVerdict(pod, REFUSE, "uses emptyDir: its data would be lost", "--delete-emptydir-data")
    return None


def _unreplicated(pod: Pod, opts: DrainOptions, cluster: Cluster) -> PodVerdict | None:
    if pod.owner is None and not opts.force:
        return PodVerdict(pod, REFUSE, "no controller will recreate it", "--force")
    return None


FILTERS: tuple[Filter, ...] = (_finished, _daemonset, _mirror, _local_storage, _unreplicated)


def classify(pods: Sequence[Pod], opts: DrainOptions, cluster: Cluster) -> list[PodVerdict]:
    """One verdict per pod: the first filter with an opinion decides, else the pod is evicted."""
    out = []
    for pod in pods:
        verdict = next((v for f in FILTERS if (v := f(pod, opts, cluster)) is not None), None)
        out.append(verdict or PodVerdict(pod, EVICT))
    return out
