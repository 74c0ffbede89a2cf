"""A small HA cluster in the twin, served over HTTP, with its etcd: what the engine tests run against."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migrate.cluster.kube import KubeCluster
from migrate.cluster.twin import Twin, VirtualClock, serve_in_thread
from migrate.cluster.twin.etcd import TwinEtcd
from migrate.cluster.twin.resources import DEPLOYMENTS, PDBS
from migrate.ledger import Ledger
from migrate.migration.engine import Event, Migration
from migrate.migration.lock import MigrationLock
from migrate.migration.plan_file import MigrationPlan, default_plan
from migrate.migration.rehearse import TwinHands, with_addresses
from tests.cluster.conftest import FAST, deployment, pdb

NODES = [("cp1", "10.0.10.11"), ("cp2", "10.0.10.12"), ("cp3", "10.0.10.13"), ("w1", "10.0.10.21"),
         ("w2", "10.0.10.22"), ("w3", "10.0.10.23")]
CP = {"node-role.kubernetes.io/control-plane": ""}


@dataclass
class Rig:
    twin: Twin
    etcd: TwinEtcd
    cluster: KubeCluster
    plan: MigrationPlan
    ledger_path: Path
    events: list[Event]
    hands: TwinHands

    def engine(self, cluster: Any = None, *, run_id: str = "run-1", holder: str | None = None,
               ledger: Ledger | None = None) -> Migration:
        cluster = cluster or self.cluster
        ledger = ledger or Ledger.open(self.ledger_path, clock=self.twin.clock)
        return Migration(self.plan, cluster, ledger, self.hands, self.twin.clock, run_id=run_id,
                         lock=MigrationLock(cluster, holder or run_id, self.twin.clock), etcd=self.etcd,
                         on_event=self.events.append)


def build(tmp: Path, *, budget: dict[str, Any] | None = None, max_unavailable: int = 2) -> Twin:
    twin = Twin(VirtualClock(), timing=FAST, node_ready_delay=5.0)
    for name, address in NODES:
        cp = name.startswith("cp")
        twin.add_node(name, address, cpu="4", memory="8Gi", labels=CP if cp else {},
                      taints=[{"key": next(iter(CP)), "effect": "NoSchedule"}] if cp else [])
    twin.api.create(DEPLOYMENTS, "default", deployment("web", 3))
    twin.api.create(PDBS, "default", pdb("web", {"app": "web"}, **(budget or {"maxUnavailable": 1})))
    twin.settle()
    return twin


@contextmanager
def rig(tmp: Path, *, budget: dict[str, Any] | None = None, max_unavailable: int = 2,
        strategy: str = "surge", decommission_seconds: float = 0.0) -> Iterator[Rig]:
    twin = build(tmp, budget=budget)
    etcd = TwinEtcd(twin.clock)
    for i, (_, address) in enumerate(NODES[:3], start=1):
        etcd.add_member(f"etcd{i}", address)
    report = {"cluster": "demo", "nodes": [{"name": n, "role": "controlplane" if n.startswith("cp") else "worker",
                                            "ip": ip} for n, ip in NODES]}
    plan = with_addresses(default_plan(report, max_unavailable=max_unavailable, strategy=strategy))
    ledger_path = tmp / "ledger.db"
    Ledger.create(ledger_path, "test-plan", [(m.host, m.role) for m in plan.hosts], clock=twin.clock).close()
    served = serve_in_thread(twin, virtual_watches=True)  # the run's waits watch; waiting moves virtual time
    cluster = KubeCluster(served.write_kubeconfig(tmp / "kubeconfig"), clock=twin.clock, seed=1)
    try:
        yield Rig(twin, etcd, cluster, plan, ledger_path, [], TwinHands(twin, etcd, decommission_seconds))
    finally:
        cluster.close()
        served.stop()


class Crash(BaseException):
    """The process dies here (a BaseException: no step may catch it and record an outcome)."""


class CrashingCluster:
    """The real client, except that the Nth call never returns: as if kill -9 landed right then."""

    def __init__(self, cluster: KubeCluster, at: int) -> None:
        self._cluster, self._left = cluster, at
        self.server = cluster.server

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self._cluster, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            self._left -= 1
            if self._left == 0:
                raise Crash(name)
            return method(*args, **kwargs)
        return call
