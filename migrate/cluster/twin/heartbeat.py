"""What each node's kubelet says about its node: Ready once started, a status heartbeat, and its node Lease.

A node has a kubelet only when one registered for it (`Twin.join_node`, or a node that was Ready in a
snapshot): a Node created through the API by hand stays NotReady, as on a real cluster. A stopped kubelet
posts nothing more, so the node lifecycle controller sees its Lease age and marks the node Unknown.

Renewals are lazy: they happen in any pass where one is due, never as a scheduled moment of their own, so
`Twin.settle()` still ends and a 200-node rehearsal does not stop every ten virtual seconds; every HTTP read
runs such a pass first, so a client never sees a Lease older than the renew interval of a live kubelet.
"""
# exercised by tests/cluster/twin/test_node_failure.py

from __future__ import annotations

import functools
import time
from collections.abc import Iterable
from typing import Any

from migrate.clock import parse_rfc3339, rfc3339
from migrate.cluster.twin.index import ClusterIndex, is_ready
from migrate.cluster.twin.resources import LEASES, NODES, PODS
from migrate.cluster.twin.store import Store, clone

NODE_LEASES = "kube-node-lease"
MIRROR = "kubernetes.io/config.mirror"
LEASE_SECONDS = 40  # the kubelet's nodeLeaseDurationSeconds
RENEW_EVERY = 10.0  # the kubelet renews at a quarter of the duration
REPORT_EVERY = 300.0  # nodeStatusReportFrequency: an unchanged status is still posted every five minutes
PRESSURE = (("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
            ("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            ("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"))


@functools.lru_cache(maxsize=1)  # 200 kubelets renewing in one pass stamp the same moment
def micro_time(moment: float) -> str:
    """A MicroTime as the API server writes it: UTC with six fraction digits."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(moment)) + f".{int(round(moment % 1 * 1e6)) % 1000000:06d}Z"


class NodeAgents:
    """The node-facing half of every running kubelet (the pod-facing half is `kubelet.Kubelets`)."""

    watches = (NODES, PODS)  # besides its renewals: nodes going, mirror pods deleted, pods to report Ready again

    def __init__(self, store: Store, ready_delay: float = 5.0, renew_every: float = RENEW_EVERY,
                 report_every: float = REPORT_EVERY) -> None:
        self.store = store
        self.ready_delay, self.renew_every, self.report_every = ready_delay, renew_every, report_every
        self._started: dict[str, float] = {}  # node name -> when its kubelet started
        self._renewed: dict[str, float] = {}  # node name -> the renewTime of its Lease
        self._next_post: dict[str, float] = {}  # node name -> when its kubelet must post status again
        self._restore: dict[str, set[str]] = {}  # node -> pod uids the node controller marked not ready meanwhile
        self.manifests: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}  # node -> its static pods
        self._quiet: float | None = None  # until when no kubelet has a status to post or a Lease to renew
        self.version = 0  # bumped whenever a kubelet starts or stops

    # --- what a rehearsal or a test does to kubelets --------------------------------------------
    def start(self, name: str, now: float, *, already_ready: bool = False) -> None:
        self._started[name] = now - self.ready_delay if already_ready else now
        self._quiet = None
        self.version += 1

    def stop(self, name: str) -> None:
        self._started.pop(name, None)
        self._renewed.pop(name, None)
        self._next_post.pop(name, None)
        self._quiet = None
        self.version += 1

    def running(self, name: str) -> bool:
        return name in self._started

    def add_static_pod(self, node: str, pod: dict[str, Any]) -> None:
        """A manifest in the node's static pod directory: its kubelet keeps a mirror pod for it in the API."""
        meta = pod["metadata"]
        annotations = {**(meta.get("annotations") or {}), MIRROR: (meta.get("annotations") or {}).get(MIRROR, "x")}
        kept = {k: meta[k] for k in ("name", "namespace", "labels") if k in meta}
        self.manifests.setdefault(node, {})[(meta["namespace"], meta["name"])] = {
            "metadata": {**kept, "annotations": annotations}, "spec": clone(pod.get("spec") or {}),
            "status": clone(pod.get("status") or {})}

    def remove_static_pod(self, node: str, namespace: str, name: str) -> None:
        self.manifests.get(node, {}).pop((namespace, name), None)

    def mark_unready(self, node: str, uid: str) -> None:
        """The node controller marked a pod not ready: a kubelet that comes back reports it Ready again."""
        self._restore.setdefault(node, set()).add(uid)

    # --- the actor -------------------------------------------------------------------------------
    def reconcile(self, index: ClusterIndex) -> None:
        now = self.store.clock.now()
        renewed, every = self._renewed, self.renew_every
        names: Iterable[str] = self._started
        quiet = self._quiet is not None and now < self._quiet
        if quiet:  # nothing to post or renew yet (both are due by time alone): only mirror pods, pods to report
            # Ready again, and kubelets whose node was deleted; in the kubelets' order, as a full pass goes
            wanted = self.manifests.keys() | {n for n, uids in self._restore.items() if uids} | \
                (self._started.keys() - index.nodes.keys())
            names = [n for n in self._started if n in wanted] if wanted else []
        for name in list(names):
            started = self._started[name]
            node = index.nodes.get(name)
            if node is None:  # deleted under a running kubelet: it cannot post status any more
                self.stop(name)
                continue
            if now >= self._next_post.get(name, now):
                self._post_status(node, started, now)
            if name not in renewed or now >= renewed[name] + every:  # 200 kubelets: most have nothing due
                self._renew_lease(index.nodes[name], now)
            if name in self._restore and self._restore[name]:
                self._report_pods_ready(index, name, now)
            if name in self.manifests:
                for (namespace, pod_name), manifest in self.manifests[name].items():
                    if self.store.find(PODS, namespace, pod_name) is None:
                        self._mirror(index.nodes[name], manifest)
        if not quiet or self._quiet is None:  # a kubelet posted, renewed or stopped: when is the next one due
            self._quiet = None
            due = self.renewal_due()
            self._quiet = due if due is not None else float("inf")

    def next_due(self, now: float) -> float | None:
        """When a starting kubelet turns its node Ready (renewals are not scheduled moments, see above)."""
        due = [s + self.ready_delay for s in self._started.values() if s + self.ready_delay > now]
        return min(due) if due else None

    def renewal_due(self) -> float | None:
        """The earliest moment a live kubelet has something to renew: a pass at or after it must run."""
        if self._quiet is not None:  # as the last pass left it (only a pass, or a kubelet stopping, moves it)
            return None if self._quiet == float("inf") else self._quiet
        due = [t + self.renew_every for t in self._renewed.values()] + list(self._next_post.values())
        return min(due) if due else None

    def _post_status(self, node: dict[str, Any], started: float, now: float) -> None:
        ready = now >= started + self.ready_delay
        conditions = (node.get("status") or {}).get("conditions") or []
        current = next((c for c in conditions if c.get("type") == "Ready"), None)
        wanted = "True" if ready else "False"
        last_beat = parse_rfc3339(current["lastHeartbeatTime"]) if current and current.get("lastHeartbeatTime") \
            else None
        name = node["metadata"]["name"]
        self._next_post[name] = min(started + self.ready_delay if not ready else now + self.report_every,
                                    now + self.report_every)
        if current and current.get("status") == wanted and last_beat is not None and \
                now < last_beat + self.report_every:
            self._next_post[name] = min(self._next_post[name], last_beat + self.report_every)
            return
        stamp = rfc3339(now)
        fresh = []
        for kind, reason, message in PRESSURE:
            old = next((c for c in conditions if c.get("type") == kind), None)
            fresh.append({"type": kind, "status": "False", "lastHeartbeatTime": stamp,
                          "lastTransitionTime": old["lastTransitionTime"] if old and old.get("status") == "False"
                          and old.get("lastTransitionTime") else stamp, "reason": reason, "message": message})
        moved = current is None or current.get("status") != wanted
        fresh.append({"type": "Ready", "status": wanted, "lastHeartbeatTime": stamp,
                      "lastTransitionTime": stamp if moved or current is None else current.get("lastTransitionTime", stamp),
                      "reason": "KubeletReady" if ready else "KubeletNotReady",
                      "message": "kubelet is posting ready status" if ready
                      else "container runtime status check may not have completed yet"})
        others = [c for c in conditions if c.get("type") not in ("Ready", *(p[0] for p in PRESSURE))]
        status = {**(node.get("status") or {}), "conditions": others + fresh}  # Ready last, as kubelets do
        self.store.update(NODES, {**node, "status": status}, status=True, force=True, owned=True)

    def _renew_lease(self, node: dict[str, Any], now: float) -> None:
        name = node["metadata"]["name"]
        if name in self._renewed and now < self._renewed[name] + self.renew_every:
            return
        lease = self.store.find(LEASES, NODE_LEASES, name)
        spec = {"holderIdentity": name, "leaseDurationSeconds": LEASE_SECONDS, "renewTime": micro_time(now)}
        if lease is None:
            owner = {"apiVersion": "v1", "kind": "Node", "name": name, "uid": node["metadata"]["uid"]}
            self.store.create(LEASES, {"metadata": {"name": name, "namespace": NODE_LEASES,
                                                    "ownerReferences": [owner]}, "spec": spec})
        else:
            renewed = {**lease, "metadata": dict(lease["metadata"]), "spec": {**(lease.get("spec") or {}), **spec}}
            self.store.update(LEASES, renewed, force=True, owned=True)  # 200 nodes: a renewal must be cheap
        self._renewed[name] = now

    def _mirror(self, node: dict[str, Any], manifest: dict[str, Any]) -> None:
        """A deleted mirror pod comes back while its manifest is there (the static pod never stopped)."""
        pod = clone(manifest)
        pod["metadata"]["ownerReferences"] = [{"apiVersion": "v1", "kind": "Node", "name": node["metadata"]["name"],
                                               "uid": node["metadata"]["uid"], "controller": True}]
        pod["spec"]["nodeName"] = node["metadata"]["name"]
        self.store.create(PODS, pod)

    def _report_pods_ready(self, index: ClusterIndex, name: str, now: float) -> None:
        node = index.nodes[name]
        if not is_ready(node):
            return
        uids = self._restore.pop(name, set())
        for pod in index.on_node(name):
            if pod["metadata"]["uid"] not in uids or pod["metadata"].get("deletionTimestamp") or \
                    (pod.get("status") or {}).get("phase") != "Running":
                continue
            conditions = [{**c, "status": "True", "lastTransitionTime": rfc3339(now)}
                          if c.get("type") == "Ready" and c.get("status") != "True" else c
                          for c in pod["status"].get("conditions") or []]
            status = {**pod["status"], "conditions": conditions} if pod["status"].get("conditions") else pod["status"]
            self.store.update(PODS, {**pod, "status": status}, status=True, force=True, owned=True)
