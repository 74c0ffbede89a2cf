"""The twin: store + API semantics + the actors that make a cluster move, driven by a clock."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from migrate.clock import Clock, SystemClock, VirtualClock, parse_rfc3339, rfc3339
from migrate.cluster.snapshot import RESOURCES as SNAPSHOT_RESOURCES
from migrate.cluster.snapshot import read_snapshot
from migrate.cluster.twin import admission
from migrate.cluster.twin.api import Api
from migrate.cluster.twin.controllers import (
    DaemonSetController,
    DeploymentController,
    GarbageCollector,
    JobController,
    ReplicaSetController,
    StatefulSetController,
)
from migrate.cluster.twin.index import ClusterIndex
from migrate.cluster.twin.kubelet import Kubelets, KubeletTiming
from migrate.cluster.twin.nodes import NodeLifecycle, node_manifest
from migrate.cluster.twin.pdb import DisruptionController
from migrate.cluster.twin.podnet import DEFAULT_POD_SUBNET, PodNetwork
from migrate.cluster.twin.resources import NAMESPACES, NODES, by_path
from migrate.cluster.twin.scheduler import Scheduler
from migrate.cluster.twin.store import Store, clone

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
MAX_PASSES = 50  # a pass that keeps changing the store this often is a controller fight, not convergence


class Twin:
    def __init__(
        self,
        clock: Clock | None = None,
        *,
        timing: KubeletTiming | None = None,
        node_ready_delay: float = 5.0,
        seed: int = 0,
        version: str = "v1.31.4",
    ):
        self.clock = clock or VirtualClock()
        self.store = Store(self.clock, seed=seed)
        self.api = Api(self.store, seed=seed)
        self.version = version
        self.kubelets = Kubelets(self.store, timing or KubeletTiming())
        self.nodes = NodeLifecycle(self.api, node_ready_delay)
        self.actors = [
            self.nodes,
            GarbageCollector(self.api),
            DeploymentController(self.api),
            ReplicaSetController(self.api),
            StatefulSetController(self.api),
            DaemonSetController(self.api),
            JobController(self.api),
            Scheduler(self.api),
            self.kubelets,
            DisruptionController(self.store),
        ]
        self._settled: tuple[int, float | None] | None = None
        self.index = ClusterIndex.attach(self.store)
        self._thread: threading.Thread | None = None
        self._stopping = False
        for ns in SYSTEM_NAMESPACES:
            self.store.create(
                NAMESPACES,
                {"metadata": {"name": ns}, "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}},
            )

    # --- building ------------------------------------------------------------------------------
    @classmethod
    def from_snapshot(cls, path: Path | str, clock: Clock | None = None, **kwargs: Any) -> Twin:
        twin = cls(clock, **kwargs)
        twin.load(read_snapshot(path))
        return twin

    def load(self, snapshot: dict[str, Any]) -> None:
        """Load captured objects (uids kept; a captured `default` replaces the twin's own), then let the
        controllers compute their statuses."""
        objects = snapshot.get("objects") or {}
        captured = (snapshot.get("metadata") or {}).get("capturedAt")
        if captured and isinstance(self.clock, VirtualClock):
            self.clock.set(parse_rfc3339(captured))  # a rehearsal starts where the capture left off
        self.version = (
            (snapshot.get("metadata") or {}).get("kubernetesVersion") or self._version_from(objects) or self.version
        )
        self.kubelets.network = PodNetwork(_pod_subnet(objects) or DEFAULT_POD_SUBNET)
        self.kubelets.network.learn(objects.get("pods") or [])
        with self.store.lock:
            for group, version, plural in SNAPSHOT_RESOURCES:
                rt = by_path(group, version, plural)
                for obj in objects.get(rt.qualified, []):
                    ns = obj["metadata"].get("namespace")
                    if rt.namespaced and ns and self.store.find(NAMESPACES, "", ns) is None:
                        self.store.create(NAMESPACES, {"metadata": {"name": ns}, "status": {"phase": "Active"}})
                    obj = clone(obj)
                    admission.default(rt, obj)  # as the API server defaults what it reads back from etcd
                    self.store.load(rt, obj, owned=True)
        self.reconcile()

    @staticmethod
    def _version_from(objects: dict[str, Any]) -> str | None:
        nodes = objects.get("nodes") or []
        return nodes[0].get("status", {}).get("nodeInfo", {}).get("kubeletVersion") if nodes else None

    def add_node(self, name: str, address: str, **kwargs: Any) -> dict[str, Any]:
        """The provisioner's entry point: a replacement node registers now and turns Ready after the delay."""
        kwargs.setdefault("kubelet_version", self.version)
        return self.api.create(NODES, None, node_manifest(name, address, **kwargs))

    def set_node_ready(self, name: str, ready: bool, reason: str = "NodeStatusUnknown") -> dict[str, Any]:
        """What a node failing (or coming back) looks like: its Ready condition, as the node controller sets it."""
        with self.store.lock:
            node = self.store.get(NODES, "", name)
            status = clone(node.get("status") or {})
            stamp = rfc3339(self.clock.now())
            condition = {"type": "Ready", "status": "True" if ready else "Unknown", "lastHeartbeatTime": stamp,
                         "lastTransitionTime": stamp, "reason": "KubeletReady" if ready else reason,
                         "message": "kubelet is posting ready status" if ready else "Kubelet stopped posting node status."}
            status["conditions"] = [c for c in status.get("conditions") or [] if c.get("type") != "Ready"] + [condition]
            return self.store.update(NODES, {**node, "status": status}, status=True, force=True)

    # --- running -------------------------------------------------------------------------------
    def reconcile(self) -> None:
        """Run every actor until the store stops changing, at the current time."""
        with self.store.lock:
            for _ in range(MAX_PASSES):
                revision, now = self.store.revision, self.clock.now()
                if (
                    self._settled
                    and self._settled[0] == revision
                    and (self._settled[1] is None or now < self._settled[1])
                ):
                    return
                index = self.index
                index.start_pass()
                for actor in self.actors:
                    actor.reconcile(index)
                if self.store.revision == revision:
                    self._settled = (revision, self.next_due())
                    return

    def next_due(self) -> float | None:
        now = self.clock.now()
        due = [d for d in (self.kubelets.next_due(now), self.nodes.next_due(now)) if d is not None]
        return min(due) if due else None

    def advance(self, seconds: float) -> None:
        """Virtual time only: move through every due moment up to now + seconds, reconciling at each."""
        clock = self._virtual()
        target = clock.now() + seconds
        self.reconcile()
        while (due := self.next_due()) is not None and due <= target:
            clock.set(due)
            self.reconcile()
        clock.set(target)
        self.reconcile()

    def settle(self, limit: float = 3600.0) -> float:
        """Advance until nothing is scheduled to happen; returns the virtual seconds that took."""
        clock = self._virtual()
        start = clock.now()
        self.reconcile()
        while (due := self.next_due()) is not None and due - start <= limit:
            clock.set(due)
            self.reconcile()
        return clock.now() - start

    def run_until(self, predicate: Callable[[], bool], timeout: float = 600.0) -> bool:
        """Advance virtual time event by event until `predicate()` holds; False if `timeout` passes first."""
        clock = self._virtual()
        deadline = clock.now() + timeout
        self.reconcile()
        while not predicate():
            due = self.next_due()
            if due is None or due > deadline:
                clock.set(deadline)
                self.reconcile()
                return predicate()
            clock.set(due)
            self.reconcile()
        return True

    def _virtual(self) -> VirtualClock:
        if not isinstance(self.clock, VirtualClock):
            raise TypeError("advance/settle/run_until need a VirtualClock; a real-clock twin runs with start()")
        return self.clock

    def start(self) -> None:
        """Real time: a background thread reconciles on every change and at every due moment."""
        if self._thread is None:
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="twin-actors", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        with self.store.changed:
            while not self._stopping:
                self.reconcile()
                due = self.next_due()
                wait = 1.0 if due is None else min(1.0, max(0.005, due - self.clock.now()))
                settled = self._settled is not None and self._settled[0] == self.store.revision
                # woken by any write; idle, it looks again once a second; never spins on a controller fight
                self.store.changed.wait(wait if settled else 0.05)

    def stop(self) -> None:
        self._stopping = True
        with self.store.changed:
            self.store.changed.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self.store.close_watches()


def _pod_subnet(objects: dict[str, Any]) -> str | None:
    """networking.podSubnet of the captured kubeadm-config (the first family when dual-stack)."""
    for cm in objects.get("configmaps") or []:
        if cm["metadata"].get("name") == "kubeadm-config":
            try:
                config = yaml.safe_load((cm.get("data") or {}).get("ClusterConfiguration") or "") or {}
            except yaml.YAMLError:
                return None
            subnet = (config.get("networking") or {}).get("podSubnet") if isinstance(config, dict) else None
            return subnet.split(",")[0].strip() if isinstance(subnet, str) and subnet else None
    return None


def real_time_twin(**kwargs: Any) -> Twin:
    return Twin(SystemClock(), **kwargs)
