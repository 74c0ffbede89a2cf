"""Kubelets: start bound pods after a delay, finish graceful deletions, complete Job pods.

A kubelet acts only while it runs (`heartbeat.NodeAgents`): on a node whose kubelet stopped, pods stay as they
are (terminating pods stay terminating), as with a real node that stopped reporting. A pod being deleted goes
through what a kubelet reports before the API object goes: Ready=False with its containers terminated, then the
terminal phase, then DELETED.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from migrate.clock import rfc3339
from migrate.cluster.twin.heartbeat import MIRROR, NodeAgents
from migrate.cluster.twin.index import ClusterIndex
from migrate.cluster.twin.podnet import PodNetwork
from migrate.cluster.twin.resources import NODES, PODS
from migrate.cluster.twin.store import Store


@dataclass(frozen=True)
class KubeletTiming:
    start_delay: float = 2.0  # bound -> Running and Ready
    stop_delay: float = 1.0  # deletion requested -> containers gone (capped by the grace period)
    job_duration: float = 5.0  # Running -> Succeeded for pods that do not restart (Jobs)


class Kubelets:
    watches = (PODS, NODES)

    def __init__(self, store: Store, timing: KubeletTiming, agents: NodeAgents, network: PodNetwork | None = None):
        self.store = store
        self.timing = timing
        self.agents = agents
        self.network = network or PodNetwork()
        self._seen: dict[str, dict[str, float]] = {}  # pod uid -> state -> when this kubelet first saw it

    def _since(self, pod: dict[str, Any], state: str, now: float) -> float:
        return self._seen.setdefault(pod["metadata"]["uid"], {}).setdefault(state, now)

    def reconcile(self, index: ClusterIndex) -> None:
        now = self.store.clock.now()
        live: set[str] = set()
        for pod in list(index.kubelet_work.values()):
            node = index.nodes.get(pod["spec"]["nodeName"])
            live.add(pod["metadata"]["uid"])
            if node is not None and self.agents.running(pod["spec"]["nodeName"]):
                self._step(pod, node, now, index)
        for uid in self._seen.keys() - live:  # pods gone or done: forgotten
            del self._seen[uid]

    def _step(self, pod: dict[str, Any], node: dict[str, Any], now: float, index: ClusterIndex) -> None:
        meta, status = pod["metadata"], pod.get("status") or {}
        phase = status.get("phase", "Pending")
        if meta.get("deletionTimestamp"):
            if MIRROR in (meta.get("annotations") or {}):  # only the API's copy goes; the static pod runs on
                self.store.remove(PODS, meta["namespace"], meta["name"])
                return
            grace = meta.get("deletionGracePeriodSeconds") or 0
            if phase == "Running" and any(c.get("type") == "Ready" and c.get("status") == "True"
                                          for c in status.get("conditions") or []):
                pod = self._stop_containers(pod, now)
            if now >= self._since(pod, "stopping", now) + min(self.timing.stop_delay, grace):
                if phase not in ("Succeeded", "Failed", "Pending"):
                    self._set_phase(pod, "Succeeded", now)  # a deleted pod reaches a terminal phase first
                self.store.remove(PODS, meta["namespace"], meta["name"])
            return
        if phase == "Pending" and now >= self._since(pod, "bound", now) + self.timing.start_delay:
            in_use = {(p.get("status") or {}).get("podIP") for p in index.on_node(node["metadata"]["name"])}
            self._set_running(pod, node, now, in_use)
        elif phase == "Running" and pod["spec"].get("restartPolicy") in ("Never", "OnFailure"):
            if now >= self._since(pod, "running", now) + self.timing.job_duration:
                self._set_phase(pod, "Succeeded", now)

    def next_due(self, now: float) -> float | None:
        delays = {
            "bound": self.timing.start_delay,
            "stopping": self.timing.stop_delay,
            "running": self.timing.job_duration,
        }
        due = [t + delays[state] for states in self._seen.values() for state, t in states.items()]
        future = [d for d in due if d > now]
        return min(future) if future else None

    def _set_running(self, pod: dict[str, Any], node: dict[str, Any], now: float, in_use: set[Any]) -> None:
        status = dict(pod.get("status") or {})  # every part it changes is built afresh; the rest stays shared
        stamp = rfc3339(now)
        host_ip = next(
            (a["address"] for a in (node.get("status") or {}).get("addresses") or [] if a.get("type") == "InternalIP"),
            "",
        )
        ip = host_ip if pod["spec"].get("hostNetwork") else self.network.address(pod, node, in_use)
        status.update(
            {
                "phase": "Running",
                "hostIP": host_ip,
                "hostIPs": [{"ip": host_ip}],
                "podIP": ip,
                "podIPs": [{"ip": ip}],
                "startTime": status.get("startTime", stamp),
                "conditions": [c for c in status.get("conditions") or [] if c.get("type") == "PodScheduled"]
                + [
                    {"type": t, "status": "True", "lastTransitionTime": stamp}
                    for t in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady")
                ],
                "containerStatuses": [
                    {
                        "name": c["name"],
                        "image": c.get("image", ""),
                        "imageID": "",
                        "ready": True,
                        "started": True,
                        "restartCount": 0,
                        "state": {"running": {"startedAt": stamp}},
                    }
                    for c in pod["spec"].get("containers") or []
                ],
            }
        )
        self.store.update(PODS, {**pod, "status": status}, status=True, force=True, owned=True)

    def _stop_containers(self, pod: dict[str, Any], now: float) -> dict[str, Any]:
        """SIGTERM sent: the pod stops being Ready and its containers report terminated."""
        status = _with_readiness(pod, "ContainersNotReady", now)
        if status.get("containerStatuses"):
            status["containerStatuses"] = [
                {**cs, "ready": False, "started": False, "state": {"terminated": {
                    "exitCode": 0, "reason": "Completed",
                    "startedAt": ((cs.get("state") or {}).get("running") or {}).get("startedAt", rfc3339(now)),
                    "finishedAt": rfc3339(now)}}}
                for cs in status["containerStatuses"]]
        return self.store.update(PODS, {**pod, "status": status}, status=True, force=True, owned=True)

    def _set_phase(self, pod: dict[str, Any], phase: str, now: float) -> None:
        status = _with_readiness(pod, "PodCompleted", now)
        status["phase"] = phase
        if status.get("containerStatuses"):
            status["containerStatuses"] = [
                {**cs, "ready": False, "started": False,
                 "state": {"terminated": {"exitCode": 0, "reason": "Completed", "finishedAt": rfc3339(now)}}}
                for cs in status["containerStatuses"]]
        self.store.update(PODS, {**pod, "status": status}, status=True, force=True, owned=True)


def _with_readiness(pod: dict[str, Any], reason: str, now: float) -> dict[str, Any]:
    """A new status (sharing the stored one's untouched parts) whose Ready and ContainersReady are False."""
    status = dict(pod.get("status") or {})
    if status.get("conditions"):
        status["conditions"] = [
            {**c, "status": "False", "reason": reason, "lastTransitionTime": rfc3339(now)}
            if c.get("type") in ("Ready", "ContainersReady") else c for c in status["conditions"]]
    return status
