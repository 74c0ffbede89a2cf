"""The twin: store + API semantics + the actors that make a cluster move, driven by a clock."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from migrate.clock import Clock, SystemClock, VirtualClock, parse_rfc3339, rfc3339
from migrate.cluster.snapshot import RESOURCES as SNAPSHOT_RESOURCES
from migrate.cluster.snapshot import read_snapshot
from migrate.cluster.twin import admission
from migrate.cluster.twin.accounts import ServiceAccounts
from migrate.cluster.twin.api import Api
from migrate.cluster.twin.controllers import (
    DaemonSetController,
    JobController,
    ReplicaSetController,
    StatefulSetController,
)
from migrate.cluster.twin.deployments import DeploymentController
from migrate.cluster.twin.etcd import TwinEtcd
from migrate.cluster.twin.garbage import GarbageCollector
from migrate.cluster.twin.heartbeat import MIRROR, NodeAgents
from migrate.cluster.twin.index import ClusterIndex, is_ready
from migrate.cluster.twin.kubelet import Kubelets, KubeletTiming
from migrate.cluster.twin.nodes import NodeLifecycle, node_manifest
from migrate.cluster.twin.pdb import DisruptionController
from migrate.cluster.twin.podnet import DEFAULT_POD_SUBNET, PodNetwork
from migrate.cluster.twin.resources import (
    NAMESPACES,
    NODES,
    PODS,
    REPLICASETS,
    SERVICES,
    STATEFULSETS,
    ResourceType,
    by_path,
)
from migrate.cluster.twin.scheduler import Scheduler
from migrate.cluster.twin.services import DEFAULT_SERVICE_SUBNET, ServiceAllocator, kubernetes_service
from migrate.cluster.twin.store import Store, clone

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
CONTROL_PLANE = "node-role.kubernetes.io/control-plane"
log = logging.getLogger(__name__)
SCHEDULING = (PODS, NODES, SERVICES, REPLICASETS, STATEFULSETS)  # what placement and its spread scoring read
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
        self.agents = NodeAgents(self.store, node_ready_delay)
        self.kubelets = Kubelets(self.store, timing or KubeletTiming(), self.agents)
        self.nodes = NodeLifecycle(self.api, self.agents)
        self.etcd = TwinEtcd(self.clock)  # members for the control planes, as Kubespray named them (etcd1..N)
        self.failures: Counter[str] = Counter()  # actor -> exceptions caught; the loop goes on regardless
        self.actors = [
            self.agents,
            self.nodes,
            GarbageCollector(self.api),
            ServiceAccounts(self.api),
            DeploymentController(self.api),
            ReplicaSetController(self.api),
            StatefulSetController(self.api),
            DaemonSetController(self.api),
            JobController(self.api),
            Scheduler(self.api),
            self.kubelets,
            DisruptionController(self.store),
        ]
        self._slots = [_Slot(actor, getattr(actor, "watches", SCHEDULING if isinstance(actor, Scheduler) else None),
                             self._due_of(actor)) for actor in self.actors]
        self._poked = False  # a kubelet started or stopped: what is due changed without a write
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
        twin.load(read_snapshot(path), owned=True)
        return twin

    def load(self, snapshot: dict[str, Any], owned: bool = False) -> None:
        """Load captured objects (uids kept; a captured `default` replaces the twin's own), then let the
        controllers compute their statuses. `owned`: the caller hands the snapshot over (one just read) and
        never touches it again, so its objects are stored as they are instead of copied first."""
        objects = snapshot.get("objects") or {}
        captured = (snapshot.get("metadata") or {}).get("capturedAt")
        if captured and isinstance(self.clock, VirtualClock):
            self.clock.set(parse_rfc3339(captured))  # a rehearsal starts where the capture left off
        self.version = (
            (snapshot.get("metadata") or {}).get("kubernetesVersion") or self._version_from(objects) or self.version
        )
        self.kubelets.network = PodNetwork(_pod_subnet(objects) or DEFAULT_POD_SUBNET)
        self.kubelets.network.learn(objects.get("pods") or [])
        self.api.services = ServiceAllocator(self.store, _pod_subnet(objects, "serviceSubnet") or DEFAULT_SERVICE_SUBNET)
        with self.store.lock:
            for group, version, plural in SNAPSHOT_RESOURCES:
                rt = by_path(group, version, plural)
                for obj in objects.get(rt.qualified, []):
                    ns = obj["metadata"].get("namespace")
                    if rt.namespaced and ns and self.store.find(NAMESPACES, "", ns) is None:
                        self.store.create(NAMESPACES, {"metadata": {"name": ns}, "status": {"phase": "Active"}})
                    obj = obj if owned else clone(obj)
                    admission.default(rt, obj)  # as the API server defaults what it reads back from etcd
                    self.store.load(rt, obj, owned=True)
            now = self.clock.now()
            for node in self.store.objects(NODES):
                if is_ready(node):  # its kubelet was running when captured
                    self.agents.start(node["metadata"]["name"], now, already_ready=True)
            for pod in self.store.objects(PODS):  # a mirror pod says a static manifest is on its node
                if MIRROR in (pod["metadata"].get("annotations") or {}) and pod["spec"].get("nodeName"):
                    self.agents.add_static_pod(pod["spec"]["nodeName"], pod)
            if self.store.find(SERVICES, "default", "kubernetes") is None:  # the API server's own, never captured away
                self.api.create(SERVICES, "default", kubernetes_service(self.api.services.network))
        self._seed_etcd()
        self.reconcile()

    def _seed_etcd(self) -> None:
        """One voting member per captured control plane, named etcd1..N in node-name order as Kubespray does."""
        if self.etcd.members():
            return
        planes = sorted((n for n in self.store.objects(NODES)
                         if {CONTROL_PLANE, "node-role.kubernetes.io/master"} & set(n["metadata"].get("labels") or {})),
                        key=lambda n: n["metadata"]["name"])
        for i, node in enumerate(planes, start=1):
            address = _internal_ip(node)
            if address:
                self.etcd.add_member(f"etcd{i}", address)

    @staticmethod
    def _version_from(objects: dict[str, Any]) -> str | None:
        nodes = objects.get("nodes") or []
        return nodes[0].get("status", {}).get("nodeInfo", {}).get("kubeletVersion") if nodes else None

    def join_node(self, name: str, address: str, *, control_plane: bool = False, **kwargs: Any) -> dict[str, Any]:
        """How a node (a Talos replacement) joins a rehearsal: its kubelet registers the Node and starts, so it
        turns Ready after `node_ready_delay` and keeps its Lease fresh; a control plane's etcd member joins as a
        learner and is promoted once caught up. A Node created through the API instead has no kubelet and
        stays NotReady, as on a real cluster."""
        kwargs.setdefault("kubelet_version", self.version)
        if control_plane:
            kwargs["labels"] = {CONTROL_PLANE: "", **(kwargs.get("labels") or {})}
        with self.store.lock:
            node = self.api.create(NODES, None, node_manifest(name, address, **kwargs))
            self.agents.start(name, self.clock.now())
            self._settled, self._poked = None, True
            if control_plane and self.etcd.member_for(address) is None:
                self.etcd.add_member(name, address, learner=bool(self.etcd.members()))
            return node

    add_node = join_node  # the name rehearsals and tests have used

    def stop_kubelet(self, name: str) -> None:
        """A node failing: its kubelet posts nothing more; the node controller notices after the grace period."""
        with self.store.lock:
            self.agents.stop(name)
            self._settled, self._poked = None, True  # what is due changed without a write

    def start_kubelet(self, name: str) -> None:
        """A kubelet (re)starting on an existing Node: it reports Ready after `node_ready_delay`."""
        with self.store.lock:
            self.agents.start(name, self.clock.now())
            self._settled, self._poked = None, True

    def set_node_ready(self, name: str, ready: bool, reason: str = "NodeStatusUnknown") -> dict[str, Any]:
        """A node failing (or coming back) at once: its kubelet stops (or runs) and the Ready condition says so
        now, without waiting for the node controller's grace period."""
        with self.store.lock:
            if ready:
                self.agents.start(name, self.clock.now(), already_ready=True)
            else:
                self.agents.stop(name)
            self._poked = True
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
        """Run the actors until the store stops changing, at the current time. As informers feed controllers,
        an actor runs in a pass only when a type it reads was written since its last run, when a moment it
        waits for has come, or when a kubelet started or stopped: a Lease renewal wakes no ReplicaSet."""
        with self.store.lock:
            for slot in self._slots:
                if slot.failed:  # what its failed run left unreached comes back, as a controller requeues its keys
                    slot.seen, slot.failed, self._settled = slot.retry_from, False, None
            for _ in range(MAX_PASSES):
                revision, now = self.store.revision, self.clock.now()
                renewal = self.agents.renewal_due()
                if (
                    self._settled
                    and self._settled[0] == revision
                    and (self._settled[1] is None or now < self._settled[1])
                    and (renewal is None or now < renewal)
                ):
                    return
                index, poked, self._poked = self.index, self._poked, False
                for slot in self._slots:
                    if poked or slot.due_at(now) or index.changed_since(slot.seen, slot.kinds):
                        index.look_from(slot.seen)
                        before, slot.seen = slot.seen, self.store.revision  # its own writes are news to it
                        if not self._run_actor(slot.actor, index) and not slot.failed:
                            slot.failed, slot.retry_from = True, before  # retried from here at the next call
                        slot.wake = slot.due(now)
                if self.store.revision == revision:
                    self._settled = (revision, self.next_due())
                    return

    def _due_of(self, actor: Any) -> Callable[[float], float | None]:
        """When an actor has something to do without any write: a kubelet's renewal, a pod's start, a grace period."""
        if actor is self.agents:
            return lambda now: min((d for d in (self.agents.renewal_due(), self.agents.next_due(now)) if d is not None),
                                   default=None)
        next_due = getattr(actor, "next_due", None)
        return next_due if callable(next_due) else (lambda now: None)

    def _run_actor(self, actor: Any, index: ClusterIndex) -> bool:
        """A controller that fails is logged and counted, and the others (and the next pass) go on; False if it failed."""
        try:
            actor.reconcile(index)
            return True
        except Exception as exc:  # noqa: BLE001 - one bad object must not stop every controller
            name = type(actor).__name__
            self.failures[name] += 1
            if self.failures[name] <= 3 or self.failures[name] % 1000 == 0:
                log.error("twin: %s failed (%d so far), the others go on: %s: %s", name, self.failures[name],
                          type(exc).__name__, exc, exc_info=self.failures[name] == 1)
            return False

    def next_due(self) -> float | None:
        now = self.clock.now()
        due = [d for d in (self.kubelets.next_due(now), self.nodes.next_due(now), self.agents.next_due(now))
               if d is not None]
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


@dataclass
class _Slot:
    """An actor as the loop dispatches it: the types it reads, the store revision it last ran at, and when it
    asked to run again regardless of writes."""

    actor: Any
    kinds: tuple[ResourceType, ...] | None  # None: every type
    due: Callable[[float], float | None]
    seen: int | None = None  # None: it never ran, so everything is news
    wake: float | None = None
    failed: bool = False  # its last run raised: at the next call it looks again from `retry_from`
    retry_from: int | None = None

    def due_at(self, now: float) -> bool:
        return self.wake is not None and now >= self.wake


def _internal_ip(node: dict[str, Any]) -> str | None:
    return next((a.get("address") for a in (node.get("status") or {}).get("addresses") or []
                 if a.get("type") == "InternalIP"), None)


def _pod_subnet(objects: dict[str, Any], key: str = "podSubnet") -> str | None:
    """networking.podSubnet (or serviceSubnet) of the captured kubeadm-config (the first family when dual-stack)."""
    for cm in objects.get("configmaps") or []:
        if cm["metadata"].get("name") == "kubeadm-config":
            try:
                config = yaml.safe_load((cm.get("data") or {}).get("ClusterConfiguration") or "") or {}
            except yaml.YAMLError:
                return None
            subnet = (config.get("networking") or {}).get(key) if isinstance(config, dict) else None
            return subnet.split(",")[0].strip() if isinstance(subnet, str) and subnet else None
    return None


def real_time_twin(**kwargs: Any) -> Twin:
    return Twin(SystemClock(), **kwargs)
